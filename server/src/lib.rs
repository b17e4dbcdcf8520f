//! The Latchkey server: configuration, the account rules and the service that applies them,
//! storage, SMS delivery, and the HTTP surface. `main.rs` only wires these together.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod flows;
pub mod http_server;
#[cfg(test)]
mod layers;
pub mod maintenance;
pub mod setting;
pub mod sms;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod writer_thread;
