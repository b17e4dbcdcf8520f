//! Latchkey's web application: the pages, the server functions that form its HTTP API, and the
//! types both sides share. Server-only code sits behind the `ssr` feature.

pub mod api;
pub mod code_entry;
pub mod components;
pub mod error;
pub mod flash;
pub mod form_post;
pub mod islands;
pub mod navigation;
pub mod notice;
pub mod pages;
pub mod paths;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
mod wire_names;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};
use pages::{
    AccountPage, AdminAccountPage, AdminPage, ChangePhonePage, ForgotPasswordPage, HomePage,
    LoginPage, NotFoundPage, ResetPasswordPage, SignInCodePage, SignupPage, UnlockPage,
    VerifyPhonePage,
};

/// The HTML document every page is rendered into.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Sets the page's Content-Security-Policy: scripts only with this response's nonce (and what they
/// load), wasm allowed to compile, everything else from this origin, no framing.
#[cfg(feature = "ssr")]
fn set_content_security_policy(options: &LeptosOptions) {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    // `cargo leptos watch` reloads the page through a WebSocket on the reload port.
    let live_reload = match options.env {
        leptos::config::Env::DEV => {
            format!(" ws://{}:{}", options.site_addr.ip(), options.reload_port)
        }
        leptos::config::Env::PROD => String::new(),
    };
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{live_reload}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Latchkey"/>
        <islands::HydrationMarker/>
        <Router>
            <header class="site-header">
                <A href="/" attr:class="brand">"Latchkey"</A>
                {pages::signed_in().then(|| view! {
                    <nav class="site-nav" aria-label="Account">
                        <a href=types::paths::ACCOUNT>"Your account"</a>
                        <islands::SignOutButton/>
                    </nav>
                })}
            </header>
            <main>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=HomePage/>
                    <Route path=path!("/signup") view=SignupPage/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/unlock") view=UnlockPage/>
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage/>
                    <Route path=path!("/reset-password") view=ResetPasswordPage/>
                    <Route path=path!("/verify-phone") view=VerifyPhonePage/>
                    <Route path=path!("/sign-in-code") view=SignInCodePage/>
                    // The server loads these pages' data before rendering them, and redirects a
                    // visitor without a session to /login (see the server's `signed_in_pages`).
                    <Route path=path!("/account") view=AccountPage/>
                    <Route path=path!("/account/phone") view=ChangePhonePage/>
                    <Route path=path!("/admin") view=AdminPage/>
                    <Route path=path!("/admin/account") view=AdminAccountPage/>
                </Routes>
            </main>
        </Router>
    }
}
