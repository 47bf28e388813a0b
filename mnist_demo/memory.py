"""A long-running server's memory: glibc's heap arenas, and handing freed memory back.

Trainings end in the server as a 13 MB message of weights, a model rebuilt from them, and a page
redrawn in threads that Streamlit starts afresh for every rerun. glibc gives threads heap arenas
of their own (up to eight a core) and keeps what is freed in each for later instead of returning
it, so that memory crept up with every training. Elsewhere than glibc both calls do nothing.
"""

from __future__ import annotations

import ctypes
import gc

M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def _libc():
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def fewer_heap_arenas(arenas: int = 2) -> None:
    """At most `arenas` heap arenas from now on (as MALLOC_ARENA_MAX=2 would): threads share them,
    so that what one frees another reuses."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, arenas)


def give_back_memory() -> None:
    """Collect garbage and return the free pages of every arena to the system (`malloc_trim`)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
