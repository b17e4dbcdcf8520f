#!/usr/bin/env bash
# The benchmark: builds the optimised release site (server, wasm through wasm-opt, CSS; hashed and
# precompressed asset names) into target/site-release, then measures the release server over
# loopback (see docs/PERFORMANCE.md). Arguments go to the benchmark; `--help` lists them.
# It starts and stops its own servers, and writes target/bench/results.json. Then the first load of
# /login is measured in Chromium under network and CPU throttling (end2end/budget/first-load.mjs),
# into target/bench/first-load.json.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --release
scripts/setup.sh --tests
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

printf '\033[1m==> %s\033[0m\n' "Building the release site"
LEPTOS_SITE_ROOT=target/site-release LEPTOS_HASH_FILES=true \
  cargo leptos build --release --precompress

printf '\033[1m==> %s\033[0m\n' "Running the benchmark"
# With `--database postgres`, a throwaway cluster that syncs its writes to disk, as in service.
case " $* " in
  *" --database postgres "*)
    LATCHKEY_POSTGRES_FSYNC=on scripts/with-postgres.sh \
      cargo run --release -p bench -- --server target/release/server --site target/site-release "$@" ;;
  *)
    cargo run --release -p bench -- --server target/release/server --site target/site-release "$@" ;;
esac

printf '\033[1m==> %s\033[0m\n' "Measuring delivery while a provider hangs"
cargo run --release -p bench --bin delivery

printf '\033[1m==> %s\033[0m\n' "Measuring the first load of /login in Chromium, throttled"
node end2end/budget/first-load.mjs --server target/release/server --site target/site-release
