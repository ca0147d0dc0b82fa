"""Structured logs (one JSON object a line) with ids, counts and durations — never personal data."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson

from veil.config import Settings

_configured = False


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # Exception type only: messages of driver errors can quote row values.
            data["exc_type"] = record.exc_info[0].__name__
        return orjson.dumps(data, default=str).decode()


def configure_logging(settings: Settings) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.log_file:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(settings.log_file))
    formatter = JsonFormatter()
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    # VEIL_LOG_LEVEL is Veil's own level (the `veil` logger and its children). Every other
    # logger, named here or not (asyncio, redis, urllib3, multipart...), inherits the root's
    # WARNING: SQLAlchemy logs result rows at DEBUG (personal data), uvicorn's access log the
    # raw URL with its query string (a search may carry an email). veil.http logs requests by
    # route template instead.
    level = logging.getLevelName(settings.log_level.upper())
    level = level if isinstance(level, int) else logging.INFO
    root.setLevel(max(logging.WARNING, level))
    logging.getLogger("veil").setLevel(level)
    for noisy in ("huey", "uvicorn.error", "uvicorn.access", "alembic", "sqlalchemy"):
        # Set explicitly too: these libraries set levels of their own on import.
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level))
