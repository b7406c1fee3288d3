#!/usr/bin/env bash
# The integrity-check benchmark: Steward's check vs Mattermost's SQL run by the sqlite3 CLI vs a
# plain scan of the child foreign-key columns (the floor), on generated databases with 1M and 5M
# posts, plus peak RSS (also with 1M orphans). Results in bench/out/integrity.md.
#   bench/integrity.sh [data-dir]     (default /tmp/steward-integrity-bench; databases are reused)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps --bench
DATA="${1:-/tmp/steward-integrity-bench}"
OUT=bench/out
mkdir -p "$OUT" "$DATA"

swift build -c release --static-swift-stdlib --product stewardd >/dev/null
STEWARDD="$(swift build -c release --static-swift-stdlib --show-bin-path)/stewardd"
python3 tools/mmdb/reference.py --sql >"$DATA/mattermost.sql"
python3 tools/mmdb/reference.py --scan-sql >"$DATA/scan.sql"

gen() {  # name posts [extra args]
    local name=$1 posts=$2; shift 2
    [[ -f "$DATA/$name.db" && -f "$DATA/$name.db.expected.json" ]] || python3 tools/mmdb/generate.py "$DATA/$name.db" --posts "$posts" "$@"
}
gen m1 1000000
gen m5 5000000
gen m1-orphans 1000000 --bulk-orphans 1000000

best() {  # runs the command 3 times, prints the fastest wall time in seconds
    local best=""
    for _ in 1 2 3; do
        local t0 t1 t
        t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
        t=$(printf '%.3f' "$(echo "$t1 - $t0" | bc)")
        if [[ -z "$best" ]] || (( $(echo "$t < $best" | bc) )); then best=$t; fi
    done
    echo "$best"
}

steward() {  # db → "seconds peak_rss_kb"
    local db=$1 dir
    dir=$(mktemp -d /tmp/steward-ib.XXXXXX)
    printf '{"ServiceSettings":{"Listeners":[{"Name":"steward.sock","Path":"%s/steward.sock"}]},"SqlSettings":{"DataSource":"%s"},"LogSettings":{"EnableJournal":false}}' "$dir" "$db" >"$dir/config.json"
    "$STEWARDD" --data-dir "$dir" >"$dir/log" 2>&1 & local pid=$!
    for _ in $(seq 100); do [[ -S "$dir/steward.sock" ]] && break; sleep 0.05; done
    local t
    t=$(best curl -sf -o /dev/null --unix-socket "$dir/steward.sock" -X POST http://_/api/v4/integrity)
    local hwm
    hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$dir"
    echo "$t $hwm"
}

: >"$OUT/integrity.jsonl"
for name in m1 m5 m1-orphans; do
    db="$DATA/$name.db"
    sql=$(best sqlite3 "$db" ".read $DATA/mattermost.sql")
    scan=$(best sqlite3 "$db" ".read $DATA/scan.sql")
    read -r ours rss < <(steward "$db")
    echo "{\"db\":\"$name\",\"steward_s\":$ours,\"sql_s\":$sql,\"scan_s\":$scan,\"steward_peak_rss_kb\":$rss}" | tee -a "$OUT/integrity.jsonl" >&2
done

python3 - "$OUT" <<'PY' | tee "$OUT/integrity.md"
import json, sys
from pathlib import Path
rows = {r["db"]: r for r in (json.loads(l) for l in (Path(sys.argv[1]) / "integrity.jsonl").read_text().splitlines())}
print("| database | Steward | Mattermost's SQL (sqlite3 CLI) | scan floor | SQL / Steward | Steward / floor | Steward peak RSS |")
print("|---|---|---|---|---|---|---|")
for name, label in (("m1", "1M posts"), ("m5", "5M posts"), ("m1-orphans", "1M posts + 1M orphans")):
    r = rows[name]
    print(f"| {label} | {r['steward_s']:.2f} s | {r['sql_s']:.2f} s | {r['scan_s']:.2f} s | {r['sql_s'] / r['steward_s']:.1f}× | "
          f"{r['steward_s'] / r['scan_s']:.1f}× | {r['steward_peak_rss_kb'] / 1024:.0f} MB |")
m1, m5, mo = rows["m1"], rows["m5"], rows["m1-orphans"]
print(f"\ngrowth from 1M to 5M posts: Steward {m5['steward_s'] / m1['steward_s']:.1f}×, SQL {m5['sql_s'] / m1['sql_s']:.1f}×, "
      f"floor {m5['scan_s'] / m1['scan_s']:.1f}×")
print(f"peak RSS with 1M orphans vs none: {mo['steward_peak_rss_kb'] / 1024:.0f} MB vs {m1['steward_peak_rss_kb'] / 1024:.0f} MB")
PY
