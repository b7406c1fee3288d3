#!/usr/bin/env bash
# The jobs benchmark (creation rate, cancel latency, backup throughput vs sqlite3 .backup).
#   bench/jobs.sh [data-dir]    (reuses the integrity benchmark's 1M-post database; results in bench/out/jobs.md)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps --bench
DATA="${1:-/tmp/steward-integrity-bench}"
mkdir -p bench/out "$DATA"
swift build -c release --static-swift-stdlib --product stewardd >/dev/null
STEWARDD="$(swift build -c release --static-swift-stdlib --show-bin-path)/stewardd"
[[ -f "$DATA/m1.db" ]] || python3 tools/mmdb/generate.py "$DATA/m1.db" --posts 1000000
cp "$DATA/m1.db" "$DATA/jobs-bench.db"
python3 bench/jobs.py "$STEWARDD" "$DATA/jobs-bench.db" bench/out | tee bench/out/jobs.md
rm -f "$DATA/jobs-bench.db"*
