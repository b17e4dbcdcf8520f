//! Signing up, and the live checks of the signup form's fields.

use super::{parse_email, FieldErrors, FlowResult, LatchkeyService};
use crate::auth::audit::AuditKind;
use crate::auth::send_limits::SendPriority;
use crate::domain::{CodeScope, Email, Password, PersonName, PhoneNumber};
use crate::sms::DeliveryChannel;
use crate::store::{NewAccount, Store};
use app::error::{AppError, Field, FieldError};
use app::ssr::{PendingStep, RequestContext, SignupForm};
use app::types::FieldCheck;

/// A signup form whose every field passed its rules.
pub(super) struct ValidSignup {
    first_name: PersonName,
    last_name: PersonName,
    email: Email,
    phone: PhoneNumber,
    password: Password,
    delivery: DeliveryChannel,
}

pub(super) async fn sign_up(
    service: &LatchkeyService,
    ctx: &RequestContext,
    form: SignupForm,
) -> FlowResult<PendingStep> {
    let ValidSignup {
        first_name,
        last_name,
        email,
        phone,
        password,
        delivery,
    } = service
        .validate_signup(&form)
        .map_err(|fields| AppError::InvalidInput { fields })?;

    let password_hash = service.passwords.hash(&password).await?;
    let mut step = service.step(ctx).await?;
    let account = NewAccount {
        email: &email,
        password_hash: &password_hash,
        phone: &phone,
        first_name: &first_name,
        last_name: &last_name,
        delivery_channel: delivery,
    };
    let Some(account_id) = Store::insert_account(&mut step.tx, account, step.now).await? else {
        return Err(AppError::EmailTaken.into());
    };
    Store::forget_unknown_login(&mut step.tx, &service.email_key(&email)).await?;
    step.audit(AuditKind::SignedUp, Some(account_id), None)
        .await?;
    let Some(created) = Store::account_by_id(&mut step.tx, account_id).await? else {
        return Err(anyhow::anyhow!("the new account is missing").into());
    };
    // The account is not active yet: the phone's code finishes the signup and signs in.
    let pending = service
        .start_pending_sign_in(
            &mut step,
            &created,
            CodeScope::PhoneVerification,
            SendPriority::Normal,
        )
        .await?;
    step.commit().await?;
    if pending.code_delayed_secs.is_none() {
        service.delivery.notify_one();
    }
    tracing::info!(
        account_id,
        "account created; phone verification code queued"
    );
    Ok(pending)
}

pub(super) fn check_email(email: &str) -> Result<String, AppError> {
    parse_email(email).map(|email| email.as_str().to_owned())
}

pub(super) async fn check_signup_field(
    service: &LatchkeyService,
    field: &str,
    value: &str,
    mut form: SignupForm,
) -> FlowResult<FieldCheck> {
    let (field, slot) = match field {
        "first_name" => (Field::FirstName, &mut form.first_name),
        "last_name" => (Field::LastName, &mut form.last_name),
        "email" => (Field::Email, &mut form.email),
        "phone" => (Field::Phone, &mut form.phone),
        "password" => (Field::Password, &mut form.password),
        "password_confirm" => (Field::PasswordConfirm, &mut form.password_confirm),
        _ => {
            return Err(AppError::MalformedRequest {
                detail: "field must be first_name, last_name, email, phone, password or \
                         password_confirm"
                    .to_owned(),
            }
            .into())
        }
    };
    value.clone_into(slot);
    let message = match service.validate_signup(&form) {
        Ok(_) => None,
        Err(errors) => errors
            .into_iter()
            .find(|error| error.field == field)
            .map(|error| error.message),
    };
    let note = match (field, &message) {
        (Field::Phone, None) => PhoneNumber::parse(value, service.phone_region)
            .ok()
            .map(|phone| phone.read_back()),
        _ => None,
    };
    Ok(FieldCheck { message, note })
}

impl LatchkeyService {
    /// Every rule a signup form must pass, with every field's problem at once. The live check of a
    /// single field (`check_signup_field`) runs the same rules.
    pub(super) fn validate_signup(
        &self,
        form: &SignupForm,
    ) -> Result<ValidSignup, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let first_name = errors.check(
            Field::FirstName,
            PersonName::parse(&form.first_name, "first name"),
        );
        let last_name = errors.check(
            Field::LastName,
            PersonName::parse(&form.last_name, "last name"),
        );
        let email = errors.check(Field::Email, Email::parse(&form.email));
        let phone = errors.check(
            Field::Phone,
            PhoneNumber::parse(&form.phone, self.phone_region),
        );
        if let Some(phone) = &phone {
            errors.check(Field::Phone, self.destinations.check(phone));
        }
        let delivery = errors
            .check(
                Field::Delivery,
                self.requested_channel(Some(&form.delivery)),
            )
            .flatten()
            .unwrap_or_default();
        let password = errors.check(Field::Password, Password::parse_new(&form.password));
        if let Some(password) = &password {
            errors.check(
                Field::PasswordConfirm,
                password.confirm(&form.password_confirm),
            );
            errors.check(
                Field::Password,
                password.check_personal(&form.email, &[&form.first_name, &form.last_name]),
            );
        }
        match (first_name, last_name, email, phone, password) {
            (Some(first_name), Some(last_name), Some(email), Some(phone), Some(password))
                if errors.0.is_empty() =>
            {
                Ok(ValidSignup {
                    first_name,
                    last_name,
                    email,
                    phone,
                    password,
                    delivery,
                })
            }
            _ => Err(errors.0),
        }
    }
}
