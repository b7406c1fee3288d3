#!/usr/bin/env python3
"""Fairness benchmark parts (run by bench/fairness.sh).

  fairness.py attack SOCKET CONNS SECONDS   slow connections (slowloris): each sends a request
                                            head one byte every 2 s and never ends it; a closed or
                                            refused one is reopened at once. Prints a JSON summary.
  fairness.py measure SOCKET COUNT           COUNT sequential requests, one connection each
                                            (mmctl's pattern), GET /api/v4/server_busy; prints JSON
                                            with p50/p99/max latency in ms and the status counts.
"""
import json
import selectors
import socket
import sys
import time

HEAD = b"GET /api/v4/system/ping HTTP/1.1\r\nHost: _\r\nX-Slow: "


def attack(path, conns, seconds):
    sel = selectors.DefaultSelector()
    opened = refused = closed = 0
    socks = {}

    def open_one():
        nonlocal opened
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            s.close()
            return
        opened += 1
        socks[s] = 0
        sel.register(s, selectors.EVENT_READ)

    for _ in range(conns):
        open_one()
    end = time.monotonic() + seconds
    next_drip = time.monotonic()
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 503"):
                refused += 1
            else:
                closed += 1
            sel.unregister(s)
            socks.pop(s, None)
            s.close()
        while len(socks) < conns and time.monotonic() < end:
            open_one()
            if len(socks) < conns and opened % 50 == 0:
                time.sleep(0.01)  # reconnect storms stay bounded
        if time.monotonic() >= next_drip:
            next_drip += 2.0
            for s in list(socks):
                sent = socks[s]
                try:
                    s.send(HEAD[sent:sent + 1] if sent < len(HEAD) else b"a")
                    socks[s] = sent + 1
                except OSError:
                    pass
    held = len(socks)
    print(json.dumps({"held_at_end": held, "opened": opened, "refused_503": refused, "closed_by_daemon": closed}))


def measure(path, count):
    lat = []
    statuses = {}
    for _ in range(count):
        t0 = time.perf_counter()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(b"GET /api/v4/server_busy HTTP/1.1\r\nHost: _\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        lat.append((time.perf_counter() - t0) * 1000)
        status = data[9:12].decode() if len(data) >= 12 else "none"
        statuses[status] = statuses.get(status, 0) + 1
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(len(lat) * p))], 3)

    print(json.dumps({"count": count, "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(lat[-1], 3), "status": statuses}))


if __name__ == "__main__":
    if sys.argv[1] == "attack":
        attack(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        measure(sys.argv[2], int(sys.argv[3]))
