//! Black-box tests: each starts the real server on 127.0.0.1:0 with a fresh database (a temporary
//! SQLite file, or a new PostgreSQL database when `LATCHKEY_TEST_POSTGRES` names a server), the
//! development outbox and a manual clock, and drives it over HTTP exactly as docs/API.md describes.

mod admin;
mod adversarial;
mod ambiguous_sends;
mod audit;
mod bad_input;
mod browser_security;
mod code_issuers;
mod code_scopes;
mod code_status;
mod concurrency;
mod delivery_receipts;
mod durability;
mod enumeration;
mod hardening;
mod helpers;
mod limits;
mod lockout;
mod lockout_abuse;
mod mock_provider;
mod page_compression;
mod page_state;
mod password_reset;
mod phone_change;
mod phone_verification;
mod providers;
mod pumping_guard;
mod resilience;
mod routes;
mod sessions;
mod shared_database;
mod sign_in_codes;
mod signup;
mod startup;
mod static_assets;
mod trusted_devices;
