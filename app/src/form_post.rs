//! How a form island submits once the wasm runs: the form's own fields, posted to its server
//! function's path exactly as the browser would post them (`application/x-www-form-urlencoded`),
//! but with `fetch`, so that no page loads. The answer is the server function's: on success it
//! names the next page (`serverfnredirect` and `Location`), opened by `navigation::go`; on
//! failure it is an `AppError` as JSON, shown at the form.
//!
//! One untyped path serves every form, instead of a typed server-function client per form: the
//! forms only ever need "go on" or "this went wrong", and the wasm stays small.

use crate::error::AppError;
use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;

/// A form's submissions: whether one is in flight, the error of the latest, and how many have
/// finished.
#[derive(Clone, Copy)]
pub struct FormAction {
    pending: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
    version: RwSignal<usize>,
}

impl Default for FormAction {
    fn default() -> Self {
        Self::new()
    }
}

impl FormAction {
    pub fn new() -> Self {
        Self {
            pending: RwSignal::new(false),
            error: RwSignal::new(None),
            version: RwSignal::new(0),
        }
    }

    pub fn pending(self) -> Signal<bool> {
        self.pending.into()
    }

    /// The latest finished submission's error (`None` before the first, or after a success).
    pub fn error(self) -> Signal<Option<AppError>> {
        self.error.into()
    }

    /// Bumped when a submission finishes.
    pub fn version(self) -> Signal<usize> {
        self.version.into()
    }

    /// Sends the form of `event` through `fetch` instead of a page load. A second submission
    /// while one is in flight is ignored.
    pub fn submit(self, event: SubmitEvent) {
        event.prevent_default();
        if !self.pending.get_untracked() {
            #[cfg(feature = "hydrate")]
            self.send(&event);
        }
    }

    #[cfg(feature = "hydrate")]
    fn send(self, event: &SubmitEvent) {
        use leptos::wasm_bindgen::JsCast;
        let Some(form) = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::HtmlFormElement>().ok())
        else {
            return;
        };
        self.pending.set(true);
        leptos::task::spawn_local(async move {
            match browser::post(&form).await {
                browser::Answer::NextPage(location) => {
                    // The next page replaces this one, form and all; should it fail to, a page
                    // load takes over. Either way the button stays busy until then.
                    crate::navigation::go(&location);
                }
                browser::Answer::Done(outcome) => {
                    self.error.set(outcome.err());
                    self.pending.set(false);
                    self.version.update(|version| *version += 1);
                }
            }
        });
    }
}

/// Asks a server function that answers with data (`GET` with `query`, or `POST` with `form`
/// fields), through the same untyped path: its JSON answer, or its `AppError`.
pub async fn fetch_json<T: serde::de::DeserializeOwned>(
    path: &str,
    query: &[(&str, &str)],
    form: Option<&[(&str, &str)]>,
) -> Result<T, AppError> {
    let mut url = path.to_owned();
    for (index, (name, value)) in query.iter().enumerate() {
        url.push(if index == 0 { '?' } else { '&' });
        url.push_str(name);
        url.push('=');
        url.push_str(&crate::types::paths::encode_component(value));
    }
    #[cfg(feature = "hydrate")]
    {
        browser::fetch_json(&url, form).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (url, form);
        Err(AppError::Internal)
    }
}

/// An HTML form that posts to a server function's `path`: without JavaScript the browser posts
/// it; once the island runs, `action` does, without a page load.
#[component]
pub fn PostForm(
    path: &'static str,
    action: FormAction,
    #[prop(optional)] node_ref: NodeRef<html::Form>,
    #[prop(optional)] class: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <form
            action=path
            method="post"
            novalidate=true
            class=class
            node_ref=node_ref
            on:submit=move |event| action.submit(event)
        >
            {children()}
        </form>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use crate::error::AppError;
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{FormData, Headers, HtmlFormElement, Request, RequestInit, Response};

    /// The header a server function sets when it names the next page.
    const REDIRECT_HEADER: &str = "serverfnredirect";

    pub enum Answer {
        /// Go on to this page.
        NextPage(String),
        /// Finished here: fine, or why not.
        Done(Result<(), AppError>),
    }

    pub async fn post(form: &HtmlFormElement) -> Answer {
        match send(form).await {
            Ok(answer) => answer,
            // The request never got an answer (offline, or the server is gone).
            Err(_) => Answer::Done(Err(AppError::Internal)),
        }
    }

    async fn send(form: &HtmlFormElement) -> Result<Answer, JsValue> {
        let fields = FormData::new_with_form(form)?;
        let body = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&fields)?;
        // The attribute, not `form.action`: a field named "action" (the admin actions have
        // one) shadows that property.
        let path = form.get_attribute("action").unwrap_or_default();
        let response = request(&path, Some(body.to_string().into())).await?;
        let answer_headers = response.headers();
        if answer_headers.has(REDIRECT_HEADER)? {
            if let Some(location) = answer_headers.get("location")? {
                return Ok(Answer::NextPage(location));
            }
        }
        if response.ok() {
            return Ok(Answer::Done(Ok(())));
        }
        Ok(Answer::Done(Err(error_of(&response).await?)))
    }

    /// `POST` (with a form-encoded `body`) or `GET`, asking for JSON.
    async fn request(url: &str, body: Option<String>) -> Result<Response, JsValue> {
        let headers = Headers::new()?;
        headers.set("Accept", "application/json")?;
        let init = RequestInit::new();
        match body {
            Some(body) => {
                headers.set(
                    "Content-Type",
                    "application/x-www-form-urlencoded;charset=UTF-8",
                )?;
                init.set_method("POST");
                init.set_body(&body.into());
            }
            None => init.set_method("GET"),
        }
        init.set_headers(&headers);
        let request = Request::new_with_str_and_init(url, &init)?;
        JsFuture::from(leptos::prelude::window().fetch_with_request(&request))
            .await?
            .dyn_into()
    }

    async fn text_of(response: &Response) -> Result<String, JsValue> {
        Ok(JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default())
    }

    /// The `AppError` a refused request answered with.
    async fn error_of(response: &Response) -> Result<AppError, JsValue> {
        let text = text_of(response).await?;
        Ok(
            serde_json::from_str::<AppError>(&text).unwrap_or(match response.status() {
                413 => AppError::MalformedRequest {
                    detail: "the form is too large".to_owned(),
                },
                _ => AppError::Internal,
            }),
        )
    }

    pub async fn fetch_json<T: serde::de::DeserializeOwned>(
        url: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Result<T, AppError> {
        let body = form.map(|pairs| {
            pairs
                .iter()
                .map(|(name, value)| {
                    format!("{name}={}", crate::types::paths::encode_component(value))
                })
                .collect::<Vec<_>>()
                .join("&")
        });
        let answer = async {
            let response = request(url, body).await?;
            if !response.ok() {
                return Ok(Err(error_of(&response).await?));
            }
            let text = text_of(&response).await?;
            Ok::<_, JsValue>(serde_json::from_str::<T>(&text).map_err(|_| AppError::Internal))
        };
        answer.await.unwrap_or(Err(AppError::Internal))
    }
}
