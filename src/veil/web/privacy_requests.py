"""Settings → Compliance → Requests (SPEC §8.8): the privacy requests, one request's page with
Extend / Cancel, and a bulk upload of a CSV file. Every action is the API's service call."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile

from veil.compliance.privacy_requests import deadlines, service
from veil.compliance.privacy_requests.endpoints import read_requests
from veil.compliance.privacy_requests.schemas import PrivacyRequestRead, RequestFilters
from veil.errors import PayloadTooLarge, ValidationFailed, VeilError
from veil.kit.pagination import PageParams
from veil.kit.time import as_utc, utcnow
from veil.models.privacy_request import (
    PrivacyRequestSource,
    PrivacyRequestStatus,
    PrivacyRequestType,
    Regulation,
)
from veil.web.actions import as_signed_in, run_action
from veil.web.deps import (
    AdminFormContext,
    AdminPageContext,
    ComplianceFormContext,
    CursorQuery,
    runtime_of,
)
from veil.web.flash import Toast, redirect_with_toast
from veil.web.routing import WebRoute
from veil.web.templating import ListPage, Page, render

router = APIRouter(route_class=WebRoute)

REQUESTS_URL = "/settings/compliance/requests"
ROWS_PER_PAGE = 50
CSV_COLUMNS = ("email", "phone", "external_id")
# The whole multipart body (the CSV file and the few hundred bytes of form around it), so the
# file part stays under Starlette's spool threshold (MultiPartParser.spool_max_size, 1 MiB):
# a bigger part would be written to a temporary file, and a CSV of people must not touch the
# disk. That is ~200 bytes for each of 5,000 subjects (the bulk maximum): an email, a phone and
# a short reference fit (the API's bulk route takes up to VEIL_MAX_BODY_BYTES of JSON).
MAX_UPLOAD_BYTES = 1024 * 1024


def mask_email(value: str) -> str:
    """`j•••@example.com`: enough to recognise a row, not to read the address."""
    local, _, domain = value.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def subject_of(row: PrivacyRequestRead) -> str:
    for identity in row.identities:
        if identity.type == "email":
            return mask_email(identity.value)
    for identity in row.identities:
        if identity.type == "phone":
            return "•••" + identity.value[-2:]
    for identity in row.identities:
        if identity.type == "external_id":
            return "External ID •••" + identity.value[-2:]
    # A profile id is not personal data: its end tells rows apart ("Profile …6ckfwrfy").
    for identity in row.identities:
        if identity.type == "profile_id":
            return "Profile …" + identity.value[-8:]
    return "—"


def days_left(due_at: str, now: datetime) -> int:
    due = as_utc(datetime.fromisoformat(due_at.replace("Z", "+00:00")))
    return (due - now).days


def _choice(enum: Any, value: str | None) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


class RequestsTab(ListPage):
    """Settings → Compliance → Requests: the privacy requests with their deadlines."""

    template: ClassVar[str] = "settings/requests.html"
    nav: ClassVar[str] = "compliance"
    tab: str = "requests"
    # The other tabs refresh while something is pending; this one is read on demand.
    pending: bool = False
    rows: list[tuple[PrivacyRequestRead, str, int]]
    filters: RequestFilters
    statuses: tuple[PrivacyRequestStatus, ...] = tuple(PrivacyRequestStatus)
    types: tuple[PrivacyRequestType, ...] = tuple(PrivacyRequestType)
    sources: tuple[PrivacyRequestSource, ...] = tuple(PrivacyRequestSource)
    regulations: tuple[Regulation, ...] = tuple(Regulation)


class RequestPage(Page):
    """One privacy request: timeline, matched profiles, steps, callbacks, Extend / Cancel."""

    template: ClassVar[str] = "settings/request.html"
    nav: ClassVar[str] = "compliance"
    row: PrivacyRequestRead
    subject: str
    days_left: int
    timeline: list[tuple[str | None, str]]
    # What the service would accept now: Extend (once, where the law allows, while open)
    # and Cancel (only while pending, no step started).
    can_extend: bool
    can_cancel: bool


@router.get(REQUESTS_URL, name="compliance_requests")
def requests_tab(
    web: AdminPageContext,
    status: Annotated[str | None, Query(max_length=20)] = None,
    type: Annotated[str | None, Query(max_length=20)] = None,
    source: Annotated[str | None, Query(max_length=20)] = None,
    overdue: Annotated[str | None, Query(max_length=5)] = None,
    cursor: CursorQuery = None,
) -> Response:
    filters = RequestFilters(
        status=_choice(PrivacyRequestStatus, status),
        type=_choice(PrivacyRequestType, type),
        source=_choice(PrivacyRequestSource, source),
        overdue=True if overdue == "true" else None,
    )
    records, next_cursor = service.page_requests(
        web.session,
        workspace_id=web.me.workspace_id,
        filters=filters,
        page=PageParams(limit=ROWS_PER_PAGE, cursor=cursor),
    )
    rows = read_requests(web.session, runtime_of(web.request), records)
    now = utcnow()
    return render(
        web.request,
        RequestsTab(
            rows=[(row, subject_of(row), days_left(row.due_at, now)) for row in rows],
            filters=filters,
            next_cursor=next_cursor,
            is_first_page=cursor is None,
        ),
    )


@router.get(REQUESTS_URL + "/{request_id}", name="privacy_request")
def request_page(web: AdminPageContext, request_id: str) -> Response:
    record = service.get_request(
        web.session, workspace_id=web.me.workspace_id, request_id=request_id
    )
    [row] = read_requests(web.session, runtime_of(web.request), [record])
    timeline: list[tuple[str | None, str]] = [(row.received_at, "Received")]
    timeline.append((row.created_at, f"Recorded (source {row.source})"))
    if record.extended_at:
        timeline.append((row.due_at, "Extended: " + (row.extension_reason or "")))
    if row.completed_at:
        timeline.append((row.completed_at, "Completed"))
    if row.cancelled_at:
        timeline.append((row.cancelled_at, "Cancelled"))
    return render(
        web.request,
        RequestPage(
            row=row,
            subject=subject_of(row),
            days_left=days_left(row.due_at, utcnow()),
            timeline=timeline,
            can_extend=deadlines.offers_extension(
                record.regulation, record.status, extended=record.extended
            ),
            can_cancel=record.status == PrivacyRequestStatus.PENDING,
        ),
    )


@router.post(REQUESTS_URL + "/{request_id}/extend", name="extend_privacy_request")
def extend(
    web: AdminFormContext, request_id: str, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    return run_action(
        web,
        as_signed_in(
            web,
            service.extend_request,
            request_id=request_id,
            reason=reason,
            keyring=runtime_of(web.request).seal_keyring,
        ),
        back=f"{REQUESTS_URL}/{request_id}",
        success=Toast("success", "Deadline extended."),
    )


@router.post(REQUESTS_URL + "/{request_id}/cancel", name="cancel_privacy_request")
def cancel(
    web: AdminFormContext, request_id: str, confirm: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    back = f"{REQUESTS_URL}/{request_id}"
    if confirm != "yes":
        return redirect_with_toast(web.request, back, Toast("error", "Confirm the cancellation."))
    return run_action(
        web,
        as_signed_in(web, service.cancel_request, request_id=request_id),
        back=back,
        success=Toast("success", "Request cancelled."),
    )


@dataclass(frozen=True)
class CsvSubjects:
    subjects: list[service.BulkSubject]
    # The line of the file each subject's row starts on (the header is line 1).
    lines: list[int]

    def locate(self, message: str) -> str:
        """`subjects[7].identities[1]: …` from the service → `Line 9: …`, the line that row
        starts on (the position among the row's identities means nothing in a file)."""
        match = _SUBJECT_AT.match(message)
        if match is None or int(match["index"]) >= len(self.lines):
            return message
        return f"Line {self.lines[int(match['index'])]}{message[match.end() :]}"


_SUBJECT_AT = re.compile(r"subjects\[(?P<index>\d+)\](?:\.identities(?:\[\d+\])?)?")


def _delimiter(text: str) -> str:
    """The header line's separator: a comma, or the semicolon (Excel's CSV where the decimal
    separator is a comma, as in most of Europe) or tab it uses instead."""
    header = text.partition("\n")[0]
    counts = {separator: header.count(separator) for separator in (",", ";", "\t")}
    best = max(counts, key=lambda separator: counts[separator])  # a tie: the comma
    return best if counts[best] else ","


def parse_subjects_csv(data: bytes) -> CsvSubjects:
    """Subjects from a CSV whose header names `email`, `phone` and/or `external_id` (and an
    optional `reference`), separated by commas, semicolons or tabs; a bad row is reported by
    the line it starts on (the header is line 1)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("The file is not UTF-8 text.") from None
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if not set(header) & set(CSV_COLUMNS):
        raise ValidationFailed("The header row must name an email, phone or external_id column.")
    reader.fieldnames = header
    parsed = CsvSubjects(subjects=[], lines=[])
    try:
        for row in reader:
            # A quoted cell may hold line breaks: the row started that many lines earlier.
            # (Cells past the header's columns come as one list.)
            values = [
                v for cell in row.values() for v in (cell if isinstance(cell, list) else [cell])
            ]
            line = reader.line_num - sum(v.count("\n") for v in values if isinstance(v, str))
            identities = [(c, (row.get(c) or "").strip()) for c in CSV_COLUMNS]
            identities = [(c, v) for c, v in identities if v]
            if not identities:
                raise ValidationFailed(f"Line {line}: no email, phone or external_id.")
            reference = (row.get("reference") or "").strip() or None
            parsed.subjects.append(service.BulkSubject(identities=identities, reference=reference))
            parsed.lines.append(line)
    except csv.Error:
        # e.g. a field over the csv module's limit (128 KiB), on the line after the last one
        # read; the message names no content.
        raise ValidationFailed(
            f"Line {reader.line_num + 1}: the row cannot be read as CSV (a field too long?)."
        ) from None
    if not parsed.subjects:
        raise ValidationFailed("The file has no rows under its header.")
    return parsed


def small_upload(request: Request) -> None:
    """Refuse a big upload before the form is parsed (see MAX_UPLOAD_BYTES)."""
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise ValidationFailed("The upload must state its size (Content-Length).")
    if int(length) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            "The upload must be at most 1 MiB (1,048,576 bytes), the CSV file and the form "
            "around it."
        )


@router.post(REQUESTS_URL + "/bulk", name="bulk_privacy_requests")
def bulk_upload(
    _small: Annotated[None, Depends(small_upload)],
    web: ComplianceFormContext,
    file: Annotated[UploadFile, File()],
    type: Annotated[str, Form(max_length=20)] = "access",
    regulation: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """All or nothing, like the API's bulk: a bad row names its line and nothing is created."""
    parsed: CsvSubjects | None = None
    try:
        parsed = parse_subjects_csv(file.file.read(MAX_UPLOAD_BYTES))
        ids = service.create_bulk(
            web.session,
            runtime=runtime_of(web.request),
            workspace_id=web.me.workspace_id,
            type=_choice(PrivacyRequestType, type) or PrivacyRequestType.ACCESS,
            regulation=_choice(Regulation, regulation),
            suppress=None,
            callback_urls=[],
            subjects=parsed.subjects,
            requested_by=web.me.principal.label,
            actor=web.me.principal.actor,
        )
    except VeilError as exc:
        web.session.rollback()
        toast = Toast("error", parsed.locate(exc.message) if parsed else exc.message)
        return redirect_with_toast(web.request, REQUESTS_URL, toast)
    toast = Toast("success", f"{len(ids):,} requests received.")
    return redirect_with_toast(web.request, REQUESTS_URL, toast)
