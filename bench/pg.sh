# Sourced by the PostgreSQL benchmarks after bench/lib.sh or bench/work.sh: start_pg starts a
# private PostgreSQL cluster in $WORK/pg (initdb as the unprivileged `postgres` user when run as
# root, the Unix socket in that directory, no TCP listener, scram-sha-256 passwords, the server's
# defaults otherwise: fsync and synchronous_commit on, as on a real server). Sets PG_PID, PG_BIN and
# PG_DSN (superuser `steward`, password `bench`; append the database name). The cluster is stopped
# with the other PIDS on exit.
start_pg() {
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    local dir="$WORK/pg" as=()
    mkdir -p "$dir"
    echo bench >"$dir/pw"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres:postgres "$dir"
        as=(setpriv --reuid postgres --regid postgres --clear-groups)
    fi
    "${as[@]}" "$PG_BIN/initdb" -D "$dir/data" -U steward --pwfile "$dir/pw" -A scram-sha-256 -E UTF8 \
        --locale C.UTF-8 --no-sync >"$dir/initdb.log"
    "${as[@]}" "$PG_BIN/postgres" -D "$dir/data" -k "$dir" -c listen_addresses= -c max_connections=100 \
        -c shared_buffers=512MB >"$dir/postgres.log" 2>&1 & PG_PID=$!
    trap 'kill -INT $PG_PID 2>/dev/null; wait $PG_PID 2>/dev/null; cleanup' EXIT  # a fast shutdown before WORK goes
    for _ in $(seq 600); do [[ -S "$dir/.s.PGSQL.5432" ]] && break; sleep 0.05; done
    export PGPASSWORD=bench PGHOST="$dir" PGUSER=steward
    for _ in $(seq 100); do psql -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
    PG_DSN="postgres://steward:bench@/"
    PG_HOST_QUERY="host=$dir&sslmode=disable"
}

# The cluster's processes (postmaster and every backend), for CPU accounting.
pg_pids() { echo "$PG_PID" $(pgrep -P "$PG_PID" || true); }
