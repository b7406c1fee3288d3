#!/usr/bin/env python3
"""Man pages from the argument parser's own description of the commands
(`--experimental-dump-help`, swift-argument-parser's ToolInfo JSON): stewardctl(1) with every
subcommand, stewardd(8).

    packaging/manpages.py STEWARDCTL STEWARDD VERSION MAN_DIR      (run by scripts/package)
"""
import json
import os
import subprocess
import sys


def roff(text):
    """Text as roff: backslashes doubled, a leading dot or quote escaped, dashes kept literal."""
    out = []
    for line in (text or "").replace("\\", "\\\\").replace("-", "\\-").split("\n"):
        if line[:1] in (".", "'"):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def names(arg):
    parts = []
    for n in arg.get("names", []):
        parts.append(("-" if n["kind"] == "short" else "--") + n["name"])
    return ", ".join(parts)


def arguments(cmd, skip=("help", "version")):
    lines = []
    for arg in cmd.get("arguments", []):
        if not arg.get("shouldDisplay", True) or any(n["name"] in skip for n in arg.get("names", [])):
            continue
        if arg["kind"] == "positional":
            head = f"\\fI{arg.get('valueName', 'value')}\\fR"
        else:
            head = f"\\fB{roff(names(arg))}\\fR"
            if arg["kind"] == "option":
                head += f" \\fI{roff(arg.get('valueName', 'value'))}\\fR"
        text = roff(arg.get("abstract", ""))
        if arg.get("defaultValue") not in (None, "", "false"):
            text += f" (default: {roff(str(arg['defaultValue']))})"
        lines += [".TP", head, text]
    return lines


def walk(cmd, path):
    """Every leaf command under `cmd`, with its full name."""
    subs = cmd.get("subcommands", [])
    if not subs:
        yield path, cmd
    for s in subs:
        if s["commandName"] == "help":
            continue
        yield from walk(s, path + [s["commandName"]])


def page(tool, section, version, info, title):
    root = info["command"]
    name = root["commandName"]
    lines = [f'.TH {name.upper()} {section} "" "steward {version}" "{title}"', ".SH NAME", f"{name} \\- {roff(root.get('abstract', ''))}"]
    subs = [(p, c) for p, c in walk(root, [name])] if root.get("subcommands") else []
    lines += [".SH SYNOPSIS", f"\\fB{name}\\fR " + ("\\fIcommand\\fR [\\fIoptions\\fR]" if subs else "[\\fIoptions\\fR]")]
    if root.get("discussion"):
        lines += [".SH DESCRIPTION", roff(root["discussion"])]
    if subs:
        lines.append(".SH COMMANDS")
        for path, cmd in subs:
            lines += [".SS " + roff(" ".join(path)), roff(cmd.get("abstract", ""))]
            if cmd.get("discussion"):
                lines += [".PP", roff(cmd["discussion"])]
            lines += arguments(cmd)
    else:
        lines.append(".SH OPTIONS")
        lines += arguments(root)
    lines += [".SH FILES", "/etc/steward/config.json, /run/steward/steward.sock, /run/steward/steward-ops.sock, /var/lib/steward",
              ".SH SEE ALSO", "stewardctl(1), stewardd(8), steward.conf(5), /usr/share/doc/steward/README.md"]
    return "\n".join(lines) + "\n"


def main():
    stewardctl, stewardd, version, man = sys.argv[1:5]
    for tool, section, title in ((stewardctl, "1", "User Commands"), (stewardd, "8", "System Administration")):
        info = json.loads(subprocess.run([tool, "--experimental-dump-help"], check=True, capture_output=True, text=True).stdout)
        name = info["command"]["commandName"]
        with open(os.path.join(man, f"man{section}", f"{name}.{section}"), "w") as f:
            f.write(page(tool, section, version, info, title))


if __name__ == "__main__":
    main()
