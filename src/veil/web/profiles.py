"""Profiles: the list with search, and the profile insights page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from veil.compliance.suppressions import service as suppressions
from veil.events import service as event_service
from veil.kit.pagination import PageParams
from veil.models import Consent, Profile
from veil.models.profile import ACTIVE
from veil.profiles import service as profiles
from veil.web import queries
from veil.web.deps import CursorQuery, FormAction, UserPageContext, runtime_of
from veil.web.presenters import EventView, present_event
from veil.web.routing import WebRoute
from veil.web.security import seal_compact, unseal_compact
from veil.web.templating import ListPage, Page, render

router = APIRouter(route_class=WebRoute)

PROFILES_PER_PAGE = 25
EVENTS_PER_PAGE = 20
_SEARCH_AAD = "veil.web.profile-search"


@dataclass(frozen=True)
class ConsentView:
    channel: str
    label: str
    state: str | None
    source: str | None
    recorded_at: Any


class ProfileListPage(ListPage):
    template: ClassVar[str] = "profiles/list.html"
    nav: ClassVar[str] = "profiles"
    profiles: list[tuple[Profile, str]]
    query: str
    search_token: str | None


class OneProfilePage(Page):
    """A page about one profile, under Profiles in the navigation."""

    nav: ClassVar[str] = "profiles"
    profile: Profile


class NamedProfilePage(OneProfilePage):
    """A page about one active profile, which it calls by its `display_name`."""

    name: str


class DeletedProfilePage(OneProfilePage):
    """A deleted profile shows no personal data, even before the erasure job has finished."""

    template: ClassVar[str] = "profiles/deleted.html"
    event_total: int


class ProfilePage(NamedProfilePage):
    template: ClassVar[str] = "profiles/show.html"
    event_total: int
    consents: list[ConsentView]
    attributes: list[tuple[str, Any]]
    events: list[EventView]
    events_next: str | None
    events_first_page: bool
    messages: list[queries.ReceivedMessage]
    suppress_on_delete: bool


def display_name(profile: Profile) -> str:
    if profile.status != ACTIVE:
        return "Deleted profile"
    return profile.full_name or profile.email or profile.phone or profile.external_id or "Anonymous"


def _search_token(request: Request, query: str, workspace_id: str) -> str:
    # The search term is often an email or a phone number: it travels sealed, never in clear
    # in a URL (browser history, proxy logs, Referer headers).
    return seal_compact(
        runtime_of(request).seal_keyring, query, aad=f"{_SEARCH_AAD}:{workspace_id}"
    )


def _search_query(request: Request, token: str | None, workspace_id: str) -> str:
    if not token:
        return ""
    keyring = runtime_of(request).seal_keyring
    return unseal_compact(keyring, token, aad=f"{_SEARCH_AAD}:{workspace_id}") or ""


@router.get("/profiles", name="profiles")
def list_profiles(
    web: UserPageContext,
    s: Annotated[str | None, Query(max_length=2000)] = None,
    cursor: CursorQuery = None,
) -> Response:
    query = _search_query(web.request, s, web.me.workspace_id)
    rows, next_cursor = profiles.search_profiles(
        web.session,
        workspace_id=web.me.workspace_id,
        query=query or None,
        page=PageParams(limit=PROFILES_PER_PAGE, cursor=cursor),
    )
    page = ProfileListPage(
        profiles=[(p, display_name(p)) for p in rows],
        query=query,
        search_token=s if query else None,
        next_cursor=next_cursor,
        is_first_page=cursor is None,
    )
    return render(web.request, page)


@router.post("/profiles/search", name="search_profiles")
def search_profiles(
    request: Request, me: FormAction, q: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    query = q.strip()
    if not query:
        return RedirectResponse("/profiles", status_code=303)
    token = _search_token(request, query, me.workspace_id)
    return RedirectResponse(f"/profiles?s={token}", status_code=303)


def _consents(consents: list[Consent]) -> list[ConsentView]:
    by_channel = {c.channel: c for c in consents}
    views = []
    for channel, label in (("email", "Email"), ("sms", "SMS")):
        c = by_channel.get(channel)
        views.append(
            ConsentView(
                channel=channel,
                label=label,
                state=c.state if c else None,
                source=c.source if c else None,
                recorded_at=c.recorded_at if c else None,
            )
        )
    return views


@router.get("/profiles/{profile_id}", name="profile")
def show_profile(web: UserPageContext, profile_id: str, events: CursorQuery = None) -> Response:
    session, workspace_id = web.session, web.me.workspace_id
    profile = profiles.get_profile(session, workspace_id=workspace_id, profile_id=profile_id)
    event_total = queries.event_count(session, workspace_id=workspace_id, profile_id=profile.id)
    if profile.status != ACTIVE:
        return render(web.request, DeletedProfilePage(profile=profile, event_total=event_total))
    rows, next_cursor = event_service.profile_events(
        session,
        workspace_id=workspace_id,
        profile_id=profile.id,
        page=PageParams(limit=EVENTS_PER_PAGE, cursor=events),
    )
    names = queries.campaign_names(
        session, workspace_id=workspace_id, ids={e.campaign_id for e in rows if e.campaign_id}
    )
    page = ProfilePage(
        profile=profile,
        name=display_name(profile),
        event_total=event_total,
        consents=_consents(profiles.consents_of(session, profile=profile)),
        attributes=sorted((profile.properties or {}).items()),
        events=[present_event(e, names) for e in rows],
        events_next=next_cursor,
        events_first_page=events is None,
        messages=queries.messages_received(
            session, workspace_id=workspace_id, profile_id=profile.id
        ),
        suppress_on_delete=suppressions.suppresses_by_default(session, workspace_id),
    )
    return render(web.request, page)
