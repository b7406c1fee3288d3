#!/usr/bin/env bash
# The request-path benchmark: stewardd (release, static stdlib) against nginx and a Go net/http
# server answering the same ping JSON on unix sockets, in one run, with one load generator.
#   bench/run.sh [seconds-per-case]      (default 5; results in bench/out/results.md)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-5}"
source bench/lib.sh

start_servers
echo "{\"idle_rss_kb\":{\"steward\":$(rss_kb $STEWARD_PID),\"go\":$(rss_kb $GO_PID),\"nginx\":$(rss_kb $NGINX_ALL)}}" >"$OUT/idle.json"

declare -A SOCK=([steward]="$WORK/steward/steward.sock" [go]="$WORK/go.sock" [nginx]="$WORK/nginx.sock")
: >"$OUT/load.jsonl"
for mode in keepalive close; do
    for conns in 1 4 32; do
        for server in steward go nginx; do
            ka=true; [[ $mode == close ]] && ka=false
            "$LOADGEN" -socket "${SOCK[$server]}" -conns "$conns" -duration 1s -keepalive=$ka -name warmup >/dev/null
            "$LOADGEN" -socket "${SOCK[$server]}" -conns "$conns" -duration "${DUR}s" -keepalive=$ka -name "$server" | tee -a "$OUT/load.jsonl" >&2
        done
    done
done
echo "{\"steward_rss_after_load_kb\":$(rss_kb $STEWARD_PID)}" >>"$OUT/idle.json"

# Database recycle: wall time of the whole request, 20 times.
: >"$OUT/recycle.txt"
for _ in $(seq 20); do
    curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$WORK/steward/steward.sock" -X POST http://_/api/v4/database/recycle >>"$OUT/recycle.txt"
done

# Socket activation: from the first connection to the first answer, stewardd started by systemd-socket-activate.
: >"$OUT/first-answer.txt"
for i in $(seq 10); do
    dir="$WORK/act$i"; mkdir -p "$dir"
    printf '{"ServiceSettings":{"Listeners":[{"Name":"steward.sock","Path":"%s/a.sock"}]},"SqlSettings":{"DataSource":"%s/steward.db"},"LogSettings":{"EnableJournal":false}}' "$dir" "$dir" >"$dir/config.json"
    systemd-socket-activate -l "$dir/a.sock" --fdname=steward.sock "$STEWARDD" --data-dir "$dir" 2>/dev/null & apid=$!
    for _ in $(seq 100); do [[ -S "$dir/a.sock" ]] && break; sleep 0.02; done
    "$LOADGEN" -first-answer -socket "$dir/a.sock" >>"$OUT/first-answer.txt"
    kill $apid; wait $apid 2>/dev/null || true
done

python3 bench/report.py "$OUT" | tee "$OUT/results.md"
