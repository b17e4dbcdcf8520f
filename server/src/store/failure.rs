//! Telling a database that cannot do its work right now from a fault in a request or in this
//! code.
//!
//! A full disk, an I/O error, a read-only file or database, a database that cannot be reached or
//! gave no connection within `DATABASE_ACQUIRE_TIMEOUT`: each passes by itself or by an
//! operator's hand, without a restart. Requests that meet one are answered `503
//! storage_unavailable` with a `Retry-After`, and nothing they began is kept (every rule runs in
//! one transaction, rolled back). Anything else is a bug and stays a `500`.

/// Whether `error`, or any error it was caused by, is the database being unable to work now.
pub fn is_unavailable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .any(sqlx_error_is_unavailability)
}

fn sqlx_error_is_unavailability(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        // The writer found inside a transaction SQLite had already ended (see `open_pool`).
        | sqlx::Error::InvalidSavePointStatement => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| code_is_unavailability(&code)),
        _ => false,
    }
}

/// PostgreSQL's SQLSTATEs have five characters; SQLite's numeric (extended) result codes at most
/// four digits.
fn code_is_unavailability(code: &str) -> bool {
    if code.len() == 5 {
        return postgres_state_is_unavailability(code);
    }
    code.parse::<u32>()
        .is_ok_and(|extended| sqlite_code_is_unavailability(extended & 0xff))
}

/// SQLITE_BUSY, _LOCKED, _NOMEM, _READONLY, _IOERR, _FULL, _CANTOPEN.
fn sqlite_code_is_unavailability(primary: u32) -> bool {
    matches!(primary, 5 | 6 | 7 | 8 | 10 | 13 | 14)
}

/// Connection exceptions (08), insufficient resources (53, disk full among them), operator
/// intervention (57P01–57P05: shutdown, crash, not accepting connections yet), a read-only
/// transaction (25006, a standby), system I/O errors (58030), and conflicts that a retry settles
/// (40001 serialization, 40P01 deadlock).
fn postgres_state_is_unavailability(state: &str) -> bool {
    state.starts_with("08")
        || state.starts_with("53")
        || state.starts_with("57P")
        || matches!(state, "25006" | "58030" | "40001" | "40P01")
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn sqlite_codes_that_pass_are_unavailability_and_others_are_not() {
        for code in ["13", "10", "778", "3338", "8", "1032", "14", "5", "517"] {
            assert!(code_is_unavailability(code), "{code}");
        }
        // Constraint violations, misuse, corruption: bugs or damage, not a passing state.
        for code in ["19", "2067", "21", "11", "1"] {
            assert!(!code_is_unavailability(code), "{code}");
        }
    }

    #[test]
    fn postgres_states_that_pass_are_unavailability_and_others_are_not() {
        for state in [
            "08006", "08001", "53100", "53300", "57P01", "57P03", "25006", "40001",
        ] {
            assert!(code_is_unavailability(state), "{state}");
        }
        for state in ["23505", "42P01", "22001", "XX000"] {
            assert!(!code_is_unavailability(state), "{state}");
        }
    }

    #[test]
    fn the_cause_is_found_under_context() {
        let error = Err::<(), _>(sqlx::Error::PoolTimedOut)
            .context("could not start a write transaction")
            .expect_err("an error");
        assert!(is_unavailable(&error));
        let error = Err::<(), _>(sqlx::Error::RowNotFound)
            .context("no such row")
            .expect_err("an error");
        assert!(!is_unavailable(&error));
        assert!(!is_unavailable(&anyhow::anyhow!("something else")));
    }
}
