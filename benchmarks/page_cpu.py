"""Where the two cores go while the page trains: the server, the training process, Chromium.

On a laptop that is the server too (or a 2-core host whose browser is on the same machine), the
browser's and the server's CPU is taken from the training. This opens the page in headless
Chromium, waits for the kept-warm training process, presses Train for `kind` with the page's
defaults and prints the steps trained and each part's CPU seconds and cores (Linux: /proc).

    python benchmarks/page_cpu.py            # the CNN
    python benchmarks/page_cpu.py MLP
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

TICK = os.sysconf("SC_CLK_TCK")
READY_S = 25  # the kept-warm training process imports TensorFlow and rehearses


def processes() -> dict[int, tuple[int, float, str]]:
    """{pid: (parent pid, CPU seconds so far, command name)} of every process."""
    out = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat") as f:
                comm, rest = f.read().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        out[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, comm[-15:])
    return out


def descendants(root: int, table: dict) -> set[int]:
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (parent, _, _) in table.items() if parent in frontier} - found
        found |= frontier
    return found


class Meter:
    """CPU seconds of each group of processes, including those that end between two looks."""

    def __init__(self, server: int):
        self.server, self.cpu, self.start = server, {}, {}
        self.groups: dict[str, set[int]] = {"server": {server}, "training": set(), "browser": set()}

    def look(self) -> None:
        table = processes()
        self.groups["training"] |= descendants(self.server, table)
        self.groups["browser"] |= {
            p for p in descendants(os.getpid(), table) if "chrom" in table[p][2].lower()
        }
        for pid, (_, cpu, _) in table.items():
            self.start.setdefault(pid, cpu)
            self.cpu[pid] = cpu

    def used(self) -> dict[str, float]:
        return {
            name: sum(self.cpu.get(p, 0.0) - self.start.get(p, 0.0) for p in pids)
            for name, pids in self.groups.items()
        }


def main(kind: str = "CNN") -> None:
    from class_demo import WATCH_RUN
    from playwright.sync_api import sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS, open_page, start_app

    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(ROOT / "weights", tmp / "weights")
    proc, url, _ = start_app(tmp / "weights")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = open_page(browser, url)
            page.get_by_test_id("stRadio").filter(has_text="Network").get_by_text(kind).click()
            page.wait_for_timeout(READY_S * 1000)
            page.evaluate(WATCH_RUN, kind)
            meter = Meter(proc.pid)
            meter.look()
            t0 = time.perf_counter()
            page.get_by_role("button", name="Train").click()
            while not page.evaluate("() => window.__run.ended !== undefined"):
                meter.look()
                page.wait_for_timeout(500)
            wall = time.perf_counter() - t0
            report(kind, page.evaluate("window.__run"), wall, meter.used())
            browser.close()
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


def report(kind: str, run: dict, wall: float, used: dict[str, float]) -> None:
    steps = re.search(r"trained ([\d,]+) steps", run["text"])
    print(f"{kind}: {run['text']}")
    print(f"Train -> end on screen {wall:.1f} s; steps {steps and steps.group(1)}")
    print(
        f"Train -> first curve point {run['first'] / 1000:.2f} s, first speed shown {run['speed'] / 1000:.2f} s"
    )
    for name, seconds in used.items():
        print(f"  {name:9s} {seconds:6.1f} CPU s  {seconds / wall:.2f} cores")


if __name__ == "__main__":
    main(*sys.argv[1:2])
