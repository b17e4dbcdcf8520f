//! Authentication rules and the service that applies them. `lockout`, `codes` and `sessions` are
//! pure decisions (time passed in); `service` runs them against the store in one transaction each.

pub mod audit;
pub mod codes;
pub mod lockout;
pub mod password_hasher;
pub mod second_factor;
pub mod secret;
pub mod send_limits;
pub mod service;
pub mod sessions;
pub mod trusted_devices;
