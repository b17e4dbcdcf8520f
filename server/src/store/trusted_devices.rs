//! Trusted devices: browsers that completed a sign-in to an account, keyed by the hash of the
//! token in their device cookie (see `auth::trusted_devices` for what trust allows).

use super::Store;
use crate::auth::sessions::TokenHash;
use crate::clock::{from_unix_millis, unix_millis};
use anyhow::Context;
use sqlx::{AnyConnection, Row};
use std::net::IpAddr;
use time::OffsetDateTime;

/// One trusted browser of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedDevice {
    pub id: i64,
    pub account_id: i64,
    /// SHA-256 of the token the browser's cookie holds now.
    pub token_hash: TokenHash,
    pub user_agent: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    /// Wrong passwords typed in this browser since its last right one.
    pub failures: u32,
}

fn device_from(row: &sqlx::any::AnyRow) -> anyhow::Result<TrustedDevice> {
    let failures: i64 = row.try_get("failures")?;
    let hash: Vec<u8> = row.try_get("token_hash")?;
    let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) else {
        anyhow::bail!("a stored device token hash is not 32 bytes");
    };
    Ok(TrustedDevice {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        token_hash: TokenHash(hash),
        user_agent: row.try_get("user_agent")?,
        created_at: from_unix_millis(row.try_get("created_at")?),
        last_used_at: from_unix_millis(row.try_get("last_used_at")?),
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
    })
}

/// The most browsers one account trusts at once; signing in on one more forgets the least recently
/// used.
const MAX_DEVICES_PER_ACCOUNT: i64 = 20;

const COLUMNS: &str = "id, account_id, token_hash, user_agent, created_at, last_used_at, failures";

impl Store {
    /// The device whose cookie token hashes to `hash`, if it is trusted by `account_id`.
    pub async fn trusted_device(
        conn: &mut AnyConnection,
        hash: TokenHash,
        account_id: i64,
    ) -> anyhow::Result<Option<TrustedDevice>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM trusted_devices WHERE token_hash = $1 AND account_id = $2"
        ))
        .bind(hash.0.as_slice())
        .bind(account_id)
        .fetch_optional(conn)
        .await
        .context("could not read the trusted device")?;
        row.as_ref().map(device_from).transpose()
    }

    /// Trusts a new browser of the account, signed in from `network`.
    pub async fn insert_trusted_device(
        conn: &mut AnyConnection,
        account_id: i64,
        hash: TokenHash,
        user_agent: Option<&str>,
        network: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO trusted_devices (account_id, token_hash, user_agent, network, \
             created_at, last_used_at, failures) VALUES ($1, $2, $3, $4, $5, $6, 0)",
        )
        .bind(account_id)
        .bind(hash.0.as_slice())
        .bind(user_agent)
        .bind(network.map(|network| network.to_string()))
        .bind(unix_millis(now))
        .bind(unix_millis(now))
        .execute(&mut *conn)
        .await
        .context("could not trust the device")?;
        // Only the most recently used browsers stay trusted.
        sqlx::query(
            "DELETE FROM trusted_devices WHERE account_id = $1 AND id NOT IN \
             (SELECT id FROM trusted_devices WHERE account_id = $2 \
              ORDER BY last_used_at DESC, id DESC LIMIT $3)",
        )
        .bind(account_id)
        .bind(account_id)
        .bind(MAX_DEVICES_PER_ACCOUNT)
        .execute(conn)
        .await
        .context("could not forget the oldest devices")?;
        Ok(())
    }

    /// Gives a trusted device a new token (its cookie rotates at every sign-in), clears its
    /// failures and notes its use and network.
    pub async fn rotate_trusted_device(
        conn: &mut AnyConnection,
        id: i64,
        new_hash: TokenHash,
        user_agent: Option<&str>,
        network: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE trusted_devices SET token_hash = $1, user_agent = $2, network = $3, \
             last_used_at = $4, failures = 0 WHERE id = $5",
        )
        .bind(new_hash.0.as_slice())
        .bind(user_agent)
        .bind(network.map(|network| network.to_string()))
        .bind(unix_millis(now))
        .bind(id)
        .execute(conn)
        .await
        .context("could not rotate the device token")?;
        Ok(())
    }

    pub async fn set_device_failures(
        conn: &mut AnyConnection,
        id: i64,
        failures: u32,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE trusted_devices SET failures = $1 WHERE id = $2")
            .bind(i64::from(failures))
            .bind(id)
            .execute(conn)
            .await
            .context("could not count the device's wrong password")?;
        Ok(())
    }

    /// Whether one of the account's browsers used since `since` last signed in from `network`.
    pub async fn is_familiar_network(
        conn: &mut AnyConnection,
        account_id: i64,
        network: IpAddr,
        since: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM trusted_devices WHERE account_id = $1 AND network = $2 \
             AND last_used_at > $3",
        )
        .bind(account_id)
        .bind(network.to_string())
        .bind(unix_millis(since))
        .fetch_one(conn)
        .await
        .context("could not look up the account's networks")?;
        Ok(count > 0)
    }

    /// Forgets one device of the account; false if it had no such device.
    pub async fn delete_trusted_device(
        conn: &mut AnyConnection,
        account_id: i64,
        id: i64,
    ) -> anyhow::Result<bool> {
        let result = sqlx::query("DELETE FROM trusted_devices WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .execute(conn)
            .await
            .context("could not forget the device")?;
        Ok(result.rows_affected() > 0)
    }

    /// Forgets every device of the account (a password reset); how many there were.
    pub async fn delete_trusted_devices_of(
        conn: &mut AnyConnection,
        account_id: i64,
    ) -> anyhow::Result<u64> {
        let result = sqlx::query("DELETE FROM trusted_devices WHERE account_id = $1")
            .bind(account_id)
            .execute(conn)
            .await
            .context("could not forget the devices")?;
        Ok(result.rows_affected())
    }

    /// Forgets the devices unused since `before` (no longer trusted anyway); how many.
    pub async fn prune_trusted_devices(&self, before: OffsetDateTime) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM trusted_devices WHERE last_used_at < $1",
            unix_millis(before),
            "the devices no longer trusted",
        )
        .await
    }

    /// The account's trusted devices, most recently used first.
    pub async fn trusted_devices_of(&self, account_id: i64) -> anyhow::Result<Vec<TrustedDevice>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM trusted_devices WHERE account_id = $1 \
             ORDER BY last_used_at DESC, id DESC"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await
        .context("could not list the devices")?;
        rows.iter().map(device_from).collect()
    }
}
