#!/usr/bin/env bash
# Runs every check and test: formatting and clippy (scripts/lint.sh), unit and black-box tests (real server, real SQLite files, real HTTP), the
# black-box tests again against a throwaway PostgreSQL server, then the Playwright suite in
# Debian's Chromium against the built server. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

step "Formatting and clippy, warnings as errors (scripts/lint.sh)"
scripts/lint.sh

step "Building the site (server binary, wasm, CSS)"
cargo leptos build

step "Unit and black-box tests"
cargo test -p app -p server -p bench --features app/ssr

step "Black-box tests against PostgreSQL (a throwaway cluster on loopback)"
scripts/with-postgres.sh cargo test -p app -p server -p bench --features app/ssr --test api

step "Playwright tests (Chromium: ${CHROMIUM_PATH:-/usr/bin/chromium})"
(cd end2end && npx playwright test)
