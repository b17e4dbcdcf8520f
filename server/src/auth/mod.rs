//! Authentication rules: `lockout`, `codes`, `sessions`, `second_factor`, `send_limits` and
//! `trusted_devices` are pure decisions (time passed in), `password_hasher` and `secret` their
//! cryptography. The flows (`flows/`) run them against the store, one transaction each.

pub mod audit;
pub mod codes;
pub mod lockout;
pub mod password_hasher;
pub mod second_factor;
pub mod secret;
pub mod send_limits;
pub mod sessions;
pub mod trusted_devices;
