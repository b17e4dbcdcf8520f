//! Rebuilds the server when a migration is added or changed: `sqlx::migrate!` embeds the files of
//! `migrations/`, and without this cargo would not notice a new one.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
