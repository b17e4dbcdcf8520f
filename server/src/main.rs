//! The `server` binary: loads `.env` and the environment, then serves until stopped, or runs an
//! admin command (`server admin grant EMAIL`).

use leptos::config::get_configuration;
use server::cli::{self, Command};
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Serve => {}
        Command::Help => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Command::SetRole { email, role } => {
            return match cli::set_role(&config, &email, role).await {
                Ok(message) => {
                    println!("{message}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    server::telemetry::init();
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
