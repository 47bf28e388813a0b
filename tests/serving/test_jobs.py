"""Background training jobs: the slot limit, waiting and cancelling, and a closed tab's training."""

import os
import threading
import time
from pathlib import Path

import numpy as np

import mnist_demo.serving.jobs as jobs
import mnist_demo.serving.steering as steering
from mnist_demo.errors import DataError
from mnist_demo.serving.jobs import TrainingJob, TrainingSlots
from mnist_demo.training.recipes import get_recipe

# Upper bounds, not delays: a training process imports TensorFlow before its first step, which
# takes a minute or more with busy loops on both cores (benchmarks/under_load.py).
SLOW = 240


def quick_recipe():
    return get_recipe("mlp", "fast").with_(steps=100_000, epochs=None, steps_per_execution=1)


def training_processes() -> list[int]:
    """This process's children that run a training (from /proc, as `ps` would find them)."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        try:  # a thread or a child may end while we look
            pids = [int(p) for p in (task / "children").read_text().split()]
            found += [p for p in pids if b"mnist_demo.serving.worker" in _cmdline(p)]
        except FileNotFoundError:
            continue
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def wait_until(predicate, timeout=SLOW):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("the expected state never came")


def wait_state(job, *states, timeout=SLOW):
    end = time.time() + timeout
    while time.time() < end:
        if job.state in states:
            return
        time.sleep(0.02)
    raise AssertionError(f"job stayed {job.state}")


def test_a_closed_tab_stops_its_training(small, monkeypatch):
    monkeypatch.setattr(steering, "OWNER_CHECK_S", 0.0)
    open_tab = threading.Event()
    open_tab.set()
    job = TrainingJob(
        quick_recipe(), lambda: small, TrainingSlots(1), owner_alive=open_tab.is_set
    ).start()
    wait_state(job, "running")
    open_tab.clear()  # the owner's session is gone
    assert job.join(SLOW)
    view = job.view()
    assert view.state == "stopped" and view.result.stopped


class SlowLine(TrainingSlots):
    """A busy machine: the job's thread gets to the line a second late."""

    def acquire(self, job, give_up):
        time.sleep(1.0)
        return super().acquire(job, give_up)


def test_a_free_slot_is_taken_by_start_itself(small):
    """The page that pressed Train never sees it queued, however late the job's thread runs."""
    slots = SlowLine(1)
    job = TrainingJob(quick_recipe(), lambda: small, slots).start()
    assert job.view().state == "running" and slots.running() == [job]
    job.stop()
    assert job.join(SLOW) and not slots.busy()


def test_second_job_waits_for_the_slot_and_can_cancel(small):
    slots = TrainingSlots(1)
    first = TrainingJob(quick_recipe(), lambda: small, slots).start()
    wait_state(first, "running")
    second = TrainingJob(quick_recipe(), lambda: small, slots).start()
    wait_state(second, "waiting")
    assert second.view().place == 1 and slots.busy()
    second.stop()
    assert second.join(SLOW) and second.state == "cancelled"
    first.stop()
    wait_state(first, "stopped")
    assert not slots.busy()  # free as soon as it has ended, while its process still exits
    assert first.join(SLOW)


def test_data_errors_fail_the_job_with_the_message():
    def no_mnist():
        raise DataError("MNIST not found at /nowhere: set MNIST_DATA=...")

    job = TrainingJob(quick_recipe(), no_mnist, TrainingSlots(1)).start()
    assert job.join(SLOW)
    view = job.view()
    assert view.state == "failed" and "MNIST_DATA" in view.error


def test_a_larger_capacity_trains_side_by_side(small):
    slots = TrainingSlots(2)  # MNIST_STUDIO_MAX_TRAININGS=2
    running = [TrainingJob(quick_recipe(), lambda: small, slots).start() for _ in range(2)]
    for job in running:
        wait_state(job, "running")
    for job in running:
        job.stop()
        assert job.join(SLOW)


def test_a_run_past_the_time_limit_stops_and_keeps_its_model(small):
    job = TrainingJob(quick_recipe(), lambda: small, TrainingSlots(1), max_seconds=SLOW).start()
    # It trains (a step, not only the evaluation before the first step)...
    wait_until(lambda: any(e["kind"] == "step" for e in job.view().events))
    job.max_seconds = 0.5  # ...and is now past this server's limit (as if it had been running)
    assert job.join(SLOW)
    view = job.view()
    assert view.state == "stopped" and view.stop_reason == steering.TIME_LIMIT
    assert view.result.stopped and view.result.steps >= 1
    assert view.result.model.count_params() == 669_706  # the MLP, back from the child process


def test_the_line_is_served_first_come_first_served(small, monkeypatch):
    """Jobs that wait start in the order they came, whatever the order threads wake up in."""
    import mnist_demo.training.engine as training

    monkeypatch.setattr(jobs, "ISOLATE", False)
    gate, started = threading.Event(), []

    def train(*args, **kwargs):
        gate.wait(30)
        raise DataError("this stand-in only holds the slot")

    monkeypatch.setattr(training, "train", train)

    def loader(name):
        return lambda: started.append(name) or small

    slots = TrainingSlots(1)
    first = TrainingJob(quick_recipe(), loader("first"), slots).start()
    wait_state(first, "running")
    line = []
    for name in "ABCDE":
        line.append(TrainingJob(quick_recipe(), loader(name), slots).start())
        wait_until(lambda: line[-1].view().place == len(line))
    assert [job.view().place for job in line] == [1, 2, 3, 4, 5]
    gate.set()
    for job in line:
        assert job.join(SLOW) and job.view().error == "this stand-in only holds the slot"
    assert started == ["first", *"ABCDE"]


def test_a_crashed_training_process_fails_the_job_not_the_server(small, monkeypatch):
    import os
    import signal

    job = TrainingJob(quick_recipe(), lambda: small, TrainingSlots(1)).start()
    wait_until(lambda: job.view().events)  # the child is training
    for pid in training_processes():
        os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    assert job.join(SLOW)
    view = job.view()
    assert view.state == "failed" and "training process ended" in view.error
    assert training_processes() == []  # nothing left behind


def test_the_data_goes_to_training_processes_as_files_written_once(small):
    import gc

    import numpy as np

    from mnist_demo.serving import ondisk

    data = small.head(50, 20)
    files = ondisk.on_disk(data)
    assert ondisk.on_disk(data) is files  # once per dataset, not once per training
    for name in ondisk.ARRAYS:
        np.testing.assert_array_equal(np.load(files[name]), getattr(data, name))
    folder = os.path.dirname(files["x_train"])
    del data
    gc.collect()
    assert not os.path.exists(folder)  # gone with the data


def test_a_killed_servers_data_folder_goes_when_the_next_server_writes_its_own(small):
    import subprocess
    import tempfile

    from mnist_demo.serving import ondisk

    ended = subprocess.Popen(["true"])
    ended.wait()  # a server that was killed: its process is gone, its folder stayed
    orphan = Path(tempfile.mkdtemp(prefix=f"{ondisk.DATA_PREFIX}{ended.pid}-"))
    (orphan / "x_train.npy").write_bytes(b"left behind")
    alive = Path(tempfile.mkdtemp(prefix=f"{ondisk.DATA_PREFIX}{os.getppid()}-"))
    data = small.head(30, 10)
    files = ondisk.on_disk(data)
    assert not orphan.exists() and alive.exists()  # another server's, still running
    assert Path(files["x_train"]).parent.name.startswith(f"{ondisk.DATA_PREFIX}{os.getpid()}-")
    alive.rmdir()


def test_wait_end_returns_as_the_job_ends_not_when_its_process_exits(small):
    job = TrainingJob(quick_recipe(), lambda: small, TrainingSlots(1)).start()
    wait_until(lambda: any(e["kind"] == "step" for e in job.view().events))
    assert not job.wait_end(0.05)  # running: no end yet
    job.stop()
    assert job.wait_end(SLOW)
    view = job.view()
    assert view.state == "stopped" and view.result is not None
    assert view.result.model.name == "mlp" and view.result.test_accuracy > 0.1
    assert job.join(SLOW)


def test_a_training_process_kept_warm_takes_the_next_training(small, monkeypatch):
    """prewarm leaves one process waiting, TensorFlow imported and both networks rehearsed; the
    next training runs in it (the same process id) and trains as a fresh one would."""
    import mnist_demo.serving.warm as warm
    from mnist_demo.serving.runner import Event, Result
    from mnist_demo.serving.worker import ProcessRun

    monkeypatch.setattr(warm, "WARM", True)
    warm.prewarm()
    pid = warm.warm_pid()
    assert pid is not None
    wait_until(lambda: pid in training_processes())  # once it runs the worker's code
    run = ProcessRun(get_recipe("mlp", "fast"), small, max_steps=6)
    assert run.pid == pid and warm.warm_pid() is None  # taken: none waiting now
    messages = [m for m in run.messages() if m is not None]
    assert isinstance(messages[-1], Result)
    result = messages[-1].result
    assert result.steps == 6 and not result.stopped
    assert all(isinstance(m, Event) for m in messages[:-1])
    assert messages[0].event["kind"] == "start"
    monkeypatch.setattr(warm, "WARM", False)  # no new one after this test
    warm.let_go()  # nor this one, waiting for a next training


def results(run) -> list:
    from mnist_demo.serving.runner import Result

    messages = [m for m in run.messages() if m is not None]
    assert isinstance(messages[-1], Result), messages[-1]
    return messages[-1].result


def test_a_process_whose_training_ended_well_takes_the_next_one_as_a_fresh_one(small, monkeypatch):
    """After its result, the process waits for the next training (no TensorFlow import, the
    recipe's step traced), which trains exactly as one in a new process would; a late command
    for the last training does not reach it; after REUSES trainings the process ends."""
    import mnist_demo.serving.warm as warm
    from mnist_demo.serving import worker
    from mnist_demo.training import engine, kept

    monkeypatch.setattr(warm, "WARM", True)
    monkeypatch.setattr(worker, "REWARM_AFTER_S", 600.0)  # no new one while this test looks
    monkeypatch.setattr(worker, "REUSES", 2)
    warm.let_go()  # a new process for this test
    # A class recipe (its network is kept) in an hour's budget: a few calls, whatever the CPU.
    recipe = get_recipe("mlp", "class").with_(seed=5, budget_s=3600)
    first = worker.ProcessRun(recipe.with_(seed=1), small, max_steps=16)
    pid = first.pid
    assert results(first).steps == 16
    assert warm.warm_pid() == pid  # waiting for the next
    first.stop()  # pressed late: its training has ended
    second = worker.ProcessRun(recipe, small, max_steps=24)
    assert second.pid == pid
    got = results(second)
    kept.clear()
    want = engine.train(recipe, small, max_steps=24)  # a new network, in this process
    assert got.steps == 24 and not got.stopped
    for a, b in zip(got.model.get_weights(), want.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert warm.warm_pid() is None  # its second training: REUSES reached, it ended
    wait_until(lambda: pid not in training_processes())
    monkeypatch.setattr(warm, "WARM", False)
    warm.let_go()


def test_every_runner_implements_the_runner_protocol(small):
    """The process, thread and Ray runners all have the protocol's stop, tell and messages; a
    thread runner's messages are Event dataclasses, then one Result."""
    from mnist_demo.serving.cluster import RayRun
    from mnist_demo.serving.runner import Event, Result, Runner
    from mnist_demo.serving.worker import ProcessRun, ThreadRun

    for cls in (ProcessRun, ThreadRun, RayRun):
        assert all(callable(getattr(cls, name, None)) for name in ("stop", "tell", "messages"))
    run = ThreadRun(get_recipe("mlp", "fast"), small, max_steps=4)
    assert isinstance(run, Runner)
    messages = [m for m in run.messages() if m is not None]
    assert all(isinstance(m, Event) for m in messages[:-1]) and isinstance(messages[-1], Result)
    assert messages[-1].result.steps == 4


def test_step_and_reset_reach_the_training_and_reset_clears_its_curves(small):
    from tests.training.test_step_reset import fresh_network, probabilities

    r = quick_recipe().with_(batch_size=50, eval_every=5, precision="float32", seed=9)
    job = TrainingJob(r, lambda: small, TrainingSlots(1), isolate=False)
    job.pause()  # asked before it starts: the run holds after its first evaluation
    job.start()

    def holds():
        return [e["step"] for e in job.view().events if e["kind"] == "pause"]

    wait_until(lambda: holds() == [0])
    job.step()
    wait_until(lambda: holds() == [0, 5])
    assert job.view().paused and job.view().pause_asked
    job.reset()
    # The curves start again: one start, held at step 0, nothing of the steps before.
    wait_until(lambda: holds() == [0] and job.view().events[0]["kind"] == "start")
    assert all(e["step"] == 0 for e in job.view().events)
    job.stop()
    wait_state(job, jobs.STOPPED)
    x = small.x_test[:200]
    result = job.view().result
    np.testing.assert_allclose(
        probabilities(result.model, x), probabilities(fresh_network(r), x), atol=1e-6
    )
