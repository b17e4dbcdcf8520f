//! What a browser downloads for the first load of the login page: the HTML, then every file it
//! names (script, wasm, stylesheet, icon), fetched as served, with and without brotli.

use anyhow::Context;
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING};
use serde::Serialize;
use std::io::Write;

#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    pub path: String,
    /// Bytes without compression.
    pub raw_bytes: usize,
    /// Bytes with brotli: as served when the server sends `Content-Encoding: br`, else the
    /// response compressed here at quality 11.
    pub brotli_bytes: usize,
    /// Whether the server itself sent it brotli-compressed.
    pub served_brotli: bool,
    pub cache_control: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageWeight {
    pub resources: Vec<Resource>,
}

impl PageWeight {
    pub fn raw_total(&self) -> usize {
        self.resources.iter().map(|r| r.raw_bytes).sum()
    }

    pub fn brotli_total(&self) -> usize {
        self.resources.iter().map(|r| r.brotli_bytes).sum()
    }
}

fn brotli(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(bytes).context("brotli")?;
    }
    Ok(out.len())
}

/// The site paths in `href="…"` and `src="…"` attributes of `html`.
fn linked_paths(html: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for attribute in ["href=\"", "src=\""] {
        for piece in html.split(attribute).skip(1) {
            let Some(value) = piece.split('"').next() else {
                continue;
            };
            let is_asset = [".js", ".wasm", ".css", ".svg", ".ico", ".png"]
                .iter()
                .any(|ending| value.ends_with(ending));
            if value.starts_with('/') && is_asset && !paths.iter().any(|p| p == value) {
                paths.push(value.to_owned());
            }
        }
    }
    paths
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    brotli_ok: bool,
) -> anyhow::Result<reqwest::Response> {
    let request = client.get(url);
    let request = if brotli_ok {
        request.header(ACCEPT_ENCODING, "br")
    } else {
        request.header(ACCEPT_ENCODING, "identity")
    };
    let response = request.send().await.with_context(|| format!("GET {url}"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    Ok(response)
}

pub async fn first_load(base: &str) -> anyhow::Result<PageWeight> {
    // No automatic decompression: the bytes counted are the bytes on the wire.
    let client = reqwest::Client::builder()
        .build()
        .context("could not build the HTTP client")?;
    let mut resources = Vec::new();
    let page = fetch(&client, &format!("{base}/login"), false).await?;
    let html = page.text().await.context("the login page")?;
    let mut paths = vec!["/login".to_owned()];
    paths.extend(linked_paths(&html));
    for path in paths {
        let url = format!("{base}{path}");
        let raw = fetch(&client, &url, false).await?.bytes().await?;
        let compressed = fetch(&client, &url, true).await?;
        let served_brotli = compressed
            .headers()
            .get(CONTENT_ENCODING)
            .is_some_and(|value| value == "br");
        let cache_control = compressed
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = compressed.bytes().await?;
        resources.push(Resource {
            path,
            raw_bytes: raw.len(),
            brotli_bytes: if served_brotli {
                body.len()
            } else {
                brotli(&raw)?
            },
            served_brotli,
            cache_control,
        });
    }
    Ok(PageWeight { resources })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assets_a_page_links_are_found_once() {
        let html = r#"<link rel="modulepreload" href="/pkg/latchkey.abc.js"><link rel="preload" href="/pkg/latchkey.abc.wasm"><link rel="stylesheet" href="/pkg/latchkey.css"><a href="/signup">x</a><link rel="icon" href="/favicon.svg"><script src="/pkg/latchkey.abc.js"></script>"#;
        assert_eq!(
            linked_paths(html),
            [
                "/pkg/latchkey.abc.js",
                "/pkg/latchkey.abc.wasm",
                "/pkg/latchkey.css",
                "/favicon.svg"
            ]
        );
    }
}
