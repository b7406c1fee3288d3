#!/usr/bin/env bash
# Several nodes on one PostgreSQL: jobs run per second by three stewardd against one, and how long
# a busy change made on one node takes to be seen by the others (p50/p99), in one private
# PostgreSQL cluster (bench/pg.sh).
#   bench/cluster.sh [jobs] [busy-rounds]   (default 600 and 200; results in bench/out/cluster.json, .md)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${1:-600}"
ROUNDS="${2:-200}"
source bench/lib.sh
source bench/pg.sh
start_pg
python3 bench/cluster.py "$STEWARDD" "$WORK" "${PG_DSN}" "$PG_HOST_QUERY" "$JOBS" "$ROUNDS" "$OUT" | tee "$OUT/cluster.md"
