#!/usr/bin/env bash
# A short run of every weft-sync fuzz target (crates/weft-sync/fuzz).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     default 60
#
# Starts from the committed corpus and regression inputs and leaves them as
# they are: what the fuzzer adds goes to a temporary directory that is
# removed afterwards. A crash input is kept under
# crates/weft-sync/fuzz/artifacts/<target>/, and the script exits non-zero.
#
# Needs a nightly toolchain (installed here if missing; where none can be
# installed, the default toolchain is run with RUSTC_BOOTSTRAP=1, which
# accepts the same sanitizer flags) and cargo-fuzz (installed if missing).
# FUZZ_TARGET_DIR, if set, is the cargo target directory (a cache in CI);
# otherwise crates/weft-sync/fuzz/target. The first build compiles every
# dependency with sanitizer instrumentation and takes several minutes.
set -euo pipefail

secs=${1:-60}
[[ $secs =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fuzz_dir=$root/crates/weft-sync/fuzz
targets=(frame sealed_change)
# Real frames and sealed changes in the seeds are at most a few KiB; 1 MiB
# leaves room for large batches without slowing every mutation.
max_len=$((1024 * 1024))

toolchain=()
if cargo +nightly --version >/dev/null 2>&1; then
  toolchain=(+nightly)
elif timeout 600 rustup toolchain install nightly --profile minimal >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  echo "fuzz: no nightly toolchain can be installed; using $(rustc --version) with RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
fi
if ! cargo fuzz --help >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

target_dir=${FUZZ_TARGET_DIR:-$fuzz_dir/target}
work=$(mktemp -d "${TMPDIR:-/tmp}/weft-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$fuzz_dir"

start=$SECONDS
if ! cargo "${toolchain[@]}" fuzz build --target-dir "$target_dir" >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log"
  echo "fuzz: building the targets failed"
  exit 1
fi
echo "fuzz: targets built in $((SECONDS - start)) s"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "$fuzz_dir/corpus/$t" "$fuzz_dir/regressions/$t" "$fuzz_dir/artifacts/$t"
  log=$work/$t.log
  # The first corpus directory receives new inputs; the committed ones after
  # it are only read.
  if cargo "${toolchain[@]}" fuzz run --target-dir "$target_dir" "$t" \
      "$work/$t" "$fuzz_dir/corpus/$t" "$fuzz_dir/regressions/$t" -- \
      -max_total_time="$secs" -max_len="$max_len" -timeout=10 -print_final_stats=1 \
      >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'DONE *cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1 | sed 's/DONE *//')
    echo "fuzz: $t: ${runs:-?} runs in $secs s, ${cov:-no coverage line}, $(find "$work/$t" -type f | wc -l) new inputs (discarded), no crash"
  else
    failed+=("$t")
    cp "$log" "$fuzz_dir/artifacts/$t.log"
    # Only what went wrong: the panic, sanitizer or timeout report.
    grep -A1 'panicked at' "$log" | head -n 2 ||
      grep -A4 -E 'ERROR: (AddressSanitizer|libFuzzer)|ALARM:|out-of-memory' "$log" | head -n 12 ||
      tail -n 20 "$log"
    input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "fuzz: $t FAILED (whole output: crates/weft-sync/fuzz/artifacts/$t.log)"
    echo "fuzz: the input is ${input:-not written; see the output above}"
    echo "fuzz: copy it into crates/weft-sync/fuzz/regressions/$t/ and commit it;"
    echo "      cargo nextest run -p weft-sync --test sync fuzz_regressions then fails until it is fixed"
  fi
done

((${#failed[@]} == 0)) || { echo "fuzz: failed: ${failed[*]}"; exit 1; }
