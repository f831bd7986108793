#!/usr/bin/env bash
# Runs CMD [ARGS...] the way the tests need the desktop to look:
#   - a private D-Bus session bus (dbus-run-session), so nothing touches the user's own;
#   - gnome-keyring's Secret Service on that bus, unlocked, so the `keyring` crate works
#     (WEFT_TEST_KEYRING=1 tells the tests that it does);
#   - HOME and the XDG directories in a fresh temp dir, deleted afterwards: the keyring
#     daemon writes ~/.local/share/keyrings, and the app writes ~/.cache and
#     $XDG_DATA_HOME/<identifier>.
# CARGO_HOME and RUSTUP_HOME keep pointing at the real ones (computed before HOME moves),
# so cargo and the rustup toolchain still resolve.
#
# Usage: scripts/with-keyring.sh cargo nextest run --workspace
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || {
    echo "$0: $tool is missing: run \`make deps\`" >&2
    exit 2
  }
done

export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/weft-session.XXXXXX")
cleanup() { rm -rf "$scratch"; }
trap cleanup EXIT

export HOME="$scratch/home"
export XDG_DATA_HOME="$scratch/data"
export XDG_CONFIG_HOME="$scratch/config"
export XDG_CACHE_HOME="$scratch/cache"
export XDG_RUNTIME_DIR="$scratch/runtime"
mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
export WEFT_TEST_KEYRING=1
# The test keyring's password: it only guards a keyring that lives in $scratch.
export WEFT_KEYRING_PASSWORD=weft-test

# Inside the bus: start the keyring daemon in the foreground (so its pid is ours to stop:
# a daemonized one can miss the bus going away and linger), unlocking a new "login"
# keyring with the password on stdin; wait until it owns the Secret Service name, then
# run the command. Not `exec` here: the trap above must still remove $scratch.
set +e
dbus-run-session -- bash -c '
  set -uo pipefail
  printf %s "$WEFT_KEYRING_PASSWORD" |
    gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null &
  keyring=$!
  trap "kill $keyring 2>/dev/null" EXIT
  for _ in $(seq 100); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
      grep -q "boolean true" && break
    sleep 0.1
  done
  "$@"
' with-keyring "$@"
status=$?
set -e
exit "$status"
