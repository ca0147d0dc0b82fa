"""Data files readable by Veil's user only: folders 0700, files 0600.

SQLite creates its `-wal` and `-shm` files with the database file's mode, so creating the
database (and huey's queue file) 0600 before the first connection covers them too. Files of an
older install are tightened when Veil starts.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def create_private_dir(path: Path) -> None:
    if not path.exists():
        path.mkdir(parents=True, mode=DIR_MODE)
    _tighten(path, DIR_MODE)


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 (its folder 0700) unless it exists; tighten it."""
    create_private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _tighten(path, FILE_MODE)
    for companion in (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        if companion.exists():
            _tighten(companion, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    """Drop group and other bits; a file owned by someone else is left to its owner."""
    with contextlib.suppress(PermissionError, FileNotFoundError):
        if path.stat().st_mode & 0o077:
            path.chmod(mode)
