"""The integrity benchmarks' reports and answer check.

    integrity_report.py sqlite OUT            OUT/integrity.jsonl (bench/integrity.sh) as a table
    integrity_report.py pg OUT                OUT/integrity-pg.jsonl (bench/integrity_pg.sh) as a table
    integrity_report.py compare ANSWER EXPECTED [--pg]
        Steward's answer (POST /api/v4/integrity) against the generator's expected file (Mattermost's
        SQL on the SQLite file), relation by relation: the record sets, then their order. --pg: the
        answer is from the database tools/mmdb/to_postgres.py loaded, so the expected ids get its
        fit(). Prints one JSON object: answer_is_mattermosts (every relation's records equal as
        sets), same_order (and key_order: the same but for NULL keys last and ties), per differing
        relation the counts and the first records only one side has, and per relation in another
        order how (order_notes).
"""
import json
import sys
from collections import Counter
from pathlib import Path


def table(head, rows):
    """A markdown table."""
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def sqlite_report(out):
    rows = {r["db"]: r for r in jsonl(Path(out) / "integrity.jsonl")}
    labels = {"r1": "realistic, 1M posts", "r5": "realistic, 5M posts", "r1-noidx": "realistic, 1M posts, no FK indexes",
              "r1-orphans": "realistic, 1M posts + 1M orphans", "m1": "narrow (generate.py), 1M posts"}
    body = []
    for name, label in labels.items():
        if name not in rows:
            continue
        r = rows[name]
        body.append([label, f"{r['bytes'] / 1e6:.0f} MB", str(r["orphans"]), f"{r['steward_s']:.2f} s", f"{r['sql_s']:.2f} s",
                     f"{r['scan_s']:.2f} s", f"{r['sql_s'] / r['steward_s']:.1f}×", f"{r['steward_s'] / r['scan_s']:.1f}×",
                     f"{r['steward_peak_rss_kb'] / 1024:.0f} MB", "yes" if r["answer_is_mattermosts"] else "NO"])
    print(table(["database", "file", "orphans", "Steward", "Mattermost's SQL (sqlite3 CLI)", "scan floor", "SQL / Steward",
                 "Steward / floor", "Steward peak RSS", "answer = Mattermost's"], body))

    def ratio(a, b, key):
        return rows[a][key] / rows[b][key]
    print()
    if "r1" in rows and "r5" in rows:
        print(f"growth from 1M to 5M posts: Steward {ratio('r5', 'r1', 'steward_s'):.1f}×, "
              f"SQL {ratio('r5', 'r1', 'sql_s'):.1f}×, floor {ratio('r5', 'r1', 'scan_s'):.1f}×")
    if "r1" in rows and "r1-noidx" in rows:
        print(f"without the foreign-key indexes (1M), as a share of the time with them: "
              f"Steward {ratio('r1-noidx', 'r1', 'steward_s'):.2f}×, SQL {ratio('r1-noidx', 'r1', 'sql_s'):.2f}×, "
              f"floor {ratio('r1-noidx', 'r1', 'scan_s'):.2f}×")
    if "r1" in rows and "r1-orphans" in rows:
        print(f"peak RSS with 1M more orphans vs without: {rows['r1-orphans']['steward_peak_rss_kb'] / 1024:.0f} MB vs "
              f"{rows['r1']['steward_peak_rss_kb'] / 1024:.0f} MB")
    if "r1" in rows and "m1" in rows:
        print(f"realistic vs narrow tables (1M posts): Steward {ratio('r1', 'm1', 'steward_s'):.1f}×, "
              f"SQL {ratio('r1', 'm1', 'sql_s'):.1f}×, floor {ratio('r1', 'm1', 'scan_s'):.1f}×")


def order_label(d):
    """The answer's order against the expected file's, in a word or three (the notes say more)."""
    if d["same_order"]:
        return "same"
    if not d["key_order"]:
        return "differs"
    return "bytewise, NULLs last" if any(k.startswith("nulls") for k in d["order_notes"].values()) else "bytewise, ties differ"


def pg_report(out):
    """integrity-pg.jsonl: per database a "database" line (sizes, RSS, the answer check) and per
    round and side ("steward", "psql") a timing line; the table shows the best of the rounds."""
    lines = jsonl(Path(out) / "integrity-pg.jsonl")
    body, notes = [], []
    for d in (l for l in lines if l.get("kind") == "database"):
        runs = [l for l in lines if l.get("kind") == "run" and l["db"] == d["db"]]
        best = {side: {k: min(r[k] for r in runs if r["side"] == side) for k in ("wall_s", "client_cpu_s", "pg_cpu_s")}
                for side in ("steward", "psql")}
        s, p = best["steward"], best["psql"]
        body.append([f"realistic, {d['posts']:,} posts{'' if d['fk_indexes'] else ', no FK indexes'}",
                     f"{d['pg_bytes'] / 1e6:.0f} MB", f"{d['rows']:,}", f"{d['orphans']:,}",
                     f"{s['wall_s']:.2f} s", f"{p['wall_s']:.2f} s", f"{p['wall_s'] / s['wall_s']:.2f}×",
                     f"{s['client_cpu_s']:.2f} s / {p['client_cpu_s']:.2f} s", f"{s['pg_cpu_s']:.2f} s / {p['pg_cpu_s']:.2f} s",
                     f"{d['steward_peak_rss_kb'] / 1024:.0f} MB", "yes" if d["answer_is_mattermosts"] else "NO",
                     order_label(d)])
        notes.append(f"{d['db']}: {len(runs) // 2} rounds, best of each; loaded in {d['load_s']:.0f} s "
                     f"by tools/mmdb/to_postgres.py ({d['fitted']} near-miss ids one character past their varchar(26) "
                     f"loaded as its fit() makes them); "
                     f"PostgreSQL {d['server_version']}, collation {d['collation']}")
        if d["differing"]:
            notes.append(f"{d['db']}: relations whose records differ: " + "; ".join(
                f"{x['relation']}: error {json.dumps(x['error'])}" if "error" in x else
                f"{x['relation']}: Steward {x['answer_count']}, expected {x['expected_count']}, first only in Steward "
                f"{x['only_in_answer'][:1]}, first only expected {x['only_in_expected'][:1]}" for x in d["differing"]))
        if d["order_notes"]:
            kinds = {"nulls last": "NULL keys last (PostgreSQL's ORDER BY, so Mattermost's own answer on PostgreSQL too)",
                     "nulls last, ties": "NULL keys last and records with the same key in another order",
                     "ties": "records with the same key in another order", "keys": "keys in another order"}
            by = {}
            for rel, kind in d["order_notes"].items():
                by.setdefault(kind, []).append(rel.split(" ")[0])
            notes.append(f"{d['db']}: order against the expected file's (NULL keys first, then bytewise, ties by child "
                         f"id): the same in {41 - len(d['order_notes'])} relations; " + "; ".join(
                             f"{kinds[k]} in {len(v)}: {', '.join(v)}" for k, v in by.items()))
    print(table(["database", "PostgreSQL size", "rows", "orphans", "Steward", "Mattermost's SQL (psql)", "SQL / Steward",
                 "CPU, stewardd / psql", "PostgreSQL CPU, Steward's / psql's", "Steward peak RSS", "answer = Mattermost's",
                 "order"], body))
    print()
    print("\n\n".join(notes))


def compare(answer, expected, pg):
    """See the module's doc; `answer` and `expected` are the parsed files."""
    limits, fit = {}, None
    if pg:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools" / "mmdb"))
        from to_postgres import column_limits, fit
        limits = column_limits()
    differing, order_notes = [], {}
    results = expected["results"]
    for i, want in enumerate(results):
        w = want["data"]
        name = f"{w['child_name']}.{w['parent_id_attr']} -> {w['parent_name']}"
        pn, cn = (w["child_name"].lower(), w["parent_id_attr"].lower()), (w["child_name"].lower(), w["child_id_attr"].lower())

        def fitted(rec):
            p, c = rec["parent_id"], rec["child_id"]
            return (fit(p, limits[pn]) if pn in limits else p, fit(c, limits[cn]) if cn in limits else c)
        exp = [fitted(r) for r in w["records"]]
        a = answer[i] if i < len(answer) else {"err": "no such check in the answer"}
        if a.get("err"):
            differing.append({"relation": name, "error": a["err"]})
            continue
        got = [(r["parent_id"], r["child_id"]) for r in a["data"]["records"]]
        if Counter(got) != Counter(exp):
            only_a, only_e = Counter(got) - Counter(exp), Counter(exp) - Counter(got)
            differing.append({"relation": name, "answer_count": len(got), "expected_count": len(exp),
                              "only_in_answer": [list(x) for x in list(only_a.elements())[:3]],
                              "only_in_expected": [list(x) for x in list(only_e.elements())[:3]]})
        elif got != exp:
            keys, want_keys = [p for p, _ in got], [p for p, _ in exp]
            nulls_first = sorted(got, key=lambda r: r[0] is not None)  # stable: PostgreSQL sorts NULL last
            if keys == want_keys:
                order_notes[name] = "ties"
            elif [p for p, _ in nulls_first] == want_keys:
                order_notes[name] = "nulls last" if nulls_first == exp else "nulls last, ties"
            else:
                order_notes[name] = "keys"
    return {"answer_is_mattermosts": not differing, "same_order": not differing and not order_notes,
            "key_order": not differing and "keys" not in order_notes.values(),
            "differing": differing, "order_notes": order_notes}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sqlite":
        sqlite_report(args[0])
    elif cmd == "pg":
        pg_report(args[0])
    elif cmd == "compare":
        print(json.dumps(compare(json.load(open(args[0])), json.load(open(args[1])), "--pg" in args[2:])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
