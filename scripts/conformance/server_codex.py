#!/usr/bin/env python3
"""The conformance model server for codex: the OpenAI Responses API, streamed (SSE).

codex (0.171) talks to a custom provider's `base_url` with `POST {base_url}/responses` (`stream:
true`, `wire_api = "responses"`) and reads `response.created`, `response.output_item.done` and
`response.completed` (whose `response.usage` it turns into `turn.completed.usage` and the
rollout's `token_count`). It declares `apply_patch` as a FREEFORM (`"type": "custom"`) tool for
models it knows (e.g. gpt-5.5), so the edit is a `custom_tool_call` whose `input` is the patch.
Errors are plain JSON bodies with the HTTP status, as api.openai.com sends them.

Which answer a request gets depends on the request, not on a counter, so that codex's own
retries replay the same step: no tool output in `input` yet -> the scenario's tool call; a tool
output present -> the final answer.
"""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# What each streamed response reports. cache_write_tokens is the Responses API's prompt-cache
# write count (part of input_tokens, like cached_tokens). The two add up to the stand-in's
# defaults (24763 input, 24448 cached, 122 output, 64 reasoning), so a capture of the ok
# scenario replays as tests/stand-ins/codex's `ok`.
USAGE = {
    1: {"input": 12000, "cached": 11800, "cache_write": 150, "output": 97, "reasoning": 56},
    2: {"input": 12763, "cached": 12648, "cache_write": 0, "output": 25, "reasoning": 8},
}

# Not a scenario of the suite: CODEX_SERVER_FAIL_AFTER=N answers 500 once N responses were
# streamed, for capturing a turn that fails after it used tokens (the stand-in's `midfail`).
FAIL_AFTER = int(os.environ["CODEX_SERVER_FAIL_AFTER"]) if os.environ.get("CODEX_SERVER_FAIL_AFTER") else None

AUTH_ERROR = {
    "error": {
        "message": "Incorrect API key provided: conforma*****-key. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
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


class Handler(common.ModelHandler):
    def route(self, body):
        path = self.path.split("?")[0]
        if self.command == "GET":
            # A models list, should codex ask for one (it does not for a custom base_url).
            if path.endswith("/models"):
                self.send_json(200, {"object": "list", "data": [{"id": "gpt-5.5", "object": "model",
                                                                 "owned_by": "conformance"}]})
            else:
                self.send_json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        if not path.endswith("/responses"):
            self.send_json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        scenario = self.args.scenario
        if FAIL_AFTER is not None and type(self).turns >= FAIL_AFTER:
            scenario = "server-error"
        if scenario == "auth":
            self.send_json(401, AUTH_ERROR)
            return
        if scenario == "server-error":
            self.send_json(500, SERVER_ERROR)
            return
        step = 2 if has_tool_output(body) else 1
        if scenario == "max-turns":
            step = 1  # never a final answer (codex has no turn limit; not in its scenarios)
        turn = self.next_turn()
        if step == 1:
            item = self.tool_call(scenario, turn, declared_tools(body))
        else:
            item = message_item(turn, f"Updated {self.args.file}.")
        self.stream(turn, item, USAGE[step])

    def tool_call(self, scenario, turn, tools):
        args = self.args
        if scenario == "outside" and os.environ.get("CODEX_SERVER_OUTSIDE_SHELL"):
            # Not the suite's form: the same write through the shell tool (stand-in `refused-shell`).
            return function_call(turn, "exec_command", {
                "cmd": f"echo 'written from outside the worktree' > {args.outside_path}"})
        if scenario == "outside":
            patch = add_file(args.outside_path, "written from outside the worktree")
        elif scenario == "scope":
            patch = add_file(args.scope_file, "# not in the task's scope")
        elif scenario == "max-turns":
            return function_call(turn, "exec_command", {"cmd": f"cat {args.file}"})
        else:
            patch = (f"*** Begin Patch\n*** Update File: {args.file}\n@@\n-{args.old}\n"
                     f"+{args.new}\n*** End Patch\n")
        # apply_patch in the form codex declared it: freeform for the models it knows, a JSON
        # function for some, and for unknown model names none at all, where codex still runs
        # an `apply_patch` heredoc given to its shell tool as a patch.
        kind = tools.get("apply_patch")
        if kind == "custom":
            return {"type": "custom_tool_call", "id": f"ctc_{turn}", "call_id": f"call_{turn}",
                    "name": "apply_patch", "input": patch, "status": "completed"}
        if kind == "function":
            return function_call(turn, "apply_patch", {"input": patch})
        heredoc = f"apply_patch <<'PATCH'\n{patch}PATCH\n"
        if "exec_command" in tools:
            return function_call(turn, "exec_command", {"cmd": heredoc})
        return function_call(turn, "shell_command", {"command": heredoc})

    def stream(self, turn, item, usage):
        response_id = f"resp_conformance_{turn}"
        self.start_sse()
        self.sse({"type": "response.created", "sequence_number": 0,
                  "response": {"id": response_id, "object": "response", "status": "in_progress",
                               "model": "gpt-5.5", "output": []}}, "response.created")
        self.sse({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
                  "item": {**item, "status": "in_progress"}}, "response.output_item.added")
        if item["type"] == "message":
            text = item["content"][0]["text"]
            self.sse({"type": "response.output_text.delta", "sequence_number": 2,
                      "item_id": item["id"], "output_index": 0, "content_index": 0,
                      "delta": text}, "response.output_text.delta")
        self.sse({"type": "response.output_item.done", "sequence_number": 3, "output_index": 0,
                  "item": item}, "response.output_item.done")
        wire = {
            "input_tokens": usage["input"],
            "input_tokens_details": {"cached_tokens": usage["cached"],
                                     "cache_write_tokens": usage["cache_write"]},
            "output_tokens": usage["output"],
            "output_tokens_details": {"reasoning_tokens": usage["reasoning"]},
            "total_tokens": usage["input"] + usage["output"],
        }
        self.usage_sent(input=usage["input"], cached_input=usage["cached"],
                        output=usage["output"], reasoning=usage["reasoning"])
        self.sse({"type": "response.completed", "sequence_number": 4,
                  "response": {"id": response_id, "object": "response", "status": "completed",
                               "model": "gpt-5.5", "output": [item], "usage": wire}},
                 "response.completed")


def declared_tools(body):
    """{name: type} of the tools the request declares."""
    return {t.get("name"): t.get("type") for t in body.get("tools") or [] if isinstance(t, dict)}


def function_call(turn, name, arguments):
    return {"type": "function_call", "id": f"fc_{turn}", "call_id": f"call_{turn}", "name": name,
            "arguments": json.dumps(arguments), "status": "completed"}


def has_tool_output(body):
    return any(
        isinstance(entry, dict)
        and entry.get("type") in ("custom_tool_call_output", "function_call_output")
        for entry in body.get("input") or []
    )


def add_file(path, line):
    return f"*** Begin Patch\n*** Add File: {path}\n+{line}\n*** End Patch\n"


def message_item(turn, text):
    return {"type": "message", "id": f"msg_{turn}", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


if __name__ == "__main__":
    common.main(Handler)
