#!/usr/bin/env bash
# The route benchmark: every route a user runs, stewardd (release, static stdlib) side by side in one
# run, with one load generator, against what a user would pick instead —
#   GET /system/ping, GET /server_busy: Go net/http (same bytes) and nginx (static);
#   GET /jobs?per_page=60 over 1000 jobs, GET /jobs/{id}, POST /jobs: Go net/http + database/sql +
#   mattn/go-sqlite3 on the system libsqlite3 (Mattermost's stack) running Mattermost's queries on a
#   copy of the same store.
# Keep-alive and a new connection per request, at 1, 4 and 32 connections. Reports req/s, p50, p99,
# server CPU per request and answer sizes.
#   bench/routes.sh [seconds-per-case]   (default 3; results in bench/out/routes.jsonl, routes.md)
#   ONLY='jobs_list|job_get' bench/routes.sh   runs only the routes whose names match
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-3}"
source bench/lib.sh

# The store: created by stewardd, then 1000 jobs shaped like real ones (every Steward type, finished
# ones with their result data, random ids, creation times spread over 90 days, inserted in random
# order); the Go server gets a byte copy.
"$STEWARDD" --data-dir "$WORK/steward" >"$WORK/stewardd.log" 2>&1 & SEED_PID=$!; PIDS+=($SEED_PID)
wait_socket "$WORK/steward/steward.sock"
kill "$SEED_PID"; wait "$SEED_PID" || true
python3 bench/seed_jobs.py sqlite "$WORK/steward"
cp "$WORK/steward/steward.db" "$WORK/go.db"
JOB_ID=$(cat "$WORK/steward/job-id")

start_servers "$WORK/go.db"
echo "{\"idle_rss_kb\":{\"steward\":$(rss_kb $STEWARD_PID),\"go\":$(rss_kb $GO_PID)}}" >"$OUT/routes-idle.json"

declare -A SOCK=([steward]="$WORK/steward/steward.sock" [go]="$WORK/go.sock" [nginx]="$WORK/nginx.sock")
declare -A PIDOF=([steward]="$STEWARD_PID" [go]="$GO_PID" [nginx]="$NGINX_ALL")
# route name | method | path | body | status | servers
ROUTES=(
    "ping|GET|/api/v4/system/ping||200|steward go nginx"
    "server_busy|GET|/api/v4/server_busy||200|steward go nginx"
    "jobs_list|GET|/api/v4/jobs?per_page=60||200|steward go"
    "job_get|GET|/api/v4/jobs/$JOB_ID||200|steward go"
    "job_create|POST|/api/v4/jobs|{\"type\":\"db_optimize\",\"data\":{}}|201|steward go"
)
: >"$OUT/routes.jsonl"
for spec in "${ROUTES[@]}"; do
    IFS='|' read -r route method path body status servers <<<"$spec"
    [[ -n ${ONLY:-} && ! $route =~ ^(${ONLY})$ ]] && continue
    for mode in keepalive close; do
        ka=true; [[ $mode == close ]] && ka=false
        for conns in 1 4 32; do
            for server in $servers; do
                args=(-socket "${SOCK[$server]}" -path "$path" -method "$method" -status "$status" -conns "$conns" -keepalive=$ka)
                [[ -n $body ]] && args+=(-body "$body")
                "$LOADGEN" "${args[@]}" -duration 1s -name warmup >/dev/null
                before=$(cpu_ticks ${PIDOF[$server]})
                line=$("$LOADGEN" "${args[@]}" -duration "${DUR}s" -name "$server")
                after=$(cpu_ticks ${PIDOF[$server]})
                python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["route"]=sys.argv[2]; t=int(sys.argv[3]); r["cpu_us_per_req"]=round(t*10000/max(r["requests"],1),1); print(json.dumps(r))' \
                    "$line" "$route" "$((after - before))" | tee -a "$OUT/routes.jsonl" >&2
            done
        done
    done
done
echo "{\"steward_rss_after_load_kb\":$(rss_kb $STEWARD_PID)}" >>"$OUT/routes-idle.json"
python3 bench/routes_report.py "$OUT" | tee "$OUT/routes.md"
