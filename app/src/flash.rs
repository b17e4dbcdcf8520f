//! What one response hands the next page, kept on the server's side of the address bar: the
//! notice to show ("We sent a code to the number ending in 1234"), a failed form's error with the
//! values that were typed into it, and the email an unlock or reset is for. None of it travels in
//! the URL, so no link can put words into a page.
//!
//! The server functions say what to hand on (`ssr` only: `hand_on`, `remember_recovery`); the
//! server turns that into short-lived signed cookies, checks them on the next request, and puts
//! what is valid into the request's extensions, where the pages read it (`page_flash`,
//! `page_recovery`). A plain form post that fails comes back to its page the same way: the server
//! moves the error and the typed values (never a password or a code) into the flash.

use crate::error::AppError;
use crate::types::{Notice, PhoneEnding};
use serde::{Deserialize, Serialize};

/// The one-time hand-over to the page at `page`: shown once, then cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// The path of the page it is for (`/unlock`); any other page leaves it alone.
    pub page: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// The phone ending the notice names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending: Option<PhoneEnding>,
    /// The wait the notice names, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_secs: Option<u64>,
    /// A form that failed: the path of its server function, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<FailedForm>,
    /// Values to fill the page's fields with, by field name: what was typed into a failed form,
    /// or the email a sign-in starts with after an unlock.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<(String, String)>,
}

/// A form post that failed, for its page to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedForm {
    /// The server function's path, e.g. `/api/login`: which of the page's forms failed.
    pub action: String,
    pub error: AppError,
}

impl Flash {
    /// A notice for `page`.
    pub fn notice(page: &str, notice: Notice) -> Self {
        Self {
            page: page.to_owned(),
            notice: Some(notice),
            ..Self::default()
        }
    }

    pub fn with_ending(mut self, ending: &PhoneEnding) -> Self {
        self.ending = Some(ending.clone());
        self
    }

    /// A code page whose code a send limit held back for `wait_secs`: the notice says so instead.
    pub fn held_back(mut self, wait_secs: Option<u64>, delayed: Notice) -> Self {
        if let Some(wait) = wait_secs {
            self.notice = Some(delayed);
            self.wait_secs = Some(wait);
        }
        self
    }

    pub fn with_value(mut self, name: &str, value: &str) -> Self {
        self.values.push((name.to_owned(), value.to_owned()));
        self
    }

    /// What the form posting to `action` starts with on this page.
    pub fn form_init(&self, action: &str) -> FormInit {
        FormInit {
            error: self
                .failed
                .as_ref()
                .filter(|failed| failed.action == action)
                .map(|failed| failed.error.clone()),
            values: self.values.clone(),
        }
    }
}

/// Whether a form field may be carried to the next page: never a password, and never a code.
pub fn may_keep_field(name: &str) -> bool {
    !(name.contains("password") || name.contains("code") || name.starts_with("__"))
}

/// What a form island starts with: the error of its last plain post, and the values to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormInit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AppError>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<(String, String)>,
}

impl FormInit {
    /// The value for field `name` ("" when there is none).
    pub fn value(&self, name: &str) -> String {
        self.values
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    }
}

/// The account an unlock or a password reset is for, remembered for as long as its code lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub email: String,
    /// The ending of the number the latest code went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending: Option<PhoneEnding>,
}

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use super::{Flash, Recovery};
    use http::{HeaderName, HeaderValue};
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;

    /// The response header a server function names its flash in, as JSON; the server signs it into
    /// a cookie and removes the header.
    pub const FLASH_HEADER: HeaderName = HeaderName::from_static("x-latchkey-flash");
    /// Likewise for the recovery state.
    pub const RECOVERY_HEADER: HeaderName = HeaderName::from_static("x-latchkey-recovery");

    /// Hands `flash` to the next page.
    pub fn hand_on(flash: &Flash) {
        set_state_header(FLASH_HEADER, flash);
    }

    /// Remembers the account an unlock or reset is for.
    pub fn remember_recovery(recovery: &Recovery) {
        set_state_header(RECOVERY_HEADER, recovery);
    }

    fn set_state_header(name: HeaderName, state: &impl serde::Serialize) {
        let Some(response) = use_context::<ResponseOptions>() else {
            return;
        };
        // JSON of our own types, with every non-ASCII character escaped, is a valid header value.
        let Ok(json) = serde_json::to_string(state) else {
            return;
        };
        let ascii = escape_non_ascii(&json);
        match HeaderValue::from_str(&ascii) {
            Ok(value) => response.insert_header(name, value),
            Err(_) => tracing::error!("page state is not a valid header value"),
        }
    }

    /// JSON with every non-ASCII character written as `\uXXXX`, so it fits a header value.
    fn escape_non_ascii(json: &str) -> String {
        let mut out = String::with_capacity(json.len());
        for c in json.chars() {
            if c.is_ascii() && !c.is_ascii_control() {
                out.push(c);
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out
    }

    /// The flash the server found for the page being rendered.
    pub fn page_flash() -> Flash {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Flash>().cloned())
            .unwrap_or_default()
    }

    /// The recovery state the server found for this request.
    pub fn page_recovery() -> Option<Recovery> {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Recovery>().cloned())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn non_ascii_is_escaped_so_the_json_still_reads_the_same() {
            let json = serde_json::to_string(&("Łódź", "名前", "😀")).expect("serialises");
            let escaped = escape_non_ascii(&json);
            assert!(escaped.is_ascii());
            let back: (String, String, String) =
                serde_json::from_str(&escaped).expect("still JSON");
            assert_eq!(back, ("Łódź".into(), "名前".into(), "😀".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_codes_are_never_carried() {
        for name in [
            "password",
            "password_confirm",
            "new_password",
            "new_password_confirm",
            "current_password",
            "code",
            "__path",
        ] {
            assert!(!may_keep_field(name), "{name}");
        }
        for name in ["email", "phone", "first_name", "last_name", "delivery", "q"] {
            assert!(may_keep_field(name), "{name}");
        }
    }

    #[test]
    fn an_error_belongs_to_the_form_that_posted() {
        let flash = Flash {
            page: "/login".into(),
            failed: Some(FailedForm {
                action: "/api/login".into(),
                error: AppError::InvalidCredentials {
                    attempts_left: None,
                },
            }),
            values: vec![("email".into(), "a@example.com".into())],
            ..Flash::default()
        };
        let login = flash.form_init("/api/login");
        assert_eq!(
            login.error,
            Some(AppError::InvalidCredentials {
                attempts_left: None
            })
        );
        assert_eq!(login.value("email"), "a@example.com");
        assert_eq!(login.value("phone"), "");
        assert_eq!(flash.form_init("/api/request-reset").error, None);
    }
}
