"""The whole test suite, browser tests included, again and again while busy loops hog every core.

    python benchmarks/under_load.py --runs 3

A classroom's server is never idle: tests must wait on states, not on time. Prints one line per
run (passed, failed, seconds) and exits non-zero if any run failed. Needs what the tests need.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOG = "while True: pass"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hogs", type=int, default=os.cpu_count() or 2, help="busy loops (one a core)")
    ap.add_argument("pytest_args", nargs="*", help="passed on to pytest")
    args = ap.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(args.hogs)]
    failed = 0
    try:
        for run in range(1, args.runs + 1):
            t = time.perf_counter()
            p = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", *args.pytest_args],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            log = Path(tempfile.gettempdir()) / f"under_load_run{run}.log"
            log.write_text(p.stdout + p.stderr)
            summary = (p.stdout.strip().splitlines() or ["(no output)"])[-1]
            failures = re.findall(r"^(?:FAILED|ERROR) .*$", p.stdout, re.M)
            print(f"run {run}: {summary} ({time.perf_counter() - t:.0f} s with {args.hogs} busy "
                  "loops)", flush=True)  # fmt: skip
            for line in failures:
                print(f"  {line}", flush=True)
            if failures:
                print(f"  the whole output: {log}", flush=True)
            failed += p.returncode != 0
    finally:
        for hog in hogs:
            hog.kill()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
