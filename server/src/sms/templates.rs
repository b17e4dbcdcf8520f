//! The text of each message. Every code text message ends with the origin-bound line `@host #code`
//! (the WebOTP / one-time-code autofill format) and stays within one 160-character SMS segment.
//! Codes by phone call are read digit by digit, twice.

use crate::domain::{CodePurpose, VerificationCode};
use time::Duration;

#[derive(Debug, Clone)]
pub struct MessageTemplates {
    product: String,
    /// The host of the public URL, for the origin-bound line.
    host: String,
    code_lifetime: Duration,
}

impl MessageTemplates {
    pub fn new(
        product: impl Into<String>,
        host: impl Into<String>,
        code_lifetime: Duration,
    ) -> Self {
        Self {
            product: product.into(),
            host: host.into(),
            code_lifetime,
        }
    }

    pub fn code_message(&self, purpose: CodePurpose, code: &VerificationCode) -> String {
        let code = code.expose();
        let validity = describe(self.code_lifetime);
        let first_line = match purpose {
            CodePurpose::Unlock => format!(
                "{}: your account was locked after failed sign-ins. Unlock code: {code} (valid {validity}).",
                self.product
            ),
            CodePurpose::PasswordReset => format!(
                "{}: your password reset code is {code} (valid {validity}). Didn't ask? Ignore this.",
                self.product
            ),
        };
        format!("{first_line}\n\n@{} #{code}", self.host)
    }
}

impl MessageTemplates {
    /// What a call says: the code digit by digit, then again.
    pub fn voice_message(&self, purpose: CodePurpose, code: &VerificationCode) -> String {
        let digits = code
            .expose()
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(", ");
        let what = match purpose {
            CodePurpose::Unlock => "unlock code",
            CodePurpose::PasswordReset => "password reset code",
        };
        format!(
            "This is {}. Your {what} is: {digits}. Again, your {what} is: {digits}. It is valid for {}.",
            self.product,
            describe(self.code_lifetime)
        )
    }

    /// Sent after a password change, so that an owner learns of a takeover attempt.
    pub fn password_changed_notice(&self) -> String {
        format!(
            "{}: your password was just changed. If this wasn't you, reset it now at {} and check your account.",
            self.product, self.host
        )
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
        MessageTemplates::new("Latchkey", "auth.example.com", Duration::hours(1))
    }

    #[test]
    fn code_messages_end_with_the_origin_bound_line() {
        let code = VerificationCode::parse("123456", 6).expect("valid");
        for purpose in CodePurpose::ALL {
            let text = templates().code_message(purpose, &code);
            assert!(text.ends_with("\n\n@auth.example.com #123456"), "{text}");
            assert!(text.contains("123456 (valid 1 hour)"), "{text}");
        }
    }

    #[test]
    fn code_messages_fit_one_sms_segment() {
        let code = VerificationCode::parse("1234567890", 10).expect("valid");
        let templates =
            MessageTemplates::new("Latchkey", "auth.example.com", Duration::minutes(10));
        for purpose in CodePurpose::ALL {
            let text = templates.code_message(purpose, &code);
            assert!(text.is_ascii());
            assert!(text.len() <= 160, "{} characters: {text}", text.len());
        }
    }

    #[test]
    fn calls_read_the_code_digit_by_digit_twice() {
        let code = VerificationCode::parse("123456", 6).expect("valid");
        let text = templates().voice_message(CodePurpose::Unlock, &code);
        assert_eq!(
            text,
            "This is Latchkey. Your unlock code is: 1, 2, 3, 4, 5, 6. Again, your unlock code is: \
             1, 2, 3, 4, 5, 6. It is valid for 1 hour."
        );
    }

    #[test]
    fn the_password_change_notice_fits_one_segment() {
        let text = templates().password_changed_notice();
        assert!(text.starts_with("Latchkey: your password was just changed."));
        assert!(
            text.is_ascii() && text.len() <= 160,
            "{} characters",
            text.len()
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe(Duration::hours(1)), "1 hour");
        assert_eq!(describe(Duration::hours(2)), "2 hours");
        assert_eq!(describe(Duration::minutes(10)), "10 minutes");
        assert_eq!(describe(Duration::seconds(90)), "90 seconds");
    }
}
