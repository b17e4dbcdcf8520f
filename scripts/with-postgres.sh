#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL server: starts a new cluster in a temporary
# directory, listening on a free loopback port, exports LATCHKEY_TEST_POSTGRES (a URL to its
# `postgres` database, as a superuser who may create databases), runs the command, then stops the
# cluster and removes it, whatever the command's outcome. Fails loudly if PostgreSQL cannot start.
#
#   scripts/with-postgres.sh cargo test -p server --test api
#
# PostgreSQL comes from Debian's packages (`scripts/setup.sh --tests` installs it). As root, the
# cluster runs as the `postgres` user, since PostgreSQL refuses to run as root. It does not sync
# writes to disk (`fsync=off`: tests need no durability) unless LATCHKEY_POSTGRES_FSYNC=on (the
# benchmark).
set -euo pipefail

fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
[[ $# -gt 0 ]] || fail "usage: $0 COMMAND [ARGS...]"

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -n "$bindir" && -x "$bindir/initdb" && -x "$bindir/pg_ctl" ]] \
  || fail "PostgreSQL's server programs were not found under /usr/lib/postgresql: run scripts/setup.sh --tests (Debian package postgresql)"

as_cluster_owner() {
  if [[ "$(id -u)" == "0" ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [[ "$(id -u)" == "0" ]] && ! id postgres >/dev/null 2>&1; then
  fail "running as root, but there is no postgres user to run the cluster as (reinstall the postgresql package)"
fi

cluster="$(mktemp -d -t latchkey-postgres.XXXXXX)"
[[ "$(id -u)" == "0" ]] && chown postgres: "$cluster"
stop_cluster() {
  as_cluster_owner "$bindir/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap stop_cluster EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

as_cluster_owner "$bindir/initdb" -D "$cluster/data" -U latchkey --auth=trust --encoding=UTF8 \
  --no-instructions >"$cluster/initdb.log" 2>&1 \
  || { cat "$cluster/initdb.log" >&2; fail "initdb could not create a PostgreSQL cluster in $cluster"; }

# fsync off: the cluster is thrown away after the run, and nothing here survives a power cut.
if ! as_cluster_owner "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster -c max_connections=400 -c fsync=${LATCHKEY_POSTGRES_FSYNC:-off}" \
  start >/dev/null; then
  cat "$cluster/server.log" >&2 || true
  fail "PostgreSQL did not start on 127.0.0.1:$port"
fi

export LATCHKEY_TEST_POSTGRES="postgres://latchkey@127.0.0.1:$port/postgres"
printf 'PostgreSQL %s running at %s\n' "$("$bindir/postgres" --version | awk '{print $3}')" "$LATCHKEY_TEST_POSTGRES"
"$@"
