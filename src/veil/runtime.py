"""The process-wide runtime: settings, database, keyrings, queue and export store, built once.

The web app, the CLI and the worker all build the same Runtime from the same Settings, so
every command acts on the same data dir or database.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from veil.config import Settings, get_settings
from veil.db import make_engine, make_sessionmaker
from veil.kit.crypto import Keyring
from veil.ops.files import create_private_dir, create_private_file

if TYPE_CHECKING:
    from veil.compliance.storage import ExportStore
    from veil.worker.queue import JobQueue


class Runtime:
    """Built from settings; `engine` is injected where another owner shares one (the tests'
    session-wide engine, a second "process" on the same database) and is then not disposed here.
    """

    def __init__(self, settings: Settings, *, engine: Engine | None = None) -> None:
        self.settings = settings
        self._injected_engine = engine

    @cached_property
    def engine(self) -> Engine:
        if self._injected_engine is not None:
            return self._injected_engine
        url = self.settings.resolved_database_url
        if self.settings.is_sqlite:
            create_private_dir(self.settings.data_dir)
            database = make_url(url).database
            if database and database != ":memory:":
                create_private_file(Path(database))
        return make_engine(url)

    @cached_property
    def sessionmaker(self) -> sessionmaker[Session]:
        return make_sessionmaker(
            self.engine, enqueue=lambda job, object_id: self.queue.enqueue(job, object_id)
        )

    @cached_property
    def _secrets(self) -> list[str]:
        return self.settings.secret_keys()

    @cached_property
    def seal_keyring(self) -> Keyring:
        """Short sealed values in the database (deletion records, webhook secrets, write keys)."""
        return Keyring(self._secrets, "veil.seal.v1")

    @cached_property
    def file_keyring(self) -> Keyring:
        """Export files at rest."""
        return Keyring(self._secrets, "veil.export-file.v1")

    @cached_property
    def link_keyring(self) -> Keyring:
        """HMAC signatures of tracked campaign links."""
        return Keyring(self._secrets, "veil.tracking-link.v1")

    @cached_property
    def suppression_keys(self) -> dict[str, bytes]:
        """Workspace suppression keys already unsealed (a key never changes once made)."""
        return {}

    @cached_property
    def export_store(self) -> ExportStore:
        from veil.compliance.storage import open_export_store

        return open_export_store(self.settings)

    @cached_property
    def queue(self) -> JobQueue:
        from veil.worker.queue import JobQueue

        return JobQueue.from_settings(self)

    def dispose(self) -> None:
        """Close the engine this runtime made (an injected one belongs to its owner)."""
        if self._injected_engine is None and "engine" in self.__dict__:
            self.engine.dispose()


_current: Runtime | None = None
_current_lock = threading.Lock()


def get_runtime() -> Runtime:
    global _current
    with _current_lock:
        if _current is None:
            _current = Runtime(get_settings())
        return _current


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    with _current_lock:
        _current = runtime
