"""The command line end to end, as a user runs it: real files, a small MNIST slice. Most commands
run in this process (`main` with the arguments a user types, its output captured): a process of
their own would import TensorFlow again, seconds of a core each. Those that are about a process
(where it runs from, what it imports, the download's environment) run in one."""

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness import ROOT
from harness.drawings import drawing_set
from mnist_demo.cli.main import main
from mnist_demo.storage.store import WEIGHTS_ENV, list_models, model_path


def run(*args, env_extra=None, cwd=ROOT):
    """`python -m mnist_demo ARGS` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
        for name, value in (env_extra or {}).items():
            patch.setenv(name, value)
        patch.chdir(cwd)
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def run_process(*args, env_extra=None, cwd=ROOT):
    """`python -m mnist_demo ARGS` in a process of its own: (exit status, stdout, stderr)."""
    env = {**os.environ, **(env_extra or {})}
    p = subprocess.run(
        [sys.executable, "-m", "mnist_demo", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )
    return p.returncode, p.stdout, p.stderr


def assert_one_line_error(code, out, err):
    assert code != 0
    assert "Traceback" not in err + out
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), err


def test_train_then_evaluate_a_small_slice(tmp_path, mnist_path):
    save = tmp_path / "tiny.keras"
    code, out, err = run(
        "train", "mlp", "--data", mnist_path, "--limit", 2000, "--steps", 40, "--average", 20,
        "--save", save,
    )  # fmt: skip
    assert code == 0, err
    assert "test accuracy" in out and save.exists()
    # Progress lines (not a terminal: one per evaluation) say what each event measured.
    progress = [line for line in out.splitlines() if line.startswith("step ")]
    assert any(" test loss " in line for line in progress) and "nan" not in out
    meta = json.loads(save.with_suffix(".json").read_text())
    assert meta["model"] == "mlp" and meta["steps"] == 40 and "train mlp" in meta["command"]
    assert meta["settings"]["average_steps"] == 20  # the saved model is the averaged one
    assert meta["train_images"] == 2000 and meta["test_images"] == 2000
    code, out, err = run("evaluate", save, "--data", mnist_path, "--json", "--limit", 2000)
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == 2000 and 0.6 < result["accuracy"] <= 1 and result["loss"] > 0
    # The sidecar's accuracy was measured on the same 2,000 test images.
    assert result["accuracy"] == pytest.approx(meta["test_accuracy"], abs=1e-4)


def test_predict_many_images_with_json_lines(tmp_path, mnist):
    ims, labels = drawing_set(mnist.x_test, mnist.y_test, 40, seed=21)
    paths = []
    for i, im in enumerate(ims):
        p = tmp_path / f"d{i}.png" if i % 3 else tmp_path / f"d{i}.jpg"
        Image.fromarray(im).save(p)
        paths.append(p)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (280, 280), "white").save(blank)
    text = tmp_path / "notes.png"
    text.write_text("hello")
    code, out, err = run(
        "predict", "--model", "cnn", *paths, blank, text, tmp_path / "absent.png", "--json"
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and "Traceback" not in err
    assert [r["image"] for r in rows] == [
        str(p) for p in [*paths, blank, text, tmp_path / "absent.png"]
    ]
    digits = np.array([r["digit"] for r in rows[:40]])
    assert (digits == labels).mean() >= 0.95
    for r in rows[:40]:
        assert len(r["probabilities"]) == 10 and abs(sum(r["probabilities"]) - 1) < 1e-3
    assert rows[40]["error"] == f"no ink found in {blank}"
    assert "not an image" in rows[41]["error"] and "no such file" in rows[42]["error"]


@pytest.mark.parametrize(
    "args, make",
    [
        (["evaluate", "resnet"], None),
        (["train", "gan"], None),
        (["train", "cnn", "--recipe", "slow"], None),
        (["predict", "--model", "nosuch", "IMG"], "png"),
        (["predict", "--model", "MODEL", "IMG"], "corrupt-model"),
        (["evaluate", "cnn", "--data", "DATA"], "garbage-data"),
        (["evaluate", "cnn", "--data", "MISSING"], None),
        (["frobnicate"], None),
    ],
)
def test_user_errors_are_one_line(tmp_path, args, make):
    img = tmp_path / "x.png"
    Image.fromarray(np.pad(np.full((50, 10), 255, np.uint8), 40)).save(img)
    model = tmp_path / "bad.keras"
    model.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    data = tmp_path / "mnist.npz"
    data.write_bytes(b"garbage" * 1000)
    subst = {"IMG": img, "MODEL": model, "DATA": data, "MISSING": tmp_path / "absent.npz"}
    code, out, err = run(*[subst.get(a, a) for a in args], env_extra={"MNIST_DATA": ""})
    assert_one_line_error(code, out, err)


@pytest.mark.parametrize(
    "args",
    [
        ["train", "gan"],
        ["train", "cnn", "--recipe", "slow"],
        ["evaluate", "resnet"],
        ["evaluate", "cnn", "--data", "MISSING"],
        ["report", "resnet"],
        ["report", "cnn", "--data", "MISSING"],
        ["predict", "--model", "resnet", "MISSING"],
        ["finetune", "cnn", "--images", "MISSING", "--labels", "MISSING"],
    ],
)
def test_a_mistyped_command_is_answered_before_tensorflow_loads(tmp_path, args):
    """What a user typed is checked first: its error comes without TensorFlow's seconds-long
    import (seen here as TensorFlow and Keras left out of the process's modules)."""
    args = [str(tmp_path / "absent") if a == "MISSING" else a for a in args]
    probe = (
        "import sys; from mnist_demo.cli.main import main; code = main(sys.argv[1:]); "
        "print(code, [m for m in ('tensorflow', 'keras') if m in sys.modules])"
    )
    p = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert p.stdout.split() == ["2", "[]"], p.stdout + p.stderr
    assert p.stderr.startswith("error: ") and len(p.stderr.strip().splitlines()) == 1


def test_missing_mnist_offline_says_how_to_fix(tmp_path):
    # No MNIST_DATA and no network: the download fails and the message says what to set.
    code, out, err = run_process(
        "evaluate",
        "mlp",
        env_extra={
            "MNIST_DATA": "",
            "KERAS_HOME": str(tmp_path),
            "HTTPS_PROXY": "http://127.0.0.1:9",
        },
    )
    assert_one_line_error(code, out, err)
    assert "MNIST_DATA" in err


def test_saves_where_the_app_looks_from_any_folder_and_keeps_shipped_names(tmp_path, mnist_path):
    weights, elsewhere = tmp_path / "weights", tmp_path / "elsewhere"
    elsewhere.mkdir()
    # As an installed package: run from another folder, with the app's weights folder set.
    env = {"MNIST_STUDIO_WEIGHTS": str(weights), "PYTHONPATH": str(ROOT)}
    tiny = ["--data", mnist_path, "--limit", 500, "--steps", 3]
    code, out, err = run_process("train", "mlp", *tiny, env_extra=env, cwd=elsewhere)
    assert code == 0, err
    assert [m.name for m in list_models(weights)] == ["mlp-fast"]
    assert list(elsewhere.iterdir()) == []
    for name in ("mlp", "cnn.keras", weights / "mlp.keras"):
        code, out, err = run("train", "mlp", *tiny, "--save", name, env_extra=env, cwd=elsewhere)
        assert_one_line_error(code, out, err)
        assert "shipped model" in err and "--replace-shipped" in err
        assert "training" not in out  # refused before training, not after
    code, out, err = run(
        "train", "mlp", *tiny, "--save", "mlp", "--replace-shipped", env_extra=env, cwd=elsewhere
    )
    assert code == 0, err
    assert [m.name for m in list_models(weights)] == ["mlp", "mlp-fast"]


def test_default_weights_folder_is_the_projects_wherever_python_runs(tmp_path, monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert model_path("mine") == ROOT / "weights" / "mine.keras"
    assert model_path("runs/mine.keras") == Path("runs/mine.keras")  # a path stays a path


def picture_messages(tmp_path):
    """Pictures that are not pictures, each with the words the CLI must say about it."""
    folder = tmp_path / "folder.png"
    folder.mkdir()
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    return {
        folder: f"{folder} is a directory",
        fifo: f"{fifo} is not a regular file",
        Path("/dev/zero"): "/dev/zero is not a regular file",
        empty: f"{empty} is empty (0 bytes)",
        blank: f"no ink found in {blank}",
    }


def test_pictures_that_are_not_pictures_are_named_for_what_they_are(tmp_path):
    expected = picture_messages(tmp_path)
    code, out, err = run("predict", *expected, "--json")
    rows = {r["image"]: r["error"] for r in map(json.loads, out.splitlines())}
    assert code == 1 and "Traceback" not in err
    assert rows == {str(p): words for p, words in expected.items()}
    assert not any("<" in e or "name=" in e for e in rows.values())  # no Python reprs


def test_a_save_that_fails_on_disk_is_one_line(tmp_path, mnist_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder should be")
    # The save fails with an OSError after training, as on a full disk.
    code, out, err = run("train", "mlp", "--limit", "200", "--steps", "2", "--data", mnist_path,
                         "--save", blocker / "mine.keras")  # fmt: skip
    assert code == 2 and "done: 2 steps" in out and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert errors == [f"error: could not save {blocker / 'mine.keras'}: File exists ({blocker})"]


@pytest.mark.parametrize(
    "flags, want",
    [
        (["--steps", "50"], {"steps": 50, "epochs": None, "budget_s": None}),
        (["--budget", "0"], {"steps": None, "budget_s": None}),
        (["--budget", "20"], {"steps": None, "budget_s": 20.0}),
        (["--epochs", "2"], {"steps": None, "epochs": 2, "budget_s": "the recipe's"}),
    ],
)
def test_a_class_recipe_keeps_its_time_budget_unless_told_a_length(flags, want):
    """--steps fixes the length (no budget); --budget 0 trains the recipe's epochs; --epochs
    caps the budget."""
    from mnist_demo.cli import train as cli_train
    from mnist_demo.cli.main import build_parser

    args = build_parser().parse_args(["train", "cnn", "--recipe", "class", *flags])
    recipe = cli_train._override(cli_train.get_recipe("cnn", "class"), args)
    if want.get("budget_s") == "the recipe's":
        want["budget_s"] = cli_train.get_recipe("cnn", "class").budget_s
        assert want["budget_s"] > 0
    assert {k: getattr(recipe, k) for k in want} == want


@pytest.mark.parametrize(
    "flags, want",
    [([], None), (["--label-smoothing", "0"], 0.0), (["--label-smoothing", "0.2"], 0.2)],
)
def test_label_smoothing_is_the_recipes_unless_told(flags, want):
    from mnist_demo.cli import train as cli_train
    from mnist_demo.cli.main import build_parser

    args = build_parser().parse_args(["train", "mlp", "--recipe", "class", *flags])
    class_recipe = cli_train.get_recipe("mlp", "class")
    recipe = cli_train._override(class_recipe, args)
    assert class_recipe.label_smoothing > 0
    assert recipe.label_smoothing == (class_recipe.label_smoothing if want is None else want)


def test_a_label_smoothing_out_of_range_is_one_line(mnist_path):
    flags = ["--limit", "200", "--steps", "2", "--no-save", "--label-smoothing", "1.5"]
    code, out, err = run("train", "mlp", "--data", mnist_path, *flags)
    assert code == 2 and "Traceback" not in err, err
    assert [line for line in err.splitlines() if line.startswith("error")] == [
        "error: label_smoothing must be >= 0 and < 1"
    ]
