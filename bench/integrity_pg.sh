#!/usr/bin/env bash
# The integrity check on PostgreSQL: Steward's check (POST /api/v4/integrity, stewardd with
# SqlSettings.DriverName postgres) vs Mattermost's 41 queries run by psql, on one Mattermost-shaped
# database: tools/mmdb/realistic.py's SQLite file loaded by tools/mmdb/to_postgres.py into a private
# cluster (bench/pg.sh), in a database with C collation so ORDER BY is bytewise, as the expected file's
# order is. 3 rounds, the side that goes first alternating; wall time, stewardd's CPU and peak RSS,
# the cluster's CPU (every backend, parallel workers included) during each side's run, and whether
# Steward's answer is Mattermost's (the generator's expected file, relation by relation, as sets, then
# the order). Results in bench/out/integrity-pg.md and .jsonl.
#   bench/integrity_pg.sh [posts]               (default 1000000; the SQLite file is kept in DATA)
#   DATA=dir bench/integrity_pg.sh              where the SQLite files are (default
#                                               /tmp/steward-integrity-bench, bench/integrity.sh's: its
#                                               r1.db is the 1M-post file)
#   NO_FK_INDEXES=1 bench/integrity_pg.sh       without Mattermost's foreign-key indexes
#   STEWARD_BENCH_NO_BUILD=1 bench/integrity_pg.sh   the last release build of stewardd, as is
#   SCAN_THREADS=N bench/integrity_pg.sh        IntegritySettings.ScanThreads (default 0: the CPUs, at most 4)
set -euo pipefail
cd "$(dirname "$0")/.."
POSTS="${1:-1000000}"
DATA="${DATA:-/tmp/steward-integrity-bench}"
mkdir -p "$DATA"
name=realistic-$POSTS; [[ $POSTS == 1000000 ]] && name=r1
db="$DATA/$name.db"
[[ -f "$db" && -f "$db.expected.json" ]] || nice -n 19 python3 tools/mmdb/realistic.py "$db" --posts "$POSTS"

DUR=0
source bench/lib.sh
source bench/pg.sh
start_pg
python3 tools/mmdb/reference.py --sql >"$WORK/mattermost.sql"
psql -X -d postgres -qc "CREATE DATABASE mattermost TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
load_args=(); [[ ${NO_FK_INDEXES:-} == 1 ]] && load_args=(--no-fk-indexes)
load0=$(date +%s.%N)
python3 tools/mmdb/to_postgres.py "$db" -d mattermost "${load_args[@]}" 2>&1 | tee "$WORK/load.log" >&2
load1=$(date +%s.%N)
psql -X -d mattermost -qc CHECKPOINT  # the load's dirty pages written now, not during a timed run

mkdir -p "$WORK/steward"
printf '{"ServiceSettings":{"Listeners":[{"Name":"steward.sock","Path":"%s"}]},"SqlSettings":{"DriverName":"postgres","DataSource":"%s"},"JobSettings":{"Directory":"%s"},"IntegritySettings":{"ScanThreads":%s},"LogSettings":{"EnableJournal":false}}' \
    "$WORK/steward/steward.sock" "${PG_DSN}mattermost?$PG_HOST_QUERY" "$WORK/steward/jobs" "${SCAN_THREADS:-0}" >"$WORK/steward/config.json"
"$STEWARDD" --config "$WORK/steward/config.json" >"$WORK/stewardd.log" 2>&1 & PIDS+=($!); STEWARD_PID=$!
wait_socket "$WORK/steward/steward.sock"

# The cluster's CPU in clock ticks: its live processes plus what the postmaster has reaped (a
# backend that ends, as every psql run's does, leaves its time there).
pg_cpu() { echo $(( $(cpu_ticks $(pg_pids)) + $(awk '{print $16 + $17}' /proc/$PG_PID/stat) )); }
# The CPU of the shell's ended children, in ticks, from a file the `times` builtin wrote (its second line).
reaped() { awk -v hz="$HZ" 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } printf "%d", n * hz + 0.5 }' "$1"; }
diff_s() { awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN { printf "%.3f", (b - a) / d }'; }  # (b - a) / d
HZ=$(getconf CLK_TCK)
RAW="$WORK/runs.jsonl"
: >"$RAW"
run() {  # side round: one timed run, a line in RAW
    local side=$1 round=$2 t0 t1 c0 c1 p0 p1
    p0=$(pg_cpu)
    if [[ $side == steward ]]; then
        c0=$(cpu_ticks $STEWARD_PID); t0=$(date +%s.%N)
        curl -sf -o "$WORK/answer.json" --unix-socket "$WORK/steward/steward.sock" -X POST http://_/api/v4/integrity ||
            { tail -5 "$WORK/stewardd.log" >&2; exit 1; }
        t1=$(date +%s.%N); c1=$(cpu_ticks $STEWARD_PID)
    else
        # Only psql ends between the two `times` (a builtin: no child of its own).
        t0=$(date +%s.%N); times >"$WORK/times0"
        psql -X -q -v ON_ERROR_STOP=1 -d mattermost -f "$WORK/mattermost.sql" >/dev/null
        times >"$WORK/times1"; t1=$(date +%s.%N)
        c0=$(reaped "$WORK/times0"); c1=$(reaped "$WORK/times1")
    fi
    p1=$(pg_cpu)
    echo "{\"kind\":\"run\",\"db\":\"$name\",\"side\":\"$side\",\"round\":$round,\"wall_s\":$(diff_s "$t0" "$t1"),\"client_cpu_s\":$(diff_s "$c0" "$c1" "$HZ"),\"pg_cpu_s\":$(diff_s "$p0" "$p1" "$HZ")}" | tee -a "$RAW" >&2
}
for round in 1 2 3; do
    if (( round % 2 )); then run steward $round; run psql $round; else run psql $round; run steward $round; fi
done
hwm=$(awk '/VmHWM/{print $2}' /proc/$STEWARD_PID/status)

python3 bench/integrity_report.py compare "$WORK/answer.json" "$db.expected.json" --pg >"$WORK/check.json"
psql -X -d mattermost -Atc "SELECT pg_database_size(current_database()), current_setting('server_version'), datcollate FROM pg_database WHERE datname = current_database()" >"$WORK/pg.txt"
python3 - "$db" "$name" "$POSTS" "$hwm" "$(diff_s "$load0" "$load1")" "$WORK" "${NO_FK_INDEXES:-0}" <<'PY' >>"$RAW"
import json, re, sys
db, name, posts, hwm, load_s, work, no_fk = sys.argv[1:]
e = json.load(open(db + ".expected.json"))
size, version, collation = open(f"{work}/pg.txt").read().strip().split("|")
fitted = re.search(r"(\d+) over-long values", open(f"{work}/load.log").read())
line = {"kind": "database", "db": name, "posts": int(posts), "rows": sum(e["rows"].values()), "orphans": sum(e["counts"]),
        "fk_indexes": no_fk != "1", "pg_bytes": int(size), "server_version": version, "collation": collation,
        "load_s": float(load_s), "fitted": int(fitted.group(1)) if fitted else None, "steward_peak_rss_kb": int(hwm)}
line.update(json.load(open(f"{work}/check.json")))
print(json.dumps(line))
PY
cp "$RAW" "$OUT/integrity-pg.jsonl"
python3 bench/integrity_report.py pg "$OUT" | tee "$OUT/integrity-pg.md"
