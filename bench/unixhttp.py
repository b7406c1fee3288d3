"""HTTP/1.1 over a Unix socket for the Python benchmarks: a keep-alive connection and one call."""
import http.client
import json
import socket


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("_")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(conn, method, path, body=None):
    """`method` `/api/v4` + `path`; the status and the decoded JSON body (None when empty)."""
    conn.request(method, "/api/v4" + path, body=body, headers={"Content-Type": "application/json"} if body else {})
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data and r.getheader("Content-Type", "").startswith("application/json") else (data or None)
