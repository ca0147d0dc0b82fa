"""Jinja2 environment (autoescape on), display filters and the one `render` every page uses."""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, dataclass_transform
from zoneinfo import ZoneInfo

import orjson
from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from veil.kit.time import as_utc, rfc3339, utcnow
from veil.web.flash import FLASH_COOKIE, read_flash

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

# Pages show personal data: keep them out of shared and back/forward caches.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}


Moment = datetime | str | None


def as_datetime(value: Moment) -> datetime | None:
    """Datetimes from models, RFC 3339 strings from the services' read shapes."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return as_utc(value)


UTC_ZONE = ZoneInfo("UTC")

# The zone times are shown in: the signed-in workspace's setting, set by `render` for the
# duration of one page (templates and presenters alike read it through `local_time`).
display_zone: ContextVar[ZoneInfo | None] = ContextVar("display_zone", default=None)


def zone_named(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo("UTC")


def local_time(value: Moment) -> datetime | None:
    moment = as_datetime(value)
    return None if moment is None else moment.astimezone(display_zone.get() or UTC_ZONE)


def format_datetime(value: Moment) -> str:
    """The one format of a time in the UI: "Dec 6, 2026, 14:05 CET" (the workspace's zone)."""
    moment = local_time(value)
    if moment is None:
        return "—"
    return f"{moment:%b} {moment.day}, {moment:%Y}, {moment:%H:%M} {moment:%Z}"


def format_date(value: Moment) -> str:
    moment = local_time(value)
    if moment is None:
        return "—"
    return f"{moment:%b} {moment.day}, {moment:%Y}"


def format_ago(value: Moment) -> str:
    moment = as_datetime(value)
    if moment is None:
        return "—"
    seconds = (utcnow() - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            text = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"


def format_money(amount: Any, currency: Any = None) -> str:
    """`129.9`, "EUR" → "€129.90"; unknown currencies keep their code after the amount."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    code = str(currency).upper() if currency else ""
    places = Decimal(1) if code == "JPY" else Decimal("0.01")
    text = f"{value.quantize(places):,}"
    symbol = _CURRENCY_SYMBOLS.get(code)
    if symbol:
        return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"
    return f"{text} {code}".strip()


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def format_span(value: timedelta | None) -> str:
    """A measured time span, rounded for reading: "40 s", "12 min", "3.5 h", "2.1 days"."""
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def erasure_summary(summary: Any) -> list[tuple[str, int]]:
    """{"events_scrubbed": 12, "exports_destroyed": 0} → [("Events scrubbed", 12)]."""
    if not isinstance(summary, dict):
        return []
    return [
        (str(key).replace("_", " ").capitalize(), value)
        for key, value in summary.items()
        if isinstance(value, int) and not isinstance(value, bool) and value
    ]


def pretty_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


def initials(name: str | None) -> str:
    parts = [p for p in (name or "").replace("@", " ").split() if p[:1].isalnum()]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def scalar_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def attribute_lines(value: Any) -> list[str]:
    """A profile attribute as readable lines: nested objects become `key: value` lines."""
    if isinstance(value, dict):
        return [
            f"{str(k).replace('_', ' ')}: {scalar_text(v)}"
            for k, v in value.items()
            if v not in (None, "")
        ] or ["—"]
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return [", ".join(scalar_text(v) for v in value) or "—"]
    return [scalar_text(value)]


@lru_cache
def static_version(name: str) -> str:
    """A short content hash, so browsers may cache static files yet see every change."""
    path = STATIC_DIR / name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.is_file() else "0"


def static_url(name: str) -> str:
    return f"/static/{name}?v={static_version(name)}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        datetime=format_datetime,
        date=format_date,
        ago=format_ago,
        money=format_money,
        pretty_json=pretty_json,
        duration=format_duration,
        span=format_span,
        erasure_summary=erasure_summary,
        initials=initials,
        scalar=scalar_text,
        attribute_lines=attribute_lines,
        rfc3339=lambda value: rfc3339(as_datetime(value)),
    )
    env.globals["static"] = static_url
    return env


templates = Jinja2Templates(env=_environment())


# What every page may use besides its own context: `render` adds these, Starlette adds `request`.
BASE_NAMES = frozenset({"request", "me", "csrf_token", "toasts", "nav"})


@dataclass_transform(frozen_default=True, kw_only_default=True)
@dataclass(frozen=True, kw_only=True)
class Page:
    """A page's typed context (as Datasette's): its fields are the names its template uses,
    besides BASE_NAMES and the environment's globals; tests/web/test_page_contracts.py holds
    each template to its page.

    Every subclass is a frozen, keyword-only dataclass (`__init_subclass__` makes it one), so
    a page cannot forget the decorator and end up with fields that are not in its context."""

    template: ClassVar[str]
    # The script-fetched piece of the page (`render(..., fragment=True)`), if it has one.
    fragment_template: ClassVar[str | None] = None
    # Templates the page includes by a name held in a field (`{% include table %}`), which
    # the contract test cannot find in the template text.
    partials: ClassVar[tuple[str, ...]] = ()
    nav: ClassVar[str] = ""
    # Class attributes the template reads too, besides the fields (the same for every page
    # of a class, such as a tab's name).
    class_variables: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True, kw_only=True)(cls)

    @classmethod
    def variable_names(cls) -> set[str]:
        return {field.name for field in fields(cls)} | set(cls.class_variables)

    def variables(self) -> dict[str, Any]:
        # Shallow on purpose: fields hold ORM rows and read shapes, used as they are.
        return {name: getattr(self, name) for name in self.variable_names()}


class ListPage(Page):
    """A page of a list, newest first, with its pager."""

    next_cursor: str | None
    is_first_page: bool


def render(
    request: Request,
    page: Page,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    fragment: bool = False,
) -> HTMLResponse:
    """Render a page with the signed-in user, their CSRF token and any pending toast.

    `fragment`: the page's `fragment_template`, fetched by script; it leaves a pending toast
    for the next full page.
    """
    from veil.web.deps import runtime_of

    template = page.fragment_template if fragment else page.template
    if template is None:
        raise ValueError(f"{type(page).__name__} has no fragment.")
    runtime = runtime_of(request)
    me = getattr(request.state, "web", None)
    toasts = [] if fragment else read_flash(request, runtime)
    context: dict[str, Any] = {
        "me": me,
        "csrf_token": getattr(me, "csrf_token", None),
        "toasts": toasts,
        "nav": page.nav,
        **page.variables(),
    }
    zone = display_zone.set(zone_named(getattr(me, "timezone", None)))
    try:
        response = templates.TemplateResponse(
            request,
            template,
            context,
            status_code=status_code,
            headers={**NO_STORE, **(headers or {})},
        )
    finally:
        display_zone.reset(zone)
    if toasts or (not fragment and request.cookies.get(FLASH_COOKIE)):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
