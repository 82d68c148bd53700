"""Times `nodewarden demo` end to end (issue 7: under two minutes on a two-core machine).

Runs, in this process, the demo as `make demo` does (`--speed 60`: a minute of twin time per real
second) and flat out (`--speed 0`), each into a temporary folder, and reports:

* wall: real seconds, twin start to the last report written;
* twin: twin seconds the drills covered (fault to verdict, both drills);
* paced floor: twin / speed, the least a paced run can take (the baseline the pacing itself sets);
* overhead: wall − paced floor (for the flat-out run: all of wall), i.e. audit, cycles and reports;
* ratio: wall / 120 s (target <= 1).

    .venv/bin/python bench/demo_time.py [--speed 60]

Exits 1 when the paced run misses the target or a drill fails.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from nodewarden.demo.run import DemoResult, run_demo

TARGET = 120.0


def timed(speed: float | None) -> tuple[float, DemoResult]:
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        result = run_demo(Path(folder) / "out", speed=speed, console=Console(file=io.StringIO()))
        return time.perf_counter() - began, result


def twin_seconds(result: DemoResult) -> float:
    return sum((run.verdict.ended_at - run.verdict.started_at).total_seconds() for run in result.runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", type=float, default=60.0)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}")
    print("| run | wall s | twin s | paced floor s | overhead s | ratio to 120 s | drills |")
    print("|---|---:|---:|---:|---:|---:|---|")
    failed = False
    for label, speed in ((f"speed {args.speed:g}", args.speed), ("flat out", None)):
        wall, result = timed(speed)
        twin = twin_seconds(result)
        floor = twin / speed if speed else 0.0
        verdicts = ", ".join(f"{r.verdict.drill} {'pass' if r.verdict.passed else 'FAIL'}" for r in result.runs)
        cells = (label, f"{wall:.1f}", f"{twin:.0f}", f"{floor:.1f}", f"{wall - floor:.1f}", f"{wall / TARGET:.2f}")
        print(f"| {' | '.join(cells)} | {verdicts} |")
        failed |= not result.passed or (speed is not None and wall > TARGET)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
