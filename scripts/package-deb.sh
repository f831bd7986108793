#!/usr/bin/env bash
# Makes target/weft_<version>_<arch>.deb from the release `weft` binary, then checks it:
# `dpkg-deb --info`/`--contents`, lintian when installed, and the binary unpacked with
# `dpkg -x` into a temporary root runs `--version` there.
#
# `make package` builds the binary first (make ui, then cargo build --release -p weft-cli):
# the UI is embedded in the binary, so a binary built without `make ui` shows an old or no UI.
#
# Usage: scripts/package-deb.sh [BINARY]     (default: <cargo target dir>/release/weft)
#
# Plain dpkg-deb rather than tauri's bundler: tauri-cli is not installed here (and takes
# long to build), and it could not use our tauri.conf.json as it is (see README, "Build
# and package"). The layout is the one tauri's .deb uses: /usr/bin/weft, the desktop entry
# named after the app identifier, the icons in the hicolor theme.
set -euo pipefail

die() {
  echo "package-deb: $*" >&2
  exit 1
}
trap 'echo "package-deb: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

for tool in dpkg-deb dpkg strip; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian's dpkg and binutils)"
done

if [[ $# -ge 1 ]]; then
  bin=$1
else
  target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
  [[ -n $target_dir ]] || die "cannot find cargo's target directory"
  bin=$target_dir/release/weft
fi
[[ -x $bin ]] || die "no release binary at $bin: run \`make package\` (or make ui && cargo build --release -p weft-cli)"

# The version is the binary's own (`weft 0.1.0`), so the package can never claim another.
version=$("$bin" --version | awk 'NR == 1 { print $2 }')
[[ $version =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "\`$bin --version\` did not print a version (got '$version')"
arch=$(dpkg --print-architecture)
out=$repo/target/weft_${version}_${arch}.deb
mkdir -p "$repo/target"

work=$(mktemp -d "${TMPDIR:-/tmp}/weft-deb.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
root=$work/root
umask 022

# --- files ------------------------------------------------------------------------------

install -d "$root/usr/bin" "$root/usr/share/applications" "$root/usr/share/doc/weft" "$root/DEBIAN"
# Stripped as Debian's dh_strip does: the release profile keeps line tables for
# backtraces, which the package's users cannot map back to sources anyway.
install -m 0755 "$bin" "$root/usr/bin/weft"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/weft"

# The desktop entry is named after the app identifier (tauri.conf.json), as tauri's own
# bundle names it: on Wayland the window's app id is the identifier, and the shell finds
# the entry (name, icon) by that id.
identifier=$(sed -n 's/^ *"identifier": *"\([^"]*\)".*/\1/p' tauri.conf.json | head -n1)
[[ -n $identifier ]] || die "no \"identifier\" in tauri.conf.json"
cat >"$root/usr/share/applications/$identifier.desktop" <<EOF
[Desktop Entry]
Type=Application
Version=1.5
Name=Weft
GenericName=Notes and records
Comment=Local-first notes and structured records, encrypted, synced between your own devices
Exec=weft
Icon=weft
Terminal=false
Categories=Office;Utility;
Keywords=notes;records;markdown;sync;
StartupNotify=true
EOF
chmod 0644 "$root/usr/share/applications/$identifier.desktop"

# icons/: 32x32.png, 128x128.png, 128x128@2x.png (256 px) and icon.png (512 px).
for src in icons/32x32.png icons/128x128.png icons/128x128@2x.png icons/icon.png; do
  [[ -f $src ]] || die "missing icon $src (scripts/make-icons.py draws them)"
  # The size from the PNG header (width at bytes 16..19), not from the name.
  size=$(od -An -j16 -N4 -tu1 "$src" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
  [[ $size =~ ^[0-9]+$ && $size -gt 0 ]] || die "cannot read the size of $src"
  install -D -m 0644 "$src" "$root/usr/share/icons/hicolor/${size}x${size}/apps/weft.png"
done

cat >"$root/usr/share/doc/weft/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: weft
License: MIT OR Apache-2.0

Files: *
License: MIT OR Apache-2.0
EOF
chmod 0644 "$root/usr/share/doc/weft/copyright"

# --- control ----------------------------------------------------------------------------

# Depends from the libraries the binary links: dpkg-shlibdeps (dpkg-dev) maps each to its
# package with the minimum version the symbols need. It wants a debian/control to read,
# so it runs in a scratch source tree. Without dpkg-dev: the packages that own the
# libraries `ldd` resolves, without versions.
if command -v dpkg-shlibdeps >/dev/null; then
  mkdir -p "$work/src/debian"
  printf 'Source: weft\n\nPackage: weft\nArchitecture: any\n' >"$work/src/debian/control"
  depends=$(cd "$work/src" && dpkg-shlibdeps -O -e"$root/usr/bin/weft" 2>"$work/shlibdeps.log" |
    sed -n 's/^shlibs:Depends=//p') || { cat "$work/shlibdeps.log" >&2; die "dpkg-shlibdeps failed"; }
else
  echo "package-deb: dpkg-shlibdeps not found (dpkg-dev): Depends from ldd, without versions" >&2
  depends=$(ldd "$root/usr/bin/weft" | awk '$3 ~ /^\// { print $3 }' |
    while read -r lib; do dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true; done |
    cut -d: -f1 | sort -u | paste -sd, | sed 's/,/, /g')
fi
[[ -n $depends ]] || die "could not compute Depends for $root/usr/bin/weft"
# The window needs WebKitGTK and GTK: say so even if a future link order hid them.
for must in libwebkit2gtk-4.1-0 libgtk-3-0; do
  [[ $depends == *"$must"* ]] || die "Depends lacks $must (got: $depends): is $bin the GUI build?"
done

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: weft
Version: $version
Architecture: $arch
Maintainer: Weft developers <weft@example.invalid>
Installed-Size: $installed_size
Depends: $depends
Recommends: gnome-keyring | keepassxc
Section: utils
Priority: optional
Description: local-first notes and records, encrypted and synced
 Weft keeps rich-text notes and structured JSON records in one encrypted
 SQLite file on this machine and syncs them directly between your own
 devices (on the same network, or through a weft-relay), without anyone's
 cloud.
 .
 The one weft binary is the desktop app (run without arguments) and the
 command line (weft --help). Workspace keys live in the Secret Service
 keyring (GNOME Keyring, KeePassXC), or in a passphrase-protected file.
EOF

dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null

# --- checks -----------------------------------------------------------------------------

dpkg-deb --info "$out" >"$work/info" || die "dpkg-deb --info cannot read $out"
dpkg-deb --contents "$out" >"$work/contents" || die "dpkg-deb --contents cannot read $out"
for path in ./usr/bin/weft "./usr/share/applications/$identifier.desktop" \
  ./usr/share/icons/hicolor/32x32/apps/weft.png ./usr/share/icons/hicolor/512x512/apps/weft.png; do
  grep -q " $path\$" "$work/contents" || die "$out lacks $path"
done
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$root/usr/share/applications/$identifier.desktop" || die "the desktop entry is invalid"
fi
if command -v lintian >/dev/null; then
  lintian --fail-on error "$out" || die "lintian found errors in $out"
else
  echo "package-deb: lintian not installed, skipped" >&2
fi
dpkg -x "$out" "$work/x"
got=$("$work/x/usr/bin/weft" --version) || die "the unpacked binary does not run"
[[ $got == "weft $version" ]] || die "the unpacked binary says '$got', not 'weft $version'"

cat "$work/info"
echo "files:"
awk '{ print "  " $3 "  " $6 }' "$work/contents" | grep -v '/$' || true
echo "$out: $(du -h "$out" | cut -f1), unpacked binary says '$got'"
