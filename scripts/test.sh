#!/usr/bin/env bash
# `make test`: pytest in the gateway's environment, then in Rasa's (tests/conftest.py picks each one's tests),
# and one result: a last line "N passed, N failed" (plus errors/skipped when there are any). Fails if either does.
# Arguments are passed to both pytest runs (e.g. -x, -k …, -m unit for `make test-fast`). With TEST_ENVS_AT_ONCE=1
# (`make test-fast`) the two environments run side by side, each on a core, and their output follows in turn.
# The time both took is printed above the last line.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0
run_env() {  # run_env ENV ARGS…: pytest in that environment, output in $logs/ENV.log (and shown when LIVE=1)
  local env=$1 py=.venv/bin/python
  shift
  [ "$env" = gateway ] && py=.venv-gateway/bin/python
  echo "=== tests in the $env environment ($("$py" -c 'import sys; print("Python %d.%d" % sys.version_info[:2])')) ===" \
    | tee "$logs/$env.log" | { [ "${LIVE:-1}" = 1 ] && cat || true; }
  "$py" -m pytest "$@" 2>&1 | tee -a "$logs/$env.log" | { [ "${LIVE:-1}" = 1 ] && cat || cat > /dev/null; }
  echo "${PIPESTATUS[0]}" > "$logs/$env.rc"
}
if [ "${TEST_ENVS_AT_ONCE:-0}" = 1 ]; then
  # bot/knowledge's tests run in both environments under `make test`; the fast loop runs them once, in Rasa's
  # (GATEWAY_SKIP=tests/knowledge), so neither side waits for the other
  LIVE=0 run_env gateway "$@" ${GATEWAY_SKIP:+--ignore=$GATEWAY_SKIP} & LIVE=0 run_env rasa "$@" & wait
  cat "$logs/gateway.log" "$logs/rasa.log"
else
  run_env gateway "$@"
  run_env rasa "$@"
fi
for env in gateway rasa; do
  rc=$(cat "$logs/$env.rc" 2>/dev/null || echo 1)
  [ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || status=1   # 5: nothing collected (e.g. -k matched none here)
done
summary=$(for f in "$logs"/*.log; do
  grep -E '(passed|failed|errors?|skipped|no tests ran).* in [0-9.]+s' "$f" | tail -n 1; done)
count() { echo "$summary" | grep -oE "[0-9]+ $1" | awk '{s += $1} END {print s + 0}'; }
passed=$(count passed); failed=$(count failed); errors=$(count 'errors?'); skipped=$(count skipped)
[ "$(echo "$summary" | grep -c .)" -eq 2 ] || status=1   # a run that crashed prints no summary
line="$passed passed, $failed failed"
[ "$errors" -eq 0 ] || line="$line, $errors errors"
[ "$skipped" -eq 0 ] || line="$line, $skipped skipped"
echo
echo "=== both environments (${SECONDS}s) ==="
echo "$line"
exit $status
