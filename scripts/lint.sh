#!/usr/bin/env bash
# Formatting and clippy (warnings are errors), per package as the wasm and server builds differ.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --all --check
cargo clippy -p app --features ssr --all-targets -- -D warnings
cargo clippy -p server --all-targets -- -D warnings
cargo clippy -p bench --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
# The islands' browser-only code (fetch, WebOTP, the countdown) compiles only for the wasm build.
cargo clippy -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings
