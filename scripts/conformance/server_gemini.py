#!/usr/bin/env python3
"""A Gemini API (generativelanguage v1beta) model server for gemini-cli.

The CLI, pointed here with GOOGLE_GEMINI_BASE_URL, calls
  POST /v1beta/models/<model>:streamGenerateContent?alt=sse   the conversation (SSE of
                                                              GenerateContentResponse JSON)
  POST /v1beta/models/<model>:generateContent                 side requests with a JSON schema
                                                              (next-speaker check, routing,
                                                              loop detection, summaries)
  POST /v1beta/models/<model>:countTokens                     token estimates (no usage)
The conversation is stateless: a request whose last user turn carries a functionResponse gets
the final answer, any other gets the scenario's tool call, so retries replay the same turn.

Usage is a formula of k, the number of the response (1, 2, … in the order the server answered,
side requests included): a conversation response has promptTokenCount 9000 + 100k,
cachedContentTokenCount 8192 once the conversation has a model turn (else 0),
candidatesTokenCount 10 + k and, when it calls a tool (with a thought part), thoughtsTokenCount
20; a side request promptTokenCount 700 + k, candidatesTokenCount 12 + k. totalTokenCount =
prompt + candidates + thoughts, as Google sends it. Each is logged with `usage_sent` in
gatehouse's convention: `input` promptTokenCount (cached included), `cached_input`
cachedContentTokenCount, `output` candidatesTokenCount + thoughtsTokenCount (Gemini counts
thoughts apart), `reasoning` thoughtsTokenCount.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# Cached input of every conversation request after the first (the prefix the API has seen).
CACHED_PREFIX = 8192
THOUGHTS = 20

MODEL_PATH = re.compile(r"^/(v1[a-z0-9]*)/models/([^:/?]+):([A-Za-z]+)")

# Google's own error bodies (google.rpc.Status in the `error` field).
AUTH_ERROR = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access "
                   "token, login cookie or other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "status": "UNAUTHENTICATED",
        "details": [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED",
            "metadata": {"service": "generativelanguage.googleapis.com",
                         "method": "google.ai.generativelanguage.v1beta.GenerativeService."
                                   "StreamGenerateContent"},
        }],
    }
}
SERVER_ERROR = {
    "error": {
        "code": 500,
        "message": "An internal error has occurred. Please retry or report in "
                   "https://developers.generativeai.google/guide/troubleshooting",
        "status": "INTERNAL",
    }
}


def declarations(body):
    """The function declarations the CLI sent, by name."""
    found = {}
    for tool in body.get("tools") or []:
        for decl in tool.get("functionDeclarations") or []:
            found[decl.get("name")] = decl
    return found


def properties(decl):
    schema = decl.get("parametersJsonSchema") or decl.get("parameters") or {}
    return schema.get("properties") or {}


def pick(props, *names):
    """The first of `names` the declaration has (the CLI's parameter names change over time)."""
    for name in names:
        if name in props:
            return name
    return names[0]


def last_turn_answers_a_call(body):
    contents = body.get("contents") or []
    if not contents:
        return False
    return any("functionResponse" in part for part in contents[-1].get("parts") or [])


class Handler(common.ModelHandler):
    def route(self, body):
        match = MODEL_PATH.match(self.path)
        if self.command != "POST" or not match:
            self.send_json(404, {"error": {"code": 404, "message": f"no route {self.path}",
                                           "status": "NOT_FOUND"}})
            return
        model, method = match.group(2), match.group(3)
        scenario = self.args.scenario
        if method == "countTokens":
            self.send_json(200, {"totalTokens": max(1, len(json.dumps(body)) // 4)})
            return
        if scenario == "auth":
            self.send_json(401, AUTH_ERROR)
            return
        if scenario == "server-error":
            self.send_json(500, SERVER_ERROR)
            return
        if method == "generateContent":
            self.side_request(model, body)
        elif method == "streamGenerateContent":
            self.conversation(model, body)
        else:
            self.send_json(404, {"error": {"code": 404, "message": f"no method {method}",
                                           "status": "NOT_FOUND"}})

    # -- the conversation ---------------------------------------------------------------------

    def conversation(self, model, body):
        turn = self.next_turn()
        if last_turn_answers_a_call(body) and self.args.scenario != "max-turns":
            target = self.args.scope_file if self.args.scenario == "scope" else self.args.file
            parts = [{"text": f"I updated {target}."}]
            self.stream(model, body, parts, turn, thoughts=0)
            return
        call = self.tool_call(body)
        parts = [
            {"text": "**Planning the edit**\nI will change the signature.", "thought": True},
            {"functionCall": call},
        ]
        self.stream(model, body, parts, turn, thoughts=THOUGHTS)

    def tool_call(self, body):
        """The scenario's call, with the parameter names of the CLI's declarations; paths in
        the worktree are relative (the CLI resolves them against its working directory)."""
        decls = declarations(body)
        scenario = self.args.scenario
        if scenario == "max-turns":
            decl = decls.get("read_file", {})
            props = properties(decl)
            return {"name": "read_file",
                    "args": {pick(props, "file_path", "absolute_path", "path"):
                             self.args.file}}
        if scenario == "outside":
            decl = decls.get("write_file", {})
            props = properties(decl)
            return {"name": "write_file",
                    "args": {pick(props, "file_path", "absolute_path", "path"):
                             self.args.outside_path,
                             pick(props, "content"): "written from outside the worktree\n"}}
        target = self.args.scope_file if scenario == "scope" else self.args.file
        if scenario == "scope" or "replace" not in decls:
            decl = decls.get("write_file", {})
            props = properties(decl)
            return {"name": "write_file",
                    "args": {pick(props, "file_path", "absolute_path", "path"):
                             target,
                             pick(props, "content"): f"{self.args.new}\n    return name\n"}}
        props = properties(decls["replace"])
        args = {
            pick(props, "file_path", "absolute_path", "path"): target,
            pick(props, "old_string", "old_str"): self.args.old,
            pick(props, "new_string", "new_str"): self.args.new,
        }
        if "instruction" in props:
            args["instruction"] = "Annotate the signature of greet."
        return {"name": "replace", "args": args}

    def stream(self, model, body, parts, turn, thoughts):
        prompt = 9000 + 100 * turn
        # The API caches the prefix of a conversation it has seen before.
        seen = any(c.get("role") == "model" for c in body.get("contents") or [])
        cached = CACHED_PREFIX if seen else 0
        candidates = 10 + turn
        usage = {
            "promptTokenCount": prompt,
            "cachedContentTokenCount": cached,
            "candidatesTokenCount": candidates,
            "thoughtsTokenCount": thoughts,
            "totalTokenCount": prompt + candidates + thoughts,
        }
        self.start_sse()
        # One chunk per part, each with the usage so far, as the API streams it (the prompt on
        # every chunk, the candidates growing); the last chunk's usage is the response's.
        for i, part in enumerate(parts):
            so_far = dict(usage, candidatesTokenCount=candidates * (i + 1) // len(parts))
            so_far["totalTokenCount"] = prompt + so_far["candidatesTokenCount"] + thoughts
            for key in ("cachedContentTokenCount", "thoughtsTokenCount"):
                if not so_far[key]:
                    del so_far[key]
            chunk = {
                "candidates": [{"content": {"role": "model", "parts": [part]}, "index": 0}],
                "usageMetadata": so_far,
                "modelVersion": model,
                "responseId": f"resp-{turn}",
            }
            if i == len(parts) - 1:
                chunk["candidates"][0]["finishReason"] = "STOP"
            self.sse(chunk)
        self.usage_sent(input=prompt, cached_input=cached, output=candidates + thoughts,
                        reasoning=thoughts)

    # -- side requests (generateContent with a JSON schema) -----------------------------------

    def side_request(self, model, body):
        config = body.get("generationConfig") or {}
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        if schema:
            text = json.dumps(answer(schema))
        else:
            text = "A short summary."
        turn = self.next_turn()
        prompt = 700 + turn
        candidates = 12 + turn
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": candidates,
                 "totalTokenCount": prompt + candidates}
        self.send_json(200, {
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": usage,
            "modelVersion": model,
            "responseId": f"side-{turn}",
        })
        self.usage_sent(input=prompt, cached_input=0, output=candidates, reasoning=0)


def answer(schema):
    """A value that fits `schema`, choosing the answers that let the session end normally (the
    user speaks next, no loop, the cheap model)."""
    kind = (schema.get("type") or "object").lower()
    if "enum" in schema:
        for preferred in ("user", "flash", "false"):
            if preferred in schema["enum"]:
                return preferred
        return schema["enum"][0]
    if kind == "object":
        return {name: answer(sub) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return []
    if kind == "boolean":
        return False
    if kind in ("number", "integer"):
        return schema.get("minimum", 1)
    return "ok"


if __name__ == "__main__":
    common.main(Handler)
