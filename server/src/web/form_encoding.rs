//! Form bodies must be UTF-8. A URL-encoded form whose percent-escapes decode to invalid UTF-8
//! would otherwise reach the server functions with U+FFFD in place of the bad bytes (the decoder
//! is lossy) and be accepted as something the sender never typed; it is refused here as a
//! malformed request instead.

use super::refusal::refuse;
use app::error::AppError;
use axum::{
    body::Body,
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The largest body read here; the body limit outside refuses bigger ones before this runs.
const MAX_FORM_BODY: usize = 4 * 1024 * 1024;

pub async fn require_utf8(request: Request, next: Next) -> Response {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if request.method() != Method::POST || !is_form {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BODY).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is too large.",
        )
            .into_response();
    };
    let request = Request::from_parts(parts, Body::from(bytes.clone()));
    if let Err(detail) = check(&bytes) {
        return refuse(&request, AppError::MalformedRequest { detail });
    }
    next.run(request).await
}

/// `Err(what is wrong)` when a name or value, once percent-decoded, is not UTF-8.
fn check(body: &[u8]) -> Result<(), String> {
    for pair in body.split(|byte| *byte == b'&') {
        let decoded: Vec<u8> = percent_decode(pair);
        if std::str::from_utf8(&decoded).is_err() {
            let name = pair.split(|byte| *byte == b'=').next().unwrap_or_default();
            let name: String = String::from_utf8_lossy(&percent_decode(name))
                .chars()
                .take(40)
                .collect();
            return Err(format!("the form field `{name}` is not valid UTF-8"));
        }
    }
    Ok(())
}

/// `+` is a space; `%XY` is the byte XY; a `%` not followed by two hex digits stays as it is
/// (as the form decoder itself reads it).
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut index = 0;
    while index < input.len() {
        match input[index] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input
                    .get(index + 1..index + 3)
                    .and_then(|digits| std::str::from_utf8(digits).ok())
                    .and_then(|digits| u8::from_str_radix(digits, 16).ok());
                if let Some(byte) = hex {
                    out.push(byte);
                    index += 2;
                } else {
                    out.push(b'%');
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_forms_pass_whatever_their_escapes() {
        assert_eq!(
            check(b"email=ada%40example.com&first_name=Z%C3%B6e+M"),
            Ok(())
        );
        assert_eq!(check(b"a=100%&b=%zz&c="), Ok(()));
        assert_eq!(check(b""), Ok(()));
    }

    #[test]
    fn an_escape_that_decodes_to_invalid_utf8_names_its_field() {
        assert_eq!(
            check(b"email=ada%40example.com&first_name=%FF%FEx"),
            Err("the form field `first_name` is not valid UTF-8".to_owned())
        );
        // A lone continuation byte, and a truncated sequence.
        assert!(check(b"last_name=%80").is_err());
        assert!(check(b"last_name=%C3").is_err());
    }
}
