"""Turns bench/out/routes.jsonl (or NAME.jsonl: `routes_report.py OUT NAME`) into the tables docs/performance.md quotes: per route, steward
against Go (and nginx where it serves the route), with ratios, latency, CPU per request and sizes."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
name = sys.argv[2] if len(sys.argv) > 2 else "routes"
rows = [json.loads(l) for l in (out / f"{name}.jsonl").read_text().splitlines() if l.strip()]
by = {(r["route"], r["server"], r["mode"], r["conns"]): r for r in rows}
routes = list(dict.fromkeys(r["route"] for r in rows))

for route in routes:
    has_nginx = any(k[0] == route and k[1] == "nginx" for k in by)
    print(f"\n**{route}**\n")
    head = "| mode | conns | steward req/s | go req/s | steward/go |"
    if has_nginx:
        head += " nginx req/s | steward/nginx |"
    split = any("postgres_cpu_us_per_req" in r for r in rows if r["route"] == route)
    head += " p50 µs s/g | p99 µs s/g | CPU µs/req s/g |"
    if split:
        head += " of it server s/g | of it PostgreSQL s/g |"
    head += " body bytes s/g |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for mode in ("keepalive", "close"):
        for conns in (1, 4, 32):
            s, g, n = (by.get((route, x, mode, conns)) for x in ("steward", "go", "nginx"))
            if not (s and g):
                continue
            line = f"| {mode} | {conns} | {s['req_per_sec']:.0f} | {g['req_per_sec']:.0f} | {s['req_per_sec'] / max(g['req_per_sec'], 1e-9):.2f}× |"
            if has_nginx and n:
                line += f" {n['req_per_sec']:.0f} | {s['req_per_sec'] / max(n['req_per_sec'], 1e-9):.2f}× |"
            line += (f" {s['p50_us']:.0f} / {g['p50_us']:.0f} | {s['p99_us']:.0f} / {g['p99_us']:.0f} |"
                     f" {s['cpu_us_per_req']} / {g['cpu_us_per_req']} |")
            if split:
                line += (f" {s['server_cpu_us_per_req']} / {g['server_cpu_us_per_req']} |"
                         f" {s['postgres_cpu_us_per_req']} / {g['postgres_cpu_us_per_req']} |")
            line += f" {s['body_bytes']} / {g['body_bytes']} |"
            print(line)
errors = sum(r["errors"] for r in rows)
print(f"\nerrors across all runs: {errors}")
idle = {}
for line in (out / f"{name}-idle.json").read_text().splitlines():
    idle.update(json.loads(line))
print(f"idle RSS: steward {idle['idle_rss_kb']['steward'] / 1024:.1f} MB, go {idle['idle_rss_kb']['go'] / 1024:.1f} MB; "
      f"steward after the runs {idle['steward_rss_after_load_kb'] / 1024:.1f} MB")
