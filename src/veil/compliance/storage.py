"""Where export files live: a small put/open/delete interface, a local-folder implementation.

Files are written to a temporary name in the same folder and renamed into place, so a reader
never sees a partial file; permissions are 0600. What is stored is already encrypted.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


class ExportStore(Protocol):
    def put(self, key: str, write: Callable[[BinaryIO], None]) -> int:
        """Write a new object through `write(fileobj)` atomically; returns its size."""

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> bool: ...

    def exists(self, key: str) -> bool: ...

    def sweep_stale_parts(self, older_than: timedelta) -> int:
        """Remove partial writes (a process killed mid-`put`) older than `older_than`; how
        many went. A store whose `put` cannot leave one behind returns 0."""


class LocalExportStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or key.startswith("."):
            raise ValueError("invalid storage key")
        return self.root / key

    def put(self, key: str, write: Callable[[BinaryIO], None]) -> int:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        final = self._path(key)
        tmp = self.root / f".{key}.{os.getpid()}.{os.urandom(4).hex()}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return final.stat().st_size

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> bool:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def sweep_stale_parts(self, older_than: timedelta) -> int:
        """Temporary files left by a process killed mid-write (encrypted, but useless)."""
        if not self.root.exists():
            return 0
        removed = 0
        cutoff = time.time() - older_than.total_seconds()
        for part in self.root.glob(".*.part"):
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
