# Shared by the benchmark scripts: sourced after `cd` to the repository root, with DUR set.
# Sets OUT and WORK, builds stewardd (release, static stdlib; STEWARD_BENCH_NO_BUILD=1 skips it), the
# load generator and the Go server into WORK, and removes WORK and stops every PID in PIDS on exit.
scripts/install-deps --bench
OUT=bench/out
mkdir -p "$OUT"
source bench/work.sh steward-bench

# STEWARD_BENCH_NO_BUILD=1: the last release build of stewardd as it is (no swift command at all: it
# would wait for the lock of a build running in the same tree).
if [[ ${STEWARD_BENCH_NO_BUILD:-} == 1 ]]; then
    STEWARDD="$PWD/.build/release/stewardd"
else
    echo "building stewardd (release, static Swift stdlib)..." >&2
    swift build -c release --static-swift-stdlib --product stewardd >/dev/null
    STEWARDD="$(swift build -c release --static-swift-stdlib --show-bin-path)/stewardd"
fi
echo "building the Go programs..." >&2
(cd bench/loadgen && go build -o "$WORK/loadgen" .)
# GOPATH mode: Debian's mattn/go-sqlite3 builds offline; the libsqlite3 tag links the system library.
(cd bench/goserver && GO111MODULE=off GOPATH=/usr/share/gocode go build -tags libsqlite3 -o "$WORK/goserver" .)
LOADGEN="$WORK/loadgen"

# A real server has systemd-journald, and stewardd's audit entries cost it CPU on the same cores:
# start one when none answers (root only; without it the entries go to stewardd's stderr).
journald_answers() { logger --journald 2>/dev/null <<<"MESSAGE=steward bench probe"; }
if ! journald_answers && [[ $(id -u) == 0 && -x /lib/systemd/systemd-journald ]]; then
    /lib/systemd/systemd-journald & PIDS+=($!)
    for _ in $(seq 100); do journald_answers && break; sleep 0.05; done
    echo "started systemd-journald for the run" >&2
fi

wait_socket() { for _ in $(seq 300); do [[ -S "$1" ]] && curl -sf --unix-socket "$1" http://_/api/v4/system/ping >/dev/null && return 0; sleep 0.05; done; echo "no answer on $1" >&2; exit 1; }
rss_kb() { local total=0; for p in "$@"; do total=$((total + $(awk '/VmRSS/{print $2}' /proc/$p/status))); done; echo $total; }
cpu_ticks() { local t=0 s; for p in "$@"; do s=$(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null) || continue; t=$((t + s)); done; echo $t; }  # a process gone since is skipped

# nginx for the static answers (ping, the not-busy state), with stewardd's headers; sets NGINX_PID.
start_nginx() {
    local busy='{"busy":false,"expires":-62135596800,"expires_ts":"Mon Jan 1 00:00:00 +0000 UTC 0001"}'
    cat >"$WORK/nginx.conf" <<NGINX
worker_processes 2;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen unix:$WORK/nginx.sock;
        default_type application/json;
        add_header X-Request-ID baselinebaselinebaseline00;
        add_header X-Version-ID 0.1.0.steward.0.false;
        add_header X-Content-Type-Options nosniff;
        add_header Referrer-Policy no-referrer;
        add_header Expires 0;
        location = /api/v4/system/ping { return 200 '{"ServerVersion":"0.1.0","status":"OK"}'; }
        location = /api/v4/server_busy { return 200 '$busy'; }
    }
}
NGINX
    nginx -c "$WORK/nginx.conf" -p "$WORK" & PIDS+=($!); NGINX_PID=$!
}

# nginx's master and workers, once it has started them.
nginx_pids() { echo $(pgrep -f "nginx -c $WORK/nginx.conf"; pgrep -P "$NGINX_PID" || true) | tr ' ' '\n' | sort -u | tr '\n' ' '; }

# stewardd on $WORK/steward, the Go server (its arguments after the socket: "$@") and nginx, each
# answering; sets STEWARD_PID, GO_PID and NGINX_ALL (every nginx process).
start_servers() {
    "$STEWARDD" --data-dir "$WORK/steward" >"$WORK/stewardd.log" 2>&1 & PIDS+=($!); STEWARD_PID=$!
    "$WORK/goserver" "$WORK/go.sock" "$@" & PIDS+=($!); GO_PID=$!
    start_nginx
    wait_socket "$WORK/steward/steward.sock"; wait_socket "$WORK/go.sock"; wait_socket "$WORK/nginx.sock"
    sleep 1
    NGINX_ALL=$(nginx_pids)
}
