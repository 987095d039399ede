#!/usr/bin/env python3
"""Writes each untyped-function fixture's `# expect:` header from ruff's findings for it.

    scripts/fixture-expectations.py [FIXTURES_DIR]

The fixture tests then hold gatehouse to exactly those findings. Reads `# options:` (ruff's
flake8-annotations settings to turn on) and `# path:` (where the file sits; each directory on it
gets an `__init__.py`) from the header. Uses the ruff that scripts/compare-ruff.sh installs.
"""
import json, os, re, shutil, subprocess, sys, tempfile
RUFF = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "gatehouse-bench", "ruff-0.17.6", "bin", "ruff")
fx = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "checks", "untyped_function", "fixtures")

def ruff(name, text, path, options):
    with tempfile.TemporaryDirectory() as d:
        rel = path
        full = os.path.join(d, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        # mark every directory a package, as the path-based approximation assumes
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            open(os.path.join(d, *parts[:i], "__init__.py"), "w").close()
        open(full, "w").write(text)
        cmd = [RUFF, "check", "--isolated", "--select", "ANN", "--no-cache", "--output-format", "json", rel]
        for o in options:
            cmd += ["--config", f"lint.flake8-annotations.{o} = true"]
        out = subprocess.run(cmd, cwd=d, capture_output=True, text=True).stdout
        return sorted((x["location"]["row"], x["location"]["column"], x["code"]) for x in json.loads(out) if (x["code"] or "").startswith("ANN") and x["code"] != "ANN401")

for name in sorted(os.listdir(fx)):
    p = os.path.join(fx, name)
    lines = open(p).read().split("\n")
    lines = [l for l in lines if not l.startswith("# expect:") and l != "# expect: nothing"]
    header = 0
    while header < len(lines) and lines[header].startswith("#"):
        header += 1
    options, path = [], name
    for l in lines[:header]:
        if l.startswith("# options:"):
            options = l.split(":", 1)[1].split()
        if l.startswith("# path:"):
            path = l.split(":", 1)[1].strip()
    base = ruff(name, "\n".join(lines), path, options)
    k = 0
    while True:
        shifted = [(l + k if l > header else l, c, code) for l, c, code in base]
        items = [f"{l}:{c} {code}" for l, c, code in shifted] or ["nothing"]
        wrapped, cur = [], ""
        for it in items:
            if cur and len(cur) + len(it) + 2 > 88:
                wrapped.append(cur + ",")
                cur = it
            else:
                cur = f"{cur}, {it}" if cur else it
        wrapped.append(cur)
        exp = ["# expect: " + w for w in wrapped]
        if len(exp) == k:
            break
        k = len(exp)
    final = lines[:header] + exp + lines[header:]
    text = "\n".join(final)
    assert ruff(name, text, path, options) == sorted(shifted), name
    open(p, "w").write(text)
    print(name, len(base), "findings")
