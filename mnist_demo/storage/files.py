"""Files written whole or not at all: temp files locked while written, fsynced, renamed into
place, and the ones a killed writer left behind found and removed."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

try:
    import fcntl  # a temp file is locked while it is written (not on Windows)
except ImportError:  # pragma: no cover
    fcntl = None

log = logging.getLogger(__name__)
STALE_TEMP_S = 3600  # where temp files cannot be locked, one this old is a killed writer's


def lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def remove_if_abandoned(path: Path) -> None:
    """Remove a save's temp file (`.NAME.*.keras`, `.NAME.*.json.tmp`) when its writer is gone:
    nobody holds its lock (or, without locks, it is an hour old)."""
    if not (path.suffix == ".keras" or path.name.endswith(".json.tmp")):
        return
    try:
        if fcntl is None:
            abandoned = path.stat().st_mtime < time.time() - STALE_TEMP_S
        else:
            with open(path, "rb") as f:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    abandoned = True
                except BlockingIOError:
                    abandoned = False
        if abandoned:
            path.unlink()
            log.info("removed %s, left by a save that did not finish", path)
    except OSError:
        pass  # gone already, or not ours to remove


def fsync(path: str) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """The file is the old one or the whole new one, never a part: written aside, then renamed."""
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f"{path.suffix}.tmp", dir=path.parent
    )
    try:
        lock(fd)
        with os.fdopen(os.dup(fd), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
