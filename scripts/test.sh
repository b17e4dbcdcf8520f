#!/usr/bin/env bash
# Runs every check and test: formatting and clippy (scripts/lint.sh), unit and black-box tests (real server, real SQLite files, real HTTP), the
# black-box tests again against a throwaway PostgreSQL server, then the Playwright suite in
# Debian's Chromium against the built server. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# A first build (a fresh clone, as in CI) has nothing for incremental compilation to reuse, and its
# caches would double the disk the build takes.
if [ ! -d target/debug ]; then
  export CARGO_INCREMENTAL=0
fi

step "Formatting and clippy, warnings as errors (scripts/lint.sh)"
scripts/lint.sh

# The server binary the browser tests run is built with the tests, by the same cargo command,
# so that every dependency is compiled once.
step "Building the site's wasm and CSS"
cargo leptos build --frontend-only

step "Unit and black-box tests (and the server binary)"
cargo test -p app -p server -p bench --features app/ssr

step "Black-box tests against PostgreSQL (a throwaway cluster on loopback)"
scripts/with-postgres.sh cargo test -p app -p server -p bench --features app/ssr --test api

step "Playwright tests (Chromium: ${CHROMIUM_PATH:-/usr/bin/chromium})"
(cd end2end && npx playwright test)
