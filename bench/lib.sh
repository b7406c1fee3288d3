# Shared by the benchmark scripts: sourced after `cd` to the repository root, with DUR set.
# Sets OUT and WORK, builds stewardd (release, static stdlib), the load generator and the Go server
# into WORK, and removes WORK and stops every PID in PIDS on exit.
scripts/install-deps --bench
OUT=bench/out
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/steward-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$WORK"; }
trap cleanup EXIT

echo "building stewardd (release, static Swift stdlib) and the Go programs..." >&2
swift build -c release --static-swift-stdlib --product stewardd >/dev/null
STEWARDD="$(swift build -c release --static-swift-stdlib --show-bin-path)/stewardd"
(cd bench/loadgen && go build -o "$WORK/loadgen" .)
# GOPATH mode: Debian's mattn/go-sqlite3 builds offline; the libsqlite3 tag links the system library.
(cd bench/goserver && GO111MODULE=off GOPATH=/usr/share/gocode go build -tags libsqlite3 -o "$WORK/goserver" .)
LOADGEN="$WORK/loadgen"

wait_socket() { for _ in $(seq 300); do [[ -S "$1" ]] && curl -sf --unix-socket "$1" http://_/api/v4/system/ping >/dev/null && return 0; sleep 0.05; done; echo "no answer on $1" >&2; exit 1; }
rss_kb() { local total=0; for p in "$@"; do total=$((total + $(awk '/VmRSS/{print $2}' /proc/$p/status))); done; echo $total; }
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }
