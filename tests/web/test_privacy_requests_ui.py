"""Settings → Compliance → Requests (SPEC §8.8): list, filters, a request page, Extend, Cancel,
and the CSV upload — through the server-rendered UI."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.formparsers import MultiPartParser

from tests.compliance.privacy_requests.support import create_in_service
from tests.fixtures.factories import make_profile
from veil.compliance.privacy_requests import free_text
from veil.kit.time import utcnow
from veil.models import PrivacyRequest
from veil.web.privacy_requests import MAX_UPLOAD_BYTES, CsvSubjects

REQUESTS = "/settings/compliance/requests"


def _create(runtime, ws, email, **fields):
    return create_in_service(runtime, ws.id, email, **fields)


def _count(runtime):
    with runtime.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(PrivacyRequest))


def test_compliance_opens_on_requests_with_masked_subjects(runtime, ws, admin):
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="jane@example.com")
    late = _create(
        runtime, ws, "jane@example.com", received_at=utcnow().replace(year=utcnow().year - 1)
    )
    _create(runtime, ws, "nobody@example.com")
    home = admin.client.get("/settings/compliance", follow_redirects=False)
    assert home.headers["location"] == REQUESTS
    page = admin.client.get(REQUESTS).text
    assert "j•••@example.com" in page and "n•••@example.com" in page
    assert "jane@example.com" not in page
    assert "overdue" in page and "days left" not in page.split(late)[1].split("</tr>")[0]
    only_late = admin.client.get(REQUESTS, params={"overdue": "true"}).text
    assert late in only_late and "n•••@example.com" not in only_late
    completed = admin.client.get(REQUESTS, params={"status": "completed"}).text
    assert "n•••@example.com" in completed and late not in completed


def test_request_page_extend_and_cancel(runtime, ws, admin):
    with runtime.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=ws.id, email="jane@example.com").id
    request_id = _create(runtime, ws, "jane@example.com")
    page = admin.client.get(f"{REQUESTS}/{request_id}").text
    assert "Timeline" in page and profile_id in page and "Cancel request" in page
    url = f"{REQUESTS}/{request_id}"
    assert admin.post(f"{url}/extend", {"reason": "many systems"}).status_code == 303
    page = admin.client.get(url).text
    assert "Deadline extended." in page and "Extended: many systems" in page
    refused = admin.post(f"{url}/cancel", {})
    assert refused.status_code == 303
    assert "Confirm the cancellation." in admin.client.get(url).text
    assert admin.post(f"{url}/cancel", {"confirm": "yes"}).status_code == 303
    page = admin.client.get(url).text
    assert "Request cancelled." in page and "Cancelled" in page and "Cancel request" not in page


def _set_status(runtime, request_id, status):
    with runtime.sessionmaker.begin() as session:
        session.get(PrivacyRequest, request_id).status = status


def _actions(page: str) -> str:
    return page.split('id="actions-h"')[1].split("</section>")[0]


def test_extend_and_cancel_are_offered_only_where_the_service_accepts_them(runtime, ws, admin):
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="jane@example.com")
    # No match: completed at once. The deadline no longer runs: no Extend, no Cancel.
    done = _create(runtime, ws, "nobody@example.com")
    actions = _actions(admin.client.get(f"{REQUESTS}/{done}").text)
    assert "/extend" not in actions and "/cancel" not in actions
    assert "This request is completed" in actions

    # Pending: both. In progress: Extend only (a step has started: the API says
    # not_cancellable). Failed: still owed an answer, so Extend, not Cancel.
    open_id = _create(runtime, ws, "jane@example.com")
    actions = _actions(admin.client.get(f"{REQUESTS}/{open_id}").text)
    assert "/extend" in actions and "Cancel request" in actions
    for status in ("in_progress", "failed"):
        _set_status(runtime, open_id, status)
        actions = _actions(admin.client.get(f"{REQUESTS}/{open_id}").text)
        assert "/extend" in actions and "/cancel" not in actions, status
    _set_status(runtime, open_id, "cancelled")
    actions = _actions(admin.client.get(f"{REQUESTS}/{open_id}").text)
    assert "/extend" not in actions and "/cancel" not in actions
    assert "This request is cancelled" in actions

    # LGPD and other: the law allows no extension (422 not_extendable).
    for regulation in ("lgpd", "other"):
        rid = _create(runtime, ws, "jane@example.com", regulation=regulation)
        actions = _actions(admin.client.get(f"{REQUESTS}/{rid}").text)
        assert "/extend" not in actions and "cannot be extended" in actions, regulation
        assert "Cancel request" in actions

    # Extended once: the second would be 409 already_extended.
    rid = _create(runtime, ws, "jane@example.com", regulation="ccpa")
    assert admin.post(f"{REQUESTS}/{rid}/extend", {"reason": "volume"}).status_code == 303
    actions = _actions(admin.client.get(f"{REQUESTS}/{rid}").text)
    assert "/extend" not in actions and "Extended: volume" in actions


def test_csv_upload_creates_all_or_names_the_bad_line(runtime, ws, admin):
    good = "email,phone,reference\na@example.com,,r1\n,+14155550143,r2\nc@example.com,,r3\n"
    response = admin.client.post(
        f"{REQUESTS}/bulk",
        data={"csrf_token": admin.csrf(REQUESTS), "type": "erasure", "regulation": "ccpa"},
        files={"file": ("people.csv", good.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert "3 requests received." in admin.client.get(REQUESTS).text
    with runtime.sessionmaker() as session:
        rows = session.scalars(select(PrivacyRequest)).all()
        found = sorted(
            (free_text.reference_of(runtime.seal_keyring, r), r.source, r.type, r.regulation)
            for r in rows
        )
    assert found == [
        ("r1", "bulk", "erasure", "ccpa"),
        ("r2", "bulk", "erasure", "ccpa"),
        ("r3", "bulk", "erasure", "ccpa"),
    ]
    bad = "email,phone\nd@example.com,\n,not a phone\n"
    admin.client.post(
        f"{REQUESTS}/bulk",
        data={"csrf_token": admin.csrf(REQUESTS), "type": "access"},
        files={"file": ("people.csv", bad.encode(), "text/csv")},
        follow_redirects=False,
    )
    page = admin.client.get(REQUESTS).text
    assert "Line 3" in page and "not a phone" not in page
    no_header = "name\nAda\n"
    admin.client.post(
        f"{REQUESTS}/bulk",
        data={"csrf_token": admin.csrf(REQUESTS), "type": "access"},
        files={"file": ("people.csv", no_header.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert "header row must name" in admin.client.get(REQUESTS).text
    assert _count(runtime) == 3


@pytest.mark.parametrize("separator", [";", "\t"])
def test_csv_upload_reads_semicolon_and_tab_separated_files(runtime, ws, admin, separator):
    """Excel writes semicolons where the decimal separator is a comma (most of Europe)."""
    rows = [
        ["Email", "Phone", "Reference"],
        ["a@example.com", "", "r1"],
        ["", "+14155550143", "r2"],
    ]
    text = "\ufeff" + "\r\n".join(separator.join(row) for row in rows) + "\r\n"
    assert _upload(admin, text).status_code == 303
    assert "2 requests received." in admin.client.get(REQUESTS).text
    with runtime.sessionmaker() as session:
        rows = session.scalars(select(PrivacyRequest)).all()
        references = [free_text.reference_of(runtime.seal_keyring, r) for r in rows]
    assert sorted(r or "" for r in references) == ["r1", "r2"]


def test_csv_upload_names_the_line_a_row_starts_on(runtime, ws, admin):
    """A quoted cell with line breaks (a note) makes a row longer than a line: the message
    names the line where the bad row starts, in the parser's checks and the service's."""
    notes = 'email,phone,note\na@example.com,,"two\nlines"\n'
    assert _upload(admin, notes + ',,"empty"\n').status_code == 303
    assert "Line 4: no email, phone or external_id." in admin.client.get(REQUESTS).text
    assert _upload(admin, notes + "\nb@example.com,not a phone,x\n").status_code == 303
    page = admin.client.get(REQUESTS).text
    assert "Line 5: phone may hold only digits" in page and "not a phone" not in page
    assert _count(runtime) == 0


def test_a_service_message_names_the_line_its_row_starts_on() -> None:
    parsed = CsvSubjects(subjects=[], lines=[2, 4, 7])
    assert parsed.locate("subjects[1].identities[0]: phone is not a possible phone number.") == (
        "Line 4: phone is not a possible phone number."
    )
    assert parsed.locate("subjects[2]: reference is at most 200 characters.") == (
        "Line 7: reference is at most 200 characters."
    )
    assert parsed.locate("subjects[0].identities must hold 1 to 10 identities.") == (
        "Line 2 must hold 1 to 10 identities."
    )
    assert parsed.locate("subjects[9]: out of range") == "subjects[9]: out of range"
    assert parsed.locate("callback_urls[0]: no") == "callback_urls[0]: no"


def test_members_and_other_workspaces_are_refused(runtime, ws, other_ws, admin, member):
    request_id = _create(runtime, ws, "nobody@example.com")
    assert member.client.get(REQUESTS).status_code == 403
    assert member.client.get(f"{REQUESTS}/{request_id}").status_code == 403
    other = _create(runtime, other_ws, "nobody@example.com")
    assert admin.client.get(f"{REQUESTS}/{other}").status_code == 404
    assert admin.post(f"{REQUESTS}/{other}/cancel", {"confirm": "yes"}).status_code == 404


def _upload(admin, csv_text: str, *, pad_to: int | None = None):
    """POST the bulk form with this CSV; `pad_to`: grow an ignored `note` cell of the last row
    until the whole multipart body is exactly that many bytes."""
    form = {"csrf_token": admin.csrf(REQUESTS), "type": "access"}

    def build(text: str):
        return admin.client.build_request(
            "POST",
            f"{REQUESTS}/bulk",
            data=form,
            files={"file": ("people.csv", text.encode(), "text/csv")},
        )

    request = build(csv_text)
    if pad_to is not None:
        request = build(csv_text + "x" * (pad_to - int(request.headers["content-length"])))
        assert int(request.headers["content-length"]) == pad_to
    return admin.client.send(request, follow_redirects=False)


def test_csv_upload_size_limit_is_the_one_it_states(runtime, ws, admin):
    """At most MAX_UPLOAD_BYTES (1 MiB) for the whole body: exactly that is taken, one byte more
    is refused (413, the limit in the message) and nothing of it is created."""
    assert MAX_UPLOAD_BYTES == 1024 * 1024
    # The file part stays in memory (Starlette spools bigger ones to a temporary file).
    assert MultiPartParser.spool_max_size >= MAX_UPLOAD_BYTES
    rows = "".join(f"p{i}@example.com,{'y' * 100_000}\n" for i in range(10))
    taken = _upload(admin, "email,note\n" + rows + "last@example.com,", pad_to=MAX_UPLOAD_BYTES)
    assert taken.status_code == 303, taken.text
    assert "11 requests received." in admin.client.get(REQUESTS).text
    refused = _upload(admin, "email,note\nother@example.com,", pad_to=MAX_UPLOAD_BYTES + 1)
    # A UI route: the error page of the status, with the service's message (veil.web.routing).
    assert refused.status_code == 413
    assert "at most 1 MiB (1,048,576 bytes), the CSV file and the form" in refused.text
    assert "other@example.com" not in refused.text
    assert _count(runtime) == 11


def test_csv_upload_with_an_unreadable_row_names_its_line(runtime, ws, admin):
    huge_cell = "email,note\na@example.com,short\nb@example.com," + "z" * 200_000 + "\n"
    assert _upload(admin, huge_cell).status_code == 303
    page = admin.client.get(REQUESTS).text
    assert "Line 3: the row cannot be read as CSV" in page and "b@example.com" not in page
    assert _count(runtime) == 0


def test_csv_upload_without_a_stated_size_is_refused(runtime, ws, admin):
    request = admin.client.build_request(
        "POST",
        f"{REQUESTS}/bulk",
        data={"csrf_token": admin.csrf(REQUESTS), "type": "access"},
        files={"file": ("people.csv", b"email\na@example.com\n", "text/csv")},
    )
    del request.headers["content-length"]
    refused = admin.client.send(request, follow_redirects=False)
    assert refused.status_code == 422 and "must state its size" in refused.text
    assert _count(runtime) == 0
