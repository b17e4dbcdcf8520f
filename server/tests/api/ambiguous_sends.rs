//! A send whose outcome is unknown is looked up before it is sent again: Twilio's connection drops
//! after it has read the message (it took the message, but its answer never came), and the next
//! attempt finds the message in Twilio's list instead of texting the code a second time. A
//! provider that cannot be asked gets the message again.

use crate::helpers::*;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PHONE: &str = "+14155552671";
const EMAIL: &str = "ada@example.com";

/// What the stand-in for Twilio saw: the bodies of the texts posted to it, and how many lookups.
#[derive(Default)]
pub struct Seen {
    pub posted: Vec<String>,
    pub lookups: usize,
}

/// What the stand-in does with a text it takes, instead of answering.
#[derive(Clone, Copy)]
pub enum NoAnswer {
    /// The connection ends (the answer is lost).
    Drop,
    /// The connection stays open and silent (the answer never comes).
    Hang,
}

/// Reads one HTTP/1.1 request (head and `Content-Length` body) from `socket`.
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<(String, String)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&buffer).into_owned();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let head = &text[..end];
        let length = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        if buffer.len() >= end + 4 + length {
            let body = String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]).into_owned();
            return Some((head.to_owned(), body));
        }
    }
}

/// A Twilio that takes every text but never answers (`no_answer`), and lists the texts it took
/// at `GET …/Messages.json`.
pub async fn twilio_that_takes_texts_and_never_answers(
    seen: Arc<Mutex<Seen>>,
    no_answer: NoAnswer,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let Some((head, body)) = read_request(&mut socket).await else {
                    return;
                };
                if head.starts_with("POST") {
                    let text: String = url::form_urlencoded::parse(body.as_bytes())
                        .find(|(name, _)| name == "Body")
                        .map(|(_, value)| value.into_owned())
                        .unwrap_or_default();
                    if let Ok(mut seen) = seen.lock() {
                        seen.posted.push(text);
                    }
                    match no_answer {
                        NoAnswer::Drop => {
                            let _ = socket.shutdown().await;
                        }
                        NoAnswer::Hang => {
                            let mut rest = [0u8; 1];
                            let _ = socket.read(&mut rest).await;
                        }
                    }
                    return;
                }
                let messages: Vec<serde_json::Value> = match seen.lock() {
                    Ok(mut seen) => {
                        seen.lookups += 1;
                        seen.posted
                            .iter()
                            .enumerate()
                            .map(|(index, text)| {
                                serde_json::json!({
                                    "sid": format!("SM{index:032}"),
                                    "body": text,
                                    "direction": "outbound-api",
                                    "to": PHONE,
                                    "status": "sent",
                                })
                            })
                            .collect()
                    }
                    Err(_) => Vec::new(),
                };
                let json = serde_json::json!({ "messages": messages, "page": 0 }).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                    json.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_text_whose_answer_was_lost_is_found_at_twilio_and_not_sent_twice() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let twilio = twilio_that_takes_texts_and_never_answers(Arc::clone(&seen), NoAnswer::Drop).await;
    let app = spawn_app_with(&[
        ("SMS_PROVIDERS", "twilio"),
        ("TWILIO_BASE_URL", &twilio),
        ("TWILIO_ACCOUNT_SID", "ACtest"),
        ("TWILIO_AUTH_TOKEN", "test-token"),
        ("TWILIO_FROM", "+14155550000"),
    ])
    .await;
    app.start_sign_up_with(&new_client(), EMAIL, PHONE).await;
    app.send_due().await;
    // The first attempt got no answer: queued again, marked as perhaps taken.
    let (status, ambiguous): (String, Option<i64>) =
        sqlx::query_as("SELECT status, ambiguous_since FROM sms_messages")
            .fetch_one(app.store.pool())
            .await
            .expect("the message");
    assert_eq!(status, "queued");
    assert!(ambiguous.is_some());

    // The retry asks Twilio first, finds the text, and records it as sent.
    app.clock.advance(time::Duration::seconds(30));
    app.send_due().await;
    let (status, provider_message_id): (String, Option<String>) =
        sqlx::query_as("SELECT status, provider_message_id FROM sms_messages")
            .fetch_one(app.store.pool())
            .await
            .expect("the message");
    assert_eq!(status, "sent");
    assert_eq!(
        provider_message_id.as_deref(),
        Some(format!("SM{:032}", 0).as_str())
    );
    let seen = seen.lock().expect("the record");
    assert_eq!(seen.posted.len(), 1, "texted once: {:?}", seen.posted);
    assert_eq!(seen.lookups, 1);
}
