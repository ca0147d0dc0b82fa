"""Where export files live: a small put/open/delete interface, a local-folder implementation.

Files are written to a temporary name in the same folder and renamed into place, so a reader
never sees a partial file; permissions are 0600 in a 0700 folder. What is stored is already
encrypted. `VEIL_EXPORT_STORE=s3://bucket/prefix` selects the object-store implementation
(storage_s3.py) instead; both are used only through the `ExportStore` protocol.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from veil.config import Settings

_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def check_key(key: str) -> str:
    """Keys are Veil's own (`<export id>.<random>.enc`): never a path, never hidden."""
    if not _KEY.match(key) or key.startswith("."):
        raise ValueError("invalid storage key")
    return key


class ExportStore(Protocol):
    def put(self, key: str, write: Callable[[BinaryIO], None]) -> int:
        """Write a new object through `write(fileobj)` atomically; returns its size."""

    def open(self, key: str) -> BinaryIO:
        """A stream of the object from its start (seek(0) allowed); FileNotFoundError if absent."""

    def delete(self, key: str) -> bool: ...

    def exists(self, key: str) -> bool: ...

    def sweep_stale_parts(self, older_than: timedelta) -> int:
        """Remove partial writes (a process killed mid-`put`) older than `older_than`; how
        many went. A store whose `put` cannot leave one behind returns 0."""

    def keys_older_than(self, older_than: timedelta) -> Iterator[str]:
        """Keys of complete objects written more than `seconds` ago (the orphan sweep)."""

    def check(self) -> None:
        """Raise when the store cannot be used (readiness)."""


def open_export_store(settings: Settings) -> ExportStore:
    """The store VEIL_EXPORT_STORE names: a folder, or s3://bucket/prefix."""
    if settings.export_store_is_s3:
        from veil.compliance.storage_s3 import S3ExportStore

        return S3ExportStore.from_settings(settings)
    return LocalExportStore(settings.resolved_export_store)


class LocalExportStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

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
        removed = 0
        for part in self._entries(".*.part", older_than):
            part.unlink(missing_ok=True)
            removed += 1
        return removed

    def keys_older_than(self, older_than: timedelta) -> Iterator[str]:
        for path in self._entries("*", older_than):
            if not path.name.startswith(".") and _KEY.match(path.name):
                yield path.name

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError("export store folder is not writable")

    def _entries(self, pattern: str, older_than: timedelta) -> Iterator[Path]:
        if not self.root.exists():
            return
        cutoff = time.time() - older_than.total_seconds()
        for path in self.root.glob(pattern):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    yield path
            except FileNotFoundError:
                continue
