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

# Inside the bus: start the keyring daemon (it daemonizes, and leaves when the bus does),
# unlocking a new "login" keyring with the password on stdin; then run the command.
# Not `exec`: the trap above must still remove $scratch.
set +e
dbus-run-session -- bash -c '
  set -euo pipefail
  printf %s "$WEFT_KEYRING_PASSWORD" |
    gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec "$@"
' with-keyring "$@"
status=$?
set -e
exit "$status"
