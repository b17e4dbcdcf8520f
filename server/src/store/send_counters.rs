//! Messages per minute, in all and per client network (an IPv4 address, or an IPv6 network: see
//! `ClientIp`): what the hourly per-IP cap and the global budget
//! count. Reading a window sums at most 61 rows, so a send costs the same with a quiet hour behind
//! it as with a busy one (counting the hour's messages themselves grew with every message).
//!
//! A window counts whole minutes: every minute that overlaps it, the partial first one included.
//! A cap may therefore hold up to a minute longer than an exact count would, never shorter.

use super::Store;
use crate::auth::send_limits::RecentSends;
use crate::clock::{from_unix_millis, unix_millis};
use anyhow::Context;
use sqlx::{AnyConnection, Row};
use std::net::IpAddr;
use time::OffsetDateTime;

const MINUTE_MILLIS: i64 = 60_000;

/// The counter of all messages.
const ALL: &str = "all";

fn ip_counter(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

fn minute_of(at: OffsetDateTime) -> i64 {
    unix_millis(at).div_euclid(MINUTE_MILLIS)
}

impl Store {
    /// Counts one message (or decoy) caused by the client network `client_ip` at `now`; part of the caller's
    /// transaction, with the message itself.
    pub(super) async fn count_send(
        conn: &mut AnyConnection,
        client_ip: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let minute = minute_of(now);
        let counters = std::iter::once(ALL.to_owned()).chain(client_ip.map(ip_counter));
        for counter in counters {
            sqlx::query(
                "INSERT INTO send_counters (counter, minute, sends) VALUES ($1, $2, 1) \
                 ON CONFLICT (counter, minute) DO UPDATE SET sends = send_counters.sends + 1",
            )
            .bind(&counter)
            .bind(minute)
            .execute(&mut *conn)
            .await
            .context("could not count the message")?;
        }
        Ok(())
    }

    /// Messages since `since` caused by the client network `client_ip` (`None`: in all). `oldest` is the end of the
    /// oldest counted minute: no message in it is later, so the cap frees no earlier than
    /// `oldest` + the window.
    pub(super) async fn counted_sends(
        conn: &mut AnyConnection,
        client_ip: Option<IpAddr>,
        since: OffsetDateTime,
    ) -> anyhow::Result<RecentSends> {
        let counter = client_ip.map_or_else(|| ALL.to_owned(), ip_counter);
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(sends), 0) AS BIGINT), MIN(minute), MAX(minute) \
             FROM send_counters WHERE counter = $1 AND minute >= $2",
        )
        .bind(&counter)
        .bind(minute_of(since))
        .fetch_one(&mut *conn)
        .await
        .context("could not count the recent messages")?;
        let count: i64 = row.try_get(0)?;
        let oldest: Option<i64> = row.try_get(1)?;
        let newest: Option<i64> = row.try_get(2)?;
        let minute_end = |minute: i64| from_unix_millis((minute + 1) * MINUTE_MILLIS);
        Ok(RecentSends {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            oldest: oldest.map(minute_end),
            newest: newest.map(minute_end),
        })
    }

    /// Deletes the counts of minutes that end before `before`; returns how many.
    pub async fn prune_send_counters(&self, before: OffsetDateTime) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM send_counters WHERE minute < $1",
            minute_of(before),
            "the send counters",
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    const T0: OffsetDateTime = datetime!(2026-11-23 10:00:30 UTC);

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}/counters.db", dir.path().display());
        let store = Store::connect(&url, 2).await.expect("the store opens");
        (dir, store)
    }

    async fn count(store: &Store, ip: Option<IpAddr>, at: OffsetDateTime) {
        let mut tx = store.begin_write().await.expect("a write transaction");
        Store::count_send(&mut tx, ip, at).await.expect("counted");
        tx.commit().await.expect("committed");
    }

    async fn counted(store: &Store, ip: Option<IpAddr>, since: OffsetDateTime) -> RecentSends {
        let mut tx = store.begin_write().await.expect("a write transaction");
        Store::counted_sends(&mut tx, ip, since)
            .await
            .expect("read")
    }

    #[tokio::test]
    async fn a_window_counts_every_minute_that_overlaps_it_in_all_and_per_client() {
        let (_dir, store) = store().await;
        let ada: IpAddr = "203.0.113.7".parse().expect("an IP");
        let bob: IpAddr = "2001:db8::1".parse().expect("an IP");
        count(&store, Some(ada), T0).await;
        count(&store, Some(ada), T0 + Duration::seconds(10)).await;
        count(&store, Some(bob), T0 + Duration::minutes(30)).await;
        count(&store, None, T0 + Duration::minutes(59)).await;

        let since = T0 + Duration::seconds(20);
        let all = counted(&store, None, since).await;
        assert_eq!(all.count, 4, "the first minute overlaps the window");
        assert_eq!(all.oldest, Some(datetime!(2026-11-23 10:01 UTC)));
        assert_eq!(counted(&store, Some(ada), since).await.count, 2);
        assert_eq!(counted(&store, Some(bob), since).await.count, 1);

        let later = T0 + Duration::minutes(1);
        assert_eq!(counted(&store, None, later).await.count, 2);
        assert_eq!(counted(&store, Some(ada), later).await.count, 0);
        assert_eq!(
            counted(&store, Some(ada), later).await,
            RecentSends::default()
        );
    }

    #[tokio::test]
    async fn pruning_removes_only_minutes_that_ended_before_the_cut() {
        let (_dir, store) = store().await;
        let ip: IpAddr = "203.0.113.7".parse().expect("an IP");
        count(&store, Some(ip), T0).await;
        count(&store, Some(ip), T0 + Duration::minutes(2)).await;
        let pruned = store
            .prune_send_counters(T0 + Duration::minutes(1))
            .await
            .expect("pruned");
        assert_eq!(pruned, 2, "the first minute, in all and for the client");
        assert_eq!(counted(&store, None, T0).await.count, 1);
        assert_eq!(counted(&store, Some(ip), T0).await.count, 1);
    }
}
