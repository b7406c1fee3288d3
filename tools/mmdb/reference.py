#!/usr/bin/env python3
"""Mattermost's relational integrity SQL, for checking Steward's answers and for the benchmark.

    tools/mmdb/reference.py DB            the IntegrityCheckResult array Mattermost's queries give
                                          (JSON; ties ordered by child id, as Steward orders them)
    tools/mmdb/reference.py --sql         the 41 checks as plain SQL, one query per relation, as
                                          Mattermost runs them (for the sqlite3 CLI)
    tools/mmdb/reference.py --scan-sql    the floor: one plain scan of every foreign-key column
"""
import json
import sqlite3
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from generate import RELATIONS  # noqa: E402


def queries(order_by_child=False):
    """(check index, sql) pairs; the Teams -> Channels check has two."""
    out = []
    for i, (parent, child, fk, idcol, skip) in enumerate(RELATIONS):
        cols = f"CT.{fk} AS ParentId" + (f", CT.{idcol} AS ChildId" if idcol else "")
        order = f"CT.{fk}" + (f", CT.{idcol}" if order_by_child and idcol else "")
        base = f"SELECT {cols} FROM {child} AS CT WHERE NOT EXISTS (SELECT TRUE FROM {parent} AS PT WHERE PT.Id = CT.{fk})"
        if i == 15:
            out.append((i, f"{base} AND CT.Type NOT IN ('D', 'G') ORDER BY {order}"))
            out.append((i, f"{base} AND CT.{fk} <> '' AND CT.Type IN ('D', 'G') ORDER BY {order}"))
        else:
            out.append((i, f"{base}{f' AND CT.{fk} <> {chr(39)}{chr(39)}' if skip else ''} ORDER BY {order}"))
    return out


def scan_sql():
    by_child = {}
    for (_, child, fk, _, _) in RELATIONS:
        by_child.setdefault(child, []).append(fk)
    return [f"SELECT {', '.join(f'count({c})' for c in dict.fromkeys(cols))} FROM {child}" for child, cols in by_child.items()]


def main():
    if sys.argv[1:] == ["--sql"]:
        print(";\n".join(sql for _, sql in queries()) + ";")
        return
    if sys.argv[1:] == ["--scan-sql"]:
        print(";\n".join(scan_sql()) + ";")
        return
    db = sqlite3.connect(sys.argv[1])
    tables = {r[0].lower() for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    results = {}
    for i, sql in queries(order_by_child=True):
        parent, child, fk, idcol, _ = RELATIONS[i]
        if parent.lower() not in tables or child.lower() not in tables:
            continue
        rows = db.execute(sql).fetchall()
        recs = results.setdefault(i, {"data": {"parent_name": parent, "child_name": child, "parent_id_attr": fk,
                                              "child_id_attr": idcol or "", "records": []}, "err": None})
        recs["data"]["records"] += [{"parent_id": r[0], "child_id": r[1] if idcol else None} for r in rows]
    json.dump([results[i] for i in sorted(results)], sys.stdout)


if __name__ == "__main__":
    main()
