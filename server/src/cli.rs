//! The command line: `server` serves; `server admin grant EMAIL` and `server admin revoke EMAIL`
//! give an account the admin role or take it away (the first admin has no one to ask), against
//! the database the server's settings name, with the change written to the audit log.

use crate::auth::audit::AuditKind;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::domain::Email;
use crate::store::{NewAuditEvent, Role, Store};

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve,
    SetRole { email: String, role: Role },
    Help,
}

pub const USAGE: &str = "usage:
  server                          serve (settings from the environment and .env)
  server admin grant EMAIL        give the account with EMAIL the admin role
  server admin revoke EMAIL       make the account with EMAIL a plain user again";

/// Reads the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => Ok(Command::Serve),
        ["help" | "--help" | "-h"] => Ok(Command::Help),
        ["admin", action, email] => {
            let role = match *action {
                "grant" => Role::Admin,
                "revoke" => Role::User,
                other => return Err(format!("unknown admin action `{other}`\n{USAGE}")),
            };
            Ok(Command::SetRole {
                email: (*email).to_owned(),
                role,
            })
        }
        _ => Err(format!(
            "unrecognised arguments: {}\n{USAGE}",
            args.join(" ")
        )),
    }
}

/// Gives the account with `email` the role; the message to print on success.
pub async fn set_role(config: &Config, email: &str, role: Role) -> anyhow::Result<String> {
    let email = Email::parse(email).map_err(|error| anyhow::anyhow!("{email}: {error}"))?;
    crate::startup::ensure_sqlite_directory(&config.database.url)?;
    let store = Store::connect(&config.database.url, 1).await?;
    let mut tx = store.begin_write().await?;
    let Some(account_id) = Store::set_role(&mut tx, &email, role).await? else {
        anyhow::bail!("there is no account with the email {}", email.as_str());
    };
    let detail = match role {
        Role::Admin => "made an admin by the server command",
        Role::User => "made a user by the server command",
    };
    Store::record_event(
        &mut tx,
        NewAuditEvent {
            kind: AuditKind::RoleChanged,
            account_id: Some(account_id),
            detail: Some(detail),
            client_ip: None,
            user_agent: None,
            actor_id: None,
        },
        SystemClock.now(),
    )
    .await?;
    tx.commit().await?;
    store.close().await;
    Ok(match role {
        Role::Admin => format!(
            "{} is now an admin. Sign in and open /admin (an admin access code goes to the account's phone).",
            email.as_str()
        ),
        Role::User => format!("{} is no longer an admin.", email.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn no_arguments_serve() {
        assert_eq!(parse(&[]), Ok(Command::Serve));
    }

    #[test]
    fn admin_grant_and_revoke_name_an_email() {
        assert_eq!(
            parse(&args(&["admin", "grant", "you@example.com"])),
            Ok(Command::SetRole {
                email: "you@example.com".to_owned(),
                role: Role::Admin
            })
        );
        assert_eq!(
            parse(&args(&["admin", "revoke", "you@example.com"])),
            Ok(Command::SetRole {
                email: "you@example.com".to_owned(),
                role: Role::User
            })
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_usage() {
        for wrong in [
            &["admin"][..],
            &["admin", "promote", "a@b.c"],
            &["serve", "now"],
        ] {
            let error = parse(&args(wrong)).expect_err("refused");
            assert!(error.contains("usage:"), "{error}");
        }
    }
}
