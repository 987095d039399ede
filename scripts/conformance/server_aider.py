#!/usr/bin/env python3
"""The model server aider talks to: OpenAI Chat Completions (`POST /v1/chat/completions`, JSON
or SSE when `stream` is true, with a final usage chunk when `stream_options.include_usage`).

aider has no tools: the model answers in the edit format aider's system prompt describes. This
server reads that prompt and answers like a model would:
  - "whole" (aider's default for models it does not know): the file path on a line, then the
    whole new file in a fence;
  - "diff" (SEARCH/REPLACE blocks, e.g. with --edit-format diff or a known OpenAI model).
A model cannot edit a file it has not seen: while the file (--file in `ok`, --scope-file in
`scope`) is not in the chat, the answer asks for it by name (aider adds the files its model
mentions, with --yes-always); then comes the edit; any request after that gets a plain answer.
`outside` answers at once with an edit block for --outside-path (outside the repository, so
aider cannot add it to the chat).

Usage is OpenAI's shape (`prompt_tokens` includes the cached tokens), plus DeepSeek's
`prompt_cache_hit_tokens` / `prompt_cache_miss_tokens` (an OpenAI-compatible server that does
report caching the way aider reads it; aider ignores `prompt_tokens_details`).
"""

import json
import re
import time

import common

AUTH_ERROR = {
    "error": {
        "message": "Incorrect API key provided: sk-gate***********ance. You can find your API "
        "key at https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}
SERVER_ERROR = {
    "error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}
# The line `scope` and `outside` write.
MARK = "# written by the conformance server\n"
# Cached prompt tokens in every answer (aider's long system prompt is a cacheable prefix); below
# 1000, the one range in which aider prints a token count unrounded.
CACHED = 384


def edit_format(messages):
    system = "\n".join(m.get("content") or "" for m in messages if m.get("role") == "system")
    if "SEARCH/REPLACE" in system:
        return "diff"
    return "whole"


def text_of(message):
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def file_in_chat(messages, path):
    """The contents aider showed of `path` (its latest copy), or None when it did not."""
    found = None
    for message in messages:
        if message.get("role") != "user":
            continue
        lines = text_of(message).split("\n")
        for i, line in enumerate(lines[:-1]):
            opening = re.fullmatch(r"(`{3,})\w*", lines[i + 1])
            if line.strip() != path or not opening:
                continue
            closing = opening.group(1)
            end = next((j for j in range(i + 2, len(lines)) if lines[j] == closing), None)
            if end is not None:
                found = "\n".join(lines[i + 2:end]) + "\n"
    return found


def edit_block(fmt, path, old, new, content):
    """One edit of `path`: `old` → `new` (SEARCH/REPLACE), or `content` with it (whole)."""
    if fmt == "diff":
        return (f"{path}\n```\n<<<<<<< SEARCH\n{old}=======\n{new}>>>>>>> REPLACE\n```\n")
    return f"{path}\n```\n{content}```\n"


class Handler(common.ModelHandler):
    def route(self, body):
        path = self.path.split("?")[0]
        if self.command != "POST" or not path.endswith("/chat/completions"):
            self.send_json(404, {"error": {"message": f"no route {self.command} {path}",
                                           "type": "invalid_request_error"}})
            return
        scenario = self.args.scenario
        if scenario == "auth":
            self.send_json(401, AUTH_ERROR)
            return
        if scenario == "server-error":
            self.send_json(500, SERVER_ERROR)
            return
        turn = self.next_turn()
        reply = self.answer(body.get("messages") or [])
        self.respond(body, reply, turn)

    def answer(self, messages):
        args = self.args
        fmt = edit_format(messages)
        if args.scenario == "outside":
            # A path aider cannot add to the chat: the edit block comes at once.
            target = args.outside_path
            if any(m.get("role") == "assistant" and target in text_of(m) for m in messages):
                return f"I could not write {target}."
            return "I will write the file.\n\n" + edit_block(fmt, target, "", MARK, MARK)
        # ok, scope (and max-turns, which aider has no limit for: the same conversation)
        target = args.scope_file if args.scenario == "scope" else args.file
        content = file_in_chat(messages, target)
        if content is None:
            return f"To make this change I need to edit {target}. Please add it to the chat."
        if args.scenario == "scope":
            if MARK in content:
                return f"{target} is changed."
            first = content.split("\n", 1)[0] + "\n"
            old, new, edited = first, first + MARK, content.replace(first, first + MARK, 1)
        else:
            old, new = args.old + "\n", args.new + "\n"
            if old not in content:
                return f"The function in {target} is annotated now."
            edited = content.replace(old, new, 1)
        return "I will make the change.\n\n" + edit_block(fmt, target, old, new, edited)

    def usage(self, body, reply):
        prompt = max(1, len(json.dumps(body.get("messages") or [])) // 4)
        completion = max(1, len(reply) // 4)
        cached = min(CACHED, prompt // 2)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
            "prompt_cache_hit_tokens": cached,
            "prompt_cache_miss_tokens": prompt - cached,
        }

    def log_usage(self, usage):
        self.usage_sent(input=usage["prompt_tokens"],
                        cached_input=usage["prompt_tokens_details"]["cached_tokens"],
                        output=usage["completion_tokens"],
                        reasoning=usage["completion_tokens_details"]["reasoning_tokens"])

    def respond(self, body, reply, turn):
        model = body.get("model") or "conformance"
        ident = f"chatcmpl-conformance-{turn}"
        created = int(time.time())
        usage = self.usage(body, reply)
        if not body.get("stream"):
            self.log_usage(usage)
            self.send_json(200, {
                "id": ident, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": reply}}],
                "usage": usage,
            })
            return
        self.start_sse()
        base = {"id": ident, "object": "chat.completion.chunk", "created": created,
                "model": model}
        pieces = [reply[i:i + 40] for i in range(0, len(reply), 40)]
        self.sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                       "finish_reason": None}]})
        for piece in pieces:
            self.sse({**base, "choices": [{"index": 0, "delta": {"content": piece},
                                           "finish_reason": None}]})
        self.sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        # Without include_usage a stream carries no usage (aider then estimates its own).
        if (body.get("stream_options") or {}).get("include_usage"):
            self.log_usage(usage)
            self.sse({**base, "choices": [], "usage": usage})
        self.sse("[DONE]")


if __name__ == "__main__":
    common.main(Handler)
