"""A class together against one server: N joined pages follow the teacher's CNN training.

    python benchmarks/class_together.py --class 32            # 32 students, 30 s windows
    python benchmarks/class_together.py --class 32 --avx2     # as a 2-core AVX2 CPU would
    python benchmarks/class_together.py --class 8 --window 20 --json
    python benchmarks/class_together.py --class 16 --avx2 --ray   # the training on Ray

The teacher and the students are websocket sessions speaking Streamlit's own protocol (as in
classroom.py): the messages a browser sends are recorded once from headless Chromium and
replayed, so only the server's work counts, not 33 browsers' rendering on the same two cores.
The teacher's session starts a class and trains the CNN (the class recipe) while following its
own progress as its page does. Each student's session joins by the class link (?class=CODE),
reruns every fragment its page runs on its own at the interval the page asks for (the class box
that follows the teacher's training every 0.5 s, its curves every 3 s) and draws a stroke every
1.5 s. With --ray the training is an actor of a local Ray cluster (one of its two CPUs). Prints:

- the server's CPU (its process: the training runs in another) alone with the teacher and with
  the class joined, and per joined page per second;
- the lag of each student's step count behind the teacher's page (p50, p95, max);
- each student's stroke -> prediction (p50, p95), and the errors pages were sent;
- the training's steps/s alone and with the class joined.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from classroom import (  # noqa: E402
    STEP,
    STROKE_EVERY_S,
    Session,
    Trainer,
    _auto_rerun,
    _is_error,
    _last_press,
    _pct,
    against_a_server,
    answered_and_cleared,
    cpu_model,
    cpu_s,
    record,
)
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402

AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell",
        "MNIST_STUDIO_PRECISION": "float32"}  # fmt: skip
CODE = re.compile(r"\*\*Class ([A-Z0-9]{5})\*\*")


def record_start(url: str) -> bytes:
    """The rerun a press of "Start a class" sends."""
    from playwright.sync_api import expect, sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS

    sent: list = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(f)))
        page.goto(url)
        expect(page.locator("canvas.upper-canvas").first).to_be_visible(timeout=60_000)
        page.get_by_role("button", name="Start a class").click()
        expect(page.get_by_text("End the class")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(500)  # Playwright reports a sent frame a little later
        frame = _last_press(sent)
        page.get_by_role("button", name="End the class").click()
        browser.close()
    return frame


def record_student(url: str, code: str) -> dict:
    """What a joined student's browser sends for a stroke of each digit and a clear (the canvas'
    fragment sits lower on a class page than on another: its own id)."""
    from playwright.sync_api import expect, sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS
    from harness.strokes import draw_digit

    sent: list = []
    frames: dict = {"strokes": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(f)))
        page.goto(f"{url}/?class={code}")
        canvas = page.locator("canvas.upper-canvas").first
        expect(canvas).to_be_visible(timeout=60_000)
        expect(page.get_by_text(f"Class {code}")).to_be_visible(timeout=60_000)
        for digit in (7, 1, 4):
            draw_digit(page, canvas, digit)
            frames["strokes"][digit] = answered_and_cleared(page, digit, sent)
        browser.close()
    return frames


def with_query(frame: bytes, query: str) -> bytes:
    msg = BackMsg()
    msg.ParseFromString(frame)
    msg.rerun_script.query_string = query
    return msg.SerializeToString()


class Teacher(Trainer):
    """The teacher's session: starts a class, then trains and follows as Trainer does."""

    def __init__(self, url: str, frames: dict, seconds: int):
        super().__init__(url, frames, seconds)
        _, messages = self.session.request(frames["class_start"])
        deltas = [m for m in messages if m.WhichOneof("type") == "delta"]
        text = " ".join(m.delta.new_element.markdown.body for m in deltas)
        found = CODE.search(text)
        if not found:
            raise SystemExit("the teacher's page showed no class code")
        self.code = found[1]


class Student(threading.Thread):
    """A joined page: every fragment of its own at its interval, and a stroke every 1.5 s."""

    def __init__(self, url: str, frames: dict, code: str, stop: threading.Event, seed: int):
        super().__init__(daemon=True)
        self.frames, self.stop, self.random = frames, stop, random.Random(seed)
        self.load = with_query(frames["load"], f"class={code}")
        self.fragments: dict[str, float] = {}
        self.steps: list[tuple[float, int]] = []
        self.latencies: list[float] = []
        self.errors = self.reruns = 0
        self.failed: str | None = None
        self.session = Session(url, self.load)
        _, messages = self.session.request(self.load)  # its page as it stands once joined
        self._look(messages)

    def run(self) -> None:
        try:
            self._run()
        except SystemExit as e:  # a run that never ended: said, not lost with the thread
            self.failed = str(e)
            self.session.close()

    def _run(self) -> None:
        now = time.perf_counter()
        due = {f: now + self.random.uniform(0, i) for f, i in self.fragments.items()}
        due["stroke"] = now + self.random.uniform(0, STROKE_EVERY_S)
        digits = list(self.frames["strokes"])
        while not self.stop.is_set():
            what = min(due, key=due.get)
            self.stop.wait(max(0.0, due[what] - time.perf_counter()))
            if what == "stroke":
                frame = self.frames["strokes"][self.random.choice(digits)]
                answered, messages = self.session.request(frame)
                if answered is not None:
                    self.latencies.append(answered * 1000)
                due[what] += STROKE_EVERY_S
            else:
                _, messages = self.session.request(_auto_rerun(self.load, what))
                due[what] += self.fragments[what]
            self.reruns += 1
            self._look(messages)
            due = {k: max(t, time.perf_counter()) for k, t in due.items()}
        self.session.close()

    def _look(self, messages) -> None:
        for m in messages:
            kind = m.WhichOneof("type")
            if kind == "auto_rerun":
                self.fragments[m.auto_rerun.fragment_id] = m.auto_rerun.interval
            elif kind == "delta":
                self.errors += _is_error(m)
                found = STEP.search(m.delta.new_element.progress.text)
                if found:
                    self.steps.append((time.perf_counter(), int(found[1].replace(",", ""))))


def lags(teacher: list, student: list) -> list[float]:
    """For each step the teacher's page showed, how much later the student's showed it (or a
    later one), in seconds; from the student's first look at the training on."""
    if not student:
        return []
    out = []
    for t, step in teacher:
        if t >= student[0][0]:
            later = [u for u, s in student if s >= step]
            if later:
                out.append(max(0.0, later[0] - t))
    return out


def measure(url: str, pid: int, frames: dict, students: int, window: float) -> dict:
    teacher = Teacher(url, frames, seconds=300)
    frames = {**frames, "strokes": record_student(url, teacher.code)["strokes"]}
    teacher.start()
    while len(teacher.samples) < 3:  # the training has started and made steps
        time.sleep(0.2)
    time.sleep(5)  # past its warm-up
    t0, c0 = time.perf_counter(), cpu_s(pid)
    time.sleep(window)
    alone = (t0, time.perf_counter(), cpu_s(pid) - c0)
    stop = threading.Event()
    joined = [Student(url, frames, teacher.code, stop, seed) for seed in range(students)]
    for s in joined:
        s.start()
    time.sleep(3)  # every page has looked once
    t1, c1 = time.perf_counter(), cpu_s(pid)
    time.sleep(window)
    together = (t1, time.perf_counter(), cpu_s(pid) - c1)
    stop.set()
    for s in joined:
        s.join()
    teacher.done.set()
    teacher.join()
    if os.environ.get("CLASS_TRACE"):
        for s in joined:
            print(s.reruns, len(s.steps), len(s.latencies), s.errors, s.failed, file=sys.stderr)
    in_window = [x for x in teacher.samples if together[0] <= x[0] <= together[1]]
    late = [x * 1000 for s in joined for x in lags(in_window, s.steps)]
    strokes = [x for s in joined for x in s.latencies]
    cpu_alone = alone[2] / (alone[1] - alone[0])
    cpu_class = together[2] / (together[1] - together[0])
    return {
        "students": students,
        "errors": sum(s.errors for s in joined),
        "pages_failed": sum(s.failed is not None for s in joined),
        "server_cpu_alone": round(cpu_alone, 3),  # cores
        "server_cpu_with_class": round(cpu_class, 3),
        "server_cpu_ms_per_page_per_s": round(1000 * (cpu_class - cpu_alone) / students, 1),
        "reruns_per_page_per_s": round(
            sum(s.reruns for s in joined) / students / (together[1] - together[0]), 2
        ),
        "lag_ms_p50": _pct(late, 50),
        "lag_ms_p95": _pct(late, 95),
        "lag_ms_max": round(max(late), 1) if late else None,
        "lag_samples": len(late),
        "strokes": len(strokes),
        "stroke_ms_p50": _pct(strokes, 50),
        "stroke_ms_p95": _pct(strokes, 95),
        "steps_per_s_alone": round(teacher.rate(alone[0], alone[1]), 2),
        "steps_per_s_with_class": round(teacher.rate(together[0], together[1]), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--class", dest="students", type=int, default=32, help="joined pages")
    ap.add_argument("--window", type=float, default=30, help="seconds per measuring window")
    ap.add_argument("--avx2", action="store_true", help="measure as a 2-core AVX2 CPU would")
    ap.add_argument("--ray", action="store_true", help="the training on a local Ray cluster")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.avx2 and any(os.environ.get(k) != v for k, v in AVX2.items()):
        argv = [a for a in sys.argv if a != "--avx2"]
        os.execve(sys.executable, [sys.executable, *argv], {**os.environ, **AVX2})

    def run(url: str, pid: int) -> dict:
        frames = record(url)
        frames["class_start"] = record_start(url)
        emulated = {k: os.environ[k] for k in AVX2 if k in os.environ}
        return {
            "cpu": cpu_model(),
            "emulated": emulated,
            "backend": "ray" if args.ray else "process",
            **measure(url, pid, frames, args.students, args.window),
        }

    env = None
    if args.ray:  # 1 of its 2 CPUs for the training, as on a 2-core node; the server as before
        from harness.cluster import start_local_ray

        env = {"MNIST_STUDIO_RAY_ADDRESS": start_local_ray(), "MNIST_STUDIO_CPUS_PER_TRAINING": "1"}
    against_a_server(run, args.json, env)


if __name__ == "__main__":
    main()
