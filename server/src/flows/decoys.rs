//! The answers for emails with no account: a decoy phone ending and decoy sends, so that an unknown
//! email costs and reads the same as a real one.

use super::codes::{SendCheck, SendTerms};
use super::{FlowResult, LatchkeyService, Step};
use crate::auth::audit::AuditKind;
use crate::auth::send_limits::SendPriority;
use crate::domain::{CodeScope, Email};
use crate::store::Store;
use app::error::AppError;
use app::types::{CodeSent, PhoneEnding};

impl LatchkeyService {
    /// The ending shown for an email with no account: stable for that email, unguessable without
    /// the server secret.
    pub(super) fn decoy_ending(&self, email: &Email) -> PhoneEnding {
        let hash = self
            .secret
            .keyed_hash("latchkey/decoy-phone/v1", &[email.normalized().as_bytes()]);
        let value = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]) % 10_000;
        PhoneEnding::of_number(&format!("{value:04}"))
    }

    /// For a request that sends nothing (an unknown email, or a resend for an account that is not
    /// locked): the same send limits and the same kind of row as a real code, so that neither the
    /// answers nor their timing show the difference. The row is never sent.
    pub(super) async fn send_decoy(
        &self,
        step: &mut Step<'_>,
        account_id: Option<i64>,
        to_phone: &str,
        priority: SendPriority,
    ) -> FlowResult<Result<(), AppError>> {
        // As for a real code asked for anonymously (see `issue`).
        match self
            .check_send_limits(
                step,
                account_id,
                to_phone,
                SendTerms {
                    priority,
                    anonymous: true,
                },
            )
            .await?
        {
            SendCheck::Allowed => {}
            SendCheck::Quiet(_) => return Ok(Ok(())),
            SendCheck::Refused(_, error) => return Ok(Err(error)),
        }
        Store::record_decoy(
            &mut step.tx,
            account_id,
            to_phone,
            (step.ctx.client_ip, step.ctx.client_network),
            step.now,
        )
        .await?;
        Ok(Ok(()))
    }

    /// The answer to "send me a code" for an email with no account: a decoy row under the same
    /// limits as a real code, and the email's decoy phone ending.
    pub(super) async fn answer_unknown_email(
        &self,
        mut step: Step<'_>,
        email: &Email,
    ) -> FlowResult<CodeSent> {
        // The work a real account's request does besides its code, so that both take as long:
        // the look-up of the account's networks (no account has id 0), a code's hash, and an
        // audit row (a request for an email with no account is worth recording anyway).
        self.recovery_priority(&mut step.tx, step.ctx, 0, step.now)
            .await?;
        let _ = self.code_policies.get(CodeScope::Unlock).issue(
            &self.code_hasher,
            0,
            CodeScope::Unlock,
            step.now,
        );
        step.audit(AuditKind::UnknownEmail, None, Some("a code was asked for"))
            .await?;
        let decoy = self
            .send_decoy(
                &mut step,
                None,
                &self.decoy_destination(email),
                SendPriority::Normal,
            )
            .await?;
        step.commit().await?;
        decoy?;
        Ok(CodeSent {
            phone_ending: self.decoy_ending(email),
        })
    }

    /// Where the decoy rows of an email with no account point.
    pub(super) fn decoy_destination(&self, email: &Email) -> String {
        format!("decoy:{}", hex::encode(self.email_key(email)))
    }

    /// The key under which an email's failures are counted while it has no account.
    pub(super) fn email_key(&self, email: &Email) -> [u8; 32] {
        self.secret.keyed_hash(
            "latchkey/unknown-login/v1",
            &[email.normalized().as_bytes()],
        )
    }
}
