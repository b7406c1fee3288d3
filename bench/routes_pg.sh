#!/usr/bin/env bash
# The job routes on PostgreSQL: stewardd (release, static stdlib) with SqlSettings.DriverName
# postgres side by side in one run against Go net/http + database/sql + lib/pq (Mattermost's
# PostgreSQL driver) running Mattermost's queries — GET /jobs?per_page=60 over 1000 jobs,
# GET /jobs/{id}, POST /jobs — on a copy of the same database in one private PostgreSQL cluster
# (bench/pg.sh). Keep-alive and a new connection per request, at 1, 4 and 32 connections. Server
# CPU per request counts the server and the whole cluster (its backends do the queries' work).
#   bench/routes_pg.sh [seconds-per-case]   (default 3; results in bench/out/routes-pg.jsonl, .md)
#   ONLY='job_create' bench/routes_pg.sh    runs only the routes whose names match
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-3}"
source bench/lib.sh
source bench/pg.sh
start_pg
psql -d postgres -qc "CREATE DATABASE steward" -c "CREATE DATABASE go_template"

# The schema is stewardd's own (its migrations on first start); the jobs are bench/seed_jobs.py's,
# the same 1000 as the SQLite run; the Go server gets a copy of the database (CREATE DATABASE …
# TEMPLATE).
mkdir -p "$WORK/steward"
DSN="${PG_DSN}steward?$PG_HOST_QUERY"
printf '{"ServiceSettings":{"Listeners":[{"Name":"steward.sock","Path":"%s"}]},"SqlSettings":{"DriverName":"postgres","DataSource":"%s"},"JobSettings":{"Directory":"%s"}}' \
    "$WORK/steward/steward.sock" "$DSN" "$WORK/steward/jobs" >"$WORK/steward/config.json"
"$STEWARDD" --config "$WORK/steward/config.json" >"$WORK/stewardd.log" 2>&1 & SEED_PID=$!; PIDS+=($SEED_PID)
wait_socket "$WORK/steward/steward.sock"
kill "$SEED_PID"; wait "$SEED_PID" || true
python3 bench/seed_jobs.py copy "$WORK/steward" | psql -d steward -qc "COPY jobs (id, type, priority, createat, startat, lastactivityat, status, progress, data) FROM STDIN"
psql -d steward -qc "VACUUM ANALYZE jobs"
psql -d postgres -qc "CREATE DATABASE go TEMPLATE steward"
JOB_ID=$(cat "$WORK/steward/job-id")

start_servers "${PG_DSN}go?$PG_HOST_QUERY"
echo "{\"idle_rss_kb\":{\"steward\":$(rss_kb $STEWARD_PID),\"go\":$(rss_kb $GO_PID)}}" >"$OUT/routes-pg-idle.json"

declare -A SOCK=([steward]="$WORK/steward/steward.sock" [go]="$WORK/go.sock")
declare -A SERVER_PID=([steward]="$STEWARD_PID" [go]="$GO_PID")
# route name | method | path | body | status
ROUTES=(
    "jobs_list|GET|/api/v4/jobs?per_page=60||200"
    "job_get|GET|/api/v4/jobs/$JOB_ID||200"
    "job_create|POST|/api/v4/jobs|{\"type\":\"db_optimize\",\"data\":{}}|201"
)
: >"$OUT/routes-pg.jsonl"
for spec in "${ROUTES[@]}"; do
    IFS='|' read -r route method path body status <<<"$spec"
    [[ -n ${ONLY:-} && ! $route =~ ^(${ONLY})$ ]] && continue
    for mode in keepalive close; do
        ka=true; [[ $mode == close ]] && ka=false
        for conns in 1 4 32; do
            for server in steward go; do
                args=(-socket "${SOCK[$server]}" -path "$path" -method "$method" -status "$status" -conns "$conns" -keepalive=$ka)
                [[ -n $body ]] && args+=(-body "$body")
                "$LOADGEN" "${args[@]}" -duration 1s -name warmup >/dev/null
                cluster=$(pg_pids)
                before=$(cpu_ticks ${SERVER_PID[$server]}); before_pg=$(cpu_ticks $cluster)
                line=$("$LOADGEN" "${args[@]}" -duration "${DUR}s" -name "$server")
                after=$(cpu_ticks ${SERVER_PID[$server]}); after_pg=$(cpu_ticks $cluster)
                python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["route"]=sys.argv[2]; n=max(r["requests"],1); s,p=int(sys.argv[3]),int(sys.argv[4]); r["cpu_us_per_req"]=round((s+p)*10000/n,1); r["server_cpu_us_per_req"]=round(s*10000/n,1); r["postgres_cpu_us_per_req"]=round(p*10000/n,1); print(json.dumps(r))' \
                    "$line" "$route" "$((after - before))" "$((after_pg - before_pg))" | tee -a "$OUT/routes-pg.jsonl" >&2
            done
        done
    done
done
echo "{\"steward_rss_after_load_kb\":$(rss_kb $STEWARD_PID)}" >>"$OUT/routes-pg-idle.json"
python3 bench/routes_report.py "$OUT" routes-pg | tee "$OUT/routes-pg.md"
