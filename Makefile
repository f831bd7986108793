# Weft's single entry point.
#   make run    build the UI and open the desktop window
#   make test   everything CI runs: build, lint, unit and integration tests, UI tests
#   make deps   install what is missing (Debian packages, cargo tools, npm packages)
#   make bench  benchmarks
#   make package  a .deb of the release build (target/weft_<version>_<arch>.deb)
#   make relay  run a weft-relay locally (SQLite in target/relay-data)
# Every target installs what it needs, so a fresh clone on a fresh Debian 12 machine works.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

CARGO ?= cargo
NPM ?= npm
# apt-get needs root; on a developer's own machine that means sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Tauri 2 on Linux (WebKitGTK), the Secret Service keyring, and the UI test tools:
# Xvfb for a display, WebKitWebDriver for WebDriver, ImageMagick for screenshots;
# python3 for the window tests (it closes the app's window through the window manager);
# iproute2 (and ping) for the LAN tests in network namespaces; PostgreSQL's server for the
# relay's scale-out backend (scripts/with-postgres.sh runs a throwaway cluster of it).
APT_PACKAGES := \
	libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev \
	libayatana-appindicator3-dev librsvg2-dev libdbus-1-dev pkg-config \
	xvfb x11-apps imagemagick webkit2gtk-driver gnome-keyring dbus dbus-x11 keyutils xdotool \
	iproute2 iputils-ping postgresql python3

# npm writes this file on every install; it is newer than the lock file exactly when
# node_modules matches it.
UI_INSTALLED := ui/node_modules/.package-lock.json

.PHONY: help deps deps-apt deps-tools ui ui-test run build lint test test-rust-and-e2e test-e2e bench bench-window package fuzz sim relay bindings

help:
	@echo "make run    build the UI and open the Weft window"
	@echo "make test   build, lint and run every test (what CI runs)"
	@echo "make deps   install missing system packages, cargo tools and npm packages"
	@echo "make ui     build the front end into ui/dist"
	@echo "make bench  run the benchmarks (make bench-window: the window's alone)"
	@echo "make package  build target/weft_<version>_<arch>.deb from a release build"
	@echo "make relay  run a weft-relay locally (SQLite in target/relay-data; RELAY_ARGS=... for more)"
	@echo "make sim    the sync simulation over SEEDS=FROM..TO with DEVICES=N"
	@echo "make fuzz   fuzz the frame decoder and sealed-change parser (FUZZ_SECONDS per target)"

deps: deps-apt deps-tools $(UI_INSTALLED)

deps-apt:
	@command -v dpkg-query >/dev/null || { \
	  echo "not a Debian system: install Tauri's prerequisites for your OS yourself"; exit 0; }; \
	missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${db:Status-Abbrev}' "$$p" 2>/dev/null | grep -q '^ii' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

deps-tools:
	@command -v tauri-driver >/dev/null || $(CARGO) install tauri-driver --locked
	@$(CARGO) nextest --version >/dev/null 2>&1 || $(CARGO) install cargo-nextest --locked
	@command -v node >/dev/null && command -v $(NPM) >/dev/null || { \
	  echo "Node.js 20+ and npm are needed to build the UI"; exit 1; }

# `npm install`, not `npm ci`: the lock file lists only the platform packages (rollup's,
# esbuild's) that the registry this project is developed against serves, and `npm ci`
# refuses a lock file without the others. With a lock file present, `npm install`
# installs exactly the locked versions and leaves the lock file as it is.
$(UI_INSTALLED): ui/package.json ui/package-lock.json
	cd ui && $(NPM) install --no-audit --no-fund
	@touch $@

# The UI is built into target/ui-dist.new and moved to ui/dist only if the output differs,
# so an unchanged UI keeps its file times and cargo does not rebuild the app that embeds
# it (src-tauri's build script watches ui/dist).
UI_NEW := target/ui-dist.new
ui: $(UI_INSTALLED)
	@mkdir -p target
	cd ui && $(NPM) run --silent build -- --outDir ../$(UI_NEW) --emptyOutDir --logLevel warn
	@if diff -rq $(UI_NEW) ui/dist >/dev/null 2>&1; then \
	  rm -rf $(UI_NEW); \
	else \
	  rm -rf ui/dist && mv $(UI_NEW) ui/dist && echo "ui/dist updated"; \
	fi

ui-test: $(UI_INSTALLED)
	cd ui && $(NPM) test --silent

run: deps-apt ui
	$(CARGO) run -p weft-cli

# Clippy runs inside the build: clippy-driver, as the compiler of the workspace's own
# crates (dependencies are built by rustc as usual), lints each crate and then compiles
# it, so lint and build share one compilation. `cargo clippy` would check every
# dependency a second time (about ten minutes of a clean run here). CLIPPY_ARGS is how
# cargo-clippy hands its arguments to the driver. The same variables must reach every
# cargo command of the test run, or cargo rebuilds the workspace without them.
CLIPPY_DRIVER := $(shell d=$$(dirname "$$(rustup which cargo 2>/dev/null)" 2>/dev/null); [ -x "$$d/clippy-driver" ] && echo "$$d/clippy-driver")
ifneq ($(CLIPPY_DRIVER),)
build lint test-rust-and-e2e: export RUSTC_WORKSPACE_WRAPPER := $(CLIPPY_DRIVER)
build lint test-rust-and-e2e: export CLIPPY_ARGS := -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
endif

build: ui
	$(CARGO) build --workspace --all-targets

lint: build
	$(CARGO) fmt --all -- --check
ifeq ($(CLIPPY_DRIVER),)
	$(CARGO) clippy --workspace --all-targets -- -D warnings
endif

# Rust tests and the real-window UI smoke test share one private session bus with an
# unlocked keyring (scripts/with-keyring.sh): the app and the keyring tests need it. A
# throwaway PostgreSQL (scripts/with-postgres.sh) serves the relay's PostgreSQL tests, which
# WEFT_REQUIRE_POSTGRES=1 makes fail rather than skip without it; WEFT_REQUIRE_ROOT=1 does the
# same for the full-disk tests, which mount a small tmpfs.
test-rust-and-e2e:
	WEFT_REQUIRE_POSTGRES=1 WEFT_REQUIRE_ROOT=1 scripts/with-postgres.sh scripts/with-keyring.sh bash -c '$(CARGO) nextest run --workspace --profile ci && node --test ui/e2e/'

# The generated TypeScript the UI imports (ui/src/generated): rewritten from the Rust
# definitions; tests fail when the committed files differ.
bindings:
	WEFT_BLESS=1 $(CARGO) test -p weft-core --lib error_code
	WEFT_BLESS=1 $(CARGO) test -p weft-desktop --lib bindings

# A short run of each fuzz target (scripts/fuzz.sh; nightly and cargo-fuzz are installed
# on first use). `make fuzz FUZZ_SECONDS=600` runs longer.
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

test: deps build lint ui-test
	@$(MAKE) test-rust-and-e2e
	@$(MAKE) fuzz

# The window tests alone (needs a built `weft`: make build).
test-e2e:
	scripts/with-keyring.sh node --test ui/e2e/

# The relay figures run beside automerge-repo 2.5 (relay/bench/automerge-repo), measured in
# the same run and handed to the relay bench as JSON lines.
AMR_DIR := relay/bench/automerge-repo
bench:
	$(CARGO) build --release -p weft-relay
	cd $(AMR_DIR) && $(NPM) install --no-audit --no-fund --silent
	# 1,000 devices hold 2,000 sockets between this process and the relay.
	ulimit -n 65536 2>/dev/null || true; \
	amr="$$(node $(AMR_DIR)/bench.mjs)"; \
	WEFT_BENCH_AMR="$$amr" $(CARGO) bench -p weft-engine --bench weft --bench sync --bench lan --bench relay && \
	$(CARGO) bench -p weft-relay --bench load && \
	$(CARGO) bench -p weft-cli --no-default-features --bench scale && \
	scripts/with-postgres.sh $(CARGO) bench -p weft-cli --bench soak
	@$(MAKE) bench-window

# The window's figures (ui/bench/window.mjs): the release app with the UI embedded (hence
# `ui` first), in WebKitGTK under Xvfb over WebDriver, inside a private keyring session (the
# app opens keyring workspaces without asking). seed_paper writes the 260k-edit note with
# its history through the engine; it is built on its own (`-p weft-engine`), so that the
# `weft` binary is exactly what `cargo build --release -p weft-cli` makes. The cold start is
# measured with 1,000, 10,000 and 100,000 documents; WINDOW_ARGS narrows a run, e.g.
# WINDOW_ARGS="--only cold --sizes 1000,10000 --runs 3".
WINDOW_ARGS ?=
bench-window: deps-apt deps-tools ui
	$(CARGO) build --release -p weft-cli
	$(CARGO) build --release -p weft-engine --example seed_paper
	scripts/with-keyring.sh node ui/bench/window.mjs $(WINDOW_ARGS)

# A Debian package of the release build (scripts/package-deb.sh: layout, Depends from
# dpkg-shlibdeps, and checks of the result).
package: deps-apt ui
	$(CARGO) build --release -p weft-cli
	scripts/package-deb.sh

# A relay on this machine: TCP and QUIC on 4467, /metrics on 127.0.0.1:9466.
RELAY_ARGS ?=
relay:
	$(CARGO) run --release -p weft-relay -- --data-dir target/relay-data $(RELAY_ARGS)

# The sync simulation over any seed range and device count, e.g.
#   make sim SEEDS=5000..7000 DEVICES=5
SEEDS ?= 0..2000
DEVICES ?= 3
sim:
	WEFT_SIM_SEEDS=$(SEEDS) WEFT_SIM_DEVICES=$(DEVICES) $(CARGO) nextest run -p weft-engine --test sim
