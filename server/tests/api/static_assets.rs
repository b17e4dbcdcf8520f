//! The built files under /pkg: sent brotli- or gzip-compressed from the precompressed copies when
//! the browser accepts it, cached for a year under hashed names, revalidated otherwise; without
//! the headers that only govern documents.

use crate::helpers::*;
use leptos::prelude::LeptosOptions;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use reqwest::StatusCode;

const CSS: &str = "body { color: #123456; }\n";
/// Stand-ins for the compressed copies: what matters is which one is sent.
const CSS_BR: &[u8] = b"brotli bytes";
const CSS_GZ: &[u8] = b"gzip bytes";

fn site(css_name: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("a temporary directory");
    let pkg = root.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg");
    std::fs::write(pkg.join(css_name), CSS).expect("css");
    std::fs::write(pkg.join(format!("{css_name}.br")), CSS_BR).expect("br");
    std::fs::write(pkg.join(format!("{css_name}.gz")), CSS_GZ).expect("gz");
    root
}

fn options(root: &tempfile::TempDir, hash_files: bool) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("latchkey")
        .site_root(root.path().display().to_string())
        .hash_files(hash_files)
        .build()
}

async fn get(app: &TestApp, path: &str, encoding: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(ACCEPT_ENCODING, encoding)
        .send()
        .await
        .expect("answered")
}

#[tokio::test]
async fn precompressed_copies_are_sent_to_browsers_that_accept_them() {
    let root = site("latchkey.css");
    let app = spawn_app_serving(&[], options(&root, false)).await;

    let brotli = get(&app, "/pkg/latchkey.css", "gzip, deflate, br").await;
    assert_eq!(brotli.status(), StatusCode::OK);
    assert_eq!(header(&brotli, CONTENT_ENCODING), "br");
    assert!(header(&brotli, CONTENT_TYPE).starts_with("text/css"));
    assert_eq!(brotli.bytes().await.expect("a body").as_ref(), CSS_BR);

    let gzip = get(&app, "/pkg/latchkey.css", "gzip").await;
    assert_eq!(header(&gzip, CONTENT_ENCODING), "gzip");
    assert_eq!(gzip.bytes().await.expect("a body").as_ref(), CSS_GZ);

    let plain = get(&app, "/pkg/latchkey.css", "identity").await;
    assert_eq!(header(&plain, CONTENT_ENCODING), "");
    // Fixed names may change with the next build: revalidate before each use.
    assert_eq!(header(&plain, CACHE_CONTROL), "no-cache");
    assert_eq!(plain.text().await.expect("a body"), CSS);

    let missing = get(&app, "/pkg/nothing.js", "br").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&missing, CACHE_CONTROL), "");
}

#[tokio::test]
async fn hashed_names_are_cached_for_a_year() {
    let root = site("latchkey.Ej1fDqGoGJpC5VfE17BVvQ.css");
    let app = spawn_app_serving(&[], options(&root, true)).await;
    let response = get(&app, "/pkg/latchkey.Ej1fDqGoGJpC5VfE17BVvQ.css", "br").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
}

#[tokio::test]
async fn the_icon_browsers_ask_for_by_habit_points_to_the_pages_own() {
    let app = spawn_app().await;
    let response = get(&app, "/favicon.ico", "br").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&response, reqwest::header::LOCATION), "/favicon.svg");
    assert!(
        response
            .bytes()
            .await
            .map(|body| body.len())
            .unwrap_or(usize::MAX)
            < 100,
        "no page for a missing icon"
    );
}

#[tokio::test]
async fn scripts_and_stylesheets_carry_nosniff_but_not_the_document_headers() {
    let root = site("latchkey.css");
    let pkg = root.path().join("pkg");
    std::fs::write(pkg.join("latchkey.js"), "export {};\n").expect("js");
    std::fs::write(pkg.join("latchkey_bg.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    std::fs::write(
        pkg.join("icon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .expect("svg");
    let app = spawn_app_serving(&[], options(&root, false)).await;

    for (path, content_type) in [
        ("/pkg/latchkey.css", "text/css"),
        ("/pkg/latchkey.js", "text/javascript"), // as mime_guess names `.js`
        ("/pkg/latchkey_bg.wasm", "application/wasm"),
    ] {
        let response = get(&app, path, "identity").await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            header(&response, CONTENT_TYPE).starts_with(content_type),
            "{path}"
        );
        assert_eq!(
            header(&response, X_CONTENT_TYPE_OPTIONS),
            "nosniff",
            "{path}"
        );
        for document_header in [CONTENT_SECURITY_POLICY, X_FRAME_OPTIONS, REFERRER_POLICY] {
            assert_eq!(
                header(&response, document_header.clone()),
                "",
                "{document_header} on {path}"
            );
        }
    }

    // An SVG can be opened as a document and run script: it keeps every header.
    let icon = get(&app, "/pkg/icon.svg", "identity").await;
    assert!(header(&icon, CONTENT_TYPE).starts_with("image/svg+xml"));
    assert!(header(&icon, CONTENT_SECURITY_POLICY).contains("script-src 'none'"));
    assert_eq!(header(&icon, X_FRAME_OPTIONS), "DENY");
    assert_eq!(header(&icon, REFERRER_POLICY), "same-origin");
}
