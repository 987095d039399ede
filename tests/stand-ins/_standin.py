"""Shared behaviour of the stand-in agents (see README.md): environment switches, the edit,
the hang with detached children, the write outside the worktree, and the dumps tests inspect."""

import json
import os
import sys
import time

MODE = os.environ.get("STANDIN_MODE", "ok")


def usage(default):
    """STANDIN_USAGE="input,cached,output,reasoning" (tokens), else `default`."""
    raw = os.environ.get("STANDIN_USAGE")
    if not raw:
        return default
    values = [int(v) for v in raw.split(",")]
    return tuple(values + [0] * (4 - len(values)))


def cost(default):
    raw = os.environ.get("STANDIN_COST")
    return float(raw) if raw else default


def exit_code(default):
    raw = os.environ.get("STANDIN_EXIT")
    return int(raw) if raw else default


def emit(obj):
    print(json.dumps(obj, separators=(",", ":")), flush=True)


def die(message, code=2):
    print(message, file=sys.stderr, flush=True)
    sys.exit(code)


def edit(cwd, name):
    """Appends STANDIN_TEXT (default a line naming the stand-in) to STANDIN_EDIT, relative to the
    agent's working directory."""
    target = os.environ.get("STANDIN_EDIT", "standin-edit.txt")
    path = target if os.path.isabs(target) else os.path.join(cwd, target)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    text = os.environ.get("STANDIN_TEXT", f"edited by the {name} stand-in")
    with open(path, "a", encoding="utf-8") as f:
        f.write(text + "\n")
    return os.path.relpath(path, cwd)


def start(name, prompt, argv):
    """Everything that happens before the agent's own output: dumps, then the mode's side show."""
    dumps = {
        "STANDIN_PROMPT_COPY": prompt,
        "STANDIN_ENV_DUMP": json.dumps(dict(os.environ), indent=1, sort_keys=True),
        "STANDIN_ARGV_DUMP": json.dumps(argv),
    }
    for var, text in dumps.items():
        path = os.environ.get(var)
        if path:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    for i in range(int(os.environ.get("STANDIN_LOG_LINES", "0"))):
        print(f"{name} stand-in filler line {i:06d} " + "." * 60, flush=True)
    if MODE == "hang":
        hang()
    if MODE == "outside":
        write_outside()
    delay = float(os.environ.get("STANDIN_SLEEP", "0"))
    if delay:
        time.sleep(delay)


def host_pid(pid):
    """The pid as the test sees it. gatehouse may start the agent in a PID namespace of its own,
    where our pids mean nothing to the test; /proc is still the host's, so its `NSpid:` lines
    translate (the first field is the host's pid, the last ours)."""
    try:
        own_ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        return pid
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") != own_ns:
                continue
            with open(f"/proc/{entry}/status", encoding="utf-8") as status:
                for line in status:
                    if line.startswith("NSpid:"):
                        fields = line.split()[1:]
                        if fields and int(fields[-1]) == pid:
                            return int(fields[0])
        except (OSError, ValueError):
            continue
    return pid


def hang():
    """Starts two children that escape the process group, records their pids, sleeps forever.

    - `setsid sleep`: a new session, still our child;
    - a double fork with os.setsid(): orphaned at once, so it is reparented (to init, or to the
      nearest child subreaper).
    """
    import subprocess

    pids = []
    detached = subprocess.Popen(["setsid", "sleep", "3600"], stdin=subprocess.DEVNULL)
    pids.append(detached.pid)
    r, w = os.pipe()
    first = os.fork()
    if first == 0:
        os.close(r)
        os.setsid()
        second = os.fork()
        if second == 0:
            os.close(w)
            os.execvp("sleep", ["sleep", "3600"])
        os.write(w, str(second).encode())
        os._exit(0)
    os.close(w)
    orphan = int(os.read(r, 64).decode())
    os.waitpid(first, 0)
    pids.append(orphan)
    pids = [host_pid(p) for p in pids]
    pidfile = os.environ.get("STANDIN_PIDFILE")
    if pidfile:
        with open(pidfile, "w", encoding="utf-8") as f:
            f.write("\n".join(str(p) for p in pids) + "\n")
    print(f"stand-in hanging with detached children {pids}", file=sys.stderr, flush=True)
    while True:
        time.sleep(1)


def write_outside():
    target = os.environ.get("STANDIN_OUTSIDE")
    if not target:
        die("STANDIN_MODE=outside needs STANDIN_OUTSIDE")
    try:
        with open(target, "w", encoding="utf-8") as f:
            f.write("written from outside the worktree\n")
        print(f"stand-in wrote {target}", file=sys.stderr, flush=True)
    except OSError as err:
        print(f"stand-in could not write {target}: {err}", file=sys.stderr, flush=True)


def read_stdin():
    return sys.stdin.read() if not sys.stdin.isatty() else ""


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
