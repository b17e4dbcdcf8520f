//! The one error type every server function returns, and all of its wording.
//!
//! Every variant is safe to show to the person at the keyboard: it never carries library text,
//! and an unknown email and a wrong password share one variant so the two cannot be told apart.

use crate::wire_names::wire_names;
use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use std::fmt;

/// A form field that an error can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Email,
    Password,
    PasswordConfirm,
    Phone,
    FirstName,
    LastName,
    Code,
    /// How codes are delivered: `sms` or `voice`.
    Delivery,
    /// The admin area's account search.
    Query,
}

wire_names!(Field {
    Email => "email",
    Password => "password",
    PasswordConfirm => "password_confirm",
    Phone => "phone",
    FirstName => "first_name",
    LastName => "last_name",
    Code => "code",
    Delivery => "delivery",
    Query => "query",
});

/// A problem with one field, in words meant for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: Field,
    pub message: String,
}

impl FieldError {
    pub fn new(field: Field, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Why a request did not do what was asked.
///
/// On the wire: `{"error": "<kind>", ...the variant's fields}`. It is read back through
/// [`ErrorWire`], a flat record, rather than serde's internally tagged enums, which buffer every
/// value first and cost the browser's wasm about 20 KB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case", try_from = "ErrorWire")]
pub enum AppError {
    /// One or more fields were missing or malformed; nothing was changed.
    InvalidInput { fields: Vec<FieldError> },
    /// The request body could not be read as the documented form (missing field, bad encoding).
    MalformedRequest { detail: String },
    /// The email and password do not match an account (also for unknown emails). `attempts_left`:
    /// how many more wrong passwords in a row lock the account (counted alike for unknown emails).
    InvalidCredentials {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempts_left: Option<u32>,
    },
    /// Signup with an email that already has an account.
    EmailTaken,
    /// The code is wrong, already used, replaced, or was never issued.
    InvalidCode,
    /// The code was right, but its lifetime is over: ask for a new one.
    ExpiredCode,
    /// The request needs a signed-in session and has none (or it expired).
    NotSignedIn,
    /// A send limit holds: no code was sent; a new one may be asked for after the wait.
    TooManyCodes { retry_after_secs: u64 },
    /// Too many requests from this client; try again after the wait.
    RateLimited { retry_after_secs: u64 },
    /// The phone on file is a destination codes may not be sent to (pumping guard): nothing sent.
    UndeliverablePhone,
    /// A code by phone call was asked for, but no configured provider places calls.
    VoiceUnavailable,
    /// A state-changing request came from a page of another site (CSRF): refused, nothing changed.
    CrossOrigin,
    /// A code step (sign-in code, phone verification) with no password step before it in this
    /// browser, or one that has expired: sign in again.
    NoPendingSignIn,
    /// The password is right, but an administrator requires a new one before the next sign-in.
    PasswordResetRequired,
    /// The signed-in account may not do this (the admin area, for a user).
    Forbidden,
    /// The admin area needs a fresh admin access code for this session.
    StepUpRequired,
    /// The account (or other thing) asked for does not exist.
    NotFound,
    /// Too many sign-ins are waiting for their passwords to be checked: nothing was checked or
    /// counted; try again after the wait.
    Busy { retry_after_secs: u64 },
    /// The database cannot work right now (a full disk, an I/O error, unreachable): nothing was
    /// changed; try again after the wait.
    StorageUnavailable { retry_after_secs: u64 },
    /// The verification service that issued the code (`CODE_ISSUER`) cannot say now whether it
    /// is right: nothing was counted; try again after the wait.
    CodeServiceUnavailable { retry_after_secs: u64 },
    /// Something failed on the server; the details are in the server log.
    Internal,
}

/// Every field any `AppError` variant carries, as it arrives; see `TryFrom<ErrorWire>`.
#[derive(Deserialize)]
struct ErrorWire {
    error: String,
    #[serde(default)]
    fields: Option<Vec<FieldError>>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    attempts_left: Option<u32>,
    #[serde(default)]
    retry_after_secs: Option<u64>,
}

impl TryFrom<ErrorWire> for AppError {
    type Error = String;

    fn try_from(wire: ErrorWire) -> Result<Self, String> {
        let ErrorWire {
            error: kind,
            fields,
            detail,
            attempts_left,
            retry_after_secs,
        } = wire;
        let missing = |field: &str| format!("`{kind}` needs the field `{field}`");
        let retry_after_secs = || retry_after_secs.ok_or_else(|| missing("retry_after_secs"));
        Ok(match kind.as_str() {
            "invalid_input" => Self::InvalidInput {
                fields: fields.ok_or_else(|| missing("fields"))?,
            },
            "malformed_request" => Self::MalformedRequest {
                detail: detail.ok_or_else(|| missing("detail"))?,
            },
            "invalid_credentials" => Self::InvalidCredentials { attempts_left },
            "email_taken" => Self::EmailTaken,
            "invalid_code" => Self::InvalidCode,
            "expired_code" => Self::ExpiredCode,
            "not_signed_in" => Self::NotSignedIn,
            "too_many_codes" => Self::TooManyCodes {
                retry_after_secs: retry_after_secs()?,
            },
            "rate_limited" => Self::RateLimited {
                retry_after_secs: retry_after_secs()?,
            },
            "undeliverable_phone" => Self::UndeliverablePhone,
            "voice_unavailable" => Self::VoiceUnavailable,
            "cross_origin" => Self::CrossOrigin,
            "no_pending_sign_in" => Self::NoPendingSignIn,
            "password_reset_required" => Self::PasswordResetRequired,
            "forbidden" => Self::Forbidden,
            "step_up_required" => Self::StepUpRequired,
            "not_found" => Self::NotFound,
            "busy" => Self::Busy {
                retry_after_secs: retry_after_secs()?,
            },
            "storage_unavailable" => Self::StorageUnavailable {
                retry_after_secs: retry_after_secs()?,
            },
            "code_service_unavailable" => Self::CodeServiceUnavailable {
                retry_after_secs: retry_after_secs()?,
            },
            "internal" => Self::Internal,
            other => return Err(format!("unknown error kind `{other}`")),
        })
    }
}

impl AppError {
    pub fn field(field: Field, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            fields: vec![FieldError::new(field, message)],
        }
    }

    /// The message for one field, if this error points at it.
    pub fn message_for(&self, field: Field) -> Option<String> {
        match self {
            Self::InvalidInput { fields } => fields
                .iter()
                .find(|error| error.field == field)
                .map(|error| error.message.clone()),
            _ => None,
        }
    }

    /// The message for the whole form; `None` when the errors belong to fields.
    pub fn form_message(&self) -> Option<String> {
        match self {
            Self::InvalidInput { .. } => None,
            other => Some(other.user_message()),
        }
    }

    /// What the person is told.
    pub fn user_message(&self) -> String {
        match self {
            Self::InvalidInput { fields } => match fields.as_slice() {
                [only] => only.message.clone(),
                _ => "Some fields need your attention.".to_owned(),
            },
            Self::MalformedRequest { .. } => {
                "The form could not be read. Reload the page and try again.".to_owned()
            }
            Self::InvalidCredentials {
                attempts_left: Some(1),
            } => "The email or password is incorrect. One more wrong password locks the account \
                  and sends a code to its phone."
                .to_owned(),
            Self::InvalidCredentials { .. } => "The email or password is incorrect.".to_owned(),
            Self::EmailTaken => {
                "An account with this email already exists. Sign in, or reset your password."
                    .to_owned()
            }
            Self::InvalidCode => {
                "That code is wrong. Check the message, or ask for a new code.".to_owned()
            }
            Self::ExpiredCode => {
                "That code has expired. Ask for a new code and try again.".to_owned()
            }
            Self::NotSignedIn => "Please sign in to continue.".to_owned(),
            Self::TooManyCodes { retry_after_secs } => format!(
                "Too many codes were requested. You can ask for a new one in {}.",
                describe_wait(*retry_after_secs)
            ),
            Self::RateLimited { retry_after_secs } => format!(
                "Too many attempts. Try again in {}.",
                describe_wait(*retry_after_secs)
            ),
            Self::UndeliverablePhone => "Codes can't be sent to the phone number on this account. \
                                         Contact the administrator of this service."
                .to_owned(),
            Self::VoiceUnavailable => {
                "Codes can't be sent by phone call on this service. Choose a text message instead."
                    .to_owned()
            }
            Self::CrossOrigin => "This form was sent from another site, so it was refused. Open \
                                  this page at its own address and try again."
                .to_owned(),
            Self::NoPendingSignIn => {
                "Your sign-in has timed out. Sign in again with your email and password.".to_owned()
            }
            Self::PasswordResetRequired => {
                "You need to set a new password before you can sign \
                                            in. Use \u{201c}Forgot password?\u{201d} to get a code."
                    .to_owned()
            }
            Self::Forbidden => "This page is only for administrators.".to_owned(),
            Self::StepUpRequired => {
                "Enter a new admin access code to continue in the admin area.".to_owned()
            }
            Self::NotFound => "There is no such account.".to_owned(),
            Self::Busy { retry_after_secs } => format!(
                "Too many people are signing in right now. Nothing was checked: try again in {}.",
                describe_wait(*retry_after_secs)
            ),
            Self::StorageUnavailable { retry_after_secs } => format!(
                "We can't save anything right now. Nothing was changed: try again in {}.",
                describe_wait(*retry_after_secs)
            ),
            Self::CodeServiceUnavailable { retry_after_secs } => format!(
                "We can't check codes right now. Your code was not used up: try again in {}.",
                describe_wait(*retry_after_secs)
            ),
            Self::Internal => {
                "Something went wrong on our side. Please try again in a moment.".to_owned()
            }
        }
    }

    /// The HTTP status the error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::InvalidInput { .. }
            | Self::MalformedRequest { .. }
            | Self::InvalidCode
            | Self::ExpiredCode
            | Self::UndeliverablePhone
            | Self::VoiceUnavailable => 400,
            Self::InvalidCredentials { .. } | Self::NotSignedIn | Self::NoPendingSignIn => 401,
            Self::PasswordResetRequired | Self::Forbidden | Self::StepUpRequired => 403,
            Self::NotFound => 404,
            Self::EmailTaken => 409,
            Self::TooManyCodes { .. } | Self::RateLimited { .. } => 429,
            Self::CrossOrigin => 403,
            Self::Busy { .. }
            | Self::StorageUnavailable { .. }
            | Self::CodeServiceUnavailable { .. } => 503,
            Self::Internal => 500,
        }
    }
}

impl AppError {
    /// Seconds to wait before asking again, for the `Retry-After` header.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::TooManyCodes { retry_after_secs }
            | Self::RateLimited { retry_after_secs }
            | Self::Busy { retry_after_secs }
            | Self::StorageUnavailable { retry_after_secs }
            | Self::CodeServiceUnavailable { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// "45 seconds", "1 minute", "3 minutes" (rounded up), "2 hours".
pub fn describe_wait(seconds: u64) -> String {
    let (amount, unit) = match seconds {
        0..=59 => (seconds.max(1), "second"),
        60..=3599 => (seconds.div_ceil(60), "minute"),
        _ => (seconds.div_ceil(3600), "hour"),
    };
    if amount == 1 {
        format!("1 {unit}")
    } else {
        format!("{amount} {unit}s")
    }
}

/// The most characters of a parser's message an error repeats: the message may quote the input,
/// and the input may be as long as the body limit allows.
pub const MAX_DETAIL_CHARS: usize = 200;

/// `detail` cut to `MAX_DETAIL_CHARS` characters, with an ellipsis when something was cut.
fn bounded_detail(detail: &str) -> String {
    match detail.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((end, _)) => format!("{}\u{2026}", &detail[..end]),
        None => detail.to_owned(),
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.user_message())
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(detail)
            | ServerFnErrorErr::MissingArg(detail)
            | ServerFnErrorErr::Deserialization(detail)
            | ServerFnErrorErr::Serialization(detail) => Self::MalformedRequest {
                detail: bounded_detail(&detail),
            },
            // Registration, request, response and middleware failures are the server's fault.
            _ => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_error_is_shown_by_its_field_and_not_as_a_form_message() {
        let error = AppError::field(Field::Phone, "Enter a valid mobile number.");
        assert_eq!(
            error.message_for(Field::Phone).as_deref(),
            Some("Enter a valid mobile number.")
        );
        assert_eq!(error.message_for(Field::Email), None);
        assert_eq!(error.form_message(), None);
    }

    #[test]
    fn every_error_round_trips_through_its_json_encoding() {
        let errors = [
            AppError::field(Field::Code, "Enter the 6-digit code."),
            AppError::MalformedRequest {
                detail: "missing field `email`".to_owned(),
            },
            AppError::InvalidCredentials {
                attempts_left: None,
            },
            AppError::InvalidCredentials {
                attempts_left: Some(2),
            },
            AppError::EmailTaken,
            AppError::InvalidCode,
            AppError::ExpiredCode,
            AppError::NotSignedIn,
            AppError::TooManyCodes {
                retry_after_secs: 30,
            },
            AppError::RateLimited {
                retry_after_secs: 2,
            },
            AppError::UndeliverablePhone,
            AppError::VoiceUnavailable,
            AppError::CrossOrigin,
            AppError::NoPendingSignIn,
            AppError::PasswordResetRequired,
            AppError::Forbidden,
            AppError::StepUpRequired,
            AppError::NotFound,
            AppError::Busy {
                retry_after_secs: 1,
            },
            AppError::StorageUnavailable {
                retry_after_secs: 5,
            },
            AppError::CodeServiceUnavailable {
                retry_after_secs: 30,
            },
            AppError::Internal,
        ];
        for error in errors {
            let decoded = AppError::de(error.ser());
            assert_eq!(decoded, error);
        }
    }

    #[test]
    fn an_error_missing_its_fields_or_of_unknown_kind_is_not_read() {
        for json in [
            r#"{"error":"too_many_codes"}"#,
            r#"{"error":"invalid_input"}"#,
            r#"{"error":"malformed_request"}"#,
            r#"{"error":"no_such_kind"}"#,
            r#"{"fields":[]}"#,
        ] {
            assert!(
                serde_json::from_str::<AppError>(json).is_err(),
                "{json} was read"
            );
        }
        assert_eq!(
            serde_json::from_str::<AppError>(r#"{"error":"invalid_credentials","extra":1}"#).ok(),
            Some(AppError::InvalidCredentials {
                attempts_left: None
            })
        );
    }

    #[test]
    fn bad_arguments_are_a_client_error_never_a_server_error() {
        let error = AppError::from_server_fn_error(ServerFnErrorErr::Args(
            "missing field `email`".to_owned(),
        ));
        assert_eq!(error.status_code(), 400);
    }

    #[test]
    fn a_parser_message_quoting_a_huge_value_is_cut_short() {
        let huge = format!("unknown variant `{}`", "é".repeat(100_000));
        let AppError::MalformedRequest { detail } =
            AppError::from_server_fn_error(ServerFnErrorErr::Args(huge))
        else {
            panic!("not a malformed request");
        };
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(detail.starts_with("unknown variant `é"));
        assert!(detail.ends_with('\u{2026}'));
        let short =
            AppError::from_server_fn_error(ServerFnErrorErr::Args("missing field `email`".into()));
        assert_eq!(
            short,
            AppError::MalformedRequest {
                detail: "missing field `email`".to_owned()
            }
        );
    }

    #[test]
    fn limits_say_when_to_ask_again() {
        let error = AppError::TooManyCodes {
            retry_after_secs: 150,
        };
        assert_eq!(error.status_code(), 429);
        assert_eq!(error.retry_after_secs(), Some(150));
        assert_eq!(
            error.user_message(),
            "Too many codes were requested. You can ask for a new one in 3 minutes."
        );
        assert_eq!(
            AppError::RateLimited {
                retry_after_secs: 1
            }
            .user_message(),
            "Too many attempts. Try again in 1 second."
        );
        assert_eq!(describe_wait(7200), "2 hours");
    }

    #[test]
    fn unknown_email_and_wrong_password_read_the_same() {
        // Both paths return this one variant; its wording must not hint at which happened.
        for attempts_left in [None, Some(1), Some(2)] {
            let message = AppError::InvalidCredentials { attempts_left }.user_message();
            assert!(!message.to_lowercase().contains("no account"));
            assert!(!message.to_lowercase().contains("not found"));
        }
    }

    #[test]
    fn the_attempt_before_a_lock_is_announced() {
        assert_eq!(
            AppError::InvalidCredentials {
                attempts_left: Some(1)
            }
            .user_message(),
            "The email or password is incorrect. One more wrong password locks the account and \
             sends a code to its phone."
        );
        assert_eq!(
            AppError::InvalidCredentials {
                attempts_left: Some(2)
            }
            .user_message(),
            "The email or password is incorrect."
        );
    }
}
