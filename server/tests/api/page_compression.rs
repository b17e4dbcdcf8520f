//! Pages anyone may see are sent compressed when the browser accepts it; a signed-in session's
//! pages and every API answer are not (see `web/compression.rs` for why).

use crate::helpers::*;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use reqwest::{Response, StatusCode};
use std::io::Read;

const BROWSER: &str = "gzip, deflate, br, zstd";

async fn get(app: &TestApp, client: &reqwest::Client, path: &str, encoding: &str) -> Response {
    client
        .get(app.url(path))
        .header(ACCEPT_ENCODING, encoding)
        .send()
        .await
        .expect("answered")
}

fn brotli_decoded(bytes: &[u8]) -> String {
    let mut text = String::new();
    brotli_decompressor::Decompressor::new(bytes, 4096)
        .read_to_string(&mut text)
        .expect("valid brotli");
    text
}

fn gzip_decoded(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("valid gzip");
    text
}

#[tokio::test]
async fn the_sign_in_page_is_sent_compressed_to_browsers_that_accept_it() {
    let app = spawn_app().await;
    let client = new_client();

    let brotli = get(&app, &client, "/login", BROWSER).await;
    assert_eq!(brotli.status(), StatusCode::OK);
    assert_eq!(header(&brotli, CONTENT_ENCODING), "br");
    assert!(header(&brotli, VARY)
        .to_lowercase()
        .contains("accept-encoding"));
    assert!(header(&brotli, CONTENT_TYPE).starts_with("text/html"));
    let compressed = brotli.bytes().await.expect("a body");
    let page = brotli_decoded(&compressed);
    assert!(page.contains("<form") && page.contains("</html>"), "{page}");
    assert!(
        compressed.len() * 2 < page.len(),
        "{} bytes compressed from {}",
        compressed.len(),
        page.len()
    );

    let gzip = get(&app, &client, "/signup", "gzip").await;
    assert_eq!(header(&gzip, CONTENT_ENCODING), "gzip");
    let page = gzip_decoded(&gzip.bytes().await.expect("a body"));
    assert!(page.contains("name=\"phone\""), "{page}");

    let plain = get(&app, &client, "/login", "identity").await;
    assert_eq!(header(&plain, CONTENT_ENCODING), "");
    assert!(plain.text().await.expect("text").contains("<form"));
}

#[tokio::test]
async fn signed_in_pages_and_api_answers_are_not_compressed() {
    let app = spawn_app().await;
    app.sign_up("compress@example.com", "+14155550161").await;

    for path in ["/account", "/api/me"] {
        let response = get(&app, &app.client, path, BROWSER).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, CONTENT_ENCODING), "", "{path}");
        let body = response.text().await.expect("text");
        assert!(body.contains("compress@example.com"), "{path}: {body}");
    }
    // Any page asked for with the session cookie, the public ones too.
    let login = get(&app, &app.client, "/login", BROWSER).await;
    assert_eq!(header(&login, CONTENT_ENCODING), "");
}
