"""A long-running server's memory: glibc's heap, and handing freed memory back.

Trainings end in the server as a 13 MB message of weights and a model rebuilt from them, in
threads that Streamlit starts afresh for every rerun. glibc serves a block that large with a
mapping of its own, returned to the system when freed, but then raises its threshold for mappings
to that size ("dynamic mmap threshold"): the next 13 MB blocks came from the heap and stayed
there. Measured: a CNN's weights set from a fresh thread 20 times grew the process by 75 MB;
with the threshold fixed, by 2 MB. Elsewhere than glibc these calls do nothing.
"""

from __future__ import annotations

import ctypes
import gc

# mallopt's parameter numbers, from glibc's malloc.h
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
MMAP_THRESHOLD = 1 << 20  # blocks this large or larger are mapped, and unmapped when freed


def _libc():
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def steady_heap(arenas: int = 2, mmap_threshold: int = MMAP_THRESHOLD) -> None:
    """Large blocks always get a mapping of their own (a fixed threshold: setting it turns the
    dynamic one off), and threads share at most `arenas` heap arenas, as MALLOC_ARENA_MAX=2
    would, so that what one thread frees another reuses."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)
        libc.mallopt(M_ARENA_MAX, arenas)


GC_AFTER_S = 3.0  # after a training ends (and the page shows it), its leftovers are collected


def give_back_memory_soon(delay_s: float = GC_AFTER_S) -> None:
    """give_back_memory in `delay_s`: a full collection holds the interpreter for up to a second
    or so, not while a page shows how a training ended."""
    import threading

    threading.Timer(delay_s, give_back_memory).start()


def give_back_memory() -> None:
    """Collect garbage and return the free pages of every arena to the system (`malloc_trim`)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
