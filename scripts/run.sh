#!/usr/bin/env bash
# Runs Latchkey at http://127.0.0.1:3000 with an embedded SQLite database under ./data and the
# development SMS outbox (http://127.0.0.1:3000/dev/outbox). Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
exec cargo leptos serve "$@"
