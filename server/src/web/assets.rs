//! The site's built files under `/pkg` (script, wasm, stylesheet): sent precompressed (brotli or
//! gzip, from the `.br` and `.gz` files a `--precompress` build leaves beside them) when the
//! browser accepts it, and cached for a year when their names carry a content hash (a build with
//! `LEPTOS_HASH_FILES=true`); otherwise revalidated on every use. And `/favicon.ico`, which
//! browsers ask for whatever the page names: a permanent redirect to the page's own icon,
//! `/favicon.svg`, instead of a whole "not found" page on every first visit.

use axum::http::{header, HeaderValue};
use axum::response::{Redirect, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::LeptosOptions;
use std::path::{Path, PathBuf};
use tower_http::services::ServeDir;

/// For names with a content hash: a changed file gets a new name, so the old one never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For fixed names: use the cached copy only after the server confirms it (304) is current.
const REVALIDATE: &str = "no-cache";

pub fn routes(options: &LeptosOptions) -> Router {
    let directory = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let cache_control = HeaderValue::from_static(if options.hash_files {
        IMMUTABLE
    } else {
        REVALIDATE
    });
    let files = ServeDir::new(directory)
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .route(
            "/favicon.ico",
            get(|| async { Redirect::permanent("/favicon.svg") }),
        )
        .nest_service(&format!("/{}", options.site_pkg_dir), files)
        .layer(axum::middleware::map_response(
            move |mut response: Response| {
                let cache_control = cache_control.clone();
                async move {
                    if response.status().is_success()
                        || response.status() == axum::http::StatusCode::NOT_MODIFIED
                    {
                        response
                            .headers_mut()
                            .insert(header::CACHE_CONTROL, cache_control);
                    }
                    response
                }
            },
        ))
}

/// The address of the stylesheet, with its content hash when the build named files by hash (the
/// hashes are in `hash.txt` beside the server binary, as Leptos reads them).
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    let hash = options
        .hash_files
        .then(|| {
            let list = std::env::current_exe()
                .ok()?
                .parent()
                .map(|dir| dir.join(&*options.hash_file))
                .unwrap_or_else(|| PathBuf::from(&*options.hash_file));
            let hashes = std::fs::read_to_string(list).ok()?;
            hashes.lines().find_map(|line| {
                let (file, hash) = line.split_once(':')?;
                (file.trim() == "css").then(|| hash.trim().to_owned())
            })
        })
        .flatten();
    match hash {
        Some(hash) => format!(
            "/{}/{}.{hash}.css",
            options.site_pkg_dir, options.output_name
        ),
        None => format!("/{}/{}.css", options.site_pkg_dir, options.output_name),
    }
}
