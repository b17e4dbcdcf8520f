//! Tests of `password_hasher`.

use super::*;

#[tokio::test]
async fn a_hash_verifies_its_password_and_nothing_else() -> anyhow::Result<()> {
    let hasher = PasswordHasher::new(2, HashingPriority::Idle)?;
    let password = Password::parse_new("correct horse battery")?;
    let hash = hasher.hash(&password).await?;
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(hasher.verify(&password, &hash).await?);
    let other = Password::parse_new("correct horse battery!")?;
    assert!(!hasher.verify(&other, &hash).await?);
    hasher.verify_dummy(&other).await?;
    Ok(())
}

#[tokio::test]
async fn hashes_made_elsewhere_with_other_parameters_still_verify() -> anyhow::Result<()> {
    use argon2::PasswordHasher as _;
    let salt = SaltString::generate(&mut OsRng);
    let params =
        Params::new(8 * 1024, 3, 1, Some(32)).map_err(|error| anyhow::anyhow!("{error}"))?;
    let foreign = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(b"correct horse battery", &salt)
        .map_err(|error| anyhow::anyhow!("{error}"))?
        .to_string();
    let hasher = PasswordHasher::new(1, HashingPriority::Idle)?;
    assert!(
        hasher
            .verify(&Password::parse_new("correct horse battery")?, &foreign)
            .await?
    );
    assert!(
        !hasher
            .verify(&Password::parse_new("correct horse battery!")?, &foreign)
            .await?
    );
    // The shared working memory, now sized for 19 MiB, still gives the right answer.
    let ours = hasher
        .hash(&Password::parse_new("correct horse battery")?)
        .await?;
    assert!(
        hasher
            .verify(&Password::parse_new("correct horse battery")?, &ours)
            .await?
    );
    assert!(
        hasher
            .verify(&Password::parse_new("correct horse battery")?, &foreign)
            .await?
    );
    Ok(())
}

/// The scheduling policy of the thread that computes a hash.
async fn hashing_thread_policy(
    priority: HashingPriority,
) -> anyhow::Result<thread_priority::ThreadSchedulePolicy> {
    let hasher = PasswordHasher::new(1, priority)?;
    hasher
        .run(|_| {
            thread_priority::thread_schedule_policy().map_err(|error| anyhow::anyhow!("{error:?}"))
        })
        .await
}

/// The nice value of the thread that computes a hash (Linux: field 19 of its `stat`).
async fn hashing_thread_nice(priority: HashingPriority) -> anyhow::Result<i64> {
    let hasher = PasswordHasher::new(1, priority)?;
    hasher
        .run(|_| {
            let stat = std::fs::read_to_string("/proc/thread-self/stat")?;
            let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            // Fields from the third on; the nice value is the nineteenth.
            after_name
                .split_whitespace()
                .nth(16)
                .and_then(|nice| nice.parse().ok())
                .ok_or_else(|| anyhow::anyhow!("no nice value in {stat}"))
        })
        .await
}

#[tokio::test]
async fn hashes_run_at_the_configured_scheduling_priority() -> anyhow::Result<()> {
    use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
    assert_eq!(hashing_thread_nice(HashingPriority::Low).await?, 5);
    assert_eq!(hashing_thread_nice(HashingPriority::Normal).await?, 0);
    assert_eq!(
        hashing_thread_policy(HashingPriority::Low).await?,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
    );
    assert_eq!(
        hashing_thread_policy(HashingPriority::Idle).await?,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
    );
    assert_eq!(
        hashing_thread_policy(HashingPriority::Normal).await?,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
    );
    // The caller's own thread is left as it was.
    assert_eq!(
        thread_priority::thread_schedule_policy().map_err(|error| anyhow::anyhow!("{error:?}"))?,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
    );
    Ok(())
}

#[tokio::test]
async fn every_queued_hash_is_answered_when_more_wait_than_there_are_threads() -> anyhow::Result<()>
{
    let hasher = PasswordHasher::new(2, HashingPriority::Normal)?;
    let password = Password::parse_new("correct horse battery")?;
    let hash = hasher.hash(&password).await?;
    let wrong = Password::parse_new("correct horse battery!")?;
    let checks = (0..6).map(|i| {
        let (hasher, hash) = (hasher.clone(), hash.clone());
        let attempt = if i % 2 == 0 {
            password.clone()
        } else {
            wrong.clone()
        };
        async move { hasher.verify(&attempt, &hash).await }
    });
    let answers = futures_util::future::try_join_all(checks).await?;
    assert_eq!(answers, [true, false, true, false, true, false]);
    Ok(())
}

/// A hasher with one thread, held busy until the returned sender is dropped or sent to.
async fn held_hasher(
    max_wait: Duration,
) -> anyhow::Result<(PasswordHasher, std::sync::mpsc::Sender<()>)> {
    let hasher = PasswordHasher::with_max_wait(1, HashingPriority::Normal, max_wait)?;
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (started, running) = oneshot::channel();
    let blocker = hasher.clone();
    tokio::spawn(async move {
        blocker
            .run(move |_| {
                let _ = started.send(());
                let _ = held.recv();
                Ok(())
            })
            .await
    });
    running.await?;
    Ok((hasher, release))
}

#[tokio::test]
async fn trusted_browsers_hashes_are_served_before_everyone_elses() -> anyhow::Result<()> {
    let (hasher, release) = held_hasher(Duration::from_secs(60)).await?;
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut waiting = Vec::new();
    for (name, lane) in [
        ("anyone 1", HashLane::Anyone),
        ("anyone 2", HashLane::Anyone),
        ("trusted", HashLane::Trusted),
        ("anyone 3", HashLane::Anyone),
    ] {
        let (hasher, order) = (hasher.clone(), Arc::clone(&order));
        waiting.push(tokio::spawn(async move {
            hasher
                .run_in(lane, move |_| {
                    order
                        .lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?
                        .push(name);
                    Ok(())
                })
                .await
        }));
        // Queued in this order.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    release.send(())?;
    for task in waiting {
        task.await??;
    }
    let order = order
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    assert_eq!(order, ["trusted", "anyone 1", "anyone 2", "anyone 3"]);
    Ok(())
}

#[tokio::test]
async fn a_hash_that_would_wait_too_long_is_refused_before_it_is_queued() -> anyhow::Result<()> {
    let (hasher, release) = held_hasher(Duration::from_millis(100)).await?;
    hasher
        .shared
        .mean_nanos
        .store(nanos(Duration::from_millis(30)), Ordering::Relaxed);
    // One hash running: the next waits about one hash's time.
    assert_eq!(hasher.admit(HashLane::Anyone), Ok(()));
    let mut queued = Vec::new();
    for _ in 0..3 {
        let hasher = hasher.clone();
        queued.push(tokio::spawn(async move { hasher.run(|_| Ok(())).await }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Four ahead on one thread: about 120 ms, over the limit.
    let refused = hasher.admit(HashLane::Anyone);
    assert_eq!(
        refused,
        Err(Overloaded {
            expected_wait: Duration::from_millis(120)
        })
    );
    // A trusted browser's hash waits only for the one running.
    assert_eq!(hasher.admit(HashLane::Trusted), Ok(()));
    release.send(())?;
    for task in queued {
        task.await??;
    }
    assert_eq!(hasher.admit(HashLane::Anyone), Ok(()));
    Ok(())
}

#[tokio::test]
async fn a_malformed_stored_hash_is_an_error_not_a_match() -> anyhow::Result<()> {
    let hasher = PasswordHasher::new(1, HashingPriority::Idle)?;
    let password = Password::parse_new("correct horse battery")?;
    assert!(hasher.verify(&password, "not a hash").await.is_err());
    assert!(hasher
        .verify(&password, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ")
        .await
        .is_err());
    Ok(())
}
