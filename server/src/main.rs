//! The `server` binary: loads `.env` and the environment, then serves until stopped.

use leptos::config::get_configuration;
use server::clock::SystemClock;
use server::config::Config;
use server::startup::Application;
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(error) = dotenvy::dotenv() {
        if !error.not_found() {
            eprintln!("error: could not read the .env file: {error}");
            return ExitCode::FAILURE;
        }
    }
    server::telemetry::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let leptos_options = match get_configuration(None) {
        Ok(conf) => conf.leptos_options,
        Err(error) => {
            eprintln!("error: could not read the Leptos configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    let application = match Application::build(config, leptos_options, Arc::new(SystemClock)).await
    {
        Ok(application) => application,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    match application.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
