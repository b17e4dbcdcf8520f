//! Two instances, one database: two servers on different ports share one database (PostgreSQL
//! when the suite runs against it, else one SQLite file), as instances behind a load balancer do.
//! Lockout, codes, sessions and the delivery queue stay correct across them.

use crate::helpers::*;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

const EMAIL: &str = "ada@example.com";
const PHONE: &str = "+14155552671";

/// Two servers on one fresh database. The directory holds the SQLite file, if any.
async fn spawn_two_instances() -> (TestApp, TestApp, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("a temporary directory");
    let url = test_database_url(data.path()).await;
    let first = spawn_app_with(&[("DATABASE_URL", &url)]).await;
    let second = spawn_app_with(&[("DATABASE_URL", &url)]).await;
    assert_ne!(first.address, second.address);
    (first, second, data)
}

/// Two instances on one database that holds Ada's account, and her account's id.
async fn two_instances_with_ada() -> (TestApp, TestApp, tempfile::TempDir, i64) {
    let (first, second, data) = spawn_two_instances().await;
    first.seed_account(EMAIL, PHONE, "sms").await;
    let id = first
        .count("SELECT id FROM accounts WHERE email_normalized = 'ada@example.com'")
        .await;
    (first, second, data, id)
}

async fn wrong_password(app: &TestApp) -> (StatusCode, Value) {
    let response = app
        .post_with(
            &new_client(),
            "/api/login",
            &[("email", EMAIL), ("password", "wrong password")],
        )
        .await;
    let status = response.status();
    (status, json(response).await)
}

#[tokio::test]
async fn failed_sign_ins_split_across_instances_lock_the_account_at_the_third() {
    let (a, b, _data) = spawn_two_instances().await;
    a.sign_up(EMAIL, PHONE).await;

    let (first, _) = wrong_password(&a).await;
    let (second, _) = wrong_password(&b).await;
    assert_eq!(first, StatusCode::UNAUTHORIZED);
    assert_eq!(second, StatusCode::UNAUTHORIZED);
    let (third, body) = wrong_password(&a).await;
    assert_eq!(third, StatusCode::OK);
    assert_eq!(body["status"], "locked", "{body}");

    // Locked on both: the right password opens neither, from a browser the account does not trust.
    for app in [&a, &b] {
        let response = app.log_in_from_new_browser(EMAIL, PASSWORD).await;
        assert_eq!(json(response).await["status"], "locked");
    }
    assert_eq!(
        b.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'unlock'")
            .await,
        1
    );
}

#[tokio::test]
async fn concurrent_failures_on_both_instances_lock_once_with_one_code() {
    let (a, b, _data) = spawn_two_instances().await;
    a.seed_account(EMAIL, PHONE, "sms").await;
    let attempts = (0..30).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        async move { wrong_password(app).await.0 }
    });
    let statuses = join_all(attempts).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        2,
        "exactly two failures count before the lock: {statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED));
    assert_eq!(
        a.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        a.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'unlock'")
            .await,
        1
    );
    assert_eq!(a.count("SELECT COUNT(*) FROM verification_codes").await, 1);
}

#[tokio::test]
async fn a_code_issued_through_one_instance_works_on_the_other_once() {
    let (a, b, _data) = spawn_two_instances().await;
    a.sign_up(EMAIL, PHONE).await;
    a.fail_logins(EMAIL, 3).await;
    let code = a.latest_code(PHONE, "unlock").await;

    // The same code at both instances at once: one unlocks, the other is refused.
    let submissions = [&a, &b].map(|app| {
        let code = code.clone();
        async move {
            app.post_with(
                &new_client(),
                "/api/unlock",
                &[("email", EMAIL), ("code", code.as_str())],
            )
            .await
            .status()
        }
    });
    let mut statuses = join_all(submissions).await;
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);

    // Spent: neither instance takes it again, and the account is open on both.
    for app in [&a, &b] {
        assert_eq!(
            app.unlock(EMAIL, &code).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    let response = b.log_in(EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["status"], "signed_in");
}

#[tokio::test]
async fn a_code_from_one_instance_is_accepted_by_the_other() {
    let (a, b, _data) = spawn_two_instances().await;
    a.sign_up(EMAIL, PHONE).await;
    a.fail_logins(EMAIL, 3).await;
    let code = a.latest_code(PHONE, "unlock").await;
    let response = b.unlock(EMAIL, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        a.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn a_session_made_on_one_instance_is_valid_on_the_other_until_signed_out_there() {
    let (a, b, _data) = spawn_two_instances().await;
    a.sign_up(EMAIL, PHONE).await;
    let browser = new_client();
    let response = a
        .post_with(
            &browser,
            "/api/login",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(json(response).await["status"], "signed_in");

    // The cookie set by one instance (same host, other port) is sent to the other.
    let me = browser
        .get(b.url("/api/me"))
        .send()
        .await
        .expect("answered");
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(json(me).await["email"], EMAIL);

    let response = b.post_with(&browser, "/api/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me = browser
        .get(a.url("/api/me"))
        .send()
        .await
        .expect("answered");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_queued_message_is_sent_exactly_once_while_both_instances_run_workers() {
    let (a, b, _data) = spawn_two_instances().await;
    const MESSAGES: i64 = 24;
    for i in 0..MESSAGES {
        let email = format!("user{i}@example.com");
        let app = if i % 2 == 0 { &a } else { &b };
        app.sign_up(&email, &format!("+1415555{:04}", 2000 + i))
            .await;
    }
    // Requests through both instances queue messages while both instances' workers run; two more
    // drains per instance race them for the same rows.
    let requests = (0..MESSAGES).map(|i| {
        let app = if i % 2 == 0 { &b } else { &a };
        async move {
            let email = format!("user{i}@example.com");
            app.post_with(&new_client(), "/api/request-reset", &[("email", &email)])
                .await
                .status()
        }
    });
    let statuses = join_all(requests).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let (one, two, three, four) = tokio::join!(
        a.worker.drain(),
        b.worker.drain(),
        a.worker.drain(),
        b.worker.drain()
    );
    for drained in [one, two, three, four] {
        drained.expect("the queue drains");
    }
    a.deliver_all().await;
    b.deliver_all().await;

    // Each account's signup verification code, and its reset code.
    assert_eq!(
        a.count("SELECT COUNT(*) FROM dev_outbox").await,
        2 * MESSAGES
    );
    assert_eq!(
        a.count("SELECT COUNT(DISTINCT message_id) FROM dev_outbox")
            .await,
        2 * MESSAGES
    );
    assert_eq!(
        a.count(
            "SELECT COUNT(*) FROM sms_messages WHERE status = 'sent' AND attempts = 1 \
             AND body IS NULL"
        )
        .await,
        2 * MESSAGES
    );
}

#[tokio::test]
async fn write_transactions_of_two_instances_never_overlap() {
    use server::store::Store;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let data = tempfile::tempdir().expect("a temporary directory");
    let url = test_database_url(data.path()).await;
    let first = Store::connect(&url, 2)
        .await
        .expect("the first instance's store");
    let second = Store::connect(&url, 2)
        .await
        .expect("the second instance's store");

    let committing = Arc::new(AtomicBool::new(false));
    let holder = first.begin_write().await.expect("a write transaction");
    let waiter = {
        let committing = Arc::clone(&committing);
        tokio::spawn(async move {
            let tx = second.begin_write().await.expect("a write transaction");
            let started_after_the_commit = committing.load(Ordering::SeqCst);
            drop(tx);
            started_after_the_commit
        })
    };
    // Give the second instance every chance to start while the first one holds its transaction.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    committing.store(true, Ordering::SeqCst);
    holder.commit().await.expect("committed");
    assert!(
        waiter.await.expect("the second transaction ran"),
        "the second instance's write transaction began while the first one's was open"
    );
}

/// Sign-in attempts from one client, alternating between the instances, until `attempts`:
/// how many were answered 429, and the `Retry-After` of the first of them.
async fn alternate_logins(a: &TestApp, b: &TestApp, attempts: usize) -> (usize, Option<String>) {
    let mut limited = 0;
    let mut first_wait = None;
    for attempt in 0..attempts {
        let app = if attempt % 2 == 0 { a } else { b };
        // Unknown emails: counted by the rate limit like any, and never locked.
        let email = format!("nobody{attempt}@example.com");
        let response = app
            .post_with(
                &new_client(),
                "/api/login",
                &[("email", email.as_str()), ("password", "wrong password")],
            )
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
            if first_wait.is_none() {
                first_wait = Some(header(&response, reqwest::header::RETRY_AFTER));
            }
        }
    }
    (limited, first_wait)
}

#[tokio::test]
async fn the_per_client_sign_in_limit_is_shared_by_the_instances_on_postgresql() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let url = test_database_url(data.path()).await;
    let postgres = url.starts_with("postgres");
    let settings = [("DATABASE_URL", url.as_str()), ("RATE_LIMIT_LOGIN", "4")];
    let a = spawn_app_with(&settings).await;
    let b = spawn_app_with(&settings).await;

    let (limited, wait) = alternate_logins(&a, &b, 10).await;
    if postgres {
        // One bucket for the client: 4 sign-ins a minute in all, whichever instance serves them.
        assert_eq!(limited, 6, "4 of 10 allowed across both instances");
        // A token comes back every 15 seconds.
        assert_eq!(wait.as_deref(), Some("15"));
        // A minute later the bucket is full again (the clocks move together here).
        a.clock.advance(time::Duration::seconds(60));
        b.clock.advance(time::Duration::seconds(60));
        let (limited, _) = alternate_logins(&a, &b, 4).await;
        assert_eq!(limited, 0);
        // Kept out of the write-ahead log: a token taken waits for no disk.
        let persistence: String = sqlx::query_scalar(
            "SELECT relpersistence::text FROM pg_class WHERE relname = 'rate_limit_buckets'",
        )
        .fetch_one(a.store.pool())
        .await
        .expect("the table's persistence");
        assert_eq!(persistence, "u", "the buckets' table is unlogged");
    } else {
        // SQLite is one instance's database: each process keeps its own buckets.
        assert_eq!(limited, 2, "4 allowed by each of the two instances");
    }
}

/// A task that begins a write transaction of `scope` on `store` and ends it at once: finished
/// only once nothing keeps that scope out.
fn write_in_background(
    store: &server::store::Store,
    scope: server::store::WriteScope,
) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    tokio::spawn(async move {
        let tx = store
            .begin_write_in(scope)
            .await
            .expect("a write transaction");
        drop(tx);
    })
}

#[tokio::test]
async fn on_postgresql_two_accounts_write_at_once_while_one_account_or_everything_waits() {
    use server::store::{Store, WriteScope};
    use std::time::Duration;

    let Some(url) = postgres_test_database_url().await else {
        // SQLite has one writer: no two write transactions overlap (the test above).
        return;
    };
    let first = Store::connect(&url, 4)
        .await
        .expect("the first instance's store");
    let second = Store::connect(&url, 4)
        .await
        .expect("the second instance's store");
    let holder = first
        .begin_write_in(WriteScope::Account(1))
        .await
        .expect("a write transaction");

    // Another account's write begins at once.
    let other = tokio::time::timeout(
        Duration::from_secs(5),
        second.begin_write_in(WriteScope::Account(2)),
    )
    .await
    .expect("another account's write is not held back")
    .expect("a write transaction");
    drop(other);

    // The same account's write, and a write of everything, wait for the holder.
    let waiting = |scope| write_in_background(&second, scope);
    let same = waiting(WriteScope::Account(1));
    let everything = waiting(WriteScope::Everything);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !same.is_finished(),
        "the same account's write began while the first was open"
    );
    assert!(
        !everything.is_finished(),
        "a write of everything began while an account's was open"
    );
    holder.commit().await.expect("committed");
    tokio::time::timeout(Duration::from_secs(5), same)
        .await
        .expect("the same account's write began after the commit")
        .expect("it ran");
    tokio::time::timeout(Duration::from_secs(5), everything)
        .await
        .expect("the write of everything began after the commit")
        .expect("it ran");
}

#[tokio::test]
async fn a_write_about_an_email_takes_its_accounts_lock_or_else_the_emails() {
    use server::store::{email_lock_key, Backend, WriteScope};
    use std::time::Duration;

    let (first, second, _data, id) = two_instances_with_ada().await;
    let unknown_key = email_lock_key(b"nobody@example.com, hashed");
    let write_about = |email: &'static str| {
        let store = first.store.clone();
        async move {
            store
                .begin_write_for_email(email, unknown_key)
                .await
                .expect("a write transaction")
        }
    };

    let (known, account) = write_about(EMAIL).await;
    assert_eq!(known.scope(), WriteScope::Account(id));
    assert_eq!(account.map(|account| account.id), Some(id));
    if first.store.backend() != Backend::Postgres {
        // SQLite: one writer, nothing overlaps; the scope is all there is to see.
        drop(known);
        let (unknown, account) = write_about("nobody@example.com").await;
        assert_eq!(unknown.scope(), WriteScope::Email(unknown_key));
        assert!(account.is_none());
        return;
    }
    let (unknown, account) = write_about("nobody@example.com").await;
    assert_eq!(unknown.scope(), WriteScope::Email(unknown_key));
    assert!(account.is_none());

    // The account's lock and the email's are held: writes of either wait, another account's
    // does not.
    let waiting = |scope| write_in_background(&second.store, scope);
    let same_account = waiting(WriteScope::Account(id));
    let same_email = waiting(WriteScope::Email(unknown_key));
    tokio::time::timeout(
        Duration::from_secs(5),
        second.store.begin_write_in(WriteScope::Account(id + 1)),
    )
    .await
    .expect("another account's write is not held back")
    .expect("a write transaction");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !same_account.is_finished(),
        "the account's lock was not held"
    );
    assert!(!same_email.is_finished(), "the email's lock was not held");
    known.commit().await.expect("committed");
    unknown.commit().await.expect("committed");
    for waiter in [same_account, same_email] {
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the write began after the commit")
            .expect("it ran");
    }
}

/// On PostgreSQL: another instance's write of Ada's account holds the account's lock and has
/// changed her lock state to two failures, while `begin` starts a write on the first instance
/// that must wait for that lock. Once the other commits, that write is of the account's scope and
/// has read the account as the other left it. Nothing to see on SQLite (one writer: no write
/// waits inside a statement).
async fn reads_the_account_as_the_write_it_waited_for_left_it<F, Fut>(begin: F)
where
    F: FnOnce(server::store::Store, i64) -> Fut,
    Fut: std::future::Future<
            Output = anyhow::Result<(server::store::WriteTx, Option<server::store::AccountRecord>)>,
        > + Send
        + 'static,
{
    use server::auth::lockout::LockState;
    use server::store::{Backend, Store, WriteScope};
    use std::time::Duration;

    let (first, second, _data, id) = two_instances_with_ada().await;
    if first.store.backend() != Backend::Postgres {
        return;
    }
    let mut holding = second
        .store
        .begin_write_in(WriteScope::Account(id))
        .await
        .expect("a write transaction");
    Store::save_lock_state(&mut holding, id, LockState::Open { failures: 2 })
        .await
        .expect("saved");
    let waiting = tokio::spawn(begin(first.store.clone(), id));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the account's lock was not held");
    holding.commit().await.expect("committed");
    let (tx, account) = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the write began after the commit")
        .expect("it ran")
        .expect("a write transaction");
    assert_eq!(tx.scope(), WriteScope::Account(id));
    assert_eq!(
        account.map(|account| account.lock),
        Some(LockState::Open { failures: 2 }),
        "the account was read as the write it waited for left it"
    );
}

#[tokio::test]
async fn a_write_about_an_email_reads_the_account_as_the_write_it_waited_for_left_it() {
    reads_the_account_as_the_write_it_waited_for_left_it(|store, _| async move {
        let unknown_key = server::store::email_lock_key(b"unused");
        store
            .begin_write_for_email("ada@example.com", unknown_key)
            .await
    })
    .await;
}

/// As a sign-in's write does, once the password is checked.
#[tokio::test]
async fn a_write_about_an_account_reads_it_as_the_write_it_waited_for_left_it() {
    reads_the_account_as_the_write_it_waited_for_left_it(|store, id| async move {
        let scope = server::store::WriteScope::Account(id);
        store.begin_write_for_account(scope, id).await
    })
    .await;
}

#[tokio::test]
async fn under_load_on_many_accounts_each_locks_once_and_each_code_has_one_winner() {
    const ACCOUNTS: usize = 8;
    let (a, b, _data) = spawn_two_instances().await;
    let people: Vec<(String, String)> = (0..ACCOUNTS)
        .map(|n| {
            (
                format!("person{n}@example.com"),
                format!("+1415555{:04}", 2600 + n),
            )
        })
        .collect();
    for (email, phone) in &people {
        a.seed_account(email, phone, "sms").await;
    }
    // Six wrong passwords for every account at once, split across the instances.
    let (first, second) = (&a, &b);
    let failures = people.iter().flat_map(|(email, _)| {
        (0..6).map(move |i| {
            let app = if i % 2 == 0 { first } else { second };
            async move {
                let response = app
                    .post_with(
                        &new_client(),
                        "/api/login",
                        &[("email", email.as_str()), ("password", "wrong password")],
                    )
                    .await;
                (email.clone(), response.status())
            }
        })
    });
    let statuses = join_all(failures).await;
    for (email, _) in &people {
        let counted = statuses
            .iter()
            .filter(|(who, status)| who == email && *status == StatusCode::UNAUTHORIZED)
            .count();
        assert_eq!(counted, 2, "{email}: two failures count before the lock");
    }
    assert_eq!(
        a.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
            .await,
        ACCOUNTS as i64
    );
    assert_eq!(
        a.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'unlock'")
            .await,
        ACCOUNTS as i64,
        "one unlock code per account"
    );

    // Every account's code at both instances at once: one winner each.
    let mut codes = Vec::new();
    for (email, phone) in &people {
        codes.push((email.clone(), a.latest_code(phone, "unlock").await));
    }
    let submissions = codes.iter().flat_map(|(email, code)| {
        [first, second].map(|app| async move {
            let response = app
                .post_with(
                    &new_client(),
                    "/api/unlock",
                    &[("email", email.as_str()), ("code", code.as_str())],
                )
                .await;
            (email.clone(), response.status())
        })
    });
    let outcomes = join_all(submissions).await;
    for (email, _) in &people {
        let mut statuses: Vec<StatusCode> = outcomes
            .iter()
            .filter(|(who, _)| who == email)
            .map(|(_, status)| *status)
            .collect();
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::BAD_REQUEST],
            "{email}"
        );
    }
    assert_eq!(
        a.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
            .await,
        0
    );
}

/// The shared rate limit takes its tokens on connections it holds, not on one borrowed from the
/// pool for each request (sqlx tests every connection handed back with a round trip). A held
/// connection the database ended is replaced once it sat idle, and the store still closes.
#[tokio::test]
async fn the_shared_rate_limit_holds_its_connection_and_replaces_one_the_database_ended() {
    use server::store::Store;
    use std::time::Duration;

    let Some(url) = postgres_test_database_url().await else {
        // SQLite keeps the limits in the process.
        return;
    };
    let store = Store::connect(&url, 8).await.expect("a store");
    let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
    let take = |store: &Store| {
        let store = store.clone();
        async move {
            store
                .take_shared_token("login:192.0.2.1", 100, now)
                .await
                .expect("the shared bucket answers")
                .expect("a token")
        }
    };
    for _ in 0..3 {
        take(&store).await;
    }
    // Handed back, a connection would be idle in the pool once tested.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pool = store.pool();
    assert_eq!(
        pool.size() as usize - pool.num_idle(),
        1,
        "the bucket's connection is held, and only it"
    );

    let mut other = store.reader().await.expect("a connection");
    let ended: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND query LIKE 'INSERT INTO rate_limit_buckets%') AS ended",
    )
    .fetch_one(&mut *other)
    .await
    .expect("the held connection's backend is ended");
    assert_eq!(ended, 1);
    drop(other);
    // Idle for a second: tested before its next use, found ended, and replaced.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    take(&store).await;

    tokio::time::timeout(Duration::from_secs(5), store.close())
        .await
        .expect("the store closes with its held connections handed back");
}

/// A write whose request is dropped while its `BEGIN` is on the way (the client went away)
/// leaves no connection inside a transaction. sqlx counts a transaction only once the database
/// has answered its `BEGIN`; a connection handed back to the pool in between would carry the
/// open transaction to whoever took it next: a shared rate limit's token would then never be
/// committed, and every later request for its bucket would wait on its row for good.
#[tokio::test]
async fn a_write_dropped_while_it_begins_leaves_no_connection_inside_a_transaction() {
    use server::store::Store;
    use sqlx::Connection;
    use std::time::Duration;

    let Some(url) = postgres_test_database_url().await else {
        // SQLite's one writer counts its transaction itself, whatever becomes of the request.
        return;
    };
    let store = Store::connect(&url, 4).await.expect("a store");
    for _ in 0..50 {
        let mut begin = std::pin::pin!(store.begin_write());
        // Polled once: as far as it goes without waiting (the `BEGIN` sent); then dropped.
        let _ = futures_util::poll!(&mut begin);
        tokio::task::yield_now().await;
    }
    // The dropped transactions' connections go back to the pool, each tested on the way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Every connection of the pool at work outside a transaction: the one the shared limits hold
    // and the three others.
    let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
    store
        .take_shared_token("login:192.0.2.1", 100, now)
        .await
        .expect("the shared bucket answers")
        .expect("a token");
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut reader = store.reader().await.expect("a connection");
        sqlx::query("SELECT 1")
            .execute(&mut *reader)
            .await
            .expect("a read");
        readers.push(reader);
    }
    drop(readers);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Seen from a connection of its own, outside the store's pool.
    let mut watcher = sqlx::AnyConnection::connect(&url)
        .await
        .expect("a connection of the test's own");
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(&mut watcher)
    .await
    .expect("the sessions are listed");
    assert_eq!(open, 0, "no connection is left inside a transaction");
}
