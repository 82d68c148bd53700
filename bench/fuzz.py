"""Hostile files through the real command line: every case must end in a clear exit, in bounded time and memory.

Issue 17's target for each case: exit 0, 1 or 2; no signal, no traceback, at most 2 lines on stderr, at most
30 s and 1 GB. Each case mutates one file of a working input (a file of examples/cluster as JSON or YAML,
examples/config.yaml, examples/waivers.yaml, the built-in policy, a drill, a kubeconfig, a notification
config): truncation, byte flips, duplicated lines (duplicate keys), wrong types, deep nesting, YAML alias
bombs and recursive aliases, huge numbers and scalars, bad UTF-8, control characters and impossible dates.
Each case runs `nodewarden` (or, for the notification config, which only `run` reads, a loader script
that maps errors as the command line does) in its own process under `setrlimit`, and prints a table of
surface × outcome. Failing cases are written to `--keep` to be replayed. Exits 1 on any bad outcome.

    .venv/bin/python bench/fuzz.py [--cases 300] [--seed 17] [--jobs 2] [--keep /tmp/nodewarden-fuzz]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import random
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CLUSTER = EXAMPLES / "cluster"
TIME_LIMIT = 30.0  # seconds per case, the target
MEMORY_LIMIT = 1 << 30  # bytes of address space per case
NOW = "2026-12-01T00:00:00Z"

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
  - name: fuzz
    cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}
users:
  - name: fuzz
    user: {token: fuzz-token}
contexts:
  - name: fuzz
    context: {cluster: fuzz, user: fuzz}
current-context: fuzz
"""
NOTIFY_CONFIG = """apiVersion: nodewarden.io/v1
kind: NotificationConfig
metadata:
  name: fuzz
spec:
  sinks:
    - {name: ops, type: slack, url: "https://hooks.slack.com/services/T0/B0/x", events: [opened, escalated]}
    - name: audit
      type: webhook
      url: https://example.internal/hooks/nodewarden
      hmacKey: {valueFrom: {env: HOME}}
"""
NOTIFY_SCRIPT = """
import sys
from pathlib import Path
from nodewarden.errors import InputError
from nodewarden.notify.config import load_notify_config
try:
    load_notify_config(Path(sys.argv[1]))
except InputError as exc:
    print(f"nodewarden: {exc}", file=sys.stderr)
    sys.exit(2)
"""

_BOMB_LEVELS = "abcdefghi"
YAML_BOMB = "[" + ", ".join(
    ["&a [x, x, x, x, x, x, x, x, x]"]
    + [f"&{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in itertools.pairwise(_BOMB_LEVELS)]
) + "]"  # fmt: skip
HOSTILE_VALUES = {
    "yaml": ["[" * 30_000 + "]" * 30_000, "{a: " * 5_000 + "1" + "}" * 5_000, YAML_BOMB, "&r [*r]", "&m {k: *m}",
             "9" * 5_000, "-" + "9" * 40, "0x" + "f" * 20_000, "1e999", ".inf", ".nan", "2026-13-45", "0000-01-01",
             "999999999999", "99999999999999999", "999999999999s", "-1s", "1e308h", "!!python/object:os.system x",
             "!!binary Zm9v", "'\\x00'", '"\\u0000\\u001b[2J"', "x" * (3 << 20), "[]", "{}", "~", "true", "''"],
    "json": ["[" * 30_000 + "]" * 30_000, "[" * 900 + "]" * 900, "1e999", "-1e999", "9" * 5_000, "-" + "9" * 40,
             '"\\ud800"', '"\\u0000\\u001b[2J"', '"' + "x" * (3 << 20) + '"', "[]", "{}", "null", "true", '""',
             '"2026-13-45T00:00:00Z"', "999999999999", "1e308"],
}  # fmt: skip
RAW_INSERTS = [b"\x00", b"\xff\xfe", b"\xc3", b"\x1b[2J", b"\x07", b"\r", b"\t", b"&a *a", b"*undefined", b"<<: x"]

YAML_VALUE = re.compile(rb"^(\s*(?:- )?[\w.\-/\"']+: )(\S.*)$", re.MULTILINE)
JSON_VALUE = re.compile(rb'(":\s*)("(?:[^"\\]|\\.)*"|-?\d[\d.eE+\-]*|true|false|null)')


@dataclass(frozen=True)
class Surface:
    """One kind of input file and the command that reads it."""

    name: str
    base: Callable[[random.Random], tuple[str, bytes]]  # a working file: its name and content
    command: Callable[[Path, Path], list[str]]  # (mutated file, the case's folder) -> argv after the interpreter


def _cluster_file(rng: random.Random, *, as_yaml: bool) -> tuple[str, bytes]:
    path = rng.choice(sorted(CLUSTER.glob("*.json")))
    if not as_yaml:
        return path.name, path.read_bytes()
    return path.with_suffix(".yaml").name, yaml.safe_dump(json.loads(path.read_text())).encode()


def _cluster_dir(case: Path, mutated: Path) -> Path:
    """examples/cluster with one file replaced by the mutated one (the others linked, not copied)."""
    folder = case / "cluster"
    folder.mkdir(exist_ok=True)
    for path in CLUSTER.glob("*.json"):
        if path.stem != mutated.stem:
            (folder / path.name).symlink_to(path)
    shutil.move(mutated, folder / mutated.name)
    return folder


def _audit_with(flag: str) -> Callable[[Path, Path], list[str]]:
    return lambda path, _: ["-m", "nodewarden", "audit", str(CLUSTER), "--now", NOW, "-o", "json", flag, str(path)]


@functools.cache
def _policy_text() -> bytes:
    return subprocess.run(
        [sys.executable, "-m", "nodewarden", "policy", "show"], capture_output=True, check=True
    ).stdout


def _policy(_: random.Random) -> tuple[str, bytes]:
    return "policy.yaml", _policy_text()


def _audit_folder(path: Path, case: Path) -> list[str]:
    return ["-m", "nodewarden", "audit", str(_cluster_dir(case, path)), "--now", NOW, "-o", "json"]


def _example(name: str) -> Callable[[random.Random], tuple[str, bytes]]:
    return lambda _: (Path(name).name, (EXAMPLES / name).read_bytes())


def _drill(rng: random.Random) -> tuple[str, bytes]:
    return "drill.yaml", rng.choice(sorted((EXAMPLES / "drills").glob("*.yaml"))).read_bytes()


SURFACES = [
    Surface("audit JSON", lambda rng: _cluster_file(rng, as_yaml=False), _audit_folder),
    Surface("audit YAML", lambda rng: _cluster_file(rng, as_yaml=True), _audit_folder),
    Surface("audit --config", _example("config.yaml"), _audit_with("--config")),
    Surface("audit --waivers", _example("waivers.yaml"), _audit_with("--waivers")),
    Surface("policy check", _policy, lambda path, _: ["-m", "nodewarden", "policy", "check", str(path)]),
    Surface("drill check", _drill, lambda path, _: ["-m", "nodewarden", "drill", "check", str(path)]),
    Surface("kubeconfig", lambda _: ("kubeconfig", KUBECONFIG.encode()),
            lambda path, _: ["-m", "nodewarden", "audit", "--live", "--kubeconfig", str(path)]),
    Surface("notify config", lambda _: ("notify.yaml", NOTIFY_CONFIG.encode()),
            lambda path, _: ["-c", NOTIFY_SCRIPT, str(path)]),
]  # fmt: skip


def mutate(rng: random.Random, name: str, content: bytes) -> tuple[str, bytes]:
    """One or two mutations of a working file; returns what was done and the result."""
    done = []
    for _ in range(rng.choice((1, 1, 2))):
        kind = rng.choice(("value", "value", "value", "truncate", "flip", "insert", "duplicate", "nest"))
        content = MUTATIONS[kind](rng, content, name)
        done.append(kind)
    return "+".join(done), content


def _replace_value(rng: random.Random, content: bytes, name: str) -> bytes:
    """A value somewhere (often inside a list item) replaced by a hostile one, in the file's own syntax."""
    syntax = "json" if name.endswith(".json") else "yaml"
    pattern = JSON_VALUE if syntax == "json" else YAML_VALUE
    matches = list(pattern.finditer(content))
    if not matches:
        return content
    match = rng.choice(matches)
    value = rng.choice(HOSTILE_VALUES[syntax]).encode("utf-8", "surrogatepass")
    return content[: match.start(2)] + value + content[match.end(2) :]


def _truncate(rng: random.Random, content: bytes, _: str) -> bytes:
    return content[: rng.randrange(len(content) + 1)]


def _flip(rng: random.Random, content: bytes, _: str) -> bytes:
    if not content:
        return content
    at = rng.randrange(len(content))
    return content[:at] + bytes([rng.randrange(256)]) + content[at + 1 :]


def _insert(rng: random.Random, content: bytes, _: str) -> bytes:
    at = rng.randrange(len(content) + 1)
    return content[:at] + rng.choice(RAW_INSERTS) + content[at:]


def _duplicate(rng: random.Random, content: bytes, _: str) -> bytes:
    lines = content.splitlines(keepends=True)
    if not lines:
        return content
    at = rng.randrange(len(lines))
    return b"".join(lines[: at + 1] + lines[at : at + rng.randint(1, 3)] + lines[at + 1 :])


def _nest(rng: random.Random, content: bytes, name: str) -> bytes:
    """The whole document wrapped in thousands of brackets (or a key's value, in YAML)."""
    depth = rng.choice((150, 1_000, 30_000))
    if name.endswith(".json"):
        return b"[" * depth + content + b"]" * depth
    return content + b"\nnested: " + b"[" * depth + b"]" * depth + b"\n"


MUTATIONS = {"value": _replace_value, "truncate": _truncate, "flip": _flip, "insert": _insert,
             "duplicate": _duplicate, "nest": _nest}  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    surface: str
    mutation: str
    verdict: str  # "exit 0", "exit 1", "exit 2", or a bad outcome
    seconds: float
    peak_mb: float
    detail: str
    case: Path

    @property
    def bad(self) -> bool:
        return self.verdict not in GOOD


GOOD = ("exit 0", "exit 1", "exit 2")


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_case(surface: Surface, mutation: str, content: bytes, name: str, case: Path) -> Outcome:
    case.mkdir(parents=True)
    path = case / name
    path.write_bytes(content)
    argv = [sys.executable, *surface.command(path, case)]
    (case / "command").write_text(shlex.join(argv) + "\n")
    with (case / "stdout").open("wb") as out, (case / "stderr").open("wb") as err:
        began = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, preexec_fn=_limit, cwd=case)
        killer = threading.Timer(TIME_LIMIT, child.kill)
        killer.start()
        _, status, usage = os.wait4(child.pid, 0)
        killer.cancel()
        child.returncode = code = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - began
    stderr = (case / "stderr").read_bytes().decode("utf-8", "replace")
    lines = [line for line in stderr.splitlines() if line.strip()]
    peak_mb = usage.ru_maxrss / 1024
    verdict = f"exit {code}"
    if seconds >= TIME_LIMIT:
        verdict = "too slow"
    elif "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        verdict = "too much memory"
    elif code < 0:
        verdict = f"signal {-code}"
    elif "Traceback" in stderr:
        verdict = "traceback"
    elif code in (0, 1, 2) and len(lines) > 2:
        verdict = ">2 stderr lines"
    return Outcome(surface.name, mutation, verdict, seconds, peak_mb, lines[0][:160] if lines else "", case)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", type=Path, help="Keep every failing case here (default: a temporary folder).")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="nodewarden-fuzz-"))
    bases = {surface.name: surface.base for surface in SURFACES}
    planned = []
    for index in range(args.cases):
        surface = SURFACES[index % len(SURFACES)]
        name, content = bases[surface.name](rng)
        mutation, mutated = mutate(rng, name, content)
        planned.append((surface, mutation, mutated, name, work / f"case-{index:05d}"))
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(lambda plan: run_case(*plan), planned))
    elapsed = time.perf_counter() - began
    print_table(outcomes)
    bad = [outcome for outcome in outcomes if outcome.bad]
    slowest = max(outcomes, key=lambda o: o.seconds)
    biggest = max(outcomes, key=lambda o: o.peak_mb)
    print(f"\n{len(outcomes)} cases in {elapsed:.0f} s (seed {args.seed}); slowest {slowest.seconds:.1f} s "
          f"({slowest.surface}, {slowest.mutation}); most memory {biggest.peak_mb:.0f} MB ({biggest.surface}, "
          f"{biggest.mutation}); limits {TIME_LIMIT:.0f} s and {MEMORY_LIMIT >> 20} MB")  # fmt: skip
    keep = args.keep or work
    for outcome in bad:
        target = keep / outcome.case.name
        if keep != work:
            shutil.copytree(outcome.case, target, symlinks=True, dirs_exist_ok=True)
        print(f"BAD {outcome.verdict}: {outcome.surface} ({outcome.mutation}) {outcome.detail!r} -> {target}")
    if keep != work or not bad:
        shutil.rmtree(work)
    return 1 if bad else 0


def print_table(outcomes: list[Outcome]) -> None:
    verdicts = [*GOOD, *sorted({o.verdict for o in outcomes} - set(GOOD))]
    by_surface: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        by_surface[outcome.surface][outcome.verdict] += 1
    header = ["surface", "cases", *verdicts, "bad"]
    bad = [v for v in verdicts if v not in GOOD]
    by_surface["total"] = Counter(o.verdict for o in outcomes)
    rows = [
        [name, str(sum(counts.values())), *(str(counts[v]) for v in verdicts), str(sum(counts[v] for v in bad))]
        for name, counts in by_surface.items()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


if __name__ == "__main__":
    sys.exit(main())
