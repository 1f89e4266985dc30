#!/usr/bin/env bash
# What rate limits cost end to end: wrk (-t2 -c32, 8 s per run, two rounds) against a
# non-streamed chat completion on bench/upstream.py, for a workspace without limits and one
# whose workspace and key both have (never reached) rpm/tpm limits, on in-process counters and
# on a second router with Redis (JUNCTION_REDIS_URL, default redis://127.0.0.1:6379/0).
# Loopback only; needs wrk, curl, and ./scripts/test's .venv.   Usage: bench/ratelimit_wrk.sh
set -u
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
REDIS=${JUNCTION_REDIS_URL:-redis://127.0.0.1:6379/0}
PY=.venv/bin/python
$PY bench/upstream.py --port 9391 >$TMP/up.log 2>&1 &
UP=$!
start_router () { # port dir extra-env
  rm -rf "$2"; mkdir -p "$2"
  env -u JUNCTION_REDIS_URL JUNCTION_DATA_DIR="$2" JUNCTION_ADMIN_KEY=ja-bench-0123456789abcdef $3 $PY -m junction serve --port "$1" >"$2/log" 2>&1 &
  echo $!
}
R1=$(start_router 9392 $TMP/r1 "")
R2=$(start_router 9393 $TMP/r2 "JUNCTION_REDIS_URL=$REDIS JUNCTION_REDIS_PREFIX=rlbench-$$")
for port in 9392 9393; do for i in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done; done
setup () { # port -> prints keys: nolimit limited
  A="Authorization: Bearer ja-bench-0123456789abcdef"; J="Content-Type: application/json"; U=http://127.0.0.1:$1/admin/v1
  curl -s $U/providers -H "$A" -H "$J" -d '{"name":"b","base_url":"http://127.0.0.1:9391/v1"}' >/dev/null
  curl -s $U/workspaces -H "$A" -H "$J" -d '{"name":"free"}' >/dev/null
  curl -s $U/workspaces -H "$A" -H "$J" -d '{"name":"capped","rpm_limit":100000000,"tpm_limit":1000000000}' >/dev/null
  for w in free capped; do curl -s $U/workspaces/$w/assistants -H "$A" -H "$J" -d '{"name":"bot","model":"b/bench-model"}' >/dev/null; done
  K1=$(curl -s $U/workspaces/free/keys -H "$A" -H "$J" -d '{}' | $PY -c 'import json,sys;print(json.load(sys.stdin)["key"])')
  K2=$(curl -s $U/workspaces/capped/keys -H "$A" -H "$J" -d '{"rpm_limit":100000000,"tpm_limit":1000000000}' | $PY -c 'import json,sys;print(json.load(sys.stdin)["key"])')
  echo "$K1 $K2"
}
cat > $TMP/post.lua <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"bot","messages":[{"role":"user","content":"Write one short sentence about the sea, please."}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
LUA
read K1 K2 < <(setup 9392)
read K3 K4 < <(setup 9393)
for round in 1 2; do
  for pair in "9392 $K1 memory-nolimits" "9392 $K2 memory-4limits" "9393 $K4 redis-4limits"; do
    set -- $pair
    echo "== $3 (round $round)"; KEY=$2 wrk -t2 -c32 -d8s -s $TMP/post.lua --latency http://127.0.0.1:$1/v1/chat/completions | grep -E "Requests/sec|50%|Non-2xx"
  done
done
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
kill $R1 $R2 $UP
redis-cli -u "$REDIS" --scan --pattern "rlbench-$$:*" | xargs -r redis-cli -u "$REDIS" del >/dev/null
rm -rf "$TMP"
