"""Shared parts of the conformance model servers: a loopback HTTP server that plays one scripted
conversation, records every request and the usage it reported, and writes its port to a file.

Each `server_<agent>.py` defines a `Handler(common.ModelHandler)` with `route(self, body)` and
calls `common.main(Handler)`. Standard library only: the servers run before anything else is
installed, and no request ever leaves the machine.
"""

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The scripted conversations every server plays (`--scenario`):
#   ok           one tool call that applies the edit (--file, --old, --new), then a final answer
#   outside      one tool call that writes --outside-path (a file outside the worktree), then a
#                final answer; the run must not leave that file behind
#   scope        like ok, but edits --scope-file (a file the task's scope does not allow)
#   auth         every request answered 401 with the provider's error body
#   server-error every request answered 500 with the provider's error body
#   max-turns    a tool call (read a file) on every request, never a final answer
SCENARIOS = ("ok", "outside", "scope", "auth", "server-error", "max-turns")


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=SCENARIOS, default="ok")
    parser.add_argument("--port-file", required=True, help="written with the port once listening")
    parser.add_argument("--log", required=True, help="JSONL: every request and the usage sent")
    parser.add_argument("--file", default="hello.py", help="the file the ok scenario edits")
    parser.add_argument("--old", default="def greet(name):")
    parser.add_argument("--new", default="def greet(name: str) -> str:")
    parser.add_argument("--scope-file", default="other.py")
    parser.add_argument("--outside-path", default="/tmp/gatehouse-conformance-outside.txt")
    return parser.parse_args()


class ModelHandler(BaseHTTPRequestHandler):
    """Subclasses implement `route(body)`; `self.args` holds the parsed options."""

    args = None
    lock = threading.Lock()
    # How many model requests have been answered, across connections.
    turns = 0

    def log_message(self, fmt, *values):  # noqa: D401 - quiet: the JSONL log says it all
        pass

    def record(self, entry):
        with self.lock, open(self.args.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")

    def next_turn(self):
        with self.lock:
            type(self).turns += 1
            return type(self).turns

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding") == "zstd":
            raise RuntimeError("zstd request bodies are not supported; disable compression")
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}

    def usage_sent(self, **tokens):
        """Records the usage this response reports (input, cached_input, output, reasoning)."""
        self.record({"usage": tokens, "path": self.path})

    def send_json(self, status, payload, headers=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def sse(self, data, event=None):
        chunk = ""
        if event:
            chunk += f"event: {event}\n"
        chunk += f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"
        self.wfile.write(chunk.encode())
        self.wfile.flush()

    def handle_any(self):
        body = self.read_body() if self.command == "POST" else {}
        self.record({"request": {"method": self.command, "path": self.path, "body": body}})
        try:
            self.route(body)
        except BrokenPipeError:
            pass

    do_GET = handle_any
    do_POST = handle_any

    def route(self, body):
        raise NotImplementedError


def main(handler):
    args = parse_args()
    handler.args = args
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
