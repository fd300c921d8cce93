"""Swapping a freshly rendered site in for the old one in one atomic step, and finding debris.

On Linux `renameat2(..., RENAME_EXCHANGE)` (called through ctypes) exchanges the two folders
atomically: at every instant the site path names either the old site or the new one, so a
visitor, or a render killed mid-swap, never finds it missing. Where the call is missing or the
file system refuses it, the fallback renames the old site aside and the new one in: two
renames, with a moment between them when the path is absent.

Temporary folders are named `.{site}.{pid}.{random}` (the old site after an exchange is the
renamed temporary folder, so it carries the same name). A folder of that shape whose process is
gone is debris of a killed render, and the next render removes it (so are `.{site}.{random}`
and `.{site}.old.{random}`, the names renders used before the pid was part of them).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import tempfile
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        func = ctypes.CDLL(name, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


def exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths; False when this system cannot (nothing moved).

    Raises:
        OSError: the exchange was possible but failed (a missing path, permissions).
    """
    func = _renameat2()
    if func is None:
        return False
    if func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def swap_in(new: Path, out_dir: Path) -> Path | None:
    """Put the folder `new` at `out_dir`; returns where the old site now is (None: there was
    none), for the caller to remove."""
    if not out_dir.exists():
        os.rename(new, out_dir)
        return None
    if exchange(new, out_dir):
        return new  # `new` now names the old site
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.{os.getpid()}.", dir=out_dir.parent))
    os.rmdir(old)
    os.rename(out_dir, old)
    os.rename(new, out_dir)
    return old


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def leftover_folders(out_dir: Path) -> list[Path]:
    """Temporary folders of renders of `out_dir` whose process no longer runs."""
    name = re.escape(out_dir.name)
    pattern = re.compile(rf"^\.{name}\.(\d+)\.[A-Za-z0-9_]+$")
    legacy = re.compile(rf"^\.{name}\.(old\.)?[a-z0-9_]{{8}}$")  # names before the pid was in them
    found = []
    try:
        entries = list(os.scandir(out_dir.parent))
    except OSError:
        return []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        match = pattern.match(entry.name)
        if (match and not _alive(int(match.group(1)))) or legacy.match(entry.name):
            found.append(Path(entry.path))
    return sorted(found)
