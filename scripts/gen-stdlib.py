#!/usr/bin/env python3
"""Regenerates src/checks/missing_import/python/stdlib.rs, the table of Python
standard-library top-level module names for CPython 3.9 … 3.14.

    scripts/gen-stdlib.py                 # download the pinned wheel, write the table
    scripts/gen-stdlib.py --check         # exit 1 if the committed table is stale
    scripts/gen-stdlib.py --wheel FILE    # use an already downloaded wheel (offline)
    scripts/gen-stdlib.py --cross-check python3.12 python3.13 ...
                                          # also compare against those interpreters'
                                          # sys.stdlib_module_names (notes only)

Needs Python 3.8+ with pip (or ensurepip, for a throwaway venv) and access to
PyPI, unless --wheel is given. It uses only the standard library itself.

Where the data comes from
-------------------------
* 3.10, 3.11, 3.12, 3.13, 3.14: the per-version lists shipped in the PyPI
  package `stdlib-list`, pinned below to one version and one wheel hash, so the
  output is reproducible. Those lists are CPython's `sys.stdlib_module_names`
  (generated from Python/stdlib_module_names.h: every pure-Python, built-in,
  frozen and extension module of every platform, private `_x` C modules
  included, test modules excluded) plus submodules; we keep the part before the
  first dot. For 3.10-3.13 they were checked to be a superset of
  `sys.stdlib_module_names` of CPython 3.10.13, 3.11.7, 3.12.1 and 3.13.0 (the
  extras being `__main__`, `xxsubtype`, and modules that later patch releases
  added: `_wmi` in 3.12, `_apple_support` in 3.13). The 3.14 list matches
  "What's New In Python 3.14" (annotationlib, compression, _zstd, ...; the
  private `_compression` moved to `compression._common`).
* 3.9: `sys.stdlib_module_names` does not exist before 3.10, and stdlib-list's
  3.9 list was made by walking a conda install (it misses ~40 C modules such as
  `_ssl`, `_ctypes`, `_winapi` and has conda junk), so 3.9 is derived from 3.10
  with the hand-written delta DELTA_3_9_FROM_3_10 below ("What's New In Python
  3.10": no new modules; removed formatter, parser, symbol, plus the private
  _bootlocale and _peg_parser). The delta was verified by comparing the module
  trees of installed CPython 3.9.18 and 3.10.13, and the result is checked to
  contain every real module of stdlib-list's 3.9 list.

Adjustments applied to every version:
* `__main__` is kept (stdlib-list lists it; `sys.stdlib_module_names` does
  not): it always exists, so `import __main__` is never a missing import.
* `xxsubtype` is dropped: a CPython example/test extension that
  `sys.stdlib_module_names` excludes, and that stdlib-list lists only for
  3.9-3.11.

To move the table to a newer stdlib-list (e.g. for 3.15): change
STDLIB_LIST_VERSION / STDLIB_LIST_WHEEL_SHA256 / LAST_MINOR, rerun, and review
the diff of stdlib.rs. The consistency checks in `check_known_facts` must hold.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

STDLIB_LIST_VERSION = "0.12.0"
STDLIB_LIST_WHEEL = f"stdlib_list-{STDLIB_LIST_VERSION}-py3-none-any.whl"
STDLIB_LIST_WHEEL_SHA256 = "df2d11e97f53812a1756fb5510393a11e3b389ebd9239dc831c7f349957f62f2"

FIRST_MINOR = 9
LAST_MINOR = 14
MINORS = list(range(FIRST_MINOR, LAST_MINOR + 1))

# Minor versions whose list is taken from stdlib-list as is (after ADJUST_*).
FROM_STDLIB_LIST = [m for m in MINORS if m >= 10]

ADJUST_ADD = {"__main__"}
ADJUST_DROP = {"xxsubtype"}

# 3.9 = 3.10 - added + removed. Source: "What's New In Python 3.10"
# (https://docs.python.org/3/whatsnew/3.10.html): "New Modules: None";
# "Removed": formatter, and parser (bpo-40939, with the old LL(1) parser; the
# symbol module and the private _peg_parser module went with it). The private
# _bootlocale was removed in 3.10 as well (changelog, not What's New; cpython
# commit b62bdf71ea0c). Verified against installed CPython 3.9.18 / 3.10.13:
# every 3.10 sys.stdlib_module_names entry exists in 3.9 (apart from Windows-
# and macOS-only ones and unbuilt optional ones, which 3.9 also had), and the
# 3.9 tree's only non-test modules missing from 3.10 are exactly these five.
DELTA_3_9_FROM_3_10 = {
    "added_in_3_10": set(),
    "removed_in_3_10": {"_bootlocale", "_peg_parser", "formatter", "parser", "symbol"},
}

# Entries of stdlib-list's 3.9 list that are not 3.9 stdlib modules (or that
# sys.stdlib_module_names excludes as tests): left out of the 3.9 cross-check.
STDLIB_LIST_3_9_NOISE = {
    "_sysconfigdata_x86_64_conda_cos6_linux_gnu",  # conda build artefacts
    "_sysconfigdata_x86_64_conda_linux_gnu",
    "lib",  # conda's lib/ directory
    "test",  # CPython's test suite (excluded from sys.stdlib_module_names)
    "__phello__",  # frozen test package
    "xxsubtype",  # example extension, see ADJUST_DROP
}

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "src" / "checks" / "missing_import" / "python" / "stdlib.rs"


def fetch_wheel(dest: Path) -> Path:
    """Downloads the pinned stdlib-list wheel into dest with pip."""
    spec = f"stdlib-list=={STDLIB_LIST_VERSION}"
    args = ["download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "-q", "-d", str(dest), spec]
    try:
        import pip  # noqa: F401  (only probing that pip is there)
        pip_cmd = [sys.executable, "-m", "pip"]
    except ImportError:
        env_dir = dest / "venv"
        venv.create(env_dir, with_pip=True)
        bindir = "Scripts" if os.name == "nt" else "bin"
        pip_cmd = [str(env_dir / bindir / "python"), "-m", "pip"]
    subprocess.run(pip_cmd + args, check=True)
    return dest / STDLIB_LIST_WHEEL


def read_lists(wheel: Path) -> dict:
    """Returns {minor: set of top-level names} for FROM_STDLIB_LIST and 9."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != STDLIB_LIST_WHEEL_SHA256:
        sys.exit(f"{wheel}: sha256 {digest}, expected {STDLIB_LIST_WHEEL_SHA256}")
    out = {}
    with zipfile.ZipFile(wheel) as zf:
        for minor in [9] + FROM_STDLIB_LIST:
            text = zf.read(f"stdlib_list/lists/3.{minor}.txt").decode("utf-8")
            out[minor] = {line.strip().split(".")[0] for line in text.splitlines() if line.strip()}
    return out


def build(lists: dict) -> dict:
    """Returns {minor: set of top-level stdlib module names}."""
    per_minor = {}
    for minor in FROM_STDLIB_LIST:
        per_minor[minor] = (lists[minor] | ADJUST_ADD) - ADJUST_DROP
    per_minor[9] = ((per_minor[10] - DELTA_3_9_FROM_3_10["added_in_3_10"])
                    | DELTA_3_9_FROM_3_10["removed_in_3_10"])
    stray = (lists[9] - STDLIB_LIST_3_9_NOISE) - per_minor[9]
    if stray:
        sys.exit(f"stdlib-list's 3.9 list has modules the derived 3.9 set lacks: {sorted(stray)}")
    return per_minor


def table(per_minor: dict) -> dict:
    """Returns {name: bitmask}, bit i set when the name is in 3.(FIRST_MINOR+i)."""
    masks = {}
    for minor, names in per_minor.items():
        for name in names:
            masks[name] = masks.get(name, 0) | (1 << (minor - FIRST_MINOR))
    return masks


def check_known_facts(per_minor: dict, masks: dict) -> None:
    """Fails loudly if the table contradicts the release notes."""
    errors = []
    all_bits = (1 << len(MINORS)) - 1

    def bits(lo, hi):
        return sum(1 << (m - FIRST_MINOR) for m in range(lo, hi + 1))

    def expect(name, mask):
        got = masks.get(name, 0)
        if got != mask:
            errors.append(f"{name}: mask {got:0{len(MINORS)}b}, expected {mask:0{len(MINORS)}b}")

    for name in ["__future__", "__main__", "asyncio", "os", "sys", "typing", "_abc", "_ssl",
                 "_socket", "_thread", "builtins", "posix", "nt", "winreg", "msvcrt",
                 "_winapi", "collections", "importlib", "json", "zoneinfo", "graphlib"]:
        expect(name, all_bits)
    for name in ["formatter", "parser", "symbol", "_bootlocale", "_peg_parser"]:  # gone in 3.10
        expect(name, bits(9, 9))
    expect("tomllib", bits(11, LAST_MINOR))  # new in 3.11
    for name in ["distutils", "imp", "asynchat", "asyncore", "smtpd"]:  # gone in 3.12
        expect(name, bits(9, 11))
    for name in ["aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap",
                 "msilib", "nis", "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd",
                 "sunau", "telnetlib", "uu", "xdrlib", "lib2to3"]:  # gone in 3.13 (PEP 594)
        expect(name, bits(9, 12))
    for name in ["annotationlib", "compression", "_zstd"]:  # new in 3.14
        expect(name, bits(14, 14))
    for name, mask in masks.items():
        if "." in name or not name.isidentifier() or not name.isascii():
            errors.append(f"bad module name {name!r}")
        if mask == 0:
            errors.append(f"{name}: empty mask")
    for minor in MINORS:
        if len(per_minor[minor]) < 250:
            errors.append(f"3.{minor}: only {len(per_minor[minor])} names")
    if errors:
        sys.exit("known-fact check failed:\n  " + "\n  ".join(errors))


def cross_check(interpreters, per_minor) -> None:
    """Notes (stderr) how interpreters' sys.stdlib_module_names differ from the table."""
    code = ("import sys; v = sys.version_info; "
            "print(v[0], v[1]); print(' '.join(sorted(getattr(sys, 'stdlib_module_names', ()))))")
    for exe in interpreters:
        try:
            out = subprocess.run([exe, "-c", code], check=True, capture_output=True,
                                 text=True).stdout.splitlines()
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"cross-check {exe}: cannot run ({e})", file=sys.stderr)
            continue
        major, minor = map(int, out[0].split())
        names = set(out[1].split()) if len(out) > 1 else set()
        if major != 3 or minor not in per_minor or not names:
            print(f"cross-check {exe}: {major}.{minor} not comparable (not covered, or no "
                  "sys.stdlib_module_names before 3.10)", file=sys.stderr)
            continue
        ours = per_minor[minor]
        print(f"cross-check {exe} (3.{minor}): only in interpreter: {sorted(names - ours)}; "
              f"only in table: {sorted(ours - names)}", file=sys.stderr)


def render(masks: dict) -> str:
    width = len(MINORS)
    lines = [
        "//! Generated by scripts/gen-stdlib.py; do not edit by hand, rerun the script instead.",
        "//!",
        "//! Top-level module names of CPython's standard library, per minor version,",
        "//! as `sys.stdlib_module_names` lists them (private C modules and",
        "//! platform-specific modules included), plus `__main__`. Sources: the",
        f"//! stdlib-list {STDLIB_LIST_VERSION} package for 3.10-3.{LAST_MINOR}; 3.9 is derived from 3.10",
        "//! with the delta from \"What's New In Python 3.10\" (see the script).",
        "",
        f"/// Bit i set: the module is in Python 3.({FIRST_MINOR}+i)'s standard library "
        f"(bit 0 = 3.{FIRST_MINOR} … bit {width - 1} = 3.{LAST_MINOR}).",
        "pub const STDLIB: &[(&str, u8)] = &[",
    ]
    for name in sorted(masks, key=lambda s: s.encode()):
        lines.append(f'    ("{name}", 0b{masks[name]:0{width}b}),')
    lines += [
        "];",
        "",
        "/// The minor versions the table covers.",
        f"pub const FIRST_MINOR: u8 = {FIRST_MINOR};",
        f"pub const LAST_MINOR: u8 = {LAST_MINOR};",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help=f"local {STDLIB_LIST_WHEEL} instead of downloading")
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if the file is stale")
    ap.add_argument("--cross-check", nargs="+", default=[], metavar="PYTHON",
                    help="interpreters whose sys.stdlib_module_names to compare (notes only)")
    ap.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        lists = read_lists(wheel)
    per_minor = build(lists)
    masks = table(per_minor)
    check_known_facts(per_minor, masks)
    cross_check(args.cross_check, per_minor)
    text = render(masks)

    for minor in MINORS:
        print(f"3.{minor}: {len(per_minor[minor])} names", file=sys.stderr)
    print(f"{len(masks)} distinct names", file=sys.stderr)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is stale: rerun scripts/gen-stdlib.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
