#!/usr/bin/env bash
# test.sh -- build weir and run every test; the last line says
# "N passed, N failed" (the line before it, "N skipped"). This is the
# README's test command and what .ci/run calls.
#
#   scripts/test.sh                 everything (unit, integration, interop, fuzz replay)
#   scripts/test.sh --suite unit    one meson suite
#   WEIR_TEST_ASAN=1 scripts/test.sh   also under ASan+UBSan (clang, BUILD-asan): the
#                                   unit, fuzz, integration and interop suites
#                                   (engine, weirctl, weir-web, weir-alertd), with
#                                   LeakSanitizer; any sanitizer report fails the run
#   WEIR_TEST_ASAN_QUICK=1          with WEIR_TEST_ASAN=1: leave out interop and the
#                                   integration tests that mostly wait
#   WEIR_FUZZ_SECONDS=N             also run each libFuzzer target for N seconds (clang)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/scripts/setup.sh" || { echo "setup failed: see the apt-get error above"; echo "0 passed, 1 failed"; exit 1; }

werror=false
[ "${CI:-}" = "true" ] && werror=true
build=${WEIR_BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dwerror=$werror >/dev/null || { echo "meson setup failed"; echo "0 passed, 1 failed"; exit 1; }
elif [ "$werror" = true ]; then
  # CI: warnings are errors even in a build dir made without it (elsewhere
  # an existing dir keeps what its owner chose)
  meson configure "$build" -Dwerror=true >/dev/null || { echo "meson configure failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C "$build" >/tmp/weir-build.log 2>&1; then
  tail -40 /tmp/weir-build.log
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

status=0
logs=()
# CI compares every real capture of ../shared with tshark (about 2.5 min);
# elsewhere, and under ASan below, an even spread of 90 of them
shared_max=${WEIR_SHARED_MAX_FILES:-90}
[ "${CI:-}" = "true" ] && shared_max=${WEIR_SHARED_MAX_FILES:-100000}
WEIR_SHARED_MAX_FILES=$shared_max meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=1
logs+=("$build/meson-logs/testlog.json")

san_reports=0
if [ "${WEIR_TEST_ASAN:-0}" = "1" ]; then
  asan=${build}-asan
  if [ ! -f "$asan/build.ninja" ]; then
    CC=clang meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=$werror >/dev/null || status=1
  elif [ "$werror" = true ]; then
    meson configure "$asan" -Dwerror=true >/dev/null || status=1
  fi
  if ninja -C "$asan" >/tmp/weir-build-asan.log 2>&1; then
    # Every sanitizer report goes to a file of its own, whichever process
    # wrote it (the engine, weirctl, weir-web, weir-alertd started by a
    # Python test that may not look at their exit status or stderr): any
    # file left there fails the run, and is printed below.
    san_dir=$(mktemp -d /tmp/weir-sanitizer-XXXXXX)
    export ASAN_OPTIONS=detect_leaks=1:log_path=$san_dir/asan
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$san_dir/ubsan
    t0=$SECONDS
    meson test -C "$asan" --print-errorlogs --num-processes 2 --suite unit --suite fuzz || status=1
    logs+=("$asan/meson-logs/testlog.json")
    t1=$SECONDS
    # every integration test against the sanitized binaries;
    # WEIR_TEST_ASAN_QUICK=1 leaves out those that mostly wait and whose
    # code the others run too (the real-capture replays, the headless
    # browser, a wrong Redis password, a cluster failover and resharding)
    asan_it_skip='^$'
    [ "${WEIR_TEST_ASAN_QUICK:-0}" = "1" ] &&
      asan_it_skip='_shared$|^weir_web_browser$|^engine_redis_auth$|^cluster_redis_(failover|reshard)$'
    mapfile -t asan_it < <(meson test -C "$asan" --no-rebuild --list --suite integration 2>/dev/null |
      sed -n 's|^weir:integration / ||p' | grep -v -E "$asan_it_skip")
    if [ ${#asan_it[@]} -gt 0 ]; then
      meson test -C "$asan" --print-errorlogs --logbase testlog-it "${asan_it[@]}" || status=1
      logs+=("$asan/meson-logs/testlog-it.json")
    else
      echo "ASan: could not list the integration tests"
      status=1
    fi
    t2=$SECONDS
    took="ASan+UBSan: unit+fuzz $((t1 - t0)) s, ${#asan_it[@]} integration tests $((t2 - t1)) s"
    if [ "${WEIR_TEST_ASAN_QUICK:-0}" != "1" ]; then
      meson test -C "$asan" --print-errorlogs --num-processes 2 --logbase testlog-interop --suite interop || status=1
      logs+=("$asan/meson-logs/testlog-interop.json")
      took+=", interop $((SECONDS - t2)) s"
    fi
    echo "$took"
    unset ASAN_OPTIONS UBSAN_OPTIONS
    shopt -s nullglob
    reports=("$san_dir"/*)
    shopt -u nullglob
    san_reports=${#reports[@]}
    if [ "$san_reports" -gt 0 ]; then
      mkdir -p "$asan/meson-logs/sanitizer"
      cp "${reports[@]}" "$asan/meson-logs/sanitizer/"
      for r in "${reports[@]}"; do
        echo "==== sanitizer report $(basename "$r") (kept in $asan/meson-logs/sanitizer/)"
        head -60 "$r"
      done
      status=1
    fi
    rm -rf "$san_dir"
  else
    tail -40 /tmp/weir-build-asan.log
    status=1
  fi
fi

[ "${CI:-}" = "true" ] && : "${WEIR_FUZZ_SECONDS:=20}"
if [ -n "${WEIR_FUZZ_SECONDS:-}" ]; then
  "$top/scripts/fuzz.sh" "${WEIR_FUZZ_SECONDS}" || status=1
fi

/usr/bin/python3 - "$san_reports" "${logs[@]}" <<'PY'
import json, sys
p = s = 0
f = int(sys.argv[1])	# sanitizer reports, each a failure
for log in sys.argv[2:]:
    try:
        lines = open(log).read().splitlines()
    except OSError:
        f += 1
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
        else:
            f += 1
print(f"{s} skipped")
print(f"{p} passed, {f} failed")
sys.exit(1 if f else 0)
PY
rc=$?
[ $status -ne 0 ] && [ $rc -eq 0 ] && rc=1
exit $rc
