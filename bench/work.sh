# Sourced by the benchmark scripts after `cd` to the repository root: a scratch directory WORK
# (mode 755, so other users' processes can reach sockets in it) created under the prefix given as
# $1, and PIDS, whose processes are stopped and WORK removed on exit.
WORK=$(mktemp -d "/tmp/${1:-steward-bench}.XXXXXX")
chmod 755 "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$WORK" 2>/dev/null || { sleep 2; rm -rf "$WORK" || true; }; }
trap cleanup EXIT
