#!/usr/bin/env python3
"""Mattermost's relational integrity SQL, for checking Steward's answers and for the benchmark.

    tools/mmdb/reference.py DB            the IntegrityCheckResult array Mattermost's queries give
                                          (JSON; ties ordered by child id, as Steward orders them)
    tools/mmdb/reference.py --sql         the 41 checks as plain SQL, one query per relation, as
                                          Mattermost runs them (for the sqlite3 CLI)
    tools/mmdb/reference.py --scan-sql    the floor: one plain pass per table over the columns
                                          Steward reads, nothing else

Works on the databases of both generators (generate.py's narrow tables and realistic.py's
Mattermost-shaped ones): the checks name only tables and columns both have.

The answer always has all 41 results in Mattermost's order. A check whose parent or child table is
absent answers {"data": {...its names..., "records": []}, "err": null}, as if nothing were orphaned.
Records are ordered by foreign key (NULL first, then bytewise), then by child id; the Teams ->
Channels check lists its non-DM/GM part before its DM/GM part, as Mattermost appends them.

The scan floor reads what Steward's check reads, one pass per table: each parent table's key column
(`SELECT count(Id) FROM Users`), then each child table's foreign keys, child id column and Type where
a check filters on it (`SELECT count(ChannelId), count(Id), ... FROM Posts`). count() makes SQLite
read every value without returning rows; it picks the same covering index a plain SELECT would.
"""
import json
import sqlite3
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from generate import RELATIONS  # noqa: E402

TEAMS_CHANNELS = 15  # the check in two parts: non-DM/GM channels, then DM/GM channels with a team id


def queries(order_by_child=False):
    """(check index, sql) pairs; the Teams -> Channels check has two."""
    out = []
    for i, (parent, child, fk, idcol, skip) in enumerate(RELATIONS):
        cols = f"CT.{fk} AS ParentId" + (f", CT.{idcol} AS ChildId" if idcol else "")
        order = f"CT.{fk}" + (f", CT.{idcol}" if order_by_child and idcol else "")
        base = f"SELECT {cols} FROM {child} AS CT WHERE NOT EXISTS (SELECT TRUE FROM {parent} AS PT WHERE PT.Id = CT.{fk})"
        if i == TEAMS_CHANNELS:
            out.append((i, f"{base} AND CT.Type NOT IN ('D', 'G') ORDER BY {order}"))
            out.append((i, f"{base} AND CT.{fk} <> '' AND CT.Type IN ('D', 'G') ORDER BY {order}"))
        else:
            out.append((i, f"{base}{f' AND CT.{fk} <> {chr(39)}{chr(39)}' if skip else ''} ORDER BY {order}"))
    return out


def scan_columns():
    """[(table, [columns])]: the parent key passes, then one pass per child table, in Steward's order."""
    parents = {}
    children = {}
    for i, (parent, child, fk, idcol, _) in enumerate(RELATIONS):
        parents.setdefault(parent, ["Id"])
        cols = children.setdefault(child, [])
        for c in [fk, idcol, "Type" if i == TEAMS_CHANNELS else None]:
            if c and c not in cols:
                cols.append(c)
    return list(parents.items()) + list(children.items())


def scan_sql():
    return [f"SELECT {', '.join(f'count({c})' for c in cols)} FROM {table}" for table, cols in scan_columns()]


def results(db):
    """The 41 IntegrityCheckResults Mattermost's queries give on an open sqlite3 connection."""
    tables = {r[0].lower() for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    out = [{"data": {"parent_name": parent, "child_name": child, "parent_id_attr": fk, "child_id_attr": idcol or "",
                     "records": []}, "err": None} for (parent, child, fk, idcol, _) in RELATIONS]
    for i, sql in queries(order_by_child=True):
        parent, child, _, idcol, _ = RELATIONS[i]
        if parent.lower() not in tables or child.lower() not in tables:
            continue
        out[i]["data"]["records"] += [{"parent_id": r[0], "child_id": r[1] if idcol else None} for r in db.execute(sql)]
    return out


def main():
    if sys.argv[1:] == ["--sql"]:
        print(";\n".join(sql for _, sql in queries()) + ";")
        return
    if sys.argv[1:] == ["--scan-sql"]:
        print(";\n".join(scan_sql()) + ";")
        return
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    json.dump(results(db), sys.stdout)


if __name__ == "__main__":
    main()
