"""Structured logs (one JSON object a line) with ids, counts and durations — never personal data.

`configure_logging` is called by the application factory as well as by the CLI, so whichever
ASGI server runs Veil (`veil serve`, `uvicorn --workers 4 --factory veil.app:create_app`, …)
gets the same JSON lines: UTC timestamps with their offset, the request's X-Request-ID, and for
errors the exception type and stack frames but never the exception message (driver errors
quote row values).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson

from veil.config import Settings
from veil.ops.request_id import current_request_id

_configured = False
# Servers' own loggers: routed through Veil's handlers, kept at WARNING or above.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id is not None:
            data["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            data["exc_type"] = record.exc_info[0].__name__
            data["stack"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(record.exc_info[2])
            ]
        return orjson.dumps(data, default=str).decode()


class NoQueryStringFilter(logging.Filter):
    """uvicorn's access record carries the raw URL (a search may hold an email) and the client
    address: drop the query string and the address should that logger ever be enabled."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _client, method, path, version, status = args
            record.args = ("-", method, str(path).split("?", 1)[0], version, status)
        return True


def _private_file_handler(path: Any) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    return logging.FileHandler(path)


def configure_logging(settings: Settings) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.log_file:
        handlers.append(_private_file_handler(settings.log_file))
    formatter = JsonFormatter()
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    # VEIL_LOG_LEVEL is Veil's own level (the `veil` logger and its children). Every other
    # logger, named below or not (asyncio, redis, multipart...), inherits the root's WARNING.
    level = logging.getLevelName(settings.log_level.upper())
    level = level if isinstance(level, int) else logging.INFO
    root.setLevel(max(logging.WARNING, level))
    logging.getLogger("veil").setLevel(level)
    floor = max(logging.WARNING, level)
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        for handler in list(server_logger.handlers):
            server_logger.removeHandler(handler)
        server_logger.propagate = True
        server_logger.setLevel(floor)
    logging.getLogger("uvicorn.access").addFilter(NoQueryStringFilter())
    # Libraries stay at WARNING whatever VEIL_LOG_LEVEL says: SQLAlchemy logs result rows at
    # DEBUG (personal data), uvicorn's access log the raw URL. veil.http logs each request by
    # its route template instead.
    for noisy in ("huey", "alembic", "sqlalchemy", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(floor)
