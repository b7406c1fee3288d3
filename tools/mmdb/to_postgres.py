#!/usr/bin/env python3
"""Loads a database made by realistic.py into PostgreSQL, shaped like a Mattermost PostgreSQL database.

    tools/mmdb/to_postgres.py IN.db [--dbname CONNINFO] [--no-fk-indexes] [--replace]

CONNINFO is anything `psql -d` takes (a libpq connection string or URI); without it psql's
environment (PGHOST, PGDATABASE, ...) decides. Needs the psql CLI, nothing else.

Shape: realistic.py's SCHEMA (Mattermost's own PostgreSQL columns, order and types) with lowercase
table and column names, as Mattermost's migrations create them (posts.channelid); Channels.Type and
Teams.Type as Mattermost's enums channel_type ('P', 'G', 'O', 'D') and team_type ('I', 'O'); booleans
(0/1 in SQLite), jsonb, bytea (FileInfo.MiniPreview, sent as hex); the primary keys and unique
constraints under PostgreSQL's default names (posts_pkey, teams_name_key, as Mattermost's are), and
Mattermost's foreign-key indexes (realistic.FK_INDEXES) unless --no-fk-indexes. Rows keep the
SQLite file's order (rowid), so the heap is in the order the generator wrote it.

Speed: one psql session reads one stream: the DDL, then per table `COPY ... FROM STDIN (FREEZE)`
with rows that SQLite itself formats in COPY's text format (escaping in C, one string per row; the
Python loop only moves bytes), then the constraints and indexes (built once, after the data), all in
one transaction, then VACUUM ANALYZE. FREEZE (the tables are created in the same transaction) writes
the rows frozen and all-visible, so the first reads don't rewrite every page to set hint bits and
index-only scans work at once, as on a settled server. The database should be created with
LC_COLLATE 'C' for bytewise ORDER BY (bench/integrity_pg.sh does).

Values PostgreSQL would change: realistic.py's near misses include a real id plus a trailing space,
27 characters in a varchar(26) column. SQLite stores it; PostgreSQL silently cuts the trailing
space off (its rule for over-long values that end in spaces), turning the orphan into a valid
reference (and possibly a duplicate key). Such a value is loaded as fit() makes it: the last
character replaced by the space, still a near miss of the same id, still 26 characters. Any other
over-long value is left as is, and PostgreSQL refuses it. Checks comparing an answer on the loaded
database with IN.db.expected.json apply fit() to the expected ids (column_limits() gives n).
"""
import argparse
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from realistic import FK_INDEXES, SCHEMA  # noqa: E402

ENUMS = {"channel_type": ("P", "G", "O", "D"), "team_type": ("I", "O")}  # Mattermost's, in its order


def tables():
    """[(Table, [(Column, pg type, NOT NULL)], [(constraint kind, [Column])])] from realistic.SCHEMA."""
    out = []
    for table, spec in SCHEMA.items():
        cols, constraints = spec.split("|")
        defs = [" ".join(c.split()).split(" ", 1) for c in cols.split(",")]
        columns = [(name, rest.removesuffix(" NOT NULL"), rest.endswith(" NOT NULL")) for name, rest in defs]
        cons = []
        for c in constraints.split(";"):
            kind, names = c.strip().split("(")
            cons.append((kind.strip(), [n.strip() for n in names.rstrip(") ").split(",")]))
        out.append((table, columns, cons))
    return out


def column_limits():
    """{(table, column) lowercased: n} for every varchar(n) column."""
    return {(t.lower(), c.lower()): int(m.group(1)) for t, cols, _ in tables()
            for c, typ, _ in cols if (m := re.fullmatch(r"varchar\((\d+)\)", typ))}


def fit(value, n):
    """The value loaded for `value` in a varchar(n) column (see the module's doc)."""
    if value is not None and len(value) > n and value.endswith(" "):
        return value.rstrip(" ")[:n - 1] + " "
    return value


def q(name):
    return '"' + name.lower() + '"'


def copy_sql(table, columns):
    """A SELECT giving, per row, the row in COPY's text format and the number of values fit() changed.

    Text: backslash, newline, carriage return and tab escaped, NULL as \\N; integers and booleans
    (0/1, which PostgreSQL's boolean reads) as SQLite prints them; bytea as \\x and hex."""
    fields, fitted = [], []
    for name, typ, _ in columns:
        c = f'"{name}"'
        if typ == "bytea":
            v = rf"CASE WHEN {c} IS NOT NULL THEN '\\x' || hex({c}) END"  # hex(NULL) is '', not NULL
        elif typ in ("bigint", "integer", "boolean"):
            v = c
        else:
            m = re.fullmatch(r"varchar\((\d+)\)", typ)
            if m:
                n = int(m.group(1))
                over = f"(length({c}) > {n} AND substr({c}, -1) = ' ')"
                fitted.append(f"ifnull({over}, 0)")  # NULL: not over
                c = f"CASE WHEN {over} THEN substr(rtrim({c}, ' '), 1, {n - 1}) || ' ' ELSE {c} END"
            v = rf"replace(replace(replace(replace({c}, '\', '\\'), char(10), '\n'), char(13), '\r'), char(9), '\t')"
        fields.append(rf"coalesce({v}, '\N')")
    row = " || char(9) || ".join(fields)
    return f'SELECT {row}, {" + ".join(fitted) or "0"} FROM "{table}" ORDER BY rowid'


def script_head(replace, present):
    lines = ["SET client_encoding = 'UTF8';", "SET client_min_messages = warning;",
             "SET maintenance_work_mem = '512MB';", "BEGIN;"]
    if replace:
        lines += [f"DROP TABLE IF EXISTS {q(t)} CASCADE;" for t, _, _ in present]
        lines += [f"DROP TYPE IF EXISTS {t};" for t in ENUMS]
    lines += [f"CREATE TYPE {t} AS ENUM ({', '.join(repr(v) for v in vals)});" for t, vals in ENUMS.items()]
    for t, cols, _ in present:
        defs = ", ".join(f"{q(c)} {typ}{' NOT NULL' if nn else ''}" for c, typ, nn in cols)
        lines.append(f"CREATE TABLE {q(t)} ({defs});")
    return "\n".join(lines) + "\n"


def script_tail(present, fk_indexes):
    lines = []
    for t, _, cons in present:
        adds = ", ".join(f"ADD {kind} ({', '.join(q(c) for c in names)})" for kind, names in cons)
        lines.append(f"ALTER TABLE {q(t)} {adds};")
    names = {t for t, _, _ in present}
    if fk_indexes:
        for name, table, cols in FK_INDEXES:
            if table in names:
                lines.append(f"CREATE INDEX {name} ON {q(table)} ({', '.join(q(c.strip()) for c in cols.split(','))});")
    lines += ["COMMIT;", "VACUUM ANALYZE;"]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", help="a SQLite database made by realistic.py")
    ap.add_argument("--dbname", "-d", help="psql -d: a connection string or URI (default: psql's environment)")
    ap.add_argument("--no-fk-indexes", action="store_true", help="leave out Mattermost's foreign-key indexes")
    ap.add_argument("--replace", action="store_true", help="drop the tables and enum types first if they exist")
    a = ap.parse_args()

    src = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    src.text_factory = bytes  # rows go to psql as the UTF-8 SQLite holds, never decoded
    have = {r[0].decode().lower() for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    present = [t for t in tables() if t[0].lower() in have]  # realistic.py --omit-tables drops some

    psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"] + (["-d", a.dbname] if a.dbname else [])
    proc = subprocess.Popen(psql, stdin=subprocess.PIPE)
    started = time.monotonic()
    rows, fitted, loaded = 0, 0, 0.0
    try:
        out = proc.stdin
        out.write(script_head(a.replace, present).encode())
        for t, cols, _ in present:
            out.write(f"COPY {q(t)} ({', '.join(q(c) for c, _, _ in cols)}) FROM STDIN (FREEZE);\n".encode())
            cur = src.execute(copy_sql(t, cols))
            while batch := cur.fetchmany(5000):
                out.write(b"\n".join(r[0] for r in batch) + b"\n")
                fitted += sum(r[1] for r in batch)
                rows += len(batch)
            out.write(b"\\.\n")
        loaded = time.monotonic() - started
        out.write(script_tail(present, not a.no_fk_indexes).encode())
        out.close()
    except BrokenPipeError:
        pass  # psql stopped on an error, which it has printed
    except BaseException:
        proc.kill()  # never let psql read the end of a cut stream (nothing is committed either way)
        raise
    if proc.wait() != 0:
        sys.exit(f"{a.db}: psql failed (exit status {proc.returncode})")
    print(f"{a.db}: {rows} rows in {len(present)} tables loaded in {loaded:.0f} s, constraints, indexes and "
          f"VACUUM ANALYZE {time.monotonic() - started - loaded:.0f} s; {fitted} over-long values fitted to their "
          f"varchar(n)", file=sys.stderr)


if __name__ == "__main__":
    main()
