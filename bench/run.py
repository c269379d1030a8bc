"""Run the benchmarks and print one markdown table per scenario.

    .venv/bin/python -m bench.run                       # every scenario, full sizes
    .venv/bin/python -m bench.run --scenario latency    # one scenario (repeat --scenario for several)
    .venv/bin/python -m bench.run --quick               # tiny sizes: checks that every scenario still runs
    .venv/bin/python -m bench.run --out bench/results.md --runs 5

Scenarios: latency, seed_algorithm, floor, scale, sweep, hostile, counters (see bench/README.md). Not part of the
test run; the smoke tests in tests/bench run each scenario in --quick mode.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .common import Context, Table

SCENARIOS = ("latency", "seed_algorithm", "floor", "plan", "scale", "sweep", "hostile", "counters")


def scenario(name: str) -> Callable[[Context], list[Table]]:
    if name not in SCENARIOS:
        raise SystemExit(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}")
    module = __import__(f"bench.scenarios.{name}", fromlist=["run"])
    return module.run


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parents[1]).stdout.strip() or "?"
    except OSError:
        commit = "?"
    return (f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()} "
            f"{platform.release()}, commit {commit}")


def run(names: list[str], ctx: Context, emit: Callable[[str], None] = print) -> list[Table]:
    tables: list[Table] = []
    for name in names:
        started = time.perf_counter()
        out = scenario(name)(ctx)
        for table in out:
            emit(table.markdown())
        emit(f"_{name}: {time.perf_counter() - started:.1f} s_\n")
        tables += out
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="run only this one (repeatable)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few runs (smoke check)")
    parser.add_argument("--runs", type=int, help="override the number of runs per cell")
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    names = args.scenario or list(SCENARIOS)
    lines: list[str] = []

    def emit(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    emit(f"## Benchmarks ({datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')})\n")
    emit(f"`{command.strip()}` on {machine()}\n")
    log = (lambda msg: print(f"[bench] {msg}", file=sys.stderr, flush=True)) if args.verbose else None
    with Context(quick=args.quick, runs=args.runs, log=log) as ctx:
        run(names, ctx, emit)
    if args.out:
        args.out.write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
