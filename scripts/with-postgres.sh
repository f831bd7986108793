#!/usr/bin/env bash
# Runs CMD [ARGS...] with a throwaway PostgreSQL server:
#   - a fresh cluster (initdb) in a temp dir: superuser `weft`, trust auth, UTF8, no fsync;
#   - the server on 127.0.0.1 at a free port, its unix socket in the temp dir (never the
#     system's /var/run/postgresql, and never the cluster the Debian package creates);
#   - a database `weft`, passed to the command as
#     WEFT_TEST_DATABASE_URL=postgres://weft@127.0.0.1:PORT/weft.
# The command's exit code is ours. On any exit (success, failure, Ctrl-C, a failed startup)
# the server is stopped (fast shutdown, SIGKILL if it hangs) and the temp dir removed.
#
# If WEFT_TEST_DATABASE_URL is already set, someone provides a server: the command just runs.
# If Debian's server binaries are missing, the `postgresql` package is installed (apt-get).
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user
# (or a dedicated `weft-postgres` user when that is missing).
#
# Usage: scripts/with-postgres.sh cargo nextest run --workspace
#        scripts/with-postgres.sh bash -c 'psql "$WEFT_TEST_DATABASE_URL" -c "select 1"'
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

if [[ -n "${WEFT_TEST_DATABASE_URL:-}" ]]; then
  exec "$@"
fi

me=${0##*/}
die() {
  echo "$me: $*" >&2
  exit 2
}

# Newest installed server version, e.g. /usr/lib/postgresql/15/bin.
find_bindir() {
  local dirs
  dirs=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1) || true
  [[ -n "$dirs" ]] && dirname "$dirs"
}

bindir=$(find_bindir) || true
if [[ -z "$bindir" ]]; then
  echo "$me: PostgreSQL server binaries missing: installing the postgresql package" >&2
  sudo=()
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install postgresql yourself"
    sudo=(sudo)
  fi
  apt_install() {
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends postgresql >&2
  }
  if ! apt_install; then
    # Empty or stale package lists (fresh containers): refresh once and retry.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    apt_install
  fi
  bindir=$(find_bindir) || die "installed postgresql but found no /usr/lib/postgresql/*/bin/initdb"
fi

# As root, run the server (and initdb) as an unprivileged user. setpriv execs (no fork),
# so the pid of a background `as_server postgres ...` is the postmaster's own.
as_server=()
if [[ $EUID -eq 0 ]]; then
  server_user=postgres
  if ! getent passwd "$server_user" >/dev/null; then
    server_user=weft-postgres
    if ! getent passwd "$server_user" >/dev/null; then
      useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$server_user"
    fi
  fi
  as_server=(setpriv --reuid="$server_user" --regid="$(id -g "$server_user")" --init-groups --)
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/weft-postgres.XXXXXX")
pgdata="$scratch/data"
log="$scratch/postgres.log"
server_pid=

# Is $1 a live (not zombie) process? `kill -0` also succeeds on an unreaped zombie.
alive() {
  local _pid _comm state
  [[ -r /proc/$1/stat ]] || return 1
  read -r _pid _comm state _ <"/proc/$1/stat" 2>/dev/null || return 1
  [[ "$state" != Z ]]
}

stop_server() {
  [[ -n "$server_pid" ]] || return 0
  local pid=$server_pid
  server_pid=
  # SIGINT = fast shutdown: abort open transactions, disconnect clients, exit.
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    echo "$me: postgres (pid $pid) did not stop in 15 s: killing it" >&2
    # Its children (backends, checkpointer, ...) each lead their own process group:
    # kill them by parent pid, then the postmaster.
    local children
    children=$(pgrep -P "$pid" 2>/dev/null) || true
    # shellcheck disable=SC2086 # a list of pids
    [[ -z "$children" ]] || kill -KILL $children 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  set +e
  trap - INT TERM HUP
  stop_server
  rm -rf "$scratch"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [[ $EUID -eq 0 ]]; then
  chown -R "$server_user:" "$scratch"
  "${as_server[@]}" test -w "$scratch" ||
    die "$server_user cannot write $scratch (is ${TMPDIR:-/tmp} traversable by it?)"
fi

if ! "${as_server[@]}" "$bindir/initdb" --pgdata="$pgdata" --username=weft --auth=trust \
  --encoding=UTF8 --no-locale --no-sync --no-instructions >"$scratch/initdb.log" 2>&1; then
  cat "$scratch/initdb.log" >&2
  die "initdb failed"
fi

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    local port
    while :; do
      port=$((20000 + RANDOM % 40000))
      ss -Htln "sport = :$port" | grep -q . || break
    done
    echo "$port"
  fi
}

# Start the server; retry on another port if it dies early (someone took the port between
# picking and binding it).
ready=
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  : >"$log"
  # Own session (setsid): a terminal's Ctrl-C reaches us, not the server; we stop it.
  setsid "${as_server[@]}" "$bindir/postgres" -D "$pgdata" \
    -c listen_addresses=127.0.0.1 -p "$port" -c unix_socket_directories="$scratch" \
    -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c logging_collector=off </dev/null >>"$log" 2>&1 &
  server_pid=$!
  # Bounded wait: 30 s.
  for _ in $(seq 300); do
    alive "$server_pid" || break
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U weft -d postgres -t 1; then
      ready=1
      break
    fi
    sleep 0.1
  done
  [[ -n "$ready" ]] && break
  if alive "$server_pid"; then
    echo "$me: postgres did not accept connections on 127.0.0.1:$port within 30 s; its log:" >&2
    cat "$log" >&2
    die "postgres startup timed out"
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  if grep -q 'could not bind\|Address already in use' "$log"; then
    echo "$me: port $port taken (attempt $attempt): retrying" >&2
    continue
  fi
  echo "$me: postgres exited during startup; its log:" >&2
  cat "$log" >&2
  die "postgres failed to start"
done
if [[ -z "$ready" ]]; then
  cat "$log" >&2
  die "postgres could not bind a free port after 5 attempts"
fi

"$bindir/createdb" -h 127.0.0.1 -p "$port" -U weft weft ||
  { cat "$log" >&2; die "createdb weft failed"; }

export WEFT_TEST_DATABASE_URL="postgres://weft@127.0.0.1:$port/weft"

# Not `exec`: the EXIT trap must still stop the server and remove $scratch.
set +e
"$@"
status=$?
set -e
exit "$status"
