//! `/dev/outbox` (HTML) and `/dev/outbox.json`: the messages the development outbox "sent".
//! Mounted only while the outbox is the configured SMS provider; never in a real deployment.

use crate::store::{OutboxEntry, Store};
use axum::{
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Serialize;

const SHOWN: u32 = 200;

#[derive(Clone)]
struct OutboxState {
    store: Store,
    stylesheet: String,
}

pub fn routes(store: Store, stylesheet: String) -> Router {
    Router::new()
        .route("/dev/outbox", get(page))
        .route("/dev/outbox.json", get(json))
        .with_state(OutboxState { store, stylesheet })
}

#[derive(Serialize)]
struct OutboxItem {
    id: i64,
    to: String,
    purpose: String,
    /// `sms`, or `voice` for the text a call would read aloud.
    channel: &'static str,
    body: String,
    created_at: String,
}

fn item(entry: OutboxEntry) -> OutboxItem {
    OutboxItem {
        id: entry.id,
        to: entry.to_phone,
        purpose: entry.purpose,
        channel: entry.channel.as_str(),
        body: entry.body,
        created_at: entry
            .created_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    }
}

async fn json(State(OutboxState { store, .. }): State<OutboxState>) -> Response {
    match store.outbox_entries(SHOWN).await {
        Ok(entries) => Json(entries.into_iter().map(item).collect::<Vec<_>>()).into_response(),
        Err(error) => unavailable(error),
    }
}

async fn page(State(OutboxState { store, stylesheet }): State<OutboxState>) -> Response {
    let entries = match store.outbox_entries(SHOWN).await {
        Ok(entries) => entries,
        Err(error) => return unavailable(error),
    };
    let rows: String = entries
        .into_iter()
        .map(item)
        .map(|item| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                item.id,
                escape(&item.created_at),
                escape(&item.to),
                escape(&item.purpose),
                if item.channel == "voice" { "call" } else { "text" },
                escape(&item.body)
            )
        })
        .collect();
    let empty = if rows.is_empty() {
        "<p>No messages yet. Lock an account or ask for a password reset, then reload.</p>"
    } else {
        ""
    };
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Development outbox · Latchkey</title><link rel=\"stylesheet\" href=\"{stylesheet}\">\
         </head><body><main class=\"wide\"><section class=\"card\">\
         <p class=\"dev-banner\">Development only (and test numbers): these messages were not sent to any phone.</p>\
         <h1>Development outbox</h1>{empty}\
         <table class=\"outbox\"><thead><tr><th>#</th><th>Time (UTC)</th><th>To</th><th>Purpose</th><th>By</th><th>Message</th></tr></thead>\
         <tbody>{rows}</tbody></table></section></main></body></html>"
    ))
    .into_response()
}

fn unavailable(error: anyhow::Error) -> Response {
    tracing::error!(
        error = format!("{error:#}"),
        "could not read the development outbox"
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The outbox could not be read; see the server log.",
    )
        .into_response()
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            super::escape("<b a='1'>&\"</b>"),
            "&lt;b a=&#39;1&#39;&gt;&amp;&quot;&lt;/b&gt;"
        );
    }
}
