"""A class pressing Train at once: N trainings through the page's job path, on this server's
one slot (the thread backend) and on a local Ray cluster started here (`ray.init(num_cpus=...)`).

Each simulated visitor starts the same short training (`--steps`) at the same moment, as a
TrainingJob the way the page does, and polls it as the page does (every 0.5 s). Per visitor:
the wait in the queue (start -> first metric event seen), the run (first event -> the result),
and the events-to-page latency (an event's clock time in the training -> the poll that saw it,
on this machine's one clock). Then the time to serve everyone. Run by `classroom.py --trainings N`.
"""

from __future__ import annotations

import os
import statistics
import threading
import time

POLL_S = 0.5  # as the page's training panel


def _visitor(job, out: dict) -> None:
    t0 = time.monotonic()
    first, lags, seen = None, [], 0
    while True:
        ended = job.wait_end(POLL_S)
        view = job.view()
        now = time.monotonic()
        new = view.events[seen:]
        seen = len(view.events)
        if new and first is None:
            first = now
        lags += [time.time() - e["wall"] for e in new if "wall" in e]
        if ended:
            break
    end = time.monotonic()
    out.update(wait=(first or end) - t0, run=end - (first or end), state=view.state,
               error=view.error, lags=lags, events=seen)  # fmt: skip


def serve(n: int, steps: int, data, slots, isolate) -> dict:
    """n trainings at once through `slots`; per-visitor figures and the total."""
    from mnist_demo.serving.jobs import TrainingJob
    from mnist_demo.training.recipes import get_recipe

    recipe = get_recipe("mlp", "fast").with_(epochs=50)
    outs = [{} for _ in range(n)]
    t0 = time.monotonic()
    jobs = [TrainingJob(recipe.with_(seed=i), lambda: data, slots, max_steps=steps,
                        isolate=isolate) for i in range(n)]  # fmt: skip
    threads = [threading.Thread(target=_visitor, args=(j.start(), o)) for j, o in zip(jobs, outs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.monotonic() - t0
    lags = [x for o in outs for x in o["lags"]]
    return {
        "visitors": [
            {k: (round(v, 2) if isinstance(v, float) else v) for k, v in o.items() if k != "lags"}
            for o in outs
        ],  # fmt: skip
        "total_s": round(total, 2),
        "lag_median_ms": round(1000 * statistics.median(lags), 1) if lags else None,
        "lag_max_ms": round(1000 * max(lags), 1) if lags else None,
    }


def compare(n: int, steps: int, ray_cpus: int, per_training: float) -> dict:
    """The thread backend with one slot, then Ray with `ray_cpus` CPUs, on the same trainings."""
    from mnist_demo.data import load_mnist
    from mnist_demo.serving import cluster
    from mnist_demo.serving.slots import TrainingSlots

    data = load_mnist().head(10_000, 2_000)
    out = {"threads": serve(n, steps, data, TrainingSlots(1), isolate=True)}
    import ray

    from harness.cluster import start_local_ray

    t = time.monotonic()
    address = start_local_ray(ray_cpus, store_mb=500)
    startup = time.monotonic() - t
    os.environ[cluster.ADDRESS_VAR] = address
    os.environ[cluster.CPUS_VAR] = str(per_training)
    try:
        slots = TrainingSlots(cluster.cluster_size()[0])
        out["ray"] = {**serve(n, steps, data, slots, isolate=None), "ray_init_s": round(startup, 2),
                      "slots": slots.capacity}  # fmt: skip
    finally:
        ray.shutdown()
        os.environ.pop(cluster.ADDRESS_VAR, None)
    return out


def report(out: dict) -> None:
    for backend, r in out.items():
        runs = [v["run"] for v in r["visitors"]]
        waits = [v["wait"] for v in r["visitors"]]
        states = sorted({v["state"] for v in r["visitors"]})
        extra = f", ray.init {r['ray_init_s']} s, {r['slots']} slots" if backend == "ray" else ""
        print(f"{backend}: all {len(runs)} served in {r['total_s']} s ({', '.join(states)}){extra}")
        print(f"  queue wait s: {waits}")
        print(f"  run s (first event -> result): {runs} (median {statistics.median(runs):.2f})")
        print(f"  events -> page: median {r['lag_median_ms']} ms, max {r['lag_max_ms']} ms")
