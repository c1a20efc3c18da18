#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster on loopback:
#   scripts/with-postgres.sh cargo test -p fieldstream-server
# Starts a fresh cluster (Debian's PostgreSQL, as the `postgres` user when run as root) in a
# temporary folder on a free port, exports FIELDSTREAM_TEST_POSTGRES_URL for the command, and
# stops and deletes the cluster when the command ends, whether it passed, failed or was interrupted.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

PG_BIN="${PG_BIN:-}"
if [ -z "$PG_BIN" ]; then
  for candidate in /usr/lib/postgresql/*/bin; do
    [ -x "$candidate/initdb" ] && PG_BIN="$candidate"
  done
fi
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  echo "with-postgres: PostgreSQL not found (apt-get install postgresql, or set PG_BIN)" >&2
  exit 1
fi

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

workdir="$(mktemp -d /tmp/fieldstream-pg.XXXXXX)"
chmod 755 "$workdir"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$workdir"
data="$workdir/data"
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    echo $((20000 + RANDOM % 40000))
  fi
}
port="$(free_port)"

cleanup() {
  as_pg "$PG_BIN/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT

as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$workdir/initdb.log" 2>&1 \
  || { cat "$workdir/initdb.log" >&2; exit 1; }
# Loopback only; the socket lives in the temp folder. Durability settings stay at their defaults
# (fsync on), like a production server's.
as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$workdir/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$workdir -c max_connections=300" \
  start >/dev/null || { cat "$workdir/postgres.log" >&2; exit 1; }

export FIELDSTREAM_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
# The command runs in the background so that a signal to this script is handled at once: it is
# passed on to the command, and the EXIT trap removes the cluster.
set +e
"$@" &
child=$!
trap 'kill -INT "$child" 2>/dev/null; wait "$child"; exit 130' INT
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM
wait "$child"
status=$?
exit "$status"
