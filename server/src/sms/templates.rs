//! The text of each message. Every code text message ends with the origin-bound line `@host #code`
//! (the WebOTP / one-time-code autofill format) and stays within one 160-character SMS segment.
//! Codes by phone call are read digit by digit, twice.

use crate::auth::codes::ScopePolicies;
use crate::domain::{CodeScope, VerificationCode};
use crate::sms::encoding::{Encoding, Segments};
use time::Duration;

#[derive(Debug, Clone)]
pub struct MessageTemplates {
    product: String,
    /// The host of the public URL, for the origin-bound line.
    host: String,
}

impl MessageTemplates {
    pub fn new(product: impl Into<String>, host: impl Into<String>) -> Self {
        Self {
            product: product.into(),
            host: host.into(),
        }
    }

    /// The text message carrying a `scope` code that works for `lifetime`.
    pub fn code_message(
        &self,
        scope: CodeScope,
        code: &VerificationCode,
        lifetime: Duration,
    ) -> String {
        let product = &self.product;
        let code = code.expose();
        let validity = describe(lifetime);
        let first_line = match scope {
            CodeScope::PhoneVerification => {
                format!("{product}: your phone verification code is {code} (valid {validity}).")
            }
            CodeScope::SignIn => format!(
                "{product}: your sign-in code is {code} (valid {validity}). Not you signing in? Change your password."
            ),
            CodeScope::Unlock => format!(
                "{product}: your account was locked after failed sign-ins. Unlock code: {code} (valid {validity})."
            ),
            CodeScope::PasswordReset => format!(
                "{product}: your password reset code is {code} (valid {validity}). Didn't ask? Ignore this."
            ),
            CodeScope::PhoneChange => format!(
                "{product}: code to make this your account's number: {code} (valid {validity}). Didn't ask? Ignore this."
            ),
            CodeScope::AdminStepUp => format!(
                "{product}: your admin access code is {code} (valid {validity}). Never share it."
            ),
        };
        format!("{first_line}\n\n@{} #{code}", self.host)
    }

    /// The code in a text message, read back from its last line (`@host #code`): for a provider
    /// that sends its own approved template around the code.
    pub fn code_in_text(text: &str) -> Option<&str> {
        let last = text.lines().last()?;
        let (_, code) = last.strip_prefix('@')?.rsplit_once(" #")?;
        (!code.is_empty() && code.bytes().all(|byte| byte.is_ascii_digit())).then_some(code)
    }

    /// What a call says: the code digit by digit, then again.
    pub fn voice_message(
        &self,
        scope: CodeScope,
        code: &VerificationCode,
        lifetime: Duration,
    ) -> String {
        let digits = code
            .expose()
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(", ");
        let what = scope.describe();
        format!(
            "This is {}. Your {what} is: {digits}. Again, your {what} is: {digits}. It is valid for {}.",
            self.product,
            describe(lifetime)
        )
    }

    /// Sent after a password change, so that an owner learns of a takeover attempt.
    pub fn password_changed_notice(&self) -> String {
        format!(
            "{}: your password was just changed. If this wasn't you, reset it now at {} and check your account.",
            self.product, self.host
        )
    }

    /// Sent to the old number after the account's number changed to one ending in `new_ending`.
    pub fn phone_changed_notice(&self, new_ending: &str) -> String {
        format!(
            "{}: your account's phone number was changed to one ending in {new_ending}. If this wasn't you, contact support at {} now.",
            self.product, self.host
        )
    }
}

impl MessageTemplates {
    /// Checks that every text message fits one SMS segment with these code lengths and lifetimes
    /// (a longer one costs two or more, and some providers refuse it), and, when `xoxzo` sends,
    /// within Xoxzo's own limit: 160 characters of ASCII, or 70 of anything else. The error names
    /// the settings that make a text too long.
    pub fn check_one_segment(&self, policies: &ScopePolicies, xoxzo: bool) -> Result<(), String> {
        let mut texts: Vec<(String, String)> = CodeScope::ALL
            .iter()
            .copied()
            .map(|scope| {
                let policy = policies.get(scope);
                let digits = "0".repeat(usize::from(policy.length));
                let text = VerificationCode::parse(&digits, policy.length)
                    .map(|code| self.code_message(scope, &code, policy.lifetime))
                    .unwrap_or_default();
                (format!("the {} text", scope.describe()), text)
            })
            .collect();
        texts.push((
            "the password-changed notice".to_owned(),
            self.password_changed_notice(),
        ));
        texts.push((
            "the phone-changed notice".to_owned(),
            self.phone_changed_notice("0000"),
        ));
        for (what, text) in texts {
            let segments = Segments::of(&text);
            let (units, limit, alphabet) = match segments.encoding {
                Encoding::Gsm7 => (Encoding::Gsm7.units(&text), 160, "GSM-7"),
                Encoding::Ucs2 => (Encoding::Ucs2.units(&text), 70, "UCS-2"),
            };
            let xoxzo_limit = if text.is_ascii() { 160 } else { 70 };
            let xoxzo_over = xoxzo && text.chars().count() > xoxzo_limit;
            if segments.count > 1 || xoxzo_over {
                return Err(format!(
                    "PRODUCT_NAME ({:?}) and the host of PUBLIC_URL ({:?}) make {what} {units} \
                     {alphabet} characters, more than one SMS holds ({limit}{}): shorten them{}",
                    self.product,
                    self.host,
                    if xoxzo_over {
                        format!("; Xoxzo takes {xoxzo_limit}")
                    } else {
                        String::new()
                    },
                    if segments.encoding == Encoding::Ucs2 {
                        ", or write PRODUCT_NAME in GSM-7 characters (a character outside it \
                         halves what one SMS holds)"
                    } else {
                        ""
                    },
                ));
            }
        }
        Ok(())
    }
}

/// "1 hour", "10 minutes", "90 seconds".
pub fn describe(duration: Duration) -> String {
    let seconds = duration.whole_seconds();
    let (amount, unit) = if seconds % 3600 == 0 && seconds >= 3600 {
        (seconds / 3600, "hour")
    } else if seconds % 60 == 0 && seconds >= 60 {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    if amount == 1 {
        format!("1 {unit}")
    } else {
        format!("{amount} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> MessageTemplates {
        MessageTemplates::new("Latchkey", "auth.example.com")
    }

    #[test]
    fn code_messages_end_with_the_origin_bound_line() {
        let code = VerificationCode::parse("123456", 6).expect("valid");
        for purpose in CodeScope::ALL.iter().copied() {
            let text = templates().code_message(purpose, &code, Duration::hours(1));
            assert!(text.ends_with("\n\n@auth.example.com #123456"), "{text}");
            assert!(text.contains("123456 (valid 1 hour)"), "{text}");
        }
    }

    #[test]
    fn code_messages_fit_one_sms_segment() {
        let code = VerificationCode::parse("1234567890", 10).expect("valid");
        for purpose in CodeScope::ALL.iter().copied() {
            let text = templates().code_message(purpose, &code, Duration::minutes(10));
            assert!(text.is_ascii());
            assert!(text.len() <= 160, "{} characters: {text}", text.len());
        }
    }

    #[test]
    fn calls_read_the_code_digit_by_digit_twice() {
        let code = VerificationCode::parse("123456", 6).expect("valid");
        let text = templates().voice_message(CodeScope::Unlock, &code, Duration::hours(1));
        assert_eq!(
            text,
            "This is Latchkey. Your unlock code is: 1, 2, 3, 4, 5, 6. Again, your unlock code is: \
             1, 2, 3, 4, 5, 6. It is valid for 1 hour."
        );
    }

    #[test]
    fn notices_fit_one_segment() {
        let text = templates().password_changed_notice();
        assert!(text.starts_with("Latchkey: your password was just changed."));
        let moved = templates().phone_changed_notice("5678");
        assert!(moved.contains("ending in 5678"), "{moved}");
        for text in [text, moved] {
            assert!(
                text.is_ascii() && text.len() <= 160,
                "{} characters",
                text.len()
            );
        }
    }

    #[test]
    fn the_defaults_fit_and_a_name_too_long_for_one_sms_is_named() {
        use crate::auth::codes::CodePolicy;
        let policies = ScopePolicies::uniform(CodePolicy {
            length: 10,
            lifetime: Duration::minutes(10),
            max_tries: 5,
        });
        assert_eq!(templates().check_one_segment(&policies, true), Ok(()));
        let long_host =
            MessageTemplates::new("Latchkey", format!("{}.example.com", "a".repeat(60)));
        let error = long_host
            .check_one_segment(&policies, false)
            .expect_err("too long");
        assert!(error.contains("PUBLIC_URL"), "{error}");
        assert!(error.contains("GSM-7"), "{error}");
        // A name outside GSM-7 leaves 70 characters: the default texts no longer fit.
        let polish = MessageTemplates::new("Łódź Konto", "auth.example.com");
        let error = polish
            .check_one_segment(&policies, false)
            .expect_err("UCS-2");
        assert!(
            error.contains("UCS-2") && error.contains("PRODUCT_NAME"),
            "{error}"
        );
        // A name in GSM-7 but not ASCII fits one SMS, but not Xoxzo's 70 for non-ASCII text.
        let danish = MessageTemplates::new("Ærø", "auth.example.com");
        assert_eq!(danish.check_one_segment(&policies, false), Ok(()));
        let error = danish
            .check_one_segment(&policies, true)
            .expect_err("Xoxzo");
        assert!(error.contains("Xoxzo takes 70"), "{error}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe(Duration::hours(1)), "1 hour");
        assert_eq!(describe(Duration::hours(2)), "2 hours");
        assert_eq!(describe(Duration::minutes(10)), "10 minutes");
        assert_eq!(describe(Duration::seconds(90)), "90 seconds");
    }

    #[test]
    fn the_code_is_read_back_from_the_last_line() {
        let text = templates().code_message(
            CodeScope::Unlock,
            &VerificationCode::parse("482917", 6).expect("a code"),
            Duration::hours(1),
        );
        assert_eq!(MessageTemplates::code_in_text(&text), Some("482917"));
        assert_eq!(
            MessageTemplates::code_in_text("Latchkey: your code is 123456"),
            None
        );
        assert_eq!(MessageTemplates::code_in_text("x\n\n@host #"), None);
        assert_eq!(MessageTemplates::code_in_text("x\n\n@host #12a4"), None);
    }
}
