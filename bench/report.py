"""Turns bench/out/*.json* into the markdown tables docs/performance.md quotes."""
import json
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])
rows = [json.loads(l) for l in (out / "load.jsonl").read_text().splitlines() if l.strip()]
by = {(r["server"], r["mode"], r["conns"]): r for r in rows}

print("| mode | conns | steward req/s | go req/s | nginx req/s | steward/go | steward/nginx | p50 µs s/g/n | p99 µs s/g/n |")
print("|---|---|---|---|---|---|---|---|---|")
for mode in ("keepalive", "close"):
    for conns in (1, 4, 32):
        s, g, n = (by.get((x, mode, conns)) for x in ("steward", "go", "nginx"))
        if not (s and g and n):
            continue
        print(f"| {mode} | {conns} | {s['req_per_sec']:.0f} | {g['req_per_sec']:.0f} | {n['req_per_sec']:.0f} | "
              f"{s['req_per_sec'] / g['req_per_sec']:.2f}× | {s['req_per_sec'] / n['req_per_sec']:.2f}× | "
              f"{s['p50_us']:.0f} / {g['p50_us']:.0f} / {n['p50_us']:.0f} | {s['p99_us']:.0f} / {g['p99_us']:.0f} / {n['p99_us']:.0f} |")
errors = sum(r["errors"] for r in rows)
print(f"\nerrors across all runs: {errors}\n")

idle = {}
for line in (out / "idle.json").read_text().splitlines():
    idle.update(json.loads(line))
rss = idle["idle_rss_kb"]
print(f"idle RSS: steward {rss['steward'] / 1024:.1f} MB, go {rss['go'] / 1024:.1f} MB, "
      f"nginx (master + workers) {rss['nginx'] / 1024:.1f} MB; steward after the load runs "
      f"{idle['steward_rss_after_load_kb'] / 1024:.1f} MB")

first = [float(x) for x in (out / "first-answer.txt").read_text().split()]
print(f"socket-activated start to first answer: median {statistics.median(first):.1f} ms, "
      f"max {max(first):.1f} ms over {len(first)} starts")

recycle = [float(x) * 1000 for x in (out / "recycle.txt").read_text().split()]
print(f"POST /database/recycle (whole request): median {statistics.median(recycle):.2f} ms, "
      f"max {max(recycle):.2f} ms over {len(recycle)} calls")
