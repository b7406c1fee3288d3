#!/usr/bin/env bash
# The integrity-check benchmark: Steward's check vs Mattermost's SQL run by the sqlite3 CLI vs the scan
# floor (SQLite reading, in one pass per table, the columns Steward reads: every parent key, every child
# table's foreign keys, child ids and Type), plus Steward's peak RSS and whether its answer is
# Mattermost's (the generator's expected file). Databases:
#   r1, r5       tools/mmdb/realistic.py, 1M and 5M posts, Mattermost's foreign-key indexes
#   r1-noidx     the same 1M without them
#   r1-orphans   the same 1M with 1M more orphans (reactions to posts that do not exist)
#   m1           tools/mmdb/generate.py's narrow tables, 1M posts (the earlier benchmark's data)
# Results in bench/out/integrity.md.
#   bench/integrity.sh [data-dir]     (default /tmp/steward-integrity-bench; databases are reused)
#   ONLY='r1|m1' bench/integrity.sh   only the databases whose names match
#   STEWARDD=path bench/integrity.sh  that stewardd instead of a fresh release build
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps --bench
DATA="${1:-/tmp/steward-integrity-bench}"
OUT=bench/out
mkdir -p "$OUT" "$DATA"

if [[ -z "${STEWARDD:-}" ]]; then
    swift build -c release --static-swift-stdlib --product stewardd >/dev/null
    STEWARDD="$(swift build -c release --static-swift-stdlib --show-bin-path)/stewardd"
fi
python3 tools/mmdb/reference.py --sql >"$DATA/mattermost.sql"
python3 tools/mmdb/reference.py --scan-sql >"$DATA/scan.sql"

NAMES=(r1 r5 r1-noidx r1-orphans m1)
selected() { [[ -z ${ONLY:-} || $1 =~ ^(${ONLY})$ ]]; }
gen() {  # name generator posts [extra args]
    local name=$1 tool=$2 posts=$3; shift 3
    selected "$name" || return 0
    [[ -f "$DATA/$name.db" && -f "$DATA/$name.db.expected.json" ]] ||
        nice -n 19 python3 "tools/mmdb/$tool.py" "$DATA/$name.db" --posts "$posts" "$@"
}
gen r1 realistic 1000000
gen r5 realistic 5000000
gen r1-noidx realistic 1000000 --no-fk-indexes
gen r1-orphans realistic 1000000 --bulk-orphans 1000000
gen m1 generate 1000000

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

steward() {  # db → "seconds peak_rss_kb answer_is_mattermosts"
    local db=$1 dir
    dir=$(mktemp -d /tmp/steward-ib.XXXXXX)
    printf '{"ServiceSettings":{"Listeners":[{"Name":"steward.sock","Path":"%s/steward.sock"}]},"SqlSettings":{"DataSource":"%s"},"LogSettings":{"EnableJournal":false}}' "$dir" "$db" >"$dir/config.json"
    "$STEWARDD" --data-dir "$dir" >"$dir/log" 2>&1 & local pid=$!
    for _ in $(seq 100); do [[ -S "$dir/steward.sock" ]] && break; sleep 0.05; done
    local t
    t=$(best curl -sf -o /dev/null --unix-socket "$dir/steward.sock" -X POST http://_/api/v4/integrity)
    curl -sf -o "$dir/answer.json" --unix-socket "$dir/steward.sock" -X POST http://_/api/v4/integrity || true
    local hwm
    hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
    kill $pid; wait $pid 2>/dev/null || true
    local same
    same=$(python3 -c 'import json, sys
try:
    # Mattermost checks come first; the daemon runs its store migrations on the file, and its tables may add more.
    print(str(json.load(open(sys.argv[1]))[:41] == json.load(open(sys.argv[2]))["results"]).lower())
except Exception:
    print("false")' "$dir/answer.json" "$db.expected.json")
    rm -rf "$dir"
    echo "$t $hwm $same"
}

: >"$OUT/integrity.jsonl"
for name in "${NAMES[@]}"; do
    selected "$name" || continue
    db="$DATA/$name.db"
    sql=$(best sqlite3 "$db" ".read $DATA/mattermost.sql")
    scan=$(best sqlite3 "$db" ".read $DATA/scan.sql")
    read -r ours rss same < <(steward "$db")
    python3 - "$db" "$name" "$ours" "$sql" "$scan" "$rss" "$same" <<'PY' | tee -a "$OUT/integrity.jsonl" >&2
import json, os, sys
db, name, ours, sql, scan, rss, same = sys.argv[1:]
e = json.load(open(db + ".expected.json"))
print(json.dumps({"db": name, "steward_s": float(ours), "sql_s": float(sql), "scan_s": float(scan),
                  "steward_peak_rss_kb": int(rss), "answer_is_mattermosts": same == "true", "bytes": os.path.getsize(db),
                  "rows": sum(e.get("rows", {}).values()), "orphans": sum(e["counts"])}))
PY
done

python3 bench/integrity_report.py sqlite "$OUT" | tee "$OUT/integrity.md"
