#!/usr/bin/env python3
"""The route benchmark's store: 1000 jobs shaped like real ones (every Steward type, finished ones
with the result data their workers write, random ids, creation times spread over 90 days, inserted
in random order), and RunJobs off in the daemon's config so they are listed, not run.

    bench/seed_jobs.py sqlite DATA_DIR        into DATA_DIR/steward.db (made by stewardd)
    bench/seed_jobs.py copy DATA_DIR          COPY text for PostgreSQL's jobs table on stdout

Either way DATA_DIR/config.json gets RunJobs false and DATA_DIR/job-id one job's id.
"""
import json
import random
import sqlite3
import sys
import time

COLUMNS = "Id, Type, Priority, CreateAt, StartAt, LastActivityAt, Status, Progress, Data"


def jobs():
    """(id, type, create_at, start_at, last_activity_at, status, progress, data) rows, shuffled."""
    alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"
    rnd = random.Random(11)
    def nid(): return "".join(rnd.choice(alphabet) for _ in range(26))
    now = int(time.time() * 1000)
    rows = []
    for i in range(1000):
        t = rnd.choice(["db_backup", "db_optimize", "integrity_check", "data_retention", "message_export"])
        created = now - rnd.randrange(90 * 86400000)
        jid = nid()
        status = rnd.choices(["success", "warning", "error", "canceled", "pending"], [80, 8, 6, 3, 3])[0]
        data = {}
        if status in ("success", "warning"):
            if t == "db_backup":
                data = {"file": f"db_backup/db_backup-{created}-{jid}.db", "is_downloadable": "true",
                        "size_bytes": str(rnd.randrange(10**8, 10**9)), "pages": str(rnd.randrange(10**5)), "quick_check": "ok"}
            elif t == "db_optimize":
                data = {"size_before_bytes": str(rnd.randrange(10**9)), "size_after_bytes": str(rnd.randrange(10**9)),
                        "wal_before_bytes": str(rnd.randrange(10**7)), "wal_after_bytes": "0", "vacuumed": "false"}
            elif t == "integrity_check":
                data = {"orphans": str(rnd.randrange(50)), "page_check": "ok", "foreign_key_violations": "0", "truncated_relations": "0",
                        "file": f"integrity_check/integrity_check-{created}-{jid}.json", "is_downloadable": "true"}
            elif t == "data_retention":
                data = {"cutoff": str(created - 90 * 86400000), "posts_deleted": str(rnd.randrange(10**5)), "reactions_deleted": str(rnd.randrange(10**4)),
                        "file_infos_deleted": str(rnd.randrange(10**3)), "threads_deleted": str(rnd.randrange(10**3))}
            else:
                data = {"start_time": str(created - 86400000), "end_time": str(created), "messages_exported": str(rnd.randrange(10**5)),
                        "file": f"message_export/message_export-{created}-{jid}.zip", "is_downloadable": "true"}
        elif status == "error":
            data = {"error": "the daemon stopped while the job was running (interrupted)"}
        start = 0 if status == "pending" else created + rnd.randrange(1000)
        rows.append((jid, t, created, start, start + rnd.randrange(600000) if start else 0, status, 0 if status == "pending" else 100,
                     json.dumps(data, separators=(",", ":"), sort_keys=True)))
    rnd.shuffle(rows)
    return rows


def copy_text(value):
    """A value in COPY's text format (no NULLs here)."""
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("sqlite", "copy"):
        sys.exit(__doc__)
    mode, d = sys.argv[1:]
    cfg = json.load(open(d + "/config.json"))
    cfg.setdefault("JobSettings", {})["RunJobs"] = False   # jobs are listed, not run
    json.dump(cfg, open(d + "/config.json", "w"), indent=4)
    rows = jobs()
    if mode == "sqlite":
        c = sqlite3.connect(d + "/steward.db")
        c.executemany(f"INSERT INTO Jobs ({COLUMNS}) VALUES (?,?,0,?,?,?,?,?,?)", rows)
        c.commit()
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        for (jid, t, created, start, last, status, progress, data) in rows:
            print("\t".join(copy_text(v) for v in (jid, t, 0, created, start, last, status, progress, data)))
    open(d + "/job-id", "w").write(rows[500][0])


if __name__ == "__main__":
    main()
