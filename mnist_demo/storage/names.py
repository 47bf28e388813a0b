"""Model names: what a visitor types, as a file stem that is safe in any saves folder.

Letters and digits of any script are kept (normalised to NFC, so that "é" typed either way is
one name); '.', '_' and '-' too. Everything else (path separators, spaces, punctuation, control
characters) becomes '-'. Names Windows reserves for devices (CON, NUL, LPT1, ...) are refused:
such a file breaks a saves folder shared over SMB or copied to Windows.
"""

from __future__ import annotations

import unicodedata

from mnist_demo.errors import UnknownModelError

MAX_CHARS, MAX_BYTES = 64, 200  # a stem; ext4 and NTFS allow 255 bytes for the whole name
_KEPT_PUNCTUATION = "._-"
# Windows' device names, with or without an extension, in any case.
RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{n}" for n in "123456789¹²³"}
    | {f"lpt{n}" for n in "123456789¹²³"}
)


def _kept(c: str) -> bool:
    return c in _KEPT_PUNCTUATION or unicodedata.category(c)[0] in "LMN"


def sanitize_name(name: str) -> str:
    """A file stem safe to join to a models folder (no path escapes); UnknownModelError for a
    name with nothing usable in it, or one Windows reserves."""
    stem = unicodedata.normalize("NFC", name).strip()
    if stem.endswith(".keras"):
        stem = stem[: -len(".keras")]
    out, dash = [], False
    for c in stem:
        if _kept(c):
            out.append(c)
            dash = False
        elif not dash:
            out.append("-")
            dash = True
    stem = "".join(out).strip(".-")[:MAX_CHARS]
    while len(stem.encode()) > MAX_BYTES:
        stem = stem[:-1]
    stem = stem.strip(".-")
    if not stem:
        raise UnknownModelError(f"{name!r} is not a usable model name: use letters and digits")
    if stem.split(".")[0].lower() in RESERVED:
        raise UnknownModelError(
            f"{stem!r} is a name Windows keeps for a device: choose another name"
        )
    return stem


def same_name(a: str, b: str) -> bool:
    """Whether two stems name the same file on a folder that ignores case (Windows, macOS)."""
    return a.casefold() == b.casefold()
