"""Signed callbacks (SPEC §8.6): what is sent, to which URLs, and how it is signed.

Every status change writes one delivery row per callback URL in the transaction that made
the change (veil.models.privacy_callback); the `privacy_callback` job sends it. The body
carries ids, dates and statuses only — never an identity. The receiver de-duplicates by
(`id`, `status`): a delivery re-sent after a crash between the POST and its record is the
same body.

Server-side request forgery: a URL must be http(s); a literal loopback, private, link-local
(or otherwise non-global) address is refused when the request is created, and at delivery
the host name is resolved, every address checked, and the connection made to the checked
address itself (so a DNS answer that changes between the check and the connect cannot
point it elsewhere). `VEIL_CALLBACK_ALLOW_PRIVATE=true` lifts the address rule (development).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from sqlalchemy.orm import Session

from veil import db
from veil.compliance.privacy_requests.repository import PrivacyRequestRepository
from veil.errors import ValidationFailed
from veil.kit.ids import new_id
from veil.kit.time import rfc3339
from veil.models import PrivacyCallback, PrivacyRequest
from veil.models.privacy_callback import DeliveryStatus

JOB = "privacy_callback"
MAX_URLS = 3
MAX_URL_LENGTH = 2048
TIMEOUT_SECONDS = 10.0
# The characters of a numeric IPv4 host in any of the forms inet_aton reads.
_NUMERIC_HOST = frozenset("0123456789abcdefx.")
SIGNATURE_HEADER = "Veil-Signature"
# Pauses after each failed attempt: 8 attempts spread over almost 8 hours.
RETRY_PAUSES = (30, 120, 600, 1800, 3600, 7200, 14400)
MAX_ATTEMPTS = len(RETRY_PAUSES) + 1


class ForbiddenAddress(Exception):
    """The callback's host is (or resolves to) an address Veil must not call."""


def check_urls(urls: Sequence[str], *, allow_private: bool) -> list[str]:
    """The callback URLs of a new request, checked; ValidationFailed names the position."""
    if len(urls) > MAX_URLS:
        raise ValidationFailed(f"callback_urls holds at most {MAX_URLS} URLs.")
    checked: list[str] = []
    for index, url in enumerate(urls):
        try:
            checked.append(check_url(url, allow_private=allow_private))
        except ValidationFailed as exc:
            raise ValidationFailed(f"callback_urls[{index}]: {exc.message}") from None
    return list(dict.fromkeys(checked))


def check_url(url: str, *, allow_private: bool) -> str:
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(f"a callback URL is at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a malformed port raises here
    except ValueError:
        raise ValidationFailed("the callback URL cannot be parsed.") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed("a callback URL must use http or https.")
    if not host:
        raise ValidationFailed("a callback URL must name a host.")
    if allow_private:
        return url
    host = host.rstrip(".")  # "localhost." and "127.0.0.1." name the same host
    if host == "localhost" or host.endswith(".localhost"):
        raise ValidationFailed("a callback URL must not point at this machine (loopback).")
    address = literal_address(host)
    if address is None:
        return url  # a name: checked again after resolution, at each delivery
    if is_forbidden(address):
        raise ValidationFailed(
            "a callback URL must not point at a loopback, private or link-local address."
        )
    return url


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names without DNS: a standard IP literal, or an IPv4 address in
    one of the forms the resolver also takes (2130706433, 0x7f000001, 0177.0.0.1, 127.1)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in _NUMERIC_HOST for c in host.lower()):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Anything but a public unicast address (loopback, private, link-local, CGNAT, reserved)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


# -- recording status changes ---------------------------------------------------------------


def body_of(request: PrivacyRequest) -> str:
    """The JSON of SPEC §8.6 as stored with a delivery: ids, statuses and dates, never an
    identity; `reference` is null here and filled in when sent (`free_text.with_reference`),
    as it is free text kept sealed at rest."""
    return orjson.dumps(
        {
            "id": request.id,
            "type": str(request.type),
            "status": str(request.status),
            "regulation": str(request.regulation),
            "received_at": rfc3339(request.received_at),
            "due_at": rfc3339(request.due_at),
            "completed_at": rfc3339(request.completed_at),
            "reference": None,
            "workspace_id": request.workspace_id,
            "verified": request.verified,
        }
    ).decode()


def record_status_change(
    session: Session, request: PrivacyRequest, *, seq: int | None = None, enqueue: bool = True
) -> list[str]:
    """One pending delivery per callback URL, sent after this transaction commits; with
    `enqueue=False` the caller enqueues the returned ids later (the row is durable either way:
    a pending delivery without a job is found by the sweep). `seq`: the request's next
    delivery number, read from its deliveries when not given (and only when it has URLs)."""
    if not request.callback_urls:
        return []
    if seq is None:
        repo = PrivacyRequestRepository(session, request.workspace_id)
        seq = repo.next_delivery_seq(request.id)
    body = body_of(request)
    ids: list[str] = []
    for url in request.callback_urls:
        delivery = PrivacyCallback(
            id=new_id("cbk"),
            workspace_id=request.workspace_id,
            request_id=request.id,
            url=str(url),
            announced_status=str(request.status),
            seq=seq,
            body=body,
            status=DeliveryStatus.PENDING,
            attempts=0,
        )
        session.add(delivery)
        ids.append(delivery.id)
    session.flush()
    if enqueue:
        for delivery_id in ids:
            db.enqueue_after_commit(session, JOB, delivery_id)
    return ids


# -- sending ----------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send(url: str, body: str, *, secret: str, allow_private: bool) -> Attempt:
    """One signed POST; never raises (the outcome is recorded, and retried when not 2xx)."""
    raw = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Veil-Callbacks/1",
        SIGNATURE_HEADER: signature(secret, int(time.time()), raw),
    }
    try:
        target, extensions = _pinned(url, headers, allow_private=allow_private)
        with httpx.Client(
            timeout=TIMEOUT_SECONDS, follow_redirects=False, verify=tls_context()
        ) as client:
            response = client.post(target, content=raw, headers=headers, extensions=extensions)
        return Attempt(response.status_code, None if response.is_success else "status")
    except ForbiddenAddress:
        return Attempt(None, "forbidden_address")
    except httpx.TimeoutException:
        return Attempt(None, "timeout")
    except (httpx.HTTPError, OSError, ValueError) as exc:
        return Attempt(None, f"connection:{type(exc).__name__}")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle), built once per process: loading
    the bundle takes tens of milliseconds, more than a POST to a nearby receiver."""
    return httpx.create_ssl_context()


def _pinned(
    url: str, headers: dict[str, str], *, allow_private: bool
) -> tuple[str, dict[str, str]]:
    """The URL rewritten to the checked address, the Host header and TLS name kept."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not allow_private and any(is_forbidden(a) for a in addresses):
        raise ForbiddenAddress()
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    headers["Host"] = parts.netloc.rpartition("@")[2]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), extensions


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not found:
        raise OSError("no address")
    return list(dict.fromkeys(found))


def pause_after(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failed attempt."""
    return RETRY_PAUSES[min(attempts, len(RETRY_PAUSES)) - 1]
