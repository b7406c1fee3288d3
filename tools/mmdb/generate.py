#!/usr/bin/env python3
"""Deterministic generator of a Mattermost-like SQLite database for the integrity checks.

    tools/mmdb/generate.py OUT.db --posts N [--seed S] [--orphans K] [--bulk-orphans M]

Builds the tables Mattermost's relational integrity checks read (Teams, Channels of every type,
Users, Posts with replies, members, reactions, files, preferences, sessions, audits, commands,
webhooks, emoji, tokens, channel member history, compliances, schemes, threads, OAuth tables) with
every reference valid, then injects orphans at known rows in every relation: K rows with a parent
id that does not exist, a row with an empty foreign key (an orphan, or not where Mattermost skips
empty keys), a NULL key, and the DM/GM cases of Teams -> Channels. The expected result of
`POST /api/v4/integrity` is written to OUT.db.expected.json (records sorted as Steward reports
them). --bulk-orphans adds M reactions to posts that do not exist (for memory measurements).
"""
import argparse
import json
import os
import random
import sqlite3
import sys

ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"

# (parent, child, fk, child id column or None, skip empty) in Mattermost's order; index 15 is the
# special Teams -> Channels check.
RELATIONS = [
    ("Channels", "CommandWebhooks", "ChannelId", "Id", False),
    ("Channels", "ChannelMemberHistory", "ChannelId", None, False),
    ("Channels", "ChannelMembers", "ChannelId", None, False),
    ("Channels", "IncomingWebhooks", "ChannelId", "Id", False),
    ("Channels", "OutgoingWebhooks", "ChannelId", "Id", False),
    ("Channels", "Posts", "ChannelId", "Id", False),
    ("Channels", "FileInfo", "ChannelId", "Id", False),
    ("Commands", "CommandWebhooks", "CommandId", "Id", False),
    ("Posts", "FileInfo", "PostId", "Id", False),
    ("Posts", "Posts", "RootId", "Id", True),
    ("Posts", "Reactions", "PostId", None, False),
    ("Teams", "Threads", "ThreadTeamId", "PostId", False),
    ("Schemes", "Channels", "SchemeId", "Id", True),
    ("Schemes", "Teams", "SchemeId", "Id", True),
    ("Sessions", "Audits", "SessionId", "Id", True),
    ("Teams", "Channels", "TeamId", "Id", None),
    ("Teams", "Commands", "TeamId", "Id", False),
    ("Teams", "IncomingWebhooks", "TeamId", "Id", False),
    ("Teams", "OutgoingWebhooks", "TeamId", "Id", False),
    ("Teams", "TeamMembers", "TeamId", None, False),
    ("Users", "Audits", "UserId", "Id", True),
    ("Users", "CommandWebhooks", "UserId", "Id", False),
    ("Users", "ChannelMemberHistory", "UserId", None, False),
    ("Users", "ChannelMembers", "UserId", None, False),
    ("Users", "Channels", "CreatorId", "Id", True),
    ("Users", "Commands", "CreatorId", "Id", False),
    ("Users", "Compliances", "UserId", "Id", False),
    ("Users", "Emoji", "CreatorId", "Id", False),
    ("Users", "FileInfo", "CreatorId", "Id", False),
    ("Users", "IncomingWebhooks", "UserId", "Id", False),
    ("Users", "OAuthAccessData", "UserId", "Token", False),
    ("Users", "OAuthApps", "CreatorId", "Id", False),
    ("Users", "OAuthAuthData", "UserId", "Code", False),
    ("Users", "OutgoingWebhooks", "CreatorId", "Id", False),
    ("Users", "Posts", "UserId", "Id", False),
    ("Users", "Preferences", "UserId", None, False),
    ("Users", "Reactions", "UserId", None, False),
    ("Users", "Sessions", "UserId", "Id", False),
    ("Users", "Status", "UserId", None, False),
    ("Users", "TeamMembers", "UserId", None, False),
    ("Users", "UserAccessTokens", "UserId", "Id", False),
]

SCHEMA = """
CREATE TABLE Teams (Id TEXT PRIMARY KEY, Name TEXT, SchemeId TEXT, DeleteAt INTEGER);
CREATE TABLE Channels (Id TEXT PRIMARY KEY, TeamId TEXT, Type TEXT, Name TEXT, CreatorId TEXT, SchemeId TEXT);
CREATE TABLE Users (Id TEXT PRIMARY KEY, Username TEXT);
CREATE TABLE Posts (Id TEXT PRIMARY KEY, CreateAt INTEGER, UserId TEXT, ChannelId TEXT, RootId TEXT, Message TEXT);
CREATE TABLE ChannelMembers (ChannelId TEXT, UserId TEXT, Roles TEXT, PRIMARY KEY (ChannelId, UserId));
CREATE TABLE TeamMembers (TeamId TEXT, UserId TEXT, Roles TEXT, PRIMARY KEY (TeamId, UserId));
CREATE TABLE Reactions (UserId TEXT, PostId TEXT, EmojiName TEXT, CreateAt INTEGER, PRIMARY KEY (PostId, UserId, EmojiName));
CREATE TABLE FileInfo (Id TEXT PRIMARY KEY, CreatorId TEXT, PostId TEXT, ChannelId TEXT, Path TEXT);
CREATE TABLE Preferences (UserId TEXT, Category TEXT, Name TEXT, Value TEXT, PRIMARY KEY (UserId, Category, Name));
CREATE TABLE Sessions (Id TEXT PRIMARY KEY, UserId TEXT, CreateAt INTEGER);
CREATE TABLE Status (UserId TEXT, Status TEXT);
CREATE TABLE Audits (Id TEXT PRIMARY KEY, UserId TEXT, SessionId TEXT, Action TEXT);
CREATE TABLE Commands (Id TEXT PRIMARY KEY, TeamId TEXT, CreatorId TEXT, Trigger TEXT);
CREATE TABLE CommandWebhooks (Id TEXT PRIMARY KEY, CommandId TEXT, UserId TEXT, ChannelId TEXT);
CREATE TABLE IncomingWebhooks (Id TEXT PRIMARY KEY, UserId TEXT, ChannelId TEXT, TeamId TEXT);
CREATE TABLE OutgoingWebhooks (Id TEXT PRIMARY KEY, CreatorId TEXT, ChannelId TEXT, TeamId TEXT);
CREATE TABLE Emoji (Id TEXT PRIMARY KEY, CreatorId TEXT, Name TEXT);
CREATE TABLE UserAccessTokens (Id TEXT PRIMARY KEY, UserId TEXT, Token TEXT);
CREATE TABLE ChannelMemberHistory (ChannelId TEXT, UserId TEXT, JoinTime INTEGER, PRIMARY KEY (ChannelId, UserId, JoinTime));
CREATE TABLE Compliances (Id TEXT PRIMARY KEY, UserId TEXT);
CREATE TABLE Schemes (Id TEXT PRIMARY KEY, Name TEXT);
CREATE TABLE Threads (PostId TEXT PRIMARY KEY, ChannelId TEXT, ThreadTeamId TEXT);
CREATE TABLE OAuthApps (Id TEXT PRIMARY KEY, CreatorId TEXT);
CREATE TABLE OAuthAccessData (Token TEXT PRIMARY KEY, UserId TEXT, ClientId TEXT);
CREATE TABLE OAuthAuthData (Code TEXT PRIMARY KEY, UserId TEXT, ClientId TEXT);
"""

# Column order of each table, for inserts.
COLUMNS = {}
for line in SCHEMA.strip().splitlines():
    name = line.split()[2]
    body = line[line.index("(") + 1 : line.rindex(")")].split(", PRIMARY KEY")[0]
    COLUMNS[name] = [c.strip().split()[0] for c in body.split(",")]


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def new_id(self):
        raw = self.rng.getrandbits(128).to_bytes(16, "big")
        bits = int.from_bytes(raw, "big") << 2  # 130 bits, the last 2 are padding
        return "".join(ALPHABET[(bits >> (5 * (25 - i))) & 31] for i in range(26))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--orphans", type=int, default=2, help="orphans with a missing parent per relation")
    ap.add_argument("--bulk-orphans", type=int, default=0, help="extra reactions to posts that do not exist")
    ap.add_argument("--no-orphans", action="store_true", help="a database with every reference valid")
    a = ap.parse_args()

    if os.path.exists(a.out):
        os.remove(a.out)
    g = Generator(a.seed)
    rng = g.rng
    db = sqlite3.connect(a.out)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)

    def insert(table, rows):
        cols = COLUMNS[table]
        db.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", rows)

    n = a.posts
    users = [g.new_id() for _ in range(max(50, n // 100))]
    teams = [g.new_id() for _ in range(max(3, n // 50_000))]
    schemes = [g.new_id() for _ in range(3)]
    channels = []  # (id, team, type)
    for i in range(max(20, n // 500)):
        kind = "OPDG"[i % 4] if i % 10 < 8 else "O"
        channels.append((g.new_id(), "" if kind in "DG" else rng.choice(teams), kind))
    sessions = [g.new_id() for _ in range(len(users) * 2)]
    commands = [g.new_id() for _ in range(len(teams) * 3)]
    pick = rng.choice

    insert("Users", [(u, f"user{i}") for i, u in enumerate(users)])
    insert("Teams", [(t, f"team{i}", pick(schemes) if i % 2 else "", 0) for i, t in enumerate(teams)])
    insert("Schemes", [(s, f"scheme{i}") for i, s in enumerate(schemes)])
    insert("Channels", [(c, t, k, f"channel{i}", pick(users) if i % 3 else "", pick(schemes) if i % 5 == 0 else "")
                        for i, (c, t, k) in enumerate(channels)])
    insert("Sessions", [(s, pick(users), i) for i, s in enumerate(sessions)])
    insert("Status", [(u, "online") for u in users])
    insert("Preferences", [(u, "display", f"p{j}", "x") for u in users for j in range(3)])
    insert("Audits", [(g.new_id(), pick(users) if i % 4 else "", pick(sessions) if i % 3 else "", "login") for i in range(len(users) * 2)])
    insert("Commands", [(c, pick(teams), pick(users), f"cmd{i}") for i, c in enumerate(commands)])
    insert("CommandWebhooks", [(g.new_id(), c, pick(users), pick(channels)[0]) for c in commands])
    insert("IncomingWebhooks", [(g.new_id(), pick(users), pick(channels)[0], pick(teams)) for _ in range(len(teams) * 2)])
    insert("OutgoingWebhooks", [(g.new_id(), pick(users), pick(channels)[0], pick(teams)) for _ in range(len(teams) * 2)])
    insert("Emoji", [(g.new_id(), pick(users), f"e{i}") for i in range(max(5, len(users) // 10))])
    insert("UserAccessTokens", [(g.new_id(), pick(users), g.new_id()) for _ in range(max(5, len(users) // 10))])
    insert("Compliances", [(g.new_id(), pick(users)) for _ in range(10)])
    apps = [g.new_id() for _ in range(5)]
    insert("OAuthApps", [(x, pick(users)) for x in apps])
    insert("OAuthAccessData", [(g.new_id(), pick(users), pick(apps)) for _ in range(10)])
    insert("OAuthAuthData", [(g.new_id(), pick(users), pick(apps)) for _ in range(10)])
    members = set()
    while len(members) < min(len(channels) * 10, len(channels) * len(users)):
        members.add((pick(channels)[0], pick(users)))
    insert("ChannelMembers", [(c, u, "channel_user") for c, u in members])
    insert("ChannelMemberHistory", [(c, u, 1000) for c, u in members])
    # Every user in one or two teams: the data grows linearly with --posts.
    insert("TeamMembers", [(t, u, "team_user") for u in users for t in set(rng.sample(teams, min(2, len(teams))))])

    # Posts in batches; a third are replies to an earlier post.
    posts = []
    batch = []
    roots = []
    for i in range(n):
        pid = g.new_id()
        root = pick(roots) if roots and i % 3 == 0 else ""
        ch = pick(channels)[0]
        batch.append((pid, 1_600_000_000_000 + i, pick(users), ch, root, f"message {i}"))
        if not root and len(roots) < 100_000:
            roots.append(pid)
        if i % 50 == 0:
            posts.append(pid)
        if len(batch) == 50_000:
            insert("Posts", batch)
            batch = []
    insert("Posts", batch)
    insert("Reactions", [(pick(users), p, f"e{i}", 0) for i, p in enumerate(posts * 5)][: max(10, n // 5)])
    insert("FileInfo", [(g.new_id(), pick(users), p, pick(channels)[0], f"/f/{i}") for i, p in enumerate(posts)])
    threads = roots[: max(5, len(roots) // 10)]
    insert("Threads", [(p, pick(channels)[0], pick(teams)) for p in threads])

    valid = {"Channels": lambda: pick(channels)[0], "Commands": lambda: pick(commands), "Posts": lambda: pick(posts),
             "Teams": lambda: pick(teams), "Schemes": lambda: pick(schemes), "Sessions": lambda: pick(sessions),
             "Users": lambda: pick(users)}

    # A valid row for each child table; `override` replaces one foreign key.
    def row(table, fk=None, value=None, child_id=None):
        refs = {}
        for (parent, child, col, _, _) in RELATIONS:
            if child == table:
                refs[col] = valid[parent]()
        if table == "Channels":
            refs["TeamId"] = pick(teams)
            refs.setdefault("SchemeId", "")
        if fk is not None:
            refs[fk] = value
        cid = child_id or g.new_id()
        values = {"Id": cid, "PostId": cid if table == "Threads" else refs.get("PostId"), "Token": cid, "Code": cid,
                  "Type": "O", "JoinTime": rng.randint(1, 1 << 40), "CreateAt": 1, "EmojiName": g.new_id()}
        values.update(refs)
        if table in ("OAuthAccessData", "OAuthAuthData"):
            values["Token" if table == "OAuthAccessData" else "Code"] = cid
        return tuple(values.get(c, "x") for c in COLUMNS[table]), cid

    expected = [[] for _ in RELATIONS]
    special_a, special_b = [], []

    def inject(i, value, reported=True, table_row=None):
        parent, child, col, idcol, skip = RELATIONS[i]
        values, cid = table_row or row(child, col, value)
        insert(child, [values])
        if reported:
            expected[i].append({"parent_id": value, "child_id": cid if idcol else None})

    if not a.no_orphans:
        for i, (parent, child, col, idcol, skip) in enumerate(RELATIONS):
            if i == 15:
                continue
            for _ in range(a.orphans):
                inject(i, g.new_id())
            inject(i, "", reported=not skip)
        # A NULL key: reported (parent_id null) where empty keys are not skipped.
        inject(27, None)
        # Teams -> Channels: an open channel with no team is an orphan; DMs/GMs without a team are not;
        # a DM with a team that does not exist is.
        for kind, team, bucket in [("O", g.new_id(), special_a), ("P", "", special_a), ("D", "", None), ("G", "", None),
                                   ("D", g.new_id(), special_b), ("G", g.new_id(), special_b)]:
            cid = g.new_id()
            insert("Channels", [(cid, team, kind, "special", pick(users), "")])
            if bucket is not None:
                bucket.append({"parent_id": team, "child_id": cid})
    if a.bulk_orphans:
        # Reactions on posts that do not exist: Reactions is no parent, so only the orphan count grows.
        batch = []
        for i in range(a.bulk_orphans):
            batch.append((pick(users), g.new_id(), "bulk", 0))
            expected[10].append(None)  # counted, not listed
            if len(batch) == 50_000:
                insert("Reactions", batch)
                batch = []
        insert("Reactions", batch)

    db.commit()
    db.close()

    def key(r):
        p = r["parent_id"]
        return (p is not None, (p or "").encode(), (r["child_id"] or "").encode())

    results = []
    counts = []
    for i, (parent, child, col, idcol, skip) in enumerate(RELATIONS):
        if i == 15:
            recs = sorted(special_a, key=key) + sorted(special_b, key=key)
        else:
            recs = [r for r in expected[i] if r is not None]
            recs.sort(key=key)
        counts.append(len(expected[i]) if i != 15 else len(recs))
        listed = recs if len(recs) <= 100_000 else None
        results.append({"data": {"parent_name": parent, "child_name": child, "parent_id_attr": col,
                                 "child_id_attr": idcol or "", "records": listed}, "err": None})
    with open(a.out + ".expected.json", "w") as f:
        json.dump({"results": results, "counts": counts, "posts": n}, f)
    print(f"{a.out}: {n} posts, {sum(counts)} orphans expected", file=sys.stderr)


if __name__ == "__main__":
    main()
