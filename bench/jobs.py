#!/usr/bin/env python3
"""Jobs benchmark: jobs created per second through the API, time from cancel to `canceled`
(p50/p99 over 100 runs), and db_backup throughput against `sqlite3 .backup` on the same database.

    bench/jobs.py STEWARDD DATABASE OUT_DIR      (run by bench/jobs.sh)
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from unixhttp import UnixHTTP, call


def daemon(stewardd, db, run_jobs=True):
    d = tempfile.mkdtemp(prefix="steward-jb-")
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"ServiceSettings": {"Listeners": [{"Name": "steward.sock", "Path": d + "/steward.sock"}]},
                   "SqlSettings": {"DataSource": db}, "LogSettings": {"EnableJournal": False},
                   "JobSettings": {"RunJobs": run_jobs, "Directory": d + "/jobs", "BackupsToKeep": 1}}, f)
    p = subprocess.Popen([stewardd, "--data-dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(d + "/steward.sock"):
            break
        time.sleep(0.02)
    time.sleep(0.2)
    return p, d


def wait_status(conn, jid, done=("success", "warning", "error", "canceled")):
    while True:
        _, job = call(conn, "GET", f"/jobs/{jid}")
        if job["status"] in done:
            return job
        time.sleep(0.002)


def main():
    stewardd, big_db, out = sys.argv[1], sys.argv[2], sys.argv[3]
    results = {}
    work = tempfile.mkdtemp(prefix="steward-jobs-bench-")

    # 1. Creation rate (RunJobs=false: only the API and the store are measured).
    small = os.path.join(work, "small.db")
    p, d = daemon(stewardd, small, run_jobs=False)
    conn = UnixHTTP(d + "/steward.sock")
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        status, _ = call(conn, "POST", "/jobs", json.dumps({"type": "db_optimize"}))
        assert status == 201
    results["create_per_sec_1_client"] = n / (time.perf_counter() - t0)

    def worker(count):
        c = UnixHTTP(d + "/steward.sock")
        for _ in range(count):
            call(c, "POST", "/jobs", json.dumps({"type": "db_optimize"}))
    threads = [threading.Thread(target=worker, args=(500,)) for _ in range(4)]
    t0 = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    results["create_per_sec_4_clients"] = 2000 / (time.perf_counter() - t0)
    p.terminate(); p.wait()

    # 2. Cancel latency: a throttled backup of an 8 MB store, cancel, until `canceled`.
    filled = os.path.join(work, "filled.db")
    c = __import__("sqlite3").connect(filled)
    c.execute("CREATE TABLE Filler (Blob TEXT)")
    c.executemany("INSERT INTO Filler VALUES (?)", [("x" * 1000,)] * 8000)
    c.commit(); c.close()
    p, d = daemon(stewardd, filled)
    conn = UnixHTTP(d + "/steward.sock")
    latencies = []
    for _ in range(100):
        _, job = call(conn, "POST", "/jobs", json.dumps({"type": "db_backup", "data": {"step_delay_ms": "100"}}))
        wait_status(conn, job["id"], done=("in_progress",))
        time.sleep(0.05)
        t0 = time.perf_counter()
        status, _ = call(conn, "POST", f"/jobs/{job['id']}/cancel")
        final = wait_status(conn, job["id"])
        latencies.append((time.perf_counter() - t0) * 1000)
        assert final["status"] == "canceled", final
    latencies.sort()
    results["cancel_ms_p50"] = statistics.median(latencies)
    results["cancel_ms_p99"] = latencies[int(len(latencies) * 0.99) - 1]
    results["cancel_ms_max"] = latencies[-1]
    p.terminate(); p.wait()

    # 3. Backup throughput on the big database, against sqlite3 .backup (best of 3 each).
    size = os.path.getsize(big_db)
    sqlite_times = []
    for _ in range(3):
        target = os.path.join(work, "cli-backup.db")
        t0 = time.perf_counter()
        subprocess.run(["sqlite3", big_db, f".backup {target}"], check=True)
        sqlite_times.append(time.perf_counter() - t0)
        os.remove(target)
    p, d = daemon(stewardd, big_db)
    conn = UnixHTTP(d + "/steward.sock")
    steward_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        _, job = call(conn, "POST", "/jobs", json.dumps({"type": "db_backup"}))
        final = wait_status(conn, job["id"])
        steward_times.append(time.perf_counter() - t0)
        assert final["status"] == "success", final
    p.terminate(); p.wait()
    mb = size / 1e6
    results["database_mb"] = mb
    results["backup_mb_per_sec_steward"] = mb / min(steward_times)
    results["backup_mb_per_sec_sqlite3_cli"] = mb / min(sqlite_times)
    shutil.rmtree(work, ignore_errors=True)

    with open(os.path.join(out, "jobs.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("| measure | figure |\n|---|---|")
    print(f"| jobs created per second, 1 client (keep-alive) | {results['create_per_sec_1_client']:.0f} |")
    print(f"| jobs created per second, 4 clients | {results['create_per_sec_4_clients']:.0f} |")
    print(f"| cancel → canceled, running backup (100 runs) | p50 {results['cancel_ms_p50']:.1f} ms, p99 {results['cancel_ms_p99']:.1f} ms, max {results['cancel_ms_max']:.1f} ms |")
    print(f"| db_backup on a {mb:.0f} MB store (verified with quick_check) | {results['backup_mb_per_sec_steward']:.0f} MB/s |")
    print(f"| sqlite3 .backup of the same file | {results['backup_mb_per_sec_sqlite3_cli']:.0f} MB/s |")


if __name__ == "__main__":
    main()
