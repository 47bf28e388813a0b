"""Every session-state key the page uses, set up in one place, and the resources all sessions share.

Per-visitor state lives in st.session_state under the keys below. What st.cache_resource holds is
shared by every session: read-only (a loaded model, MNIST, the list of saved models) or locked
(the training slots, the keep-warm thread).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import streamlit as st

from mnist_demo import settings
from mnist_demo.data import load_mnist
from mnist_demo.errors import DataError, MnistDemoError
from mnist_demo.memory import steady_heap
from mnist_demo.serving import cluster, jobs
from mnist_demo.serving.jobs import TrainingSlots
from mnist_demo.serving.warm import prewarm
from mnist_demo.storage.store import SavedModel, list_models, load_model, saves_root, weights_root
from mnist_demo.training.estimate import timing

MAX_TRAININGS = settings.MAX_TRAININGS.get()  # at once, server-wide
# One training's longest run: then it stops and keeps its model, and the next in line starts.
MAX_TRAIN_S = settings.MAX_TRAIN_S.get()
# Visitors' saves (in saves_root(), apart from the shipped models): how many, how large in all.
log = logging.getLogger(__name__)
MAX_SAVED = settings.MAX_SAVED.get()
MAX_SAVED_MB = settings.MAX_SAVED_MB.get()
MAX_PER_VISITOR = settings.MAX_SAVED_PER_VISITOR.get()
MAX_MB_PER_VISITOR = settings.MAX_SAVED_MB_PER_VISITOR.get()
# A server's keeper may replace or delete any visitor's model from the page.
ADMIN = settings.ADMIN.get()

# Session state: key -> what it holds. init_state() sets the defaults.
JOB = "job"  # the TrainingJob of this session, while it runs and until the page has shown its end
STOP_PRESSED = "stop_pressed"  # the job whose Stop was pressed
STOPPING_SHOWN = "stopping_shown"  # (job, when) "Stopping..." was first sent for it
TRAINED = "trained"  # {kind: TrainResult}: the models trained in this session
MESSAGE = "message"  # (level, text): how the last training ended, shown in the training panel
SELECT_NEW = "select_new"  # a kind whose new session model becomes its choice on the next run
LAST_EVENTS = "last_events"  # the metric events of the last finished training: its charts stay
RUNS, COMPARED = "runs", "compared"  # this session's finished trainings; the ones overlaid
OWNER = "owner_id"  # this browser's owner id (studio/owner.py), once known
CLASS_VIEW = "class_view"  # the class view is on (studio/classview.py)
LINK_READ, LINK_NOTE = "link_read", "link_note"  # the setup link was read; what it could not set
# A class (studio/classlink.py, classroom.py): its code, this page's id in it, the last send's note
CLASS_CODE, CLASS_ME, CLASS_NOTE = "class_code", "class_me", "class_note"
CLASS_VERSION, CLASS_SHOW = "class_version", "class_show"  # the class model last chosen; gallery
SEEN = "seen"  # the 28x28 the models read of the visitor's drawing, or None
PAUSE, STEP, RESET = "pause", "step", "reset"  # Pause / Resume, Step (while paused), Reset
SHOWN_WAITING = "shown_waiting"  # the page last showed this session's training as queued
PREDICTORS = "predictors"  # {kind: (TrainResult, Predictor)}: session models, compiled once
# Widgets' keys (Streamlit keeps their values in session state too).
CANVAS, STROKE = "canvas", "stroke"
CHOICE = "choice_{}"  # per kind: SESSION or a saved model's name
SETTING = "{}_{}_{}"  # a recipe setting (steps, epochs, batch, lr), per kind and recipe
TRAIN_KIND, TRAIN_RECIPE, TRAIN, STOP = "train_kind", "train_recipe", "train", "stop"
SAVE_KIND, SAVE_NAME, SAVE = "save_kind", "save_name", "save"
SAVE_REPLACE, DELETE = "save_replace", "delete_{}"  # confirm a replace; delete one model
MINE = "mine"  # the names of the models this session saved: only those it may replace or delete
SAVE_NOTE = "save_note"  # (level, text): how the last save or delete went
SAVE_SUGGESTED = "save_suggested"  # a free name the last refused save offered
INSIDE_OPEN, REPORT_OPEN = "inside_open", "report_open"  # the two sections' expanders
INSIDE_KIND, INSIDE_WHY = "inside_kind", "inside_why"  # the network looked into, the digit asked
INSIDE_ANSWER = "inside_answer"  # the answer "why" was last reset to
INSIDE_DIGIT = "inside_digit"  # (index, 28x28, label) of a test digit looked into, or None
REPORT_MODEL, REPORT_PICK = "report_model", "report_pick"
# Teaching (studio/teach.py): the kept digits [{id, key, x, y, picture}], the uploads read.
TAUGHT_DIGITS, TEACH_FILES = "taught_digits", "teach_files"
MY_DIGITS_OPEN = "my_digits_open"  # whether My digits is open (its content runs only then)
MY_DIGITS_SHOWN = "my_digits_shown"  # how many digits it had at the last look
TEACH_PICK, TEACH_RIGHT, TEACH_NOTE = "teach_pick", "teach_right", "teach_note"
TEACH_UPLOAD, TEACH_FILE_NOTE = "teach_upload", "teach_file_note"
TEACH_FILE_BYTES = "teach_file_bytes"  # (the digits' ids and labels, their .npz)
TEACH_KIND, TEACH_FINETUNE = "teach_kind", "teach_finetune"
SESSION = "this session"  # the CHOICE value for the model trained in this session


def init_state() -> None:
    server_memory()
    defaults = [
        (JOB, None),
        (TRAINED, {}),
        (MESSAGE, None),
        (PREDICTORS, {}),
        (MINE, set()),
        (TAUGHT_DIGITS, []),
        (TEACH_FILES, set()),
    ]
    for key, default in defaults:
        st.session_state.setdefault(key, default)


@st.cache_resource(show_spinner=False)
def server_memory() -> None:
    """Once a server: large blocks mapped apart, two heap arenas (see mnist_demo/memory.py)."""
    steady_heap()


@st.cache_resource(show_spinner=False)
def training_slots() -> TrainingSlots:
    """This server's trainings at once; on a Ray cluster, as many as its CPUs hold (cluster.py)."""
    size = cluster_size()
    return TrainingSlots(size[0] if size else MAX_TRAININGS)


@st.cache_resource(show_spinner=False)
def cluster_size() -> tuple[int, float] | None:
    """(trainings at once, CPUs) of the Ray cluster trainings run on, or None: this server. A
    cluster that cannot be reached gives None here; each training then says why it failed."""
    if not cluster.address():
        return None
    try:
        return cluster.cluster_size()
    except MnistDemoError:
        return None


@st.cache_resource(show_spinner=False)
def speeds() -> dict:
    """{(kind, recipe, batch size): estimate.Timing} of the last training of each on this
    server that was long enough to go by, and {kind: Timing} of the last of each kind: what an
    estimate before Train uses."""
    return {}


def remember_speed(recipe, events: list[dict], running_since: float | None) -> None:
    measured = timing(events, running_since) if running_since else None
    if measured is not None:
        speeds()[(recipe.model, recipe.name, recipe.batch_size)] = measured
        speeds()[recipe.model] = measured


@st.cache_resource(show_spinner="Loading MNIST...")
def mnist_or_error():
    """(Mnist, None) or (None, message): a failure is cached too, so that pages do not retry a
    download on every rerun; a press of Train clears it and tries again."""
    try:
        return load_mnist(), None
    except DataError as e:
        log.warning("MNIST: %s", e)  # the whole message, paths too: the server's log only
        return None, str(e)


@st.cache_resource(show_spinner=False, max_entries=16)
def load_predictor(path: str, mtime: float, size: int):
    """(Predictor, None) or (None, why it cannot be loaded): a saved model, loaded once per file
    version (`mtime` and `size` are the cache key) and shared by every session, read-only. A
    failure is kept too, so that a bad file costs once, not on every stroke."""
    # TensorFlow loads here (see warm_up): after the first page is painted, never before.
    from mnist_demo.nets.inference import Predictor

    try:
        return Predictor(load_model(path)), None
    except (MnistDemoError, OSError) as e:
        return None, str(e)


@st.cache_resource(show_spinner=False)
def unlike_detector():
    """(UnlikeDigit, None) or (None, why there is none): the shipped networks' judge of whether
    a drawing looks like a digit at all, once per server."""
    from mnist_demo.drawing.unlike import shipped_detector  # TensorFlow: see load_predictor

    try:
        return shipped_detector(), None
    except (MnistDemoError, OSError) as e:
        return None, str(e)


@st.cache_resource(show_spinner=False)
def keep_warm():
    """One thread per server that keeps the models people are drawing for hot."""
    from mnist_demo.nets.inference import KeepWarm  # TensorFlow: see load_predictor

    return KeepWarm()


@st.cache_resource(show_spinner=False)
def warm_up(paths: tuple[str, ...]) -> threading.Thread:
    """Once per server, when its first page has been painted: import TensorFlow, load and compile
    the models that answer first. Without it the first stroke waited 3.1 s for all that (later
    ones 0.26 s); now whoever draws first waits only if they draw within those few seconds.

    In a thread of its own, not at the end of the first page's run: a Train pressed while that
    run was still warming (seconds) left the page without its fragments ("The fragment with id
    ... does not exist anymore"), at "Preparing..." for good."""
    thread = threading.Thread(target=_warm_up, args=(paths,), name="warm-up", daemon=True)
    thread.start()
    return thread


def _warm_up(paths: tuple[str, ...]) -> None:
    for path in paths:
        try:
            stat = Path(path).stat()
        except OSError:
            continue  # the first drawing shows what is wrong with it, in place
        predictor, _ = load_predictor(path, stat.st_mtime, stat.st_size)
        if predictor is not None:
            keep_warm().touch([predictor])
    unlike_detector()  # the note for non-digits: loaded and traced before the first stroke too
    from studio.charts import warm as warm_charts  # here: charts -> classview -> state

    warm_charts()  # the first curve point does not wait for Altair's import
    if cluster.address():
        # Connected now, not in the run that Train starts: ray.init takes seconds there, and the
        # page's fragments were lost on a busy machine (the page stayed at "Preparing...").
        cluster_size()
    elif jobs.ISOLATE:
        prewarm()  # a training process waits for the first Train (warm.py)


def saved_models() -> list[SavedModel]:
    """The shipped models (weights/), then what visitors saved (saves_root()), checked only when
    a file there changes: not on every rerun, which each stroke triggers."""
    folders = [weights_root(), saves_root()]
    if folders[0].resolve() == folders[1].resolve():
        folders.pop()
    return _list_models(tuple(map(str, folders)), tuple(map(_files, folders)))


def visitors(model: SavedModel) -> bool:
    """Whether `model` is one of the visitors' (in saves_root()), not one the server shipped."""
    return model.path.parent.resolve() == saves_root().resolve()


def _files(folder: Path) -> tuple:
    try:
        stats = [(p.name, p.stat()) for p in folder.iterdir() if p.suffix in (".keras", ".json")]
        return tuple(sorted((name, s.st_mtime_ns, s.st_size) for name, s in stats))
    except OSError:
        return ()


@st.cache_resource(show_spinner=False, max_entries=4)
def _list_models(folders: tuple[str, ...], files: tuple) -> list[SavedModel]:
    found, names = [], set()
    for folder in folders:
        for m in list_models(folder):
            if m.name in names:  # a visitor's model cannot stand in for a shipped one
                m = SavedModel(m.name, m.path, {}, f"{m.path.name} has the name of a shipped model")
            names.add(m.name)
            found.append(m)
    return found
