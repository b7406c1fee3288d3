#!/usr/bin/env python3
"""Cluster benchmark (run by bench/cluster.sh, in a private PostgreSQL cluster it started).

1. Jobs per second: JOBS `integrity_check` jobs (the store's own database: the job machinery —
   claim, worker, progress, log lines, end — more than the check) created through the API on
   random nodes by 4 clients, timed from the first creation to the last job ended, with one node
   running jobs and with three; each node MaxConcurrentJobs 2. CPU of the nodes and the cluster.
2. Busy propagation: ROUNDS times, busy set (or cleared) on node A through the API, then B and C
   polled on keep-alive connections until their GET /server_busy says so; the delay from the
   answer on A to each node's first matching answer, p50/p99/max.

    bench/cluster.py STEWARDD WORK DSN_PREFIX HOST_QUERY JOBS ROUNDS OUT_DIR
"""
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time

from unixhttp import UnixHTTP, call


def psql(db, sql):
    return subprocess.run(["psql", "-d", db, "-Atqc", sql], check=True, capture_output=True, text=True).stdout.strip()


def ticks(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def cluster_pids():
    out = subprocess.run(["pgrep", "-f", "postgres"], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


class Node:
    def __init__(self, stewardd, work, name, dsn, run_jobs):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.socket = self.dir + "/steward.sock"
        with open(self.dir + "/config.json", "w") as f:
            json.dump({"ServiceSettings": {"Listeners": [{"Name": "steward.sock", "Path": self.socket}]},
                       "SqlSettings": {"DriverName": "postgres", "DataSource": dsn},
                       "ClusterSettings": {"NodeName": name}, "LogSettings": {"EnableJournal": False, "Level": "warning"},
                       "JobSettings": {"RunJobs": run_jobs, "MaxConcurrentJobs": 2, "Directory": self.dir + "/jobs"}}, f)
        self.log = open(self.dir + "/stewardd.log", "w")
        self.process = subprocess.Popen([stewardd, "--config", self.dir + "/config.json"], stdout=self.log, stderr=self.log)
        for _ in range(400):
            try:
                if call(UnixHTTP(self.socket), "GET", "/system/ping")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.log.flush()
        raise SystemExit(f"{name} did not answer:\n" + open(self.dir + "/stewardd.log").read()[-2000:])

    def stop(self):
        self.process.terminate()
        self.process.wait()


def jobs_per_second(stewardd, work, dsn_prefix, query, nodes_running, count):
    db = f"jobs{nodes_running}"
    psql("postgres", f"CREATE DATABASE {db}")
    dsn = f"{dsn_prefix}{db}?{query}"
    nodes = [Node(stewardd, work, f"{db}-node-{c}", dsn, i < nodes_running) for i, c in enumerate("abc")]
    time.sleep(1)
    pids = [n.process.pid for n in nodes] + cluster_pids()
    t0, c0 = time.perf_counter(), ticks(pids)

    def client(k):
        conns = [UnixHTTP(n.socket) for n in nodes]
        rng = random.Random(k)
        for _ in range(count // 4):
            status, _ = call(rng.choice(conns), "POST", "/jobs", json.dumps({"type": "integrity_check"}))
            assert status == 201, status
    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    total = (count // 4) * 4
    while psql(db, "SELECT count(*) FROM Jobs WHERE Status IN ('pending', 'in_progress')") != "0":
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    cpu = (ticks(pids) - c0) / os.sysconf("SC_CLK_TCK")
    ok = psql(db, "SELECT count(*) FROM Jobs WHERE Status = 'success'")
    claims = psql(db, "SELECT count(*) || ' ' || sum(Claims) FROM StewardJobClaims")
    per_node = psql(db, "SELECT string_agg(NodeName || '=' || n, ' ' ORDER BY NodeName) FROM (SELECT NodeName, count(*) n FROM StewardJobClaims GROUP BY NodeName) c")
    for n in nodes: n.stop()
    assert ok == str(total) and claims == f"{total} {total}", (ok, claims)
    return {"nodes_running_jobs": nodes_running, "jobs": total, "seconds": elapsed, "jobs_per_sec": total / elapsed,
            "cpu_seconds": cpu, "per_node": per_node}


def busy_propagation(stewardd, work, dsn_prefix, query, rounds):
    psql("postgres", "CREATE DATABASE busy")
    dsn = f"{dsn_prefix}busy?{query}"
    nodes = [Node(stewardd, work, f"busy-node-{c}", dsn, False) for c in "abc"]
    time.sleep(1)
    a = UnixHTTP(nodes[0].socket)
    delays = {"b": [], "c": []}

    def watch(name, sock, want, t0, out):
        conn = UnixHTTP(sock)
        while True:
            _, body = call(conn, "GET", "/server_busy")
            if body["busy"] == want:
                out[name] = (time.perf_counter() - t0) * 1000
                return

    for i in range(rounds):
        want = i % 2 == 0
        out = {}
        if want:
            call(a, "POST", "/server_busy?seconds=600")
        else:
            call(a, "DELETE", "/server_busy")
        t0 = time.perf_counter()
        ws = [threading.Thread(target=watch, args=(k, n.socket, want, t0, out)) for k, n in zip("bc", nodes[1:])]
        for w in ws: w.start()
        for w in ws: w.join()
        for k in "bc": delays[k].append(out[k])
        time.sleep(0.02)
    for n in nodes: n.stop()
    both = sorted(delays["b"] + delays["c"])
    return {"rounds": rounds, "p50_ms": statistics.median(both), "p99_ms": both[max(0, int(len(both) * 0.99) - 1)], "max_ms": both[-1]}


def main():
    stewardd, work, dsn_prefix, query, count, rounds, out = sys.argv[1:8]
    count, rounds = int(count), int(rounds)
    results = {"one_node": jobs_per_second(stewardd, work, dsn_prefix, query, 1, count),
               "three_nodes": jobs_per_second(stewardd, work, dsn_prefix, query, 3, count),
               "busy": busy_propagation(stewardd, work, dsn_prefix, query, rounds)}
    with open(os.path.join(out, "cluster.json"), "w") as f:
        json.dump(results, f, indent=2)
    one, three, busy = results["one_node"], results["three_nodes"], results["busy"]
    print(f"machine: {os.cpu_count()} CPUs; every job ran exactly once (one claim each)\n")
    print("| nodes running jobs | jobs | wall s | jobs/s | CPU s (nodes + PostgreSQL) | claims per node |\n|---|---|---|---|---|---|")
    for r in (one, three):
        print(f"| {r['nodes_running_jobs']} | {r['jobs']} | {r['seconds']:.2f} | {r['jobs_per_sec']:.0f} | {r['cpu_seconds']:.1f} | {r['per_node']} |")
    print(f"\nthree nodes / one: {three['jobs_per_sec'] / one['jobs_per_sec']:.2f}×\n")
    print(f"| busy set/clear on node A seen on B and C ({busy['rounds']} rounds) | p50 {busy['p50_ms']:.2f} ms | p99 {busy['p99_ms']:.2f} ms | max {busy['max_ms']:.2f} ms |")
    print("|---|---|---|---|")


if __name__ == "__main__":
    main()
