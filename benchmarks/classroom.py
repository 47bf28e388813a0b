"""A classroom against one server: its CPU per stroke, and a training beside simulated visitors.

    python benchmarks/classroom.py                  # 8 visitors, 30 s windows
    python benchmarks/classroom.py --visitors 8 --window 30 --json
    python benchmarks/classroom.py --trainings 6 --steps 150   # 6 Train presses: threads vs Ray

The visitors are not browsers: each is a websocket session speaking Streamlit's own protocol,
replaying the messages a real browser sent for a stroke and a clear (recorded first, once, from
headless Chromium). So only the server's work for them counts, not eight browsers' rendering on
the same two cores. Prints:

- the server's CPU time per stroke (preprocessing, both models, the fragment's rerun), from the
  server process's own counters (/proc/PID/stat: user + system, all threads), over sequential
  strokes from one visitor;
- a CNN training's rate (steps/s, read from the progress the page sends its trainer) alone,
  then with N visitors each drawing and clearing every STROKE_EVERY_S seconds, then alone again;
  the ratio compares the middle window with the mean of the two alone;
- each visitor's stroke -> prediction latency (message sent -> both models' metrics received);
- the first stroke after the server started, in the browser that records (mouse-up -> both
  metrics showing the digit, the canvas' own 200 ms debounce included).
Needs MNIST ($MNIST_DATA or the Keras download), Playwright and Chromium, and websockets.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

STROKE_EVERY_S = 1.5  # a visitor's pace: a stroke, a look at the answer, a clear, ...
STEP = re.compile(r"step ([\d,]+) /")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (children not included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def cpu_model() -> str:
    text = Path("/proc/cpuinfo").read_text()
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    amx = " (AMX)" if re.search(r"\bamx_bf16\b", text) else ""
    return (found[1].strip() if found else "unknown") + amx


def record(url: str) -> dict:
    """What a browser sends: the first page load, a stroke of each digit, a clear, Train."""
    from bench import _stroke_latency
    from playwright.sync_api import expect, sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS
    from harness.strokes import draw_digit

    sent: list[bytes] = []
    frames: dict = {"strokes": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(f)))
        page.goto(url)
        canvas = page.locator("canvas.upper-canvas").first
        expect(canvas).to_be_visible(timeout=60_000)
        hint = page.get_by_text("Draw a digit on the black square")
        expect(hint).to_be_visible(timeout=60_000)  # the server warms TensorFlow meanwhile
        frames["load"] = sent[0]
        for digit in (7, 1, 4):
            if digit == 7:  # the first stroke since the server started, timed by the browser
                frames["first_stroke_ms"] = round(1000 * _stroke_latency(page, canvas, digit), 1)
            else:
                draw_digit(page, canvas, digit)
            frames["strokes"][digit] = answered_and_cleared(page, digit, sent)
            frames["clear"] = _last_press(sent)
        page.get_by_role("button", name="Train").click()
        expect(page.get_by_role("button", name="Stop")).to_be_visible(timeout=30_000)
        deadline = time.monotonic() + 10  # Playwright reports a sent frame a little later
        while not any(_presses(f, "-train") for f in sent) and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        frames["train"] = next(f for f in reversed(sent) if _presses(f, "-train"))
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_text(re.compile(r"(Stopped|Done|Cancelled)"))).to_be_visible(
            timeout=120_000
        )
        browser.close()
    return frames


def answered_and_cleared(page, digit: int, sent: list) -> bytes:
    """Once both networks read `digit`: the stroke's rerun; then the canvas is cleared."""
    from playwright.sync_api import expect

    metric = page.get_by_test_id("stMetricValue")
    expect(metric.first).to_have_text(str(digit), timeout=30_000)
    expect(metric.last).to_have_text(str(digit), timeout=30_000)
    frame = _last_press(sent)
    page.get_by_role("button", name="Reset canvas & history").click()
    expect(page.get_by_text("Draw a digit on the black square")).to_be_visible()
    return frame


def _last_press(sent: list) -> bytes:
    """The last rerun the visitor's own action sent: not a fragment's auto rerun (the page's
    fragments that rerun every second send those in between)."""
    for frame in reversed(sent):
        if isinstance(frame, bytes):
            msg = BackMsg()
            msg.ParseFromString(frame)
            kind = msg.WhichOneof("type")
            if kind == "rerun_script" and not msg.rerun_script.is_auto_rerun:
                return frame
    raise SystemExit("the browser sent no rerun for the stroke")


def _presses(frame, key_end: str) -> bool:
    """Whether `frame` is the rerun a press of the button keyed `...key_end` sends."""
    msg = BackMsg()
    if isinstance(frame, str):
        return False
    msg.ParseFromString(frame)
    return msg.WhichOneof("type") == "rerun_script" and any(
        w.id.endswith(key_end) and w.WhichOneof("value") == "trigger_value"
        for w in msg.rerun_script.widget_states.widgets
    )


class Session:
    """One visitor's websocket session with the server."""

    def __init__(self, url: str, load: bytes):
        ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = connect(  # noqa: SIM115 (closed by close())
            ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=60
        )
        self.request(load)

    def request(self, frame: bytes, timeout: float = 120) -> tuple[float | None, list]:
        """Send a rerun; returns (seconds until both models' metrics arrived, or None), and the
        messages up to the end of the run."""
        t0 = time.perf_counter()
        self.ws.send(frame)
        metrics, answered, messages = 0, None, []
        while True:
            msg = ForwardMsg()
            try:
                msg.ParseFromString(self.ws.recv(timeout=timeout))
            except TimeoutError:
                got = [m.WhichOneof("type") for m in messages]
                raise SystemExit(f"no end of run in {timeout} s; received {got}") from None
            messages.append(msg)
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.new_element.WhichOneof("type") == "metric":
                metrics += 1
                if metrics == 2:
                    answered = time.perf_counter() - t0
            if kind == "script_finished":
                return answered, messages

    def close(self) -> None:
        self.ws.close()


def cpu_per_stroke(url: str, pid: int, frames: dict, strokes: int) -> dict:
    """Server CPU ms per stroke: one visitor's strokes, one after another, nothing else running."""
    s = Session(url, frames["load"])
    digits = list(frames["strokes"])
    for d in digits:  # warm
        s.request(frames["strokes"][d])
    lat, stroke_cpu, clear_cpu = [], 0.0, 0.0
    for i in range(strokes):
        c0 = cpu_s(pid)
        answered, _ = s.request(frames["strokes"][digits[i % len(digits)]])
        c1 = cpu_s(pid)
        s.request(frames["clear"])
        stroke_cpu, clear_cpu = stroke_cpu + c1 - c0, clear_cpu + cpu_s(pid) - c1
        if answered is not None:  # (a rerun the server skipped: counted in CPU, not latency)
            lat.append(answered * 1000)
    s.close()
    return {
        "server_cpu_ms_per_stroke": round(1000 * stroke_cpu / strokes, 1),
        # The same rerun of the canvas' fragment with nothing to read: Streamlit's own share.
        "server_cpu_ms_per_clear": round(1000 * clear_cpu / strokes, 1),
        "stroke_ms_p50_alone": _pct(lat, 50),
    }


class Trainer(threading.Thread):
    """A session that presses Train and then follows the live view as a browser does (the page
    asks for a rerun of its live fragment every half second), noting (time, step)."""

    def __init__(self, url: str, frames: dict, seconds: int):
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int]] = []
        self.done = threading.Event()
        self.fragment, self.interval, self.trying = None, 0.5, None
        self.tried: set[str] = set()
        self.session = Session(url, frames["load"])
        self.train = _with_int(frames["train"], "budget_cnn_class", seconds)

    def run(self) -> None:
        # As a person would: set the budget (the page reruns with it), then press Train.
        self.session.request(_without_trigger(self.train))
        _, messages = self.session.request(self.train)
        announced: dict[str, float] = {}
        while not self.done.is_set():
            for m in messages:
                if m.WhichOneof("type") == "auto_rerun":
                    announced[m.auto_rerun.fragment_id] = m.auto_rerun.interval
            if self._note(messages):
                self.fragment = self.fragment or self.trying
            time.sleep(self.interval)
            # The page's fragments that rerun on their own: the one that shows the progress is
            # the one a browser watching the training keeps rerunning.
            self.trying = self.fragment or next((f for f in announced if f not in self.tried), None)
            if self.trying:
                self.tried.add(self.trying)
                self.interval = announced.get(self.trying, 0.5)
                again = _auto_rerun(self.train, self.trying)
            else:
                again = _without_trigger(self.train)
            _, messages = self.session.request(again)
        self.session.close()

    def _note(self, messages) -> bool:
        """Notes the step the progress shows; whether it showed one."""
        seen = False
        for m in messages:
            if m.WhichOneof("type") == "delta":
                text = m.delta.new_element.progress.text
                found = STEP.search(text)
                if found:
                    self.samples.append((time.perf_counter(), int(found[1].replace(",", ""))))
                    seen = True
        return seen

    def rate(self, start: float, end: float) -> float:
        inside = [(t, s) for t, s in self.samples if start <= t <= end]
        if len(inside) < 2:
            raise SystemExit(f"no training progress from {start:.0f} to {end:.0f}: {self.samples}")
        (t0, s0), (t1, s1) = inside[0], inside[-1]
        return (s1 - s0) / (t1 - t0)


def _with_int(frame: bytes, key_end: str, value: int) -> bytes:
    msg = BackMsg()
    msg.ParseFromString(frame)
    for w in msg.rerun_script.widget_states.widgets:
        if w.id.endswith(key_end):
            w.int_value = value
    return msg.SerializeToString()


def _without_trigger(frame: bytes) -> bytes:
    msg = BackMsg()
    msg.ParseFromString(frame)
    widgets = msg.rerun_script.widget_states.widgets
    keep = [w for w in widgets if w.WhichOneof("value") != "trigger_value"]
    del widgets[:]
    widgets.extend(keep)
    return msg.SerializeToString()


def _auto_rerun(train: bytes, fragment_id: str) -> bytes:
    msg = BackMsg()
    msg.ParseFromString(_without_trigger(train))
    msg.rerun_script.fragment_id = fragment_id
    msg.rerun_script.is_auto_rerun = True
    return msg.SerializeToString()


class Visitor(threading.Thread):
    """Draws a stroke every STROKE_EVERY_S (its own phase), as a student drawing a digit stroke
    by stroke does: each stroke reruns the canvas' fragment and reads both networks. A stroke
    whose time comes while the last one is unanswered is sent when it is (a browser's canvas
    sends its latest state then), and counted late."""

    def __init__(self, url: str, frames: dict, stop: threading.Event, seed: int):
        super().__init__(daemon=True)
        self.frames, self.stop, self.random = frames, stop, random.Random(seed)
        self.session = Session(url, frames["load"])
        self.latencies: list[float] = []
        self.scheduled = self.sent = self.strokes = self.late = self.errors = 0

    def run(self) -> None:
        digits = list(self.frames["strokes"])
        start = time.perf_counter() + self.random.uniform(0, STROKE_EVERY_S)
        while not self.stop.wait(max(0.0, start - time.perf_counter())):
            due = start
            self.scheduled += 1
            self.sent += 1
            answered, messages = self.session.request(
                self.frames["strokes"][self.random.choice(digits)]
            )
            self.errors += sum(_is_error(m) for m in messages)
            if answered is not None:
                self.latencies.append(answered)
                self.strokes += 1
            start = due + STROKE_EVERY_S
            while start < time.perf_counter():  # its next times passed while it waited
                self.scheduled += 1
                self.late += 1
                start += STROKE_EVERY_S
        self.session.close()


def _is_error(msg) -> bool:
    """An exception box the page sent (a traceback shown to the visitor)."""
    return msg.WhichOneof("type") == "delta" and msg.delta.new_element.WhichOneof("type") in (
        "exception",
    )


def _pct(values, q) -> float | None:
    values = sorted(values)
    if not values:
        return None
    return round(values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))], 1)


def training_with_visitors(url: str, pid: int, frames: dict, visitors: int, window: float) -> dict:
    trainer = Trainer(url, frames, seconds=300)  # the class recipe for 5 minutes at most
    trainer.start()
    while len(trainer.samples) < 3:  # the training process has started and made steps
        time.sleep(0.2)
    time.sleep(5)  # past its first epoch's warm-up
    t = time.perf_counter()
    windows = [(t, t + window)]
    time.sleep(window)
    stop = threading.Event()
    crowd = [Visitor(url, frames, stop, seed) for seed in range(visitors)]
    t, c0 = time.perf_counter(), cpu_s(pid)
    for v in crowd:
        v.start()
    time.sleep(window)
    windows.append((t, time.perf_counter()))
    crowd_cpu = cpu_s(pid) - c0
    stop.set()
    for v in crowd:
        v.join()
    t = time.perf_counter()
    time.sleep(window)
    windows.append((t, time.perf_counter()))
    trainer.done.set()
    trainer.join()
    if os.environ.get("CLASSROOM_TRACE"):
        t0 = trainer.samples[0][0]
        print([(round(t - t0, 1), n) for t, n in trainer.samples], file=sys.stderr)
        print([(round(a - t0, 1), round(b - t0, 1)) for a, b in windows], file=sys.stderr)
    rates = [trainer.rate(*w) for w in windows]
    alone = (rates[0] + rates[2]) / 2
    latencies = [x * 1000 for v in crowd for x in v.latencies]
    return {
        "visitors": visitors,
        "errors": sum(v.errors for v in crowd),
        "strokes_scheduled": sum(v.scheduled for v in crowd),
        "strokes_sent": sum(v.sent for v in crowd),
        "strokes_answered": sum(v.strokes for v in crowd),
        "strokes_late": sum(v.late for v in crowd),
        # The server's CPU (its own process: the training's is another) over the crowd's window.
        "server_cpu_ms_per_stroke_in_crowd": round(
            1000 * crowd_cpu / max(1, sum(v.strokes for v in crowd)), 1
        ),
        "steps_per_s_alone": [round(rates[0], 2), round(rates[2], 2)],
        "steps_per_s_with_visitors": round(rates[1], 2),
        "training_rate_ratio": round(rates[1] / alone, 3),
        "stroke_ms_p50": _pct(latencies, 50),
        "stroke_ms_p95": _pct(latencies, 95),
        "stroke_ms_max": round(max(latencies), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visitors", type=int, default=8)
    ap.add_argument("--window", type=float, default=30, help="seconds per measuring window")
    ap.add_argument("--strokes", type=int, default=60, help="strokes for the CPU figure")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--trainings", type=int, help="instead: N visitors press Train at once, on "
                    "this server's one slot and on a local Ray (classroom_jobs.py)")  # fmt: skip
    ap.add_argument("--steps", type=int, default=150, help="with --trainings: each one's steps")
    ap.add_argument("--ray-cpus", type=int, default=2, help="with --trainings: the local Ray's")
    ap.add_argument("--cpus-per-training", type=float, default=1)
    args = ap.parse_args()
    if args.trainings:
        import classroom_jobs

        out = classroom_jobs.compare(args.trainings, args.steps, args.ray_cpus,
                                     args.cpus_per_training)  # fmt: skip
        print(json.dumps(out)) if args.json else classroom_jobs.report(out)
        return

    def measure(url: str, pid: int) -> dict:
        frames = record(url)
        out = {"cpu": cpu_model(), "first_stroke_ms": frames["first_stroke_ms"]}
        out.update(cpu_per_stroke(url, pid, frames, args.strokes))
        out.update(training_with_visitors(url, pid, frames, args.visitors, args.window))
        return out

    against_a_server(measure, args.json)


def against_a_server(measure, as_json: bool, env: dict | None = None) -> None:
    """`measure(url, pid)` against a fresh server with the shipped models (and `env`), its
    figures printed."""
    from harness.browser import start_app

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "weights"
        shutil.copytree(ROOT / "weights", weights)
        proc, url, _ = start_app(weights, env)
        try:
            out = measure(url, proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
    if as_json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>30}: {v}")


if __name__ == "__main__":
    main()
