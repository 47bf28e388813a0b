"""Trainings as Ray actors on a local Ray the test starts (requirements-cluster.txt; CI has it)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from harness import ROOT
from mnist_demo.nets.inference import predict_probs
from mnist_demo.serving import cluster
from mnist_demo.serving.jobs import DONE, FAILED, STOPPED, TrainingJob
from mnist_demo.serving.slots import TrainingSlots
from mnist_demo.training.recipes import get_recipe

ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-cluster.txt")


@pytest.fixture
def on_ray(local_ray, monkeypatch):
    monkeypatch.setenv(cluster.ADDRESS_VAR, local_ray)
    monkeypatch.setenv(cluster.CPUS_VAR, "1")
    return local_ray


def until_a_step(job) -> None:
    while not any(e["kind"] == "step" for e in job.view().events):  # training, not starting
        assert not job.wait_end(0.05), job.view().error


def test_the_cluster_says_its_size(on_ray):
    assert cluster.cluster_size() == (2, 2.0)  # 2 CPUs, one training per CPU


def test_two_trainings_run_as_actors_one_stopped_one_finishes(on_ray, small):
    slots = TrainingSlots(cluster.cluster_size()[0])
    recipe = get_recipe("mlp", "fast")
    long = TrainingJob(recipe.with_(epochs=500), lambda: small, slots).start()
    short = TrainingJob(recipe.with_(epochs=50), lambda: small, slots, max_steps=300).start()
    until_a_step(long)
    assert len(slots.running()) == 2  # both at once: the cluster has room for two
    long.stop()
    assert long.wait_end(120) and short.wait_end(120)
    stopped, done = long.view(), short.view()
    assert stopped.state == STOPPED and stopped.result.stopped, stopped.error
    assert 0 < stopped.result.steps < recipe.with_(epochs=500).total_steps(len(small.x_train))
    assert done.state == DONE and done.result.steps == 300, done.error
    for view in (stopped, done):
        assert [e["kind"] for e in view.events][0] == "start"
        assert any(e["kind"] == "step" for e in view.events)
        probs = predict_probs(view.result.model, small.x_test[:100])  # weights came back
        assert probs.shape == (100, 10) and (probs.argmax(1) == small.y_test[:100]).mean() > 0.5
    assert not slots.busy()


def test_ray_and_threads_train_the_same_recipe_alike(on_ray, small):
    recipe = get_recipe("mlp", "fast").with_(seed=3, epochs=50)
    results = []
    for isolate in (None, False):  # None: the cluster (the address is set); False: a thread
        job = TrainingJob(recipe, lambda: small, TrainingSlots(1), max_steps=40, isolate=isolate)
        assert job.start().wait_end(180)
        results.append(job.view().result)
    on_ray_result, threaded = results
    assert on_ray_result.steps == threaded.steps == 40
    assert abs(on_ray_result.test_accuracy - threaded.test_accuracy) <= 0.005
    a = predict_probs(on_ray_result.model, small.x_test).argmax(1)
    b = predict_probs(threaded.model, small.x_test).argmax(1)
    assert (a == b).mean() >= 0.97


def test_a_killed_actor_is_a_clear_message_and_frees_its_slot(on_ray, small):
    slots = TrainingSlots(1)
    recipe = get_recipe("mlp", "fast").with_(epochs=500)
    job = TrainingJob(recipe, lambda: small, slots).start()
    until_a_step(job)
    ray.kill(job.runner.actor)
    assert job.wait_end(120)
    view = job.view()
    assert view.state == FAILED and cluster.LOST in view.error, view.error
    assert not slots.busy()
    again = TrainingJob(get_recipe("mlp", "fast"), lambda: small, slots, max_steps=5).start()
    assert again.wait_end(120) and again.view().state == DONE, again.view().error
    assert np.isfinite(again.view().result.test_accuracy)


def test_the_command_line_trains_on_the_cluster(on_ray, mnist_path, tmp_path):
    import subprocess
    import sys

    env = {**os.environ, cluster.ADDRESS_VAR: on_ray}
    done = subprocess.run(
        [sys.executable, "-m", "mnist_demo", "train", "mlp", "--steps", "8", "--limit", "1000",
         "--data", str(mnist_path), "--ray", "--save", str(tmp_path / "m.keras")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "done: 8 steps" in done.stdout and (tmp_path / "m.keras").exists()


def test_the_classroom_benchmark_runs_in_its_short_mode(mnist_path):
    """benchmarks/classroom.py --trainings: threads, then a Ray of its own, every visitor served."""
    import json
    import subprocess
    import sys

    env = {**os.environ, "MNIST_DATA": str(mnist_path)}
    env.pop(cluster.ADDRESS_VAR, None)
    done = subprocess.run(
        [sys.executable, "benchmarks/classroom.py", "--trainings", "2", "--steps", "5", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    for backend in ("threads", "ray"):
        visitors = out[backend]["visitors"]
        assert [v["state"] for v in visitors] == ["done", "done"], visitors
        assert all(v["events"] > 0 for v in visitors)
    assert out["ray"]["slots"] == 2
