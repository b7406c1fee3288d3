#!/usr/bin/env python3
"""Deterministic generator of a Mattermost-shaped SQLite database for the integrity checks.

    tools/mmdb/realistic.py OUT.db [--posts N] [--seed S] [--no-fk-indexes] [--orphans K]
                            [--many-orphans M] [--bulk-orphans M [--bulk-relation Child.Column]]
                            [--no-orphans] [--omit-tables T,...]

Where generate.py builds each table with the few narrow columns the checks read, this builds the
25 tables Mattermost's 41 relational integrity checks read (RELATIONS in generate.py) with every
column Mattermost's schema has, in its order, with its types and with realistic values, so a pass
over a table costs what it costs on a real server: rows hundreds of bytes wide, message text, JSON
props, file id lists, extracted file content and image previews, some rows overflowing their page.

Schema. Column sets, column order, declared types, NOT NULL, primary keys and unique constraints
are Mattermost server's PostgreSQL schema as its migrations build it
(github.com/mattermost/mattermost, server/channels/db/migrations/postgres/*.up.sql: each CREATE
TABLE's columns, then every later ADD COLUMN in migration order, e.g. 000020_create_posts,
000049_create_channels, 000089_add-channelid-to-reaction, 000096_threads_threadteamid,
000106_fileinfo_channelid, 000147_create_autotranslation_tables), checked against a pg_dump of a
current Mattermost database (the same order; Channels.Discoverable and IncomingWebhooks.LastUsed
are the newest columns there). Names are Mattermost's CamelCase (its Go and MySQL spelling; SQLite
compares names without case); types are its PostgreSQL ones (varchar(26), bigint, jsonb, boolean,
the channel_type and team_type enums, bytea), which SQLite accepts as declared (booleans are stored
0/1, JSON as text). Defaults and Mattermost's other secondary indexes (CreateAt, UpdateAt, full
text) are left out: the checks read neither. Mattermost's secondary indexes whose leading column is
a foreign key (idx_posts_channel_id_delete_at_create_at, idx_posts_root_id_delete_at,
idx_posts_user_id, idx_fileinfo_postid_at, idx_channelmembers_user_id_channel_id_last_viewed_at, ...:
FK_INDEXES below) are created after the data is loaded, unless --no-fk-indexes.

Shapes at --posts N (the defaults are for N = 1,000,000): N/50 users (20k), N/100 channels (10k:
half of them team channels, every team's town-square and off-topic and the rest 70% open, 30%
private; 40% direct and 10% group messages, TeamId ''), N/3333 teams (300), users in 1-3 teams (a
few big teams, many small), channel members from the team (everyone in town-square and off-topic,
DMs 2, GMs 3-7), channel member history (joins, and some members who left), posts from the channel's
members spread over six years with more of them recently and busy channels taking most, ~30% replies
(RootId a recent root post of the same channel), one Threads row per root post with replies
(ThreadTeamId '' in DMs and GMs, as Mattermost writes it), ~0.3 reactions and ~0.1 files per post,
~10 preferences, ~2.5 sessions and ~5 audits per user, a status per user, and commands, webhooks,
emoji, OAuth apps and grants, compliance exports, access tokens and schemes in proportion: about
2.25M rows and 1 GB at 1M posts (Posts ~300 bytes a row, FileInfo ~1.7 KB; ~0.8 GB without the
foreign-key indexes), built in about a minute; 5M posts take five times that.
Messages: lognormal lengths (median ~60 characters) with a tail of long posts and pasted logs up
to Mattermost's 16383 characters (so some rows overflow their 4 KiB page), some non-ASCII text,
mentions, links and markdown; system messages (joins, adds, leaves, header changes) with their
props; webhook and bot posts with attachments; Props '{}' for most, else disable_group_highlight,
channel mentions, permalink previews; Hashtags mostly ''; Filenames '[]'; FileIds '[]' or a JSON
list of 1-5 file ids whose FileInfo rows follow; some posts edited, pinned or deleted. Ids are
random 26-character Mattermost ids (canonical: the last character carries 3 bits). Posts, their
FileInfo and their Reactions are inserted together in batches in CreateAt order (so the three
tables' pages interleave in the file, as on a server that grew); every other table's rows are
shuffled before they are inserted; either way rows are in random id order, never sorted.

Orphans, at rows spread through each table: in every relation --orphans K (default 3) rows whose
parent does not exist, one near miss (a real parent's id upper-cased, with its padding bits set,
cut to 25 characters or with a trailing space: no parent matches it byte for byte), one empty key
and, where Mattermost allows it, one NULL key (reported, or not where Mattermost skips empty
keys); the Teams -> Channels cases (an open channel with a team that does not exist, a private one
with TeamId '', one with TeamId NULL, DMs and GMs with '' (not reported), a DM and a GM whose team
does not exist (reported after the rest), a DM with TeamId NULL and a channel with Type NULL (not
reported)); and --many-orphans M (default 12000) orphans in each of three relations, past the
10,000 records Steward once capped a relation at: threads of channels moved to a team that was
later deleted (ThreadTeamId matches no team), reactions to posts that were deleted, and preferences
of users that were deleted. DM and GM threads (ThreadTeamId '') are reported by Mattermost's
Teams -> Threads check too. --bulk-orphans M adds M more rows in one relation (--bulk-relation,
default Reactions.PostId) for memory measurements. --no-orphans leaves all of these out (DM and
GM threads stay). --omit-tables drops tables at the end (their checks answer no records).

OUT.db.expected.json is what Mattermost's SQL returns on the result: reference.py's results(), the
41 queries run on the file, records ordered by foreign key then child id, every check present.
The generator also keeps its own list of what it made orphaned and fails when the two disagree.
JSON: {"results": [...], "counts": [...], "posts": N, "rows": {table: rows}, "generator": ...}.

Speed: executemany in batches, journal_mode=OFF, synchronous=OFF, one transaction, a 1 GiB page
cache, ids from random.choices. Deterministic for a given --seed (and Python version).
"""
import argparse
import hashlib
import json
import math
import os
import random
import sqlite3
import sys
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import ALPHABET, RELATIONS  # noqa: E402
import reference  # noqa: E402

# The canonical last character: 26 characters carry 130 bits, the last 2 are zero padding.
LAST_CHARS = ALPHABET[::4]

# Mattermost's PostgreSQL tables the checks read: "columns | constraints".
SCHEMA = {
    "Schemes": """Id varchar(26) NOT NULL, Name varchar(64), DisplayName varchar(128), Description varchar(1024),
        CreateAt bigint, UpdateAt bigint, DeleteAt bigint, Scope varchar(32), DefaultTeamAdminRole varchar(64),
        DefaultTeamUserRole varchar(64), DefaultChannelAdminRole varchar(64), DefaultChannelUserRole varchar(64),
        DefaultTeamGuestRole varchar(64), DefaultChannelGuestRole varchar(64), DefaultPlaybookAdminRole varchar(64),
        DefaultPlaybookMemberRole varchar(64), DefaultRunAdminRole varchar(64), DefaultRunMemberRole varchar(64)
        | PRIMARY KEY (Id); UNIQUE (Name)""",
    "Teams": """Id varchar(26) NOT NULL, CreateAt bigint, UpdateAt bigint, DeleteAt bigint, DisplayName varchar(64),
        Name varchar(64), Description varchar(255), Email varchar(128), Type team_type, CompanyName varchar(64),
        AllowedDomains varchar(1000), InviteId varchar(32), SchemeId varchar(26), AllowOpenInvite boolean,
        LastTeamIconUpdate bigint, GroupConstrained boolean, CloudLimitsArchived boolean NOT NULL
        | PRIMARY KEY (Id); UNIQUE (Name)""",
    "Users": """Id varchar(26) NOT NULL, CreateAt bigint, UpdateAt bigint, DeleteAt bigint, Username varchar(64),
        Password varchar(128), AuthData varchar(128), AuthService varchar(32), Email varchar(128), EmailVerified boolean,
        Nickname varchar(64), FirstName varchar(64), LastName varchar(64), Roles varchar(256), AllowMarketing boolean,
        Props jsonb, NotifyProps jsonb, LastPasswordUpdate bigint, LastPictureUpdate bigint, FailedAttempts integer,
        Locale varchar(5), MfaActive boolean, MfaSecret varchar(128), Position varchar(128), Timezone jsonb,
        RemoteId varchar(26), LastLogin bigint NOT NULL, MfaUsedTimestamps jsonb
        | PRIMARY KEY (Id); UNIQUE (Username); UNIQUE (Email); UNIQUE (AuthData)""",
    "Channels": """Id varchar(26) NOT NULL, CreateAt bigint, UpdateAt bigint, DeleteAt bigint, TeamId varchar(26),
        Type channel_type, DisplayName varchar(64), Name varchar(64), Header varchar(1024), Purpose varchar(250),
        LastPostAt bigint, TotalMsgCount bigint, ExtraUpdateAt bigint, CreatorId varchar(26), SchemeId varchar(26),
        GroupConstrained boolean, Shared boolean, TotalMsgCountRoot bigint, LastRootPostAt bigint, BannerInfo jsonb,
        DefaultCategoryName varchar(64) NOT NULL, AutoTranslation boolean NOT NULL, Discoverable boolean NOT NULL
        | PRIMARY KEY (Id); UNIQUE (Name, TeamId)""",
    "Posts": """Id varchar(26) NOT NULL, CreateAt bigint, UpdateAt bigint, DeleteAt bigint, UserId varchar(26),
        ChannelId varchar(26), RootId varchar(26), OriginalId varchar(26), Message varchar(65535), Type varchar(26),
        Props jsonb, Hashtags varchar(1000), Filenames varchar(4000), FileIds varchar(300), HasReactions boolean,
        EditAt bigint, IsPinned boolean, RemoteId varchar(26)
        | PRIMARY KEY (Id)""",
    "ChannelMembers": """ChannelId varchar(26) NOT NULL, UserId varchar(26) NOT NULL, Roles varchar(256),
        LastViewedAt bigint, MsgCount bigint, MentionCount bigint, NotifyProps jsonb, LastUpdateAt bigint,
        SchemeUser boolean, SchemeAdmin boolean, SchemeGuest boolean, MentionCountRoot bigint, MsgCountRoot bigint,
        UrgentMentionCount bigint, AutoTranslation boolean NOT NULL, AutoTranslationDisabled boolean NOT NULL
        | PRIMARY KEY (ChannelId, UserId)""",
    "TeamMembers": """TeamId varchar(26) NOT NULL, UserId varchar(26) NOT NULL, Roles varchar(256), DeleteAt bigint,
        SchemeUser boolean, SchemeAdmin boolean, SchemeGuest boolean, CreateAt bigint
        | PRIMARY KEY (TeamId, UserId)""",
    "Reactions": """UserId varchar(26) NOT NULL, PostId varchar(26) NOT NULL, EmojiName varchar(64) NOT NULL,
        CreateAt bigint, UpdateAt bigint, DeleteAt bigint, RemoteId varchar(26), ChannelId varchar(26) NOT NULL
        | PRIMARY KEY (PostId, UserId, EmojiName)""",
    "FileInfo": """Id varchar(26) NOT NULL, CreatorId varchar(26), PostId varchar(26), CreateAt bigint, UpdateAt bigint,
        DeleteAt bigint, Path varchar(512), ThumbnailPath varchar(512), PreviewPath varchar(512), Name varchar(256),
        Extension varchar(64), Size bigint, MimeType varchar(256), Width integer, Height integer,
        HasPreviewImage boolean, MiniPreview bytea, Content text, RemoteId varchar(26), Archived boolean NOT NULL,
        ChannelId varchar(26)
        | PRIMARY KEY (Id)""",
    "Threads": """PostId varchar(26) NOT NULL, ReplyCount bigint, LastReplyAt bigint, Participants jsonb,
        ChannelId varchar(26), ThreadDeleteAt bigint, ThreadTeamId varchar(26)
        | PRIMARY KEY (PostId)""",
    "Preferences": """UserId varchar(26) NOT NULL, Category varchar(32) NOT NULL, Name varchar(32) NOT NULL, Value text
        | PRIMARY KEY (UserId, Category, Name)""",
    "Sessions": """Id varchar(26) NOT NULL, Token varchar(26), CreateAt bigint, ExpiresAt bigint, LastActivityAt bigint,
        UserId varchar(26), DeviceId varchar(512), Roles varchar(256), IsOAuth boolean, Props jsonb,
        ExpiredNotify boolean, VoipDeviceId varchar(512) NOT NULL
        | PRIMARY KEY (Id)""",
    "Audits": """Id varchar(26) NOT NULL, CreateAt bigint, UserId varchar(26), Action varchar(512),
        ExtraInfo varchar(1024), IpAddress varchar(64), SessionId varchar(26)
        | PRIMARY KEY (Id)""",
    "Status": """UserId varchar(26) NOT NULL, Status varchar(32), Manual boolean, LastActivityAt bigint,
        DNDEndTime bigint, PrevStatus varchar(32)
        | PRIMARY KEY (UserId)""",
    "Emoji": """Id varchar(26) NOT NULL, CreateAt bigint, UpdateAt bigint, DeleteAt bigint, CreatorId varchar(26),
        Name varchar(64)
        | PRIMARY KEY (Id); UNIQUE (Name, DeleteAt)""",
    "Commands": """Id varchar(26) NOT NULL, Token varchar(26), CreateAt bigint, UpdateAt bigint, DeleteAt bigint,
        CreatorId varchar(26), TeamId varchar(26), Trigger varchar(128), Method varchar(1), Username varchar(64),
        IconURL varchar(1024), AutoComplete boolean, AutoCompleteDesc varchar(1024), AutoCompleteHint varchar(1024),
        DisplayName varchar(64), Description varchar(128), URL varchar(1024), PluginId varchar(190)
        | PRIMARY KEY (Id)""",
    "CommandWebhooks": """Id varchar(26) NOT NULL, CreateAt bigint, CommandId varchar(26), UserId varchar(26),
        ChannelId varchar(26), RootId varchar(26), UseCount integer
        | PRIMARY KEY (Id)""",
    "IncomingWebhooks": """Id varchar(26) NOT NULL, CreateAt bigint, UpdateAt bigint, DeleteAt bigint,
        UserId varchar(26), ChannelId varchar(26), TeamId varchar(26), DisplayName varchar(64),
        Description varchar(500), Username varchar(255), IconURL varchar(1024), ChannelLocked boolean,
        LastUsed bigint NOT NULL
        | PRIMARY KEY (Id)""",
    "OutgoingWebhooks": """Id varchar(26) NOT NULL, Token varchar(26), CreateAt bigint, UpdateAt bigint,
        DeleteAt bigint, CreatorId varchar(26), ChannelId varchar(26), TeamId varchar(26), TriggerWords varchar(1024),
        CallbackURLs varchar(1024), DisplayName varchar(64), ContentType varchar(128), TriggerWhen integer,
        Username varchar(64), IconURL varchar(1024), Description varchar(500)
        | PRIMARY KEY (Id)""",
    "OAuthApps": """Id varchar(26) NOT NULL, CreatorId varchar(26), CreateAt bigint, UpdateAt bigint,
        ClientSecret varchar(128), Name varchar(64), Description varchar(512), CallbackUrls varchar(1024),
        Homepage varchar(256), IsTrusted boolean, IconURL varchar(512), MattermostAppID varchar(32) NOT NULL,
        IsDynamicallyRegistered boolean
        | PRIMARY KEY (Id)""",
    "OAuthAccessData": """Token varchar(26) NOT NULL, RefreshToken varchar(26), RedirectUri varchar(256),
        ClientId varchar(26), UserId varchar(26), ExpiresAt bigint, Scope varchar(128), Audience varchar(512)
        | PRIMARY KEY (Token); UNIQUE (ClientId, UserId)""",
    "OAuthAuthData": """ClientId varchar(26), UserId varchar(26), Code varchar(128) NOT NULL, ExpiresIn integer,
        CreateAt bigint, RedirectUri varchar(256), State varchar(1024), Scope varchar(128),
        CodeChallenge varchar(128), CodeChallengeMethod varchar(10), Resource varchar(512)
        | PRIMARY KEY (Code)""",
    "Compliances": """Id varchar(26) NOT NULL, CreateAt bigint, UserId varchar(26), Status varchar(64), Count integer,
        Desc varchar(512), Type varchar(64), StartAt bigint, EndAt bigint, Keywords varchar(512), Emails varchar(1024)
        | PRIMARY KEY (Id)""",
    "UserAccessTokens": """Id varchar(26) NOT NULL, Token varchar(26), UserId varchar(26), Description varchar(512),
        IsActive boolean, ExpiresAt bigint NOT NULL, LastNotifiedAt bigint
        | PRIMARY KEY (Id); UNIQUE (Token)""",
    "ChannelMemberHistory": """ChannelId varchar(26) NOT NULL, UserId varchar(26) NOT NULL, JoinTime bigint NOT NULL,
        LeaveTime bigint
        | PRIMARY KEY (ChannelId, UserId, JoinTime)""",
}

# Mattermost's secondary indexes led by a foreign key column (names and columns as in its schema).
FK_INDEXES = [
    ("idx_audits_user_id", "Audits", "UserId"),
    ("idx_channels_team_id_display_name", "Channels", "TeamId, DisplayName"),
    ("idx_channels_team_id_type", "Channels", "TeamId, Type"),
    ("idx_channels_scheme_id", "Channels", "SchemeId"),
    ("idx_channelmembers_user_id_channel_id_last_viewed_at", "ChannelMembers", "UserId, ChannelId, LastViewedAt"),
    ("idx_channelmembers_channel_id_scheme_guest_user_id", "ChannelMembers", "ChannelId, SchemeGuest, UserId"),
    ("idx_command_team_id", "Commands", "TeamId"),
    ("idx_fileinfo_postid_at", "FileInfo", "PostId"),
    ("idx_fileinfo_channel_id_create_at", "FileInfo", "ChannelId, CreateAt"),
    ("idx_incoming_webhook_user_id", "IncomingWebhooks", "UserId"),
    ("idx_incoming_webhook_team_id", "IncomingWebhooks", "TeamId"),
    ("idx_outgoing_webhook_team_id", "OutgoingWebhooks", "TeamId"),
    ("idx_oauthaccessdata_user_id", "OAuthAccessData", "UserId"),
    ("idx_oauthapps_creator_id", "OAuthApps", "CreatorId"),
    ("idx_posts_channel_id_delete_at_create_at", "Posts", "ChannelId, DeleteAt, CreateAt"),
    ("idx_posts_channel_id_update_at", "Posts", "ChannelId, UpdateAt"),
    ("idx_posts_root_id_delete_at", "Posts", "RootId, DeleteAt"),
    ("idx_posts_user_id", "Posts", "UserId"),
    ("idx_reactions_channel_id", "Reactions", "ChannelId"),
    ("idx_sessions_user_id", "Sessions", "UserId"),
    ("idx_teammembers_user_id", "TeamMembers", "UserId"),
    ("idx_teams_scheme_id", "Teams", "SchemeId"),
    ("idx_threads_channel_id_last_reply_at", "Threads", "ChannelId, LastReplyAt"),
    ("idx_user_access_tokens_user_id", "UserAccessTokens", "UserId"),
]

COLUMNS = {}
NOT_NULL = {}
DDL = []
for _table, _spec in SCHEMA.items():
    _cols, _constraints = _spec.split("|")
    _defs = [" ".join(c.split()) for c in _cols.split(",")]
    COLUMNS[_table] = [d.split()[0] for d in _defs]
    NOT_NULL[_table] = {d.split()[0] for d in _defs if d.endswith("NOT NULL")}
    _q = [f'"{d.split()[0]}" {" ".join(d.split()[1:])}' for d in _defs]
    for _c in _constraints.split(";"):
        _kind, _names = _c.strip().split("(")
        _q.append(f"{_kind.strip()} ({', '.join(chr(34) + n.strip() + chr(34) for n in _names.rstrip(') ').split(','))})")
    DDL.append(f'CREATE TABLE "{_table}" ({", ".join(_q)})')
INSERT = {t: f'INSERT INTO "{t}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) VALUES ({", ".join("?" * len(cols))})'
          for t, cols in COLUMNS.items()}
STREAM_TABLES = ("Posts", "FileInfo", "Reactions")  # inserted together, batch by batch, in CreateAt order
LATE_TABLES = ("Channels", "ChannelMembers", "ChannelMemberHistory", "Threads")  # need the posts' statistics

T0 = 1551398400000  # 2019-03-01, the first post
T1 = 1740787200000  # 2025-03-01, the last
DAY = 86_400_000

WORDS = """the and to of a in is it you that for on with this we are be have not at can just will from about so
if or but all any what when how why who there here now then still also maybe sure okay yes no thanks please
deploy release build test merge branch review ticket bug fix issue server client api database query index
cache latency error warning log metrics dashboard alert oncall incident customer meeting tomorrow today
yesterday let me know looks good lgtm ship rollback hotfix staging production cluster node pod kubernetes
docker image config migration schema table column row update delete insert select join channel team message
thread reply post file upload download link preview notification mention email push mobile desktop webapp
plugin integration webhook command bot user admin permission role policy security audit compliance export
import backup restore retention job schedule cron timer sprint backlog estimate story epic design doc spec
proposal feedback draft final version roadmap quarter goal budget invoice contract vendor partner launch
announce blog marketing sales support escalate priority urgent blocked waiting done progress pairing lunch
coffee weekend holiday vacation travel flight hotel conference talk slides demo recording call huddle standup
retro planning latency throughput regression benchmark profile flamegraph memory leak timeout retry backoff
queue worker consumer producer topic partition offset replica leader follower failover dns certificate
tls proxy load balancer ingress egress firewall vpn sso ldap saml oauth token session cookie header payload
café naïve über façade résumé München Zürich São Kraków привет спасибо 你好 谢谢 こんにちは ありがとう""".split()
EMOJI = ("+1 heart smile white_check_mark eyes tada joy pray 100 fire rocket thinking_face raised_hands clap "
         "ok_hand laughing heavy_plus_sign -1 wave sweat_smile point_up muscle sob star bug party_parrot "
         "this_is_fine shipit").split()
FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil Trent Victor "
         "Walter Aisha Bjørn Chloé Darío Élodie Fatima Giovanni Hiroshi Ingrid Jürgen Kofi Lena Małgorzata Nikolai "
         "Oğuz Priya Quentin Raúl Siobhan Tomás Ulla Vikram Wen Xavier Yuki Zoë").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernández López Müller Schmidt "
        "Schneider Fischer Weber Nowak Kowalski Rossi Russo Ferrari Dubois Moreau Laurent Silva Santos Oliveira Sato "
        "Suzuki Takahashi Kim Lee Park Chen Wang Li Zhang Kumar Singh Patel Nguyen Tran Ivanov Petrov Andersson "
        "Johansson Nielsen O'Brien").split()
TIMEZONES = ["Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata",
             "Europe/London", "America/Sao_Paulo", "Australia/Sydney", "UTC", ""]
FILE_KINDS = [  # extension, mime type, weight, image?, has text content?
    ("png", "image/png", 35, True, False), ("jpg", "image/jpeg", 20, True, False), ("gif", "image/gif", 4, True, False),
    ("pdf", "application/pdf", 12, False, True), ("txt", "text/plain", 5, False, True),
    ("log", "text/plain", 5, False, True),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 5, False, True),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 4, False, False),
    ("zip", "application/zip", 4, False, False), ("mp4", "video/mp4", 3, False, False), ("csv", "text/csv", 3, False, True)]
TOKEN_CHARS = ALPHABET + "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_:"
J = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
CHANNEL_NOTIFY = J({"channel_auto_follow_threads": "off", "desktop": "default", "desktop_threads": "default",
                    "email": "default", "ignore_channel_mentions": "default", "mark_unread": "all", "push": "default",
                    "push_threads": "default"})
USER_NOTIFY = J({"auto_responder_active": "false", "auto_responder_message": "Hello, I am out of office and unable to respond to messages.",
                 "calls_desktop_sound": "true", "calls_notification_sound": "Dynamic", "channel": "true", "comments": "never",
                 "desktop": "mention", "desktop_notification_sound": "Bing", "desktop_sound": "true", "desktop_threads": "all",
                 "email": "true", "email_threads": "all", "first_name": "false", "highlight_keys": "", "mention_keys": "",
                 "push": "mention", "push_status": "away", "push_threads": "all"})
THEME = J({"awayIndicator": "#ffbc1f", "buttonBg": "#1c58d9", "buttonColor": "#ffffff", "centerChannelBg": "#ffffff",
           "centerChannelColor": "#3f4350", "codeTheme": "github", "dndIndicator": "#d24b4e", "errorTextColor": "#d24b4e",
           "linkColor": "#386fe5", "mentionBg": "#ffffff", "mentionBj": "#ffffff", "mentionColor": "#1e325c",
           "mentionHighlightBg": "#ffd470", "mentionHighlightLink": "#1b1d22", "newMessageSeparator": "#cc8f00",
           "onlineIndicator": "#3db887", "sidebarBg": "#1e325c", "sidebarHeaderBg": "#192a4d",
           "sidebarHeaderTextColor": "#ffffff", "sidebarTeamBarBg": "#14213e", "sidebarText": "#ffffff",
           "sidebarTextActiveBorder": "#5d89ea", "sidebarTextActiveColor": "#ffffff", "sidebarTextHoverBg": "#28427b",
           "sidebarUnreadText": "#ffffff", "type": "Denim"})


class Realistic:
    def __init__(self, a):
        self.a = a
        self.rng = rng = random.Random(a.seed)
        self.random, self.choice, self.choices, self.randrange = rng.random, rng.choice, rng.choices, rng.randrange
        self.rows = {t: [] for t in SCHEMA}        # rows of the tables inserted as a whole (shuffled first)
        self.stream_orphans = {t: [] for t in STREAM_TABLES}  # (relation, value) to spread through the stream
        self.tracked = [[] for _ in RELATIONS]     # what was made orphaned: (part, parent id, child id)
        self.counts = {t: 0 for t in SCHEMA}
        self.build_corpus()

    # ---- values ----

    def new_id(self):
        return "".join(self.choices(ALPHABET, k=25)) + self.choice(LAST_CHARS)

    def build_corpus(self):
        """A prose corpus (words, mentions, links, markdown, non-ASCII) and a log/code corpus; messages
        and file contents are slices of them."""
        rnd, choice = self.random, self.choice
        out, size = [], 0
        while size < 1_500_000:
            words = self.choices(WORDS, k=self.rng.randint(4, 16))
            r = rnd()
            if r < 0.08:
                words.insert(self.randrange(len(words)), "@" + choice(FIRST).lower() + "." + choice(LAST).lower())
            elif r < 0.12:
                site = choice(["github.com/acme", "jira.acme.io/browse", "docs.acme.io"])
                words.append(f"https://{site}/{choice(WORDS)}-{self.randrange(9999)}")
            elif r < 0.16:
                words.insert(self.randrange(len(words)), f"`{choice(WORDS)}`")
            elif r < 0.19:
                words.append(f":{choice(EMOJI)}:")
            elif r < 0.21:
                words.insert(0, "**" + words.pop(0) + "**")
            s = " ".join(words)
            s = s[0].upper() + s[1:] + choice(".....?!") + ("\n" if rnd() < 0.1 else " ")
            out.append(s)
            size += len(s)
        self.prose = "".join(out)
        lines, size = [], 0
        while size < 400_000:
            r = rnd()
            ri = self.rng.randint
            ts = f"2024-0{ri(1, 9)}-{ri(10, 28)}T{ri(10, 23)}:{ri(10, 59)}:{ri(10, 59)}.{self.randrange(1000):03d}Z"
            if r < 0.4:
                level, worker = choice(["INFO", "WARN", "ERROR", "DEBUG"]), f"{choice(WORDS)}-worker-{self.randrange(16)}"
                line = f"{ts} {level} [{worker}] {' '.join(self.choices(WORDS, k=8))} id={self.new_id()}"
            elif r < 0.7:
                pkg, cls = choice(WORDS), choice(WORDS).capitalize()
                line = f"    at com.acme.{pkg}.{cls}Service.handle({choice(WORDS).capitalize()}.java:{self.randrange(900)})"
            else:
                indent, obj, fn, arg = "    " * self.randrange(3), choice(WORDS), choice(WORDS).capitalize(), choice(WORDS)
                why = " ".join(self.choices(WORDS, k=3))
                line = f'{indent}if err := {obj}.{fn}(ctx, {arg}); err != nil {{ return fmt.Errorf("{why}: %w", err) }}'
            lines.append(line)
            size += len(line) + 1
        self.code = "\n".join(lines)

    def text(self, length, code=False):
        src = self.code if code else self.prose
        o = self.randrange(len(src) - length)
        return src[o:o + length].strip()

    def message(self):
        if self.random() < 0.03:  # announcements, pasted logs and stack traces: a tail to 16383 characters
            n = min(16383, int(self.rng.lognormvariate(math.log(900), 0.9)))
            body = self.text(n, code=self.random() < 0.5)
            return f"```\n{body}\n```" if self.random() < 0.3 else body
        return self.text(max(1, int(self.rng.lognormvariate(math.log(58), 0.85)))) or "ok"

    def when(self, lo, hi):
        return self.rng.randint(int(lo), int(max(lo, hi)))

    def ip(self):
        return f"10.{self.randrange(256)}.{self.randrange(256)}.{self.randrange(1, 255)}"

    # ---- parents ----

    def build_people(self):
        a, rnd, choice, n = self.a, self.random, self.choice, self.a.posts
        self.n_users = max(60, n // 50)
        self.n_teams = max(4, n // 3333)
        self.n_channels = max(40, n // 100)

        self.schemes = [self.new_id() for _ in range(max(3, self.n_teams // 30))]
        for i, s in enumerate(self.schemes):
            scope = "team" if i % 3 else "channel"
            t = self.when(T0 - 400 * DAY, T1 - 400 * DAY)
            self.add("Schemes", (s, f"{scope}-scheme-{i}", f"{scope.title()} scheme {i}", self.text(60), t, t, 0, scope,
                                 f"team_admin_{s}" if scope == "team" else "", f"team_user_{s}" if scope == "team" else "",
                                 f"channel_admin_{s}", f"channel_user_{s}", f"team_guest_{s}" if scope == "team" else "",
                                 f"channel_guest_{s}", "", "", "", ""))
        self.team_schemes = [s for i, s in enumerate(self.schemes) if i % 3] or self.schemes
        self.channel_schemes = [s for i, s in enumerate(self.schemes) if not i % 3]

        self.users, self.usernames, taken = [], {}, set()
        for i in range(self.n_users):
            uid = self.new_id()
            first, last = choice(FIRST), choice(LAST)
            base = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode().lower().replace("'", "")
            name = base if base not in taken else f"{base}{i}"
            taken.add(name)
            self.users.append(uid)
            self.usernames[uid] = name
            created = self.when(T0 - 200 * DAY, T1 - 30 * DAY)
            sso = rnd() < 0.12
            deleted = self.when(created, T1) if rnd() < 0.04 else 0
            tz = choice(TIMEZONES)
            self.add("Users", (
                uid, created, max(created, deleted), deleted, name,
                "" if sso else "$2a$10$" + "".join(self.choices(ALPHABET + "ABCDEFGHIJ./", k=53)),
                f"{self.randrange(10**9)}-{name}" if sso else None, choice(["gitlab", "saml", "ldap"]) if sso else "",
                f"{name}@{choice(['example.com', 'corp.example.org', 'mail.example.net'])}", 1,
                first if rnd() < 0.2 else "", first, last,
                "system_admin system_user" if i < 3 or rnd() < 0.005 else "system_user", 0,
                J({"customStatus": J({"emoji": choice(EMOJI), "text": self.text(20)})}) if rnd() < 0.1 else "{}",
                USER_NOTIFY, created, created + self.randrange(DAY) if rnd() < 0.6 else 0, 0,
                choice(["en", "en", "en", "de", "fr", "ja", "es", "pt-BR"]), 0, "",
                choice(["", "", "Engineer", "Senior Engineer", "Product Manager", "Designer", "Support", "SRE"]),
                J({"automaticTimezone": tz, "manualTimezone": "", "useAutomaticTimezone": "true"}), None,
                self.when(created, T1), None))
            self.add("Status", (uid, choice(["online", "away", "offline", "offline", "dnd"]), int(rnd() < 0.2),
                                self.when(created, T1), 0, ""))

        self.teams, self.team_members = [], {}
        for i in range(self.n_teams):
            tid = self.new_id()
            self.teams.append(tid)
            self.team_members[tid] = []
            t = self.when(T0 - 300 * DAY, T0)
            name = f"{choice(WORDS)}-{choice(WORDS)}-{i}".lower()
            self.add("Teams", (tid, t, t, 0, name.replace("-", " ").title()[:64], name[:64], self.text(40),
                               f"admin@{name[:20]}.example.com",
                               choice(["O", "I"]), "", "", self.new_id()[:32],
                               choice(self.team_schemes) if rnd() < 0.1 else None, int(rnd() < 0.5), 0, 0, 0))
        weights = [1 / (r + 1) ** 0.8 for r in range(self.n_teams)]
        for uid in self.users:
            k = 1 if rnd() < 0.6 else 2 if rnd() < 0.75 else 3
            for tid in dict.fromkeys(self.choices(self.teams, weights=weights, k=k)):
                self.team_members[tid].append(uid)
                t = self.when(T0 - 100 * DAY, T1 - 60 * DAY)
                self.add("TeamMembers", (tid, uid, "", self.when(t, T1) if rnd() < 0.03 else 0, 1, int(rnd() < 0.03), 0, t))
        for tid in self.teams:  # every team has someone
            if not self.team_members[tid]:
                uid = choice(self.users)
                self.team_members[tid].append(uid)
                self.add("TeamMembers", (tid, uid, "", 0, 1, 1, 0, T0))

        self.sessions, self.user_sessions = [], {}
        for uid in self.users:
            mine = self.user_sessions[uid] = []
            for _ in range(self.rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5, 6))):
                sid = self.new_id()
                mine.append(sid)
                self.sessions.append(sid)
                t = self.when(T1 - 120 * DAY, T1)
                mobile = rnd() < 0.3
                self.add("Sessions", (
                    sid, self.new_id(), t, t + 30 * DAY, self.when(t, T1), uid,
                    ("android_rn-v2:" if rnd() < 0.5 else "apple_rn-v2:") + "".join(self.choices(TOKEN_CHARS, k=152))
                    if mobile else "",
                    "system_user", 0,
                    J({"browser": "Mobile App/2.12" if mobile else choice(["Chrome/121.0", "Firefox/122.0", "Desktop App/5.6.0"]),
                       "csrf": self.new_id(), "isMobile": str(mobile).lower(), "isOAuthUser": "false", "isSaml": "false",
                       "is_guest": "false", "last_team_id": choice(self.teams),
                       "os": choice(["Linux", "Windows 10", "Mac OS", "iOS", "Android"]),
                       "platform": choice(["Linux", "Windows", "Macintosh", "iPhone", "Android"]), "type": ""}),
                    0, ""))
        for i in range(len(self.users) * 5):
            uid = choice(self.users)
            attempt = rnd() < 0.35
            sid = "" if attempt or not self.user_sessions[uid] else choice(self.user_sessions[uid])
            action = "/api/v4/users/login" if attempt or rnd() < 0.5 else choice(
                ["/api/v4/users/logout", f"/api/v4/users/{uid}/password", f"/api/v4/users/{uid}/patch",
                 f"/api/v4/channels/{self.new_id()}/members", "/api/v4/users/sessions/revoke"])
            self.add("Audits", (self.new_id(), self.when(T1 - 365 * DAY, T1), "" if attempt and rnd() < 0.3 else uid, action,
                                f"attempt - login_id={self.usernames[uid]}" if attempt else f"success session_user={uid}",
                                self.ip(), sid))

    def build_channels(self):
        rnd, choice, n_ch = self.random, self.choice, self.n_channels
        self.channels, self.ch_team, self.ch_type, self.ch_members, self.ch_meta, self.ch_weight = [], {}, {}, {}, {}, []
        names = set()

        def channel(team, kind, members, name, display, creator, weight, deleted=0):
            cid = self.new_id()
            self.channels.append(cid)
            self.ch_team[cid], self.ch_type[cid], self.ch_members[cid] = team, kind, members
            names.add((name, team))
            created = self.when(T0 - 60 * DAY, T0)
            self.ch_meta[cid] = (created, name, display, creator, deleted)
            self.ch_weight.append(weight)

        n_team = max(2 * self.n_teams, n_ch // 2)
        sizes = [len(self.team_members[t]) for t in self.teams]
        for tid in self.teams:
            channel(tid, "O", list(self.team_members[tid]), "town-square", "Town Square", "", 2.0)
            channel(tid, "O", list(self.team_members[tid]), "off-topic", "Off-Topic", "", 0.8)
        for _ in range(n_team - 2 * self.n_teams):
            tid = self.choices(self.teams, weights=sizes)[0]
            pool = self.team_members[tid]
            kind = "O" if rnd() < 0.7 else "P"
            while True:
                name = "-".join(self.choices(WORDS[:300], k=self.rng.randint(1, 3))) + (f"-{self.randrange(100)}" if rnd() < 0.3 else "")
                if (name, tid) not in names:
                    break
            size = min(len(pool), max(1, int(self.rng.lognormvariate(math.log(8 if kind == "O" else 6), 1.1))))
            members = self.rng.sample(pool, size)
            channel(tid, kind, members, name, name.replace("-", " ").title(), members[0], self.rng.lognormvariate(0, 1.4),
                    self.when(T0, T1) if rnd() < 0.04 else 0)
        n_dm = int(n_ch * 0.4)
        for i in range(n_ch - len(self.channels)):
            dm = i < n_dm
            tid = self.choices(self.teams, weights=sizes)[0]
            pool = self.team_members[tid] if len(self.team_members[tid]) >= (2 if dm else 3) else self.users
            for _ in range(20):
                members = sorted(self.rng.sample(pool, 2 if dm else min(len(pool), self.rng.randint(3, 7))))
                name = "__".join(members) if dm else hashlib.sha1(",".join(members).encode()).hexdigest()
                if (name, "") not in names:
                    break
            else:
                continue
            display = "" if dm else ", ".join(self.usernames[u] for u in members)[:64]
            channel("", "D" if dm else "G", members, name, display, members[0], self.rng.lognormvariate(0, 1.2) * (0.4 if dm else 0.5))
        self.channel_names = names
        self.team_channel_list = [c for c in self.channels if self.ch_team[c]]
        self.team_channels = {t: [] for t in self.teams}
        for c in self.channels:
            if self.ch_team[c]:
                self.team_channels[self.ch_team[c]].append(c)
        self.user_dms = {}
        for c in self.channels:
            if self.ch_type[c] == "D":
                u, v = self.ch_members[c]
                self.user_dms.setdefault(u, []).append((v, c))
                self.user_dms.setdefault(v, []).append((u, c))

    def build_integrations(self):
        rnd, choice = self.random, self.choice
        self.commands = []
        for tid in self.teams:
            for _ in range(self.rng.choice((0, 1, 2, 2, 3, 4))):
                cid = self.new_id()
                self.commands.append(cid)
                self.add("Commands", self.command_row(cid, tid, choice(self.team_members[tid])))
        if not self.commands:
            cid = self.new_id()
            self.commands.append(cid)
            self.add("Commands", self.command_row(cid, self.teams[0], self.team_members[self.teams[0]][0]))
        for cmd in self.commands:
            for _ in range(self.rng.choice((0, 1, 1, 2, 3))):
                self.add("CommandWebhooks", self.command_webhook_row(CommandId=cmd))
        for tid in self.teams:
            for _ in range(self.rng.choice((0, 1, 2, 3, 4, 6))):
                self.add("IncomingWebhooks", self.incoming_row(TeamId=tid))
            for _ in range(self.rng.choice((0, 0, 1, 2))):
                self.add("OutgoingWebhooks", self.outgoing_row(TeamId=tid))
        for i in range(max(5, len(self.users) // 40)):
            self.add("Emoji", self.emoji_row(Name=f"{choice(WORDS[:300])}_{i}"))
        self.apps = [self.new_id() for _ in range(max(3, len(self.users) // 1000))]
        for app in self.apps:
            self.add("OAuthApps", self.oauth_app_row(Id=app))
        pairs = set()
        for _ in range(max(10, len(self.users) // 100)):
            app, uid = choice(self.apps), choice(self.users)
            if (app, uid) not in pairs:
                pairs.add((app, uid))
                self.add("OAuthAccessData", self.oauth_access_row(ClientId=app, UserId=uid))
        for _ in range(max(5, len(self.users) // 400)):
            self.add("OAuthAuthData", self.oauth_auth_row())
        for _ in range(max(5, len(self.users) // 1000)):
            self.add("Compliances", self.compliance_row())
        for _ in range(max(5, len(self.users) // 50)):
            self.add("UserAccessTokens", self.token_row())
        for uid in self.users:
            self.preferences(uid)

    def preferences(self, uid, limit=None):
        rnd = self.random
        rows = [("tutorial_step", uid, "999"), ("display_settings", "use_military_time", "false"),
                ("display_settings", "collapsed_reply_threads", "on"), ("recommended_next_steps", "hide", "true"),
                ("onboarding_task_list", "onboarding_task_list_show", "false"), ("insights", "insights_modal_viewed", "true"),
                ("channel_approximate_view_time", "", str(self.when(T1 - 30 * DAY, T1))), ("last", "channel", self.choice(self.channels))]
        if rnd() < 0.3:
            rows.append(("display_settings", "message_display", "compact"))
        if rnd() < 0.25:
            rows.append(("theme", "", THEME))
        for other, _ in self.user_dms.get(uid, [])[:12]:
            rows.append(("direct_channel_show", other, "true"))
        for c in self.rng.sample(self.channels, min(3, len(self.channels)))[: self.randrange(4)]:
            rows.append(("favorite_channel", c, "true"))
        if limit is not None:  # a deleted user's: padded with more channel shows up to `limit`
            while len(rows) < limit:
                rows.append(("channel_open_time", self.new_id(), str(self.when(T0, T1))))
            rows = rows[:limit]
        for cat, name, value in rows:
            self.add("Preferences", (uid, cat, name, value))
        return len(rows)

    # ---- row builders: valid rows, any foreign key overridable (orphans reuse them) ----

    def valid_user(self):
        return self.choice(self.users)

    def valid_channel(self):
        return self.choice(self.channels)

    def command_row(self, Id=None, TeamId=None, CreatorId=None):
        t = self.when(T0, T1)
        trig = self.choice(["jira", "giphy", "standup", "deploy", "poll", "oncall", "weather", "todo"])
        return (Id or self.new_id(), self.new_id(), t, t, 0, CreatorId if CreatorId is not None else self.valid_user(),
                TeamId if TeamId is not None else self.choice(self.teams), trig, "P", f"{trig}-bot",
                f"https://{trig}.example.com/icon.png", 1, f"Runs {trig} from Mattermost", "[action] [args]",
                trig.title(), f"The {trig} integration", f"https://{trig}.example.com/mattermost/command", "")

    def command_webhook_row(self, CommandId=None, UserId=None, ChannelId=None):
        return (self.new_id(), self.when(T1 - 30 * DAY, T1), CommandId if CommandId is not None else self.choice(self.commands),
                UserId if UserId is not None else self.valid_user(), ChannelId if ChannelId is not None else self.valid_channel(),
                "", self.randrange(5))

    def incoming_row(self, UserId=None, ChannelId=None, TeamId=None):
        tid = TeamId if TeamId is not None else self.choice(self.teams)
        chans = self.team_channels.get(tid) or self.channels
        t = self.when(T0, T1)
        name = self.choice(["GitHub", "Jenkins", "PagerDuty", "Grafana", "Sentry", "Jira"])
        return (self.new_id(), t, t, 0, UserId if UserId is not None else self.choice(self.team_members.get(tid) or self.users),
                ChannelId if ChannelId is not None else self.choice(chans), tid, name, f"{name} notifications",
                name.lower(), f"https://{name.lower()}.example.com/icon.png", int(self.random() < 0.5), self.when(t, T1))

    def outgoing_row(self, CreatorId=None, ChannelId=None, TeamId=None):
        tid = TeamId if TeamId is not None else self.choice(self.teams)
        chans = self.team_channels.get(tid) or self.channels
        t = self.when(T0, T1)
        return (self.new_id(), self.new_id(), t, t, 0,
                CreatorId if CreatorId is not None else self.choice(self.team_members.get(tid) or self.users),
                ChannelId if ChannelId is not None else self.choice(chans), tid, "deploy,rollback,status",
                "https://ci.example.com/hooks/mattermost", "CI trigger", "application/json", self.randrange(2), "ci-bot",
                "https://ci.example.com/icon.png", "Starts builds from chat")

    def emoji_row(self, CreatorId=None, Name=None):
        t = self.when(T0, T1)
        return (self.new_id(), t, t, 0, CreatorId if CreatorId is not None else self.valid_user(), Name or f"emoji_{self.new_id()}")

    def oauth_app_row(self, Id=None, CreatorId=None):
        t = self.when(T0, T1)
        name = self.choice(["Zapier", "Grafana", "Internal Portal", "Wiki", "Helpdesk"])
        return (Id or self.new_id(), CreatorId if CreatorId is not None else self.valid_user(), t, t, self.new_id(), name,
                f"{name} sign-in", f"https://{name.lower().replace(' ', '')}.example.com/oauth/callback",
                f"https://{name.lower().replace(' ', '')}.example.com", int(self.random() < 0.3), "", "", 0)

    def oauth_access_row(self, ClientId=None, UserId=None):
        return (self.new_id(), self.new_id(), "https://portal.example.com/oauth/callback",
                ClientId if ClientId is not None else self.choice(self.apps), UserId if UserId is not None else self.valid_user(),
                self.when(T1, T1 + 30 * DAY), "user", "")

    def oauth_auth_row(self, ClientId=None, UserId=None):
        return (ClientId if ClientId is not None else self.choice(self.apps), UserId if UserId is not None else self.valid_user(),
                "".join(self.choices(ALPHABET, k=self.choice((26, 64, 128)))), 600, self.when(T1 - DAY, T1),
                "https://portal.example.com/oauth/callback", self.new_id(), "user", "", "", "")

    def compliance_row(self, UserId=None):
        t = self.when(T0, T1)
        return (self.new_id(), t, UserId if UserId is not None else self.valid_user(), "finished", self.randrange(100000),
                f"Quarterly export {self.randrange(40)}", "adhoc", t - 90 * DAY, t, "", "")

    def token_row(self, UserId=None):
        return (self.new_id(), self.new_id(), UserId if UserId is not None else self.valid_user(),
                self.choice(["CI bot", "backup script", "monitoring", "personal"]), 1, 0, None)

    def session_row(self, UserId=None):
        t = self.when(T1 - 60 * DAY, T1)
        return (self.new_id(), self.new_id(), t, t + 30 * DAY, t, UserId if UserId is not None else self.valid_user(), "",
                "system_user", 0, "{}", 0, "")

    def audit_row(self, UserId=None, SessionId=None):
        return (self.new_id(), self.when(T1 - 60 * DAY, T1), UserId if UserId is not None else self.valid_user(),
                "/api/v4/users/login", "success", self.ip(), SessionId if SessionId is not None else self.choice(self.sessions))

    def team_row(self, SchemeId=None):
        t = self.when(T0 - 300 * DAY, T0)
        tid = self.new_id()
        return (tid, t, t, 0, "Archive", f"archive-{tid}", "", "", "O", "", "", self.new_id()[:32],
                SchemeId if SchemeId is not None else None, 0, 0, 0, 0)

    def channel_row(self, TeamId=None, CreatorId=None, SchemeId=None, Type="O", Name=None):
        cid = self.new_id()
        t = self.when(T0, T1)
        return (cid, t, t, 0, TeamId if TeamId is not None else self.choice(self.teams), Type, "Project",
                Name or f"project-{cid}", "", "", 0, 0, 0, CreatorId if CreatorId is not None else self.valid_user(),
                SchemeId, 0, 0, 0, 0, None, "", 0, 0)

    def member_row(self, ChannelId=None, UserId=None):
        t = self.when(T0, T1)
        return (ChannelId if ChannelId is not None else self.valid_channel(), UserId if UserId is not None else self.valid_user(),
                "", t, 0, 0, CHANNEL_NOTIFY, t, 1, 0, 0, 0, 0, 0, 0, 0)

    def history_row(self, ChannelId=None, UserId=None):
        return (ChannelId if ChannelId is not None else self.valid_channel(), UserId if UserId is not None else self.valid_user(),
                self.when(T0, T1), None)

    def team_member_row(self, TeamId=None, UserId=None):
        return (TeamId if TeamId is not None else self.choice(self.teams), UserId if UserId is not None else self.valid_user(),
                "", 0, 1, 0, 0, self.when(T0, T1))

    def status_row(self, UserId=None):
        return (UserId, "offline", 0, self.when(T0, T1), 0, "")

    def preference_row(self, UserId=None):
        return (UserId if UserId is not None else self.valid_user(), "channel_open_time", self.new_id(), str(self.when(T0, T1)))

    def thread_row(self, PostId=None, ChannelId=None, ThreadTeamId=None):
        ch = ChannelId if ChannelId is not None else self.choice(self.team_channel_list)
        t = self.when(T0, T1)
        return (PostId or self.new_id(), 1, t, J([self.valid_user()]), ch, 0,
                ThreadTeamId if ThreadTeamId is not None else (self.ch_team.get(ch) or self.choice(self.teams)))

    def post_row(self, Id=None, ChannelId=None, UserId=None, RootId=""):
        ch = ChannelId if ChannelId is not None else self.valid_channel()
        uid = UserId if UserId is not None else self.choice(self.ch_members.get(ch) or self.users)
        t = self.when(T0, T1)
        return (Id or self.new_id(), t, t, 0, uid, ch, RootId, "", self.message(), "", "{}", "", "[]", "[]", 0, 0, 0, None)

    def reaction_row(self, UserId=None, PostId=None, EmojiName=None, ChannelId=None):
        pid, ch = self.choice(self.post_sample) if self.post_sample else (self.new_id(), self.valid_channel())
        t = self.when(T0, T1)
        return (UserId if UserId is not None else self.valid_user(), PostId if PostId is not None else pid,
                EmojiName or self.choice(EMOJI), t, t, 0, "", ChannelId if ChannelId is not None else ch)

    def file_row(self, Id=None, CreatorId=None, PostId=None, ChannelId=None, CreateAt=None, DeleteAt=0):
        rnd = self.random
        if PostId is None or ChannelId is None:
            pid, ch = self.choice(self.post_sample) if self.post_sample else (self.new_id(), self.valid_channel())
            PostId = pid if PostId is None else PostId
            ChannelId = ch if ChannelId is None else ChannelId
        creator = CreatorId if CreatorId is not None else self.valid_user()
        fid = Id or self.new_id()
        t = CreateAt if CreateAt is not None else self.when(T0, T1)
        ext, mime, _, image, has_text = self.choices(FILE_KINDS, weights=[k[2] for k in FILE_KINDS])[0]
        if image:
            name = (f"Screenshot {time.strftime('%Y-%m-%d at %H.%M.%S', time.gmtime(t // 1000))}.{ext}" if rnd() < 0.5
                    else f"IMG_{self.randrange(10000):04d}.{ext}")
        else:
            name = f"{'-'.join(self.choices(WORDS[:300], k=self.rng.randint(1, 3)))}-{self.randrange(1000)}.{ext}"
        day = time.strftime("%Y%m%d", time.gmtime(t // 1000))
        team = self.ch_team.get(ChannelId) or "noteam"
        base = f"{day}/teams/{team}/channels/{ChannelId}/users/{creator}/{fid}/"
        w, h = (self.choice([(1920, 1080), (2560, 1440), (1280, 720), (3024, 4032), (800, 600), (512, 512)]) if image else (0, 0))
        stem = name.rsplit(".", 1)[0]
        return (fid, creator, PostId, t, t, DeleteAt, base + name, base + stem + "_thumb.jpg" if image else "",
                base + stem + "_preview.jpg" if image else "", name, ext, int(self.rng.lognormvariate(math.log(180_000), 1.5)),
                mime, w, h, int(image),
                self.rng.randbytes(int(self.rng.lognormvariate(math.log(700), 0.3))) if image else None,
                self.text(min(60_000, int(self.rng.lognormvariate(math.log(1000), 1.1))), code=ext == "log") if has_text else "",
                None, 0, ChannelId)

    def valid(self, table, **fk):
        """A valid row of `table` (a child table of some check) as a dict, `fk` overriding columns."""
        build = {
            "CommandWebhooks": self.command_webhook_row, "ChannelMemberHistory": self.history_row,
            "ChannelMembers": self.member_row, "IncomingWebhooks": self.incoming_row, "OutgoingWebhooks": self.outgoing_row,
            "Posts": self.post_row, "FileInfo": self.file_row, "Reactions": self.reaction_row, "Threads": self.thread_row,
            "Channels": self.channel_row, "Teams": self.team_row, "Audits": self.audit_row, "Commands": self.command_row,
            "TeamMembers": self.team_member_row, "Compliances": self.compliance_row, "Emoji": self.emoji_row,
            "OAuthAccessData": self.oauth_access_row, "OAuthApps": self.oauth_app_row, "OAuthAuthData": self.oauth_auth_row,
            "Preferences": self.preference_row, "Sessions": self.session_row, "Status": lambda: self.status_row(self.new_id()),
            "UserAccessTokens": self.token_row,
        }[table]
        row = dict(zip(COLUMNS[table], build()))
        if table == "Emoji":
            row["Name"] = f"emoji_{self.new_id()}"
        row.update(fk)
        return tuple(row[c] for c in COLUMNS[table])

    def add(self, table, row):
        self.rows[table].append(row)

    # ---- orphans ----

    def orphan(self, i, value, reported=True, part=0):
        """Queues a row that is valid but for relation i's foreign key, set to `value` (None: NULL)."""
        parent, child, fk, idcol, skip = RELATIONS[i]
        if child in STREAM_TABLES:
            self.stream_orphans[child].append((i, value, reported, part))
            return
        value = self.resolve(i, value)
        row = self.valid(child, **{fk: value})
        self.add(child, row)
        if reported:
            self.tracked[i].append((part, value, row[COLUMNS[child].index(idcol)] if idcol else None))

    def resolve(self, i, value):
        if value is FRESH:
            return self.new_id()
        if isinstance(value, Near):
            return self.near_miss(i, value.k)
        return value

    def stream_orphan_row(self, spec):
        i, value, reported, part = spec
        parent, child, fk, idcol, skip = RELATIONS[i]
        row = self.valid(child, **{fk: self.resolve(i, value)})
        if reported:
            self.tracked[i].append((part, row[COLUMNS[child].index(fk)], row[COLUMNS[child].index(idcol)] if idcol else None))
        return row

    def near_miss(self, i, k):
        """A real parent's id changed so that no parent matches it byte for byte."""
        parent = RELATIONS[i][0]
        pid = {"Channels": self.valid_channel, "Commands": lambda: self.choice(self.commands),
               "Posts": lambda: self.choice(self.post_sample)[0],
               "Teams": lambda: self.choice(self.teams), "Schemes": lambda: self.choice(self.schemes),
               "Sessions": lambda: self.choice(self.sessions), "Users": self.valid_user}[parent]()
        return [pid.upper(), pid[:25] + ALPHABET[ALPHABET.index(pid[25]) + 1], pid[:25], pid + " "][k % 4]

    def schedule_orphans(self):
        a = self.a
        if not a.no_orphans:
            for i, (parent, child, fk, idcol, skip) in enumerate(RELATIONS):
                if i == reference.TEAMS_CHANNELS:
                    continue
                for _ in range(a.orphans):
                    self.orphan(i, FRESH)
                self.orphan(i, Near(i))
                self.orphan(i, "", reported=not skip)
                if fk not in NOT_NULL[child]:
                    self.orphan(i, None, reported=not skip)
            # Teams -> Channels: (type, team, reported in part 0 or 1, or not).
            tc = reference.TEAMS_CHANNELS
            for kind, team, part in [("O", self.new_id(), 0), ("P", "", 0), ("O", None, 0), ("D", "", None), ("G", "", None),
                                     ("D", self.new_id(), 1), ("G", self.new_id(), 1), ("D", None, None), (None, self.new_id(), None)]:
                row = self.valid("Channels", TeamId=team, Type=kind)
                self.add("Channels", row)
                if part is not None:
                    self.tracked[tc].append((part, team, row[0]))
            m = a.many_orphans
            if m:
                # Reactions to posts deleted since: 1-4 reactions per post.
                left = m
                while left:
                    pid = self.new_id()
                    for emoji in EMOJI[: min(left, self.rng.randint(1, 4))]:
                        self.stream_orphans["Reactions"].append((REL["Reactions.PostId"], pid, True, 0, emoji))
                        left -= 1
                # Preferences of deleted users: ~30 each.
                left = m
                while left:
                    uid = self.new_id()
                    made = self.preferences(uid, limit=min(left, self.rng.randint(20, 40)))
                    self.tracked[REL["Preferences.UserId"]] += [(0, uid, None)] * made
                    left -= made
                self.deleted_teams = [self.new_id() for _ in range(3)]
        if a.bulk_orphans:
            i = REL[a.bulk_relation.lower()]
            child = RELATIONS[i][1]
            spec = (i, FRESH, True, 0)
            for _ in range(a.bulk_orphans):
                if child in STREAM_TABLES:
                    self.stream_orphans[child].append(spec)
                else:
                    self.orphan(i, FRESH)

    # ---- the stream: posts with their files and reactions, in time order ----

    def stream(self, db):
        a, n, rnd, choice = self.a, self.a.posts, self.random, self.choice
        lognorm = self.rng.lognormvariate
        channels = self.channels
        cum, s = [], 0.0
        for w in self.ch_weight:
            s += w
            cum.append(s)
        self.stats = {c: [0, 0, 0, 0] for c in channels}   # messages, root messages, last post, last root post
        self.threads = {}                                  # root id -> [replies, last reply, participants, channel, deleted]
        recent = {c: [] for c in channels}                 # recent root posts per channel
        active = {c: [] for c in channels}                 # its threads with replies, the liveliest last
        self.post_sample = []
        batch = 20_000
        n_batches = max(1, -(-n // batch))
        for t in STREAM_TABLES:
            self.rng.shuffle(self.stream_orphans[t])
        span = T1 - T0
        posted = 0
        for b in range(n_batches):
            lo, hi = b * batch, min(n, (b + 1) * batch)
            posts, files, reactions = [], [], []
            picks = self.choices(channels, cum_weights=cum, k=hi - lo)
            for k, ch in enumerate(picks):
                idx = lo + k
                t = T0 + int(span * ((idx + 0.5) / n) ** 0.75)
                pid = self.new_id()
                members = self.ch_members[ch]
                uid = choice(members)
                st = self.stats[ch]
                roots = recent[ch]
                root = ""
                if roots and rnd() < 0.33:  # a reply: mostly in a thread that is going on, else a new one
                    live = active[ch]
                    if live and rnd() < 0.75:
                        root = live[len(live) - 1 - int(len(live) * rnd() ** 2)]
                    else:
                        root = roots[len(roots) - 1 - int(len(roots) * rnd() ** 2)]
                        if root not in self.threads:
                            live.append(root)
                            if len(live) > 8:
                                live.pop(0)
                ptype, props, hashtags, file_ids = "", "{}", "", "[]"
                r = rnd()
                if not root and r < 0.06:  # system message
                    who = self.usernames[uid]
                    r2 = rnd()
                    if r2 < 0.5:
                        ptype, msg, props = "system_join_channel", f"{who} joined the channel.", J({"username": who})
                    elif r2 < 0.65:
                        other = choice(members)
                        ptype, msg = "system_add_to_channel", f"{self.usernames[other]} added to the channel by {who}."
                        props = J({"addedUserId": other, "addedUsername": self.usernames[other], "userId": uid, "username": who})
                    elif r2 < 0.8:
                        ptype, msg, props = "system_leave_channel", f"{who} left the channel.", J({"username": who})
                    elif r2 < 0.9:
                        header = self.text(self.rng.randint(10, 200))
                        ptype, msg = "system_header_change", f"{who} updated the channel header to: {header}"
                        props = J({"new_header": header, "old_header": "", "username": who})
                    else:
                        ptype, msg, props = "system_join_team", f"{who} joined the team.", J({"username": who})
                elif not root and r < 0.09:  # webhook or bot post with attachments
                    title = " ".join(self.choices(WORDS, k=5)).capitalize()
                    attachments = [{"id": 0, "fallback": title, "color": choice(["#FF8000", "#36a64f", "#d24b4e"]),
                                    "pretext": self.text(40), "author_name": choice(["Jenkins", "GitHub", "Grafana", "PagerDuty"]),
                                    "title": title, "title_link": f"https://ci.example.com/job/{choice(WORDS)}/{self.randrange(9999)}",
                                    "text": self.text(int(lognorm(math.log(250), 0.8)) + 1),
                                    "fields": [{"title": "Branch", "value": choice(["main", "release-9.5", "fix/" + choice(WORDS)]),
                                                "short": True},
                                               {"title": "Status", "value": choice(["passed", "failed", "unstable"]), "short": True}],
                                    "footer": "ci", "ts": t // 1000} for _ in range(1 if rnd() < 0.8 else 2)]
                    p = {"attachments": attachments, "from_webhook": "true", "override_username": attachments[0]["author_name"].lower()}
                    if rnd() < 0.4:
                        p = {"attachments": attachments, "from_bot": "true"}
                    msg, props = ("" if rnd() < 0.6 else self.text(60)), J(p)
                else:
                    msg = self.message()
                    r2 = rnd()
                    if r2 < 0.04:
                        props = '{"disable_group_highlight":true}'
                    elif r2 < 0.055:
                        props = J({"channel_mentions": {"town-square": {"display_name": "Town Square"}}})
                    elif r2 < 0.07:
                        prev = choice(self.post_sample)[0] if self.post_sample else pid
                        props = J({"previewed_post": prev})
                    if rnd() < 0.01:
                        tag = "#" + choice(WORDS[:300])
                        msg, hashtags = f"{msg} {tag}", tag
                    if rnd() < 0.07:
                        k_files = 1 if rnd() < 0.7 else self.rng.choice((2, 2, 3, 3, 4, 5))
                        fids = [self.new_id() for _ in range(k_files)]
                        file_ids = J(fids)
                        if rnd() < 0.3:
                            msg = ""
                        for fid in fids:
                            files.append(self.file_row(Id=fid, CreatorId=uid, PostId=pid, ChannelId=ch,
                                                       CreateAt=t - self.randrange(60_000)))
                edit = t + self.randrange(DAY) if rnd() < 0.03 else 0
                deleted = t + self.randrange(30 * DAY) if rnd() < 0.008 else 0
                update = max(t, edit, deleted)
                has_reactions = 0
                if rnd() < 0.12:
                    has_reactions = 1
                    seen = set()
                    for _ in range(1 if rnd() < 0.45 else self.rng.randint(2, 6)):
                        ru, emo = choice(members), choice(EMOJI)
                        if (ru, emo) in seen:
                            continue
                        seen.add((ru, emo))
                        rt = t + int(rnd() * 6 * 3_600_000)
                        update = max(update, rt)
                        reactions.append((ru, pid, emo, rt, rt, 0, "", ch))
                posts.append((pid, t, update, deleted, uid, ch, root, "", msg, ptype, props, hashtags, "[]", file_ids,
                              has_reactions, edit, int(rnd() < 0.003), None))
                st[0] += 1
                st[2] = t
                if root:
                    th = self.threads.get(root)
                    if th is None:
                        th = self.threads[root] = [0, 0, [self.root_author[root]], ch, self.root_deleted[root]]
                    th[0] += 1
                    th[1] = t
                    if uid not in th[2]:
                        th[2].append(uid)
                else:
                    st[1] += 1
                    st[3] = t
                    roots.append(pid)
                    if len(roots) > 30:  # old roots get no more replies
                        old = roots.pop(0)
                        del self.root_author[old], self.root_deleted[old]
                    self.root_author[pid] = uid
                    self.root_deleted[pid] = deleted
                if len(self.post_sample) < 10_000:
                    self.post_sample.append((pid, ch))
                elif self.randrange(idx + 1) < 10_000:
                    self.post_sample[self.randrange(10_000)] = (pid, ch)
            # This batch's share of the orphans, built now that real posts exist to hang them on.
            extra = {}
            for t, specs in self.stream_orphans.items():
                extra[t] = specs[len(specs) * b // n_batches:len(specs) * (b + 1) // n_batches]
            posts = self.scatter(posts, [self.stream_orphan_row(spec) for spec in extra["Posts"]])
            files = self.scatter(files, [self.stream_orphan_row(spec) for spec in extra["FileInfo"]])
            orphaned = []
            for spec in extra["Reactions"]:
                if len(spec) == 5:  # a deleted post's reaction
                    i, pid, _, _, emoji = spec
                    orphaned.append(self.valid("Reactions", PostId=pid, EmojiName=emoji))
                    self.tracked[i].append((0, pid, None))
                else:
                    orphaned.append(self.stream_orphan_row(spec))
            reactions = self.scatter(reactions, orphaned)
            db.executemany(INSERT["Posts"], posts)
            db.executemany(INSERT["FileInfo"], files)
            db.executemany(INSERT["Reactions"], reactions)
            self.counts["Posts"] += len(posts)
            self.counts["FileInfo"] += len(files)
            self.counts["Reactions"] += len(reactions)
            posted = hi
            if a.verbose:
                print(f"  {posted} posts", file=sys.stderr)

    def scatter(self, rows, extra):
        """`rows` with `extra` put in at random places (their order otherwise kept)."""
        if not extra:
            return rows
        at = sorted(self.randrange(len(rows) + 1) for _ in extra)
        out, k = [], 0
        for pos, row in zip(at, extra):
            out += rows[k:pos]
            out.append(row)
            k = pos
        out += rows[k:]
        return out

    # ---- the tables that need the posts' statistics ----

    def build_late(self):
        rnd, choice = self.random, self.choice
        for c in self.channels:
            created, name, display, creator, deleted = self.ch_meta[c]
            total, roots, last, last_root = self.stats[c]
            team, kind = self.ch_team[c], self.ch_type[c]
            header = self.text(self.rng.randint(5, 300)) if kind in "OP" and rnd() < 0.4 else ""
            purpose = self.text(self.rng.randint(5, 200)) if kind in "OP" and rnd() < 0.5 else ""
            scheme = choice(self.channel_schemes) if kind in "OP" and self.channel_schemes and rnd() < 0.02 else None
            self.add("Channels", (c, created, max(created, last, deleted), deleted, team, kind, display, name, header, purpose,
                                  last or created, total, 0, creator, scheme, 0, 0, roots, last_root, None, "", 0, 0))
            for u in self.ch_members[c]:
                viewed = self.when(max(created, last - 30 * DAY), max(created, last)) if total else created
                unread = self.randrange(3) if total and rnd() < 0.3 else 0
                admin = int(u == creator)
                self.add("ChannelMembers", (c, u, "", viewed, max(0, total - unread), self.randrange(3) if unread else 0, CHANNEL_NOTIFY,
                                            viewed, 1, admin, 0, 0, max(0, roots - unread), 0, 0, 0))
                self.add("ChannelMemberHistory", (c, u, self.when(created, created + 30 * DAY), None))
            if kind in "OP" and self.ch_team[c]:
                pool = self.team_members[team]
                for _ in range(len(self.ch_members[c]) // 6):
                    join = self.when(created, T1)
                    self.add("ChannelMemberHistory", (c, choice(pool), join, self.when(join, T1)))
        threads = REL["Threads.ThreadTeamId"]
        for root, (replies, last, people, ch, deleted) in self.threads.items():
            team = self.ch_team[ch]
            self.add("Threads", (root, replies, last, J(people), ch, deleted, team))
            if team == "":
                self.tracked[threads].append((0, "", root))  # Mattermost's check does not skip DM/GM threads' ''
        if self.a.many_orphans and not self.a.no_orphans:
            # Threads of channels that moved to a team deleted since: ThreadTeamId matches no team.
            rows = self.rows["Threads"]
            team_rows = [k for k, r in enumerate(rows) if r[6] and r[6] in self.team_members and r[0] in self.threads]
            picked = self.rng.sample(team_rows, min(len(team_rows), self.a.many_orphans))
            for k in picked:
                r = list(rows[k])
                r[6] = choice(self.deleted_teams)
                rows[k] = tuple(r)
                self.tracked[threads].append((0, r[6], r[0]))
            for _ in range(self.a.many_orphans - len(picked)):
                row = self.thread_row(ThreadTeamId=choice(self.deleted_teams))
                self.add("Threads", row)
                self.tracked[threads].append((0, row[6], row[0]))

    # ---- the run ----

    def insert(self, db, table):
        rows = self.rows[table]
        self.rng.shuffle(rows)
        for k in range(0, len(rows), 50_000):
            db.executemany(INSERT[table], rows[k:k + 50_000])
        self.counts[table] += len(rows)
        self.rows[table] = []

    def run(self):
        a = self.a
        started = time.monotonic()
        for p in (a.out, a.out + "-journal", a.out + ".expected.json"):
            if os.path.exists(p):
                os.remove(p)
        db = sqlite3.connect(a.out, isolation_level=None)
        db.executescript("PRAGMA page_size=4096; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
                         "PRAGMA cache_size=-1048576; PRAGMA temp_store=MEMORY;")
        db.execute("BEGIN")
        for ddl in DDL:
            db.execute(ddl)
        self.root_author, self.root_deleted = {}, {}
        self.post_sample = []
        self.build_people()
        self.build_channels()
        self.build_integrations()
        self.schedule_orphans()
        for t in SCHEMA:
            if t not in STREAM_TABLES and t not in LATE_TABLES:
                self.insert(db, t)
        self.stream(db)
        self.build_late()
        for t in LATE_TABLES:
            self.insert(db, t)
        if not a.no_fk_indexes:
            for name, table, cols in FK_INDEXES:
                db.execute(f'CREATE INDEX "{name}" ON "{table}" ({", ".join(chr(34) + c.strip() + chr(34) for c in cols.split(","))})')
        omitted = [t for t in a.omit_tables.split(",") if t]
        for t in omitted:
            db.execute(f'DROP TABLE "{t}"')
            self.counts.pop(t, None)
        db.execute("COMMIT")
        db.close()
        built = time.monotonic() - started

        db = sqlite3.connect(f"file:{a.out}?mode=ro", uri=True)
        results = reference.results(db)
        db.close()
        problems = self.compare(results, omitted)
        if problems:
            print(f"{a.out}: the database does not hold the orphans the generator made:", file=sys.stderr)
            for p in problems[:20]:
                print("  " + p, file=sys.stderr)
            sys.exit(1)
        counts = [len(r["data"]["records"]) for r in results]
        with open(a.out + ".expected.json", "w") as f:
            json.dump({"results": results, "counts": counts, "posts": a.posts, "rows": self.counts,
                       "generator": "realistic.py", "fk_indexes": not a.no_fk_indexes, "seed": a.seed}, f)
        size = os.path.getsize(a.out)
        print(f"{a.out}: {a.posts} posts, {sum(self.counts.values())} rows, {size / 1e6:.0f} MB "
              f"({size / max(1, a.posts):.0f} bytes/post), {sum(counts)} orphans expected, "
              f"{built:.0f} s to build, {time.monotonic() - started - built:.0f} s for Mattermost's SQL", file=sys.stderr)

    def compare(self, results, omitted):
        """Differences between Mattermost's SQL answer and the orphans the generator made."""
        def key(r):
            return (r[1] is not None, (r[1] or "").encode(), (r[2] or "").encode())
        problems = []
        for i, (parent, child, fk, idcol, skip) in enumerate(RELATIONS):
            made = [] if parent in omitted or child in omitted else self.tracked[i]
            want = [(p, c) for _, p, c in sorted((r for r in made if r[0] == 0), key=key)] + \
                   [(p, c) for _, p, c in sorted((r for r in made if r[0] == 1), key=key)]
            got = [(r["parent_id"], r["child_id"]) for r in results[i]["data"]["records"]]
            if got != want:
                want_set, got_set = set(want), set(got)
                extra = [g for g in got if g not in want_set][:3]
                missing = [w for w in want if w not in got_set][:3]
                problems.append(f"{child}.{fk} -> {parent}: SQL {len(got)}, made {len(want)}; only in SQL {extra}, only made {missing}")
        return problems


FRESH = object()  # an orphan's parent: a new id, drawn when the row is built


class Near:
    """An orphan's parent: a near miss of a real parent's id (variant k), drawn when the row is built."""
    def __init__(self, k):
        self.k = k


REL = {f"{child}.{fk}".lower(): i for i, (_, child, fk, _, _) in enumerate(RELATIONS)}
REL.update({f"{child}.{fk}": i for i, (_, child, fk, _, _) in enumerate(RELATIONS)})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-fk-indexes", action="store_true", help="leave out Mattermost's foreign-key indexes")
    ap.add_argument("--orphans", type=int, default=3, help="orphans with a missing parent in every relation")
    ap.add_argument("--many-orphans", type=int, default=12_000,
                    help="orphans in each of Teams->Threads, Posts->Reactions, Users->Preferences (0: none)")
    ap.add_argument("--bulk-orphans", type=int, default=0, help="extra orphans in one relation")
    ap.add_argument("--bulk-relation", default="Reactions.PostId", help="Child.Column of that relation")
    ap.add_argument("--no-orphans", action="store_true", help="no injected orphans (DM/GM threads still report '')")
    ap.add_argument("--omit-tables", default="", help="comma-separated tables to drop at the end")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    i = REL.get(a.bulk_relation.lower())
    if i is None:
        ap.error(f"--bulk-relation: no check reads {a.bulk_relation}")
    if i == reference.TEAMS_CHANNELS:
        ap.error("--bulk-relation: Channels.TeamId is not supported")
    unknown = [t for t in a.omit_tables.split(",") if t and t not in SCHEMA]
    if unknown:
        ap.error(f"--omit-tables: unknown {unknown}")
    Realistic(a).run()


if __name__ == "__main__":
    main()
