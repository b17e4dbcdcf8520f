#!/usr/bin/env bash
# Formatting and clippy (warnings are errors): every package of the server side, then the wasm
# packages with their own target and features.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --all --check
# The server side in one run, with the features the tests build with: one set of checked
# dependencies instead of one per package.
cargo clippy -p app -p server -p bench --features app/ssr --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
# The islands' browser-only code (fetch, WebOTP, the countdown) compiles only for the wasm build.
cargo clippy -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings
