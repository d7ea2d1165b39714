#!/usr/bin/env bash
# test.sh -- build weir and run every test; the last line says
# "N passed, N failed, N skipped". This is the README's test command and
# what .ci/run calls.
#
#   scripts/test.sh                 everything (unit, integration, interop, fuzz replay)
#   scripts/test.sh --suite unit    one meson suite
#   WEIR_TEST_ASAN=1 scripts/test.sh   also the unit and fuzz suites under ASan+UBSan
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
fi
if ! ninja -C "$build" >/tmp/weir-build.log 2>&1; then
  tail -40 /tmp/weir-build.log
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

status=0
logs=()
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=1
logs+=("$build/meson-logs/testlog.json")

if [ "${WEIR_TEST_ASAN:-0}" = "1" ]; then
  asan=${build}-asan
  if [ ! -f "$asan/build.ninja" ]; then
    CC=clang meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || status=1
  fi
  if ninja -C "$asan" >/tmp/weir-build-asan.log 2>&1; then
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C "$asan" --print-errorlogs --num-processes 2 --suite unit --suite fuzz || status=1
    logs+=("$asan/meson-logs/testlog.json")
    # the engine itself under ASan+UBSan and LeakSanitizer, on real runs
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C "$asan" --print-errorlogs --logbase testlog-it engine_vs_tshark_office \
      engine_vs_tshark_workers2 engine_vs_tshark_tablefull engine_keyspace_events \
      engine_redis_restart engine_vs_ndpireader_gen || status=1
    logs+=("$asan/meson-logs/testlog-it.json")
  else
    tail -40 /tmp/weir-build-asan.log
    status=1
  fi
fi

[ "${CI:-}" = "true" ] && : "${WEIR_FUZZ_SECONDS:=20}"
if [ -n "${WEIR_FUZZ_SECONDS:-}" ]; then
  "$top/scripts/fuzz.sh" "${WEIR_FUZZ_SECONDS}" || status=1
fi

/usr/bin/python3 - "${logs[@]}" <<'PY'
import json, sys
p = f = s = 0
for log in sys.argv[1:]:
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
print(f"{p} passed, {f} failed, {s} skipped")
sys.exit(1 if f else 0)
PY
rc=$?
[ $status -ne 0 ] && [ $rc -eq 0 ] && rc=1
exit $rc
