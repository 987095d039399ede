#!/usr/bin/env python3
"""The Anthropic Messages API, as much of it as Claude Code needs for one scripted conversation.

POST /v1/messages streams Server-Sent Events like api.anthropic.com does (`message_start` with the
input-side usage and a placeholder `output_tokens`, content blocks with text or `input_json_delta`
tool input, `message_delta` with the stop reason and the final usage, `message_stop`). The tools
called are the ones Claude Code sent in the request (`Read`, `Edit`, `Write` with their input
schema: file_path, old_string, new_string / content).

Claude Code refuses an Edit (or a Write over an existing file) of a file it has not read in this
session, so `ok` is: Read hello.py, Edit it, a final text; `scope`: Read the scope file, Write it,
a final text; `outside`: Write the outside path (a new file), a final text; `max-turns`: Read, on
every request. The next step is chosen from the conversation itself (the tool results in the
request), not from a request counter, so retries and side requests do not shift it.

Side requests: any request without Claude Code's tools (2.1.197 asks for a session title unless
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC is set, which gatehouse sets) gets a short text answer,
logged with its usage like the main ones: Claude Code counts it in `result.modelUsage`, not in
`result.usage`, and the conformance check compares gatehouse's figure with the sum of every
`usage` entry here, so a side request gatehouse missed shows up as a mismatch.

Usage logged per response (`usage_sent`), in gatehouse's terms so that the driver can compare
sums directly: input = every input token (Anthropic's uncached `input_tokens` +
`cache_read_input_tokens` + `cache_creation_input_tokens`), cached_input =
`cache_read_input_tokens`, output = `output_tokens`; plus, for the record, the raw
`uncached_input` and `cache_creation`.

Errors: `auth` answers 401 `authentication_error`, `server-error` 500 `api_error` (or the status in
$CONFORMANCE_ERROR_STATUS, e.g. 529 `overloaded_error`, used to capture the stand-in's fixture).
Claude Code retries both (CLAUDE_CODE_MAX_RETRIES, default 10, with backoff).

Other endpoints: HEAD / (Claude Code pre-connects when it may send side requests) is 200; POST
/v1/messages/count_tokens answers a token estimate (no usage: nothing is generated or billed); GET
/v1/models lists one model; anything else is a 404 in Anthropic's error shape.
"""

import json
import os
import sys
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import common  # noqa: E402

MODEL = "claude-sonnet-4-5-20250929"
FINAL_TEXT = "Done: hello.py now has type annotations."


def error_body(kind, message):
    return {"type": "error", "error": {"type": kind, "message": message},
            "request_id": "req_conformance"}


class Handler(common.ModelHandler):
    def do_HEAD(self):  # noqa: N802 - Claude Code pre-connects with HEAD /
        self.record({"request": {"method": "HEAD", "path": self.path}})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def route(self, body):
        path = self.path.split("?", 1)[0]
        if self.command == "GET" and path in ("/v1/models", "/v1/models/"):
            self.send_json(200, {"data": [{"type": "model", "id": MODEL,
                                           "display_name": "Conformance",
                                           "created_at": "2025-09-29T00:00:00Z"}],
                                 "has_more": False, "first_id": MODEL, "last_id": MODEL})
            return
        if self.command == "POST" and path == "/v1/messages/count_tokens":
            self.send_json(200, {"input_tokens": max(1, len(json.dumps(body)) // 4)})
            return
        if self.command != "POST" or path != "/v1/messages":
            self.send_json(404, error_body("not_found_error", f"no route {self.command} {path}"))
            return
        scenario = self.args.scenario
        if scenario == "auth":
            self.send_json(401, error_body("authentication_error", "invalid x-api-key"))
            return
        if scenario == "server-error":
            status = int(os.environ.get("CONFORMANCE_ERROR_STATUS", "500"))
            if status == 529:
                self.send_json(529, error_body("overloaded_error", "Overloaded"))
            else:
                self.send_json(status, error_body("api_error", "Internal server error"))
            return
        tools = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
        turn = self.next_turn()
        if not {"Read", "Edit", "Write"} <= tools:
            self.answer(body, turn, [("text", "Conformance run")], side=True)
            return
        self.answer(body, turn, self.plan(body))

    # ---- the scripted conversation ----

    def plan(self, body):
        """The content blocks of the next answer, from the tool results in the conversation."""
        done = tool_results(body)
        scenario = self.args.scenario
        cwd = working_directory(body)
        if scenario == "max-turns":
            return [("tool_use", "Read", {"file_path": os.path.join(cwd, self.args.file)})]
        if scenario == "outside":
            if "Write" in done:
                return [("text", FINAL_TEXT)]
            return [("tool_use", "Write", {"file_path": self.args.outside_path,
                                           "content": "written from outside the worktree\n"})]
        if scenario == "scope":
            # The scope file's content is not known here: overwrite it (after reading it, which
            # Claude Code requires before a Write to an existing file too).
            path = os.path.join(cwd, self.args.scope_file)
            if "Write" in done:
                return [("text", FINAL_TEXT)]
            if "Read" in done:
                return [("tool_use", "Write", {"file_path": path,
                                               "content": "# changed outside the scope\n"})]
            return [("tool_use", "Read", {"file_path": path})]
        path = os.path.join(cwd, self.args.file)
        if "Edit" in done:
            return [("text", FINAL_TEXT)]
        if "Read" in done:
            return [("tool_use", "Edit", {"file_path": path, "old_string": self.args.old,
                                          "new_string": self.args.new})]
        return [("tool_use", "Read", {"file_path": path})]

    # ---- the wire format ----

    def answer(self, body, turn, blocks, side=False):
        usage = {
            "input_tokens": 100 + turn,
            "cache_creation_input_tokens": 0 if side else 1000 + 10 * turn,
            "cache_read_input_tokens": 0 if side else 2000 * (turn - 1),
        }
        output = 20 + 7 * turn
        message_id = f"msg_conformance_{turn:03d}"
        model = body.get("model") or MODEL
        self.record({"turn": turn, "side": side, "blocks": [b[:2] for b in blocks]})
        self.start_sse()
        self.sse({"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1, "service_tier": "standard"}}},
            event="message_start")
        self.sse({"type": "ping"}, event="ping")
        stop = "end_turn"
        for index, block in enumerate(blocks):
            if block[0] == "text":
                self.sse({"type": "content_block_start", "index": index,
                          "content_block": {"type": "text", "text": ""}},
                         event="content_block_start")
                text = block[1]
                for start in range(0, len(text), 16):
                    self.sse({"type": "content_block_delta", "index": index,
                              "delta": {"type": "text_delta", "text": text[start:start + 16]}},
                             event="content_block_delta")
            else:
                _, name, tool_input = block
                stop = "tool_use"
                self.sse({"type": "content_block_start", "index": index,
                          "content_block": {"type": "tool_use",
                                            "id": f"toolu_{uuid.uuid4().hex[:24]}",
                                            "name": name, "input": {}}},
                         event="content_block_start")
                raw = json.dumps(tool_input)
                for start in range(0, len(raw), 24):
                    self.sse({"type": "content_block_delta", "index": index,
                              "delta": {"type": "input_json_delta",
                                        "partial_json": raw[start:start + 24]}},
                             event="content_block_delta")
            self.sse({"type": "content_block_stop", "index": index}, event="content_block_stop")
        self.sse({"type": "message_delta",
                  "delta": {"stop_reason": stop, "stop_sequence": None},
                  "usage": {**usage, "output_tokens": output}}, event="message_delta")
        self.sse({"type": "message_stop"}, event="message_stop")
        self.usage_sent(input=sum(usage.values()),
                        cached_input=usage["cache_read_input_tokens"],
                        output=output,
                        uncached_input=usage["input_tokens"],
                        cache_creation=usage["cache_creation_input_tokens"],
                        side=side, model=model)


def tool_results(body):
    """Names of the tools whose results the conversation holds (matched through tool_use ids)."""
    names, done = {}, set()
    for message in body.get("messages") or []:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                names[block.get("id")] = block.get("name")
            elif block.get("type") == "tool_result" and block.get("tool_use_id") in names:
                done.add(names[block["tool_use_id"]])
    return done


def working_directory(body):
    """Claude Code's working directory, from the environment section of its system prompt."""
    system = body.get("system")
    texts = [system] if isinstance(system, str) else [
        b.get("text", "") for b in system or [] if isinstance(b, dict)]
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(b.get("text", "") for b in content if isinstance(b, dict))
    for text in texts:
        for line in text.splitlines():
            line = line.strip().lstrip("-* ").strip()
            for prefix in ("Primary working directory:", "Working directory:"):
                if line.startswith(prefix):
                    return line[len(prefix):].strip()
    return os.getcwd()


if __name__ == "__main__":
    common.main(Handler)
