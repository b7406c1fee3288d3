#!/usr/bin/env bash
# Fairness under a slow-connection attack: 1000 slow connections (slowloris: a request head one
# byte every 2 s) from one plain uid and three observer uids on the group listener, while root
# makes one-connection requests on the default socket. Compares root's latency idle and under
# attack in one run. Needs root (it creates the users).
#   bench/fairness.sh [seconds-of-attack] [requests-per-measure]   (defaults 20, 2000)
# Result: bench/out/fairness.json
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "run as root (creates users)" >&2; exit 1; }
scripts/install-deps
ATTACK_SECONDS="${1:-20}"
COUNT="${2:-2000}"
OUT=bench/out
mkdir -p "$OUT"
source bench/work.sh steward-fair

getent group steward >/dev/null || groupadd --system steward
for u in stw-nobody stw-obs1 stw-obs2 stw-obs3; do
    id "$u" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin --user-group "$u"
done
for u in stw-obs1 stw-obs2 stw-obs3; do usermod -a -G steward "$u"; done

if [[ -z "${STEWARDD:-}" ]]; then
    echo "building stewardd (release, static Swift stdlib)..." >&2
    swift build -c release --static-swift-stdlib --product stewardd >/dev/null
    STEWARDD="$(swift build -c release --static-swift-stdlib --show-bin-path)/stewardd"
fi

mkdir -p "$WORK/steward" "$WORK/pub"
chmod 755 "$WORK/pub"
# Per-uid caps high enough that four uids could take every place: only the administrators'
# share (ReservedAdminConnections, 32 by default at 512) keeps root's requests coming in.
cat >"$WORK/steward/config.json" <<JSON
{
  "ServiceSettings": {
    "Listeners": [
      {"Name": "steward.sock", "Path": "$WORK/steward/steward.sock", "Mode": "0600"},
      {"Name": "ops.sock", "Path": "$WORK/pub/ops.sock", "Mode": "0666"}
    ],
    "MaxConnections": 512,
    "MaxConnectionsPerUid": 300
  },
  "SqlSettings": {"DataSource": "$WORK/steward/steward.db"},
  "LogSettings": {"EnableJournal": false}
}
JSON
"$STEWARDD" --data-dir "$WORK/steward" >"$WORK/stewardd.log" 2>&1 & PIDS+=($!)
for _ in $(seq 200); do curl -sf --unix-socket "$WORK/steward/steward.sock" http://_/api/v4/system/ping >/dev/null && break; sleep 0.05; done

python3 bench/fairness.py measure "$WORK/steward/steward.sock" 200 >/dev/null   # warm-up
IDLE=$(python3 bench/fairness.py measure "$WORK/steward/steward.sock" "$COUNT")
echo "idle: $IDLE" >&2

ATTACKERS=()
for u in stw-nobody stw-obs1 stw-obs2 stw-obs3; do
    runuser -u "$u" -- python3 bench/fairness.py attack "$WORK/pub/ops.sock" 250 "$ATTACK_SECONDS" >"$WORK/attack-$u.json" &
    ATTACKERS+=($!); PIDS+=($!)
done
sleep 5   # let the attack reach the caps
OPEN=$(ls /proc/"$(pgrep -f "$STEWARDD --data-dir $WORK/steward" | head -1)"/fd | wc -l)
UNDER=$(python3 bench/fairness.py measure "$WORK/steward/steward.sock" "$COUNT")
echo "under attack: $UNDER (daemon descriptors open: $OPEN)" >&2
for p in "${ATTACKERS[@]}"; do wait "$p" || true; done
RSS=$(awk '/VmRSS/{print $2}' /proc/"$(pgrep -f "$STEWARDD --data-dir $WORK/steward" | head -1)"/status)
python3 - "$IDLE" "$UNDER" "$OPEN" "$RSS" "$WORK" >"$OUT/fairness.json" <<'PY'
import json, sys, glob
idle, under = json.loads(sys.argv[1]), json.loads(sys.argv[2])
attack = {f.split("attack-")[1][:-5]: json.load(open(f)) for f in glob.glob(sys.argv[5] + "/attack-*.json")}
print(json.dumps({"idle": idle, "under_attack": under, "p99_delta_ms": round(under["p99_ms"] - idle["p99_ms"], 3),
                  "daemon_fds_under_attack": int(sys.argv[3]), "daemon_rss_kb_after": int(sys.argv[4]), "attackers": attack}, indent=1))
PY
cat "$OUT/fairness.json"
echo "denial/refusal entries written: $(grep -c 'connection refused' "$WORK/stewardd.log" || true), summaries: $(grep -c 'suppressed' "$WORK/stewardd.log" || true)" >&2
