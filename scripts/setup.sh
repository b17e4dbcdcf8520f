#!/usr/bin/env bash
# Installs what building Latchkey needs; with --tests, also what testing it needs; with --release,
# also what the optimised release build needs. Idempotent: every step checks first, so a second
# run takes a second or two.
#
#   build:   the wasm32 target, cargo-leptos, the wasm-bindgen CLI matching Cargo.lock
#   tests:   Chromium and PostgreSQL (Debian packages), Node.js and npm, the end2end npm packages
#   release: Node.js and npm, wasm-opt (npm `binaryen`, in tools/node_modules/.bin)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION="0.3.10"
with_tests=false
with_release=false
[[ "${1:-}" == "--tests" ]] && with_tests=true
[[ "${1:-}" == "--release" ]] && with_release=true

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [[ "$(id -u)" == "0" ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else fail "'$*' needs root; run it as root or install sudo"
  fi
}

apt_updated=false
apt_install() {
  command -v apt-get >/dev/null || fail "apt-get not found: install $* with your package manager"
  if ! $apt_updated; then as_root apt-get update -qq; apt_updated=true; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

command -v cargo >/dev/null || fail "cargo not found: install Rust (https://rustup.rs) first"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  step "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [[ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]]; then
  step "Installing cargo-leptos $CARGO_LEPTOS_VERSION (about 13 minutes on 2 cores, once)"
  cargo install --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION" --features no_downloads
fi

wasm_bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)"
[[ -n "$wasm_bindgen_version" ]] || fail "could not find the wasm-bindgen version in Cargo.lock"
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $wasm_bindgen_version" ]]; then
  step "Installing wasm-bindgen-cli $wasm_bindgen_version (must match Cargo.lock exactly)"
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version" --force
fi

# `npm ci` in directory $1, unless its node_modules already match its package-lock.json.
npm_ci() {
  local stamp="$1/node_modules/.latchkey-lock-hash" lock_hash
  lock_hash="$(sha256sum "$1/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
    step "Installing the $1 npm packages"
    # Playwright must never download its own browsers: the tests use Debian's Chromium.
    (cd "$1" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    echo "$lock_hash" > "$stamp"
  fi
}

if $with_tests; then
  chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
  if [[ ! -x "$chromium" ]]; then
    step "Installing Chromium from the Debian packages"
    apt_install chromium
  fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    step "Installing PostgreSQL from the Debian packages (the black-box tests run against it too)"
    apt_install postgresql
  fi
  if ! command -v npm >/dev/null; then
    step "Installing Node.js and npm from the Debian packages"
    apt_install nodejs npm
  fi
  npm_ci end2end
fi

if $with_release; then
  if ! command -v npm >/dev/null; then
    step "Installing Node.js and npm from the Debian packages"
    apt_install nodejs npm
  fi
  npm_ci tools
fi
