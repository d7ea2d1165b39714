#!/usr/bin/env bash
# fuzz.sh -- run weir's libFuzzer targets for a bounded time each.
#
#   scripts/fuzz.sh SECONDS [TARGET...]     e.g. scripts/fuzz.sh 60, scripts/fuzz.sh 3600 ipfix
#
# Builds the clang fuzz build (build-fuzz, or $WEIR_FUZZ_BUILD_DIR) if needed,
# then runs each target (default: every tests/fuzz/fuzz_*.c) for SECONDS,
# seeded from tests/fuzz/corpus/TARGET/ and tests/fuzz/TARGET.dict when
# present. New corpus entries go to a temporary directory that is removed
# afterwards (or to $WEIR_FUZZ_CORPUS_DIR/TARGET/, kept and reused, for long
# runs): never into the repository. Prints per target the executions,
# exec/s, coverage and crashes; exits non-zero if any target crashed, timed
# out or ran out of memory, leaving the input in BUILD/crashes/TARGET/ and
# printing the commands that reproduce it. Logs: BUILD/fuzz-logs/TARGET.log.
# tests/fuzz/README.md says how to run for hours and how a crash becomes a
# regression test.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh SECONDS [TARGET...]   (targets: $(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//' | tr '\n' ' '))" >&2
  exit 2
fi
secs=$1
shift
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi
for t in "${targets[@]}"; do
  if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
    echo "fuzz.sh: no target '$t' (no tests/fuzz/fuzz_$t.c)" >&2
    exit 2
  fi
done

build=${WEIR_FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  if ! command -v clang >/dev/null; then
    echo "fuzz.sh: libFuzzer needs clang (apt-get install clang)" >&2
    exit 1
  fi
  CC=clang meson setup "$build" -Dfuzz=true >/dev/null || { echo "fuzz.sh: meson setup $build failed" >&2; exit 1; }
fi
if ! ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz_}" >"$build/fuzz-build.log" 2>&1; then
  tail -40 "$build/fuzz-build.log"
  echo "fuzz.sh: build failed (log: $build/fuzz-build.log)" >&2
  exit 1
fi

mkdir -p "$build/fuzz-logs"
# UB is already fatal in this build (-fno-sanitize-recover); say where.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# Leaks are checked once, when each run ends (LeakSanitizer at exit), not
# after every input: the decoders' targets keep exporter state across
# inputs on purpose, so libFuzzer's per-input check (a full heap scan
# whenever an input allocates more than it frees) ran on most inputs and
# made fuzz_sflow 25 times slower. WEIR_FUZZ_DETECT_LEAKS=1 turns it back on.
leaks=${WEIR_FUZZ_DETECT_LEAKS:-0}

failed=()
printf '%-8s %12s %9s %6s %6s %8s  %s\n' target executions exec/s cov corpus crashes result
for t in "${targets[@]}"; do
  exe="$build/tests/fuzz/fuzz_$t"
  crashdir="$build/crashes/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$crashdir"
  if [ -n "${WEIR_FUZZ_CORPUS_DIR:-}" ]; then
    work="$WEIR_FUZZ_CORPUS_DIR/$t"
    mkdir -p "$work"
    tmp=""
  else
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/weir-fuzz-$t.XXXXXX")
    work=$tmp
  fi
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  stamp=$(mktemp)
  # the first corpus directory receives new entries; the seeds are read only
  "$exe" "$work" "tests/fuzz/corpus/$t" "${dict[@]}" \
    -max_total_time="$secs" -max_len=65535 -rss_limit_mb=2048 -timeout=10 \
    -detect_leaks="$leaks" -print_final_stats=1 -artifact_prefix="$crashdir/" >"$log" 2>&1
  rc=$?
  [ -n "$tmp" ] && rm -rf "$tmp"

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  if [ -z "$execs" ]; then	# a crash skips the final stats
    execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
  fi
  mapfile -t new < <(find "$crashdir" -maxdepth 1 -type f -newer "$stamp" \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  rm -f "$stamp"
  result=ok
  if [ $rc -ne 0 ] || [ ${#new[@]} -gt 0 ]; then
    result="FAILED (exit $rc)"
    failed+=("$t")
  fi
  printf '%-8s %12s %9s %6s %6s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${corp:-?}" "${#new[@]}" "$result"
  if [ "$result" != ok ]; then
    grep -m1 -E 'ERROR: |runtime error: |invariant broken' "$log" | sed 's/^/    /'
    for f in "${new[@]}"; do
      echo "    input:     $f"
      echo "    reproduce: $exe $f"
      echo "               (or in a plain build: WEIR_REPLAY_MUTATIONS=0 build/tests/fuzz/fuzz_$t $f)"
    done
    [ ${#new[@]} -eq 0 ] && echo "    no input saved (a leak found at exit, or the fuzzer failed to start); see $log"
    echo "    log:       $log"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}; once fixed, copy each input into tests/fuzz/corpus/TARGET/ (see tests/fuzz/README.md)"
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s), ${secs} s each, no crash"
