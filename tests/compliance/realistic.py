"""A realistic data subject for erasure tests: Shopify orders with nested addresses, free-text
notes, Segment-style context, campaign messages with opens and clicks, consents, an open
export file — and a bystander in the same workspace who must come out untouched."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy.orm import Session

from tests.fixtures.factories import (
    make_campaign,
    make_event,
    make_profile,
    make_recipient,
    shopify_order,
)
from veil.compliance.deletions import service
from veil.compliance.exports.writer import file_owner
from veil.kit.ids import new_id
from veil.kit.time import utcnow
from veil.models import ExportRequest, IdentifierType, Profile, ProfileIdentifier, Workspace
from veil.runtime import Runtime

EMAIL = "ada.lovelace@example.com"
PHONE = "+14155550132"
PHONE_NATIONAL = "(415) 555-0132"
PHONE_DIGITS = "4155550132"
FIRST, LAST = "Ada", "Lovelace"
FULL_NAME = "Ada Lovelace"
STREET = "12 Analytical Engine Lane"
EXTERNAL_ID = "shopify:7001"
# Her email before she changed it (SPEC §9 identifier history).
PREVIOUS_EMAIL = "ada.byron@example.com"
SECRETS = [EMAIL, PHONE_DIGITS, FULL_NAME, STREET, PREVIOUS_EMAIL]


@dataclass
class Realistic:
    profile_id: str
    bystander_id: str
    event_ids: list[str] = field(default_factory=list)
    recipient_ids: list[str] = field(default_factory=list)
    export_id: str = ""
    export_key: str = ""


def request_deletion(runtime: Runtime, *, workspace_id: str, profile_id: str) -> str:
    """Ask for the erasure as an admin would (committed; the job is enqueued)."""
    with runtime.sessionmaker.begin() as session:
        return service.request_deletion(
            session,
            runtime=runtime,
            workspace_id=workspace_id,
            profile_id=profile_id,
            requested_by="ops@acme.test",
            actor="user:usr_test",
        ).id


def _order(order_id: int) -> dict[str, Any]:
    return shopify_order(
        email=EMAIL, phone=PHONE_NATIONAL, first=FIRST, last=LAST, order_id=order_id
    )


def build(runtime: Runtime, session: Session, *, workspace_id: str) -> Realistic:
    """Ada (to be erased) and Grace (a bystander), with everything a shop stores about them."""
    session.get_one(Workspace, workspace_id).pii_keys = ["loyalty_card"]
    ada = make_profile(
        session,
        workspace_id=workspace_id,
        email=EMAIL,
        phone=PHONE,
        external_id=EXTERNAL_ID,
        first_name=FIRST,
        last_name=LAST,
        properties={
            "loyalty_card": "LC-99-1234",
            "default_address": {"address1": STREET, "zip": "EC1A 1BB", "city": "London"},
            "vip": True,
        },
        consent={"email": "subscribed", "sms": "subscribed"},
        origin="shopify:acme.myshopify.com",
    )
    ada.anonymous_id = "anon-3f2c9a7e"
    session.add(
        ProfileIdentifier(
            id=new_id("pid"),
            workspace_id=workspace_id,
            profile_id=ada.id,
            type=IdentifierType.EMAIL,
            value=PREVIOUS_EMAIL,
            until=utcnow() - timedelta(days=40),
        )
    )
    grace = make_profile(
        session,
        workspace_id=workspace_id,
        email="grace@example.com",
        phone="+14155550199",
        first_name="Grace",
        last_name="Hopper",
        consent={"email": "subscribed"},
    )
    out = Realistic(profile_id=ada.id, bystander_id=grace.id)
    start = utcnow() - timedelta(days=30)

    def event(profile: Profile, type_: str, props: dict[str, Any], **kw: Any) -> None:
        e = make_event(
            session,
            profile=profile,
            type=type_,
            properties=props,
            timestamp=start + timedelta(minutes=len(out.event_ids)),
            **kw,
        )
        if profile is ada:
            out.event_ids.append(e.id)

    for n in range(3):
        event(ada, "Placed Order", _order(1001 + n), source="shopify")
    event(ada, "Viewed Category", {"category": "gears", "page": 2})
    event(
        ada,
        "Viewed Page",
        {"url": f"https://shop.example.com/welcome?to={PREVIOUS_EMAIL.replace('@', '%2540')}"},
        source="segment",
    )
    event(ada, "Started Checkout", {"checkout": {"email": EMAIL.upper(), "total": "12.00"}})
    event(
        ada,
        "Viewed Product",
        {
            "product_id": 9001,
            "sku": "SKU-1",
            "title": "Brass gear",
            "price": 59.95,
            "url": f"https://shop.example.com/p/9001?utm_email={EMAIL.replace('@', '%40')}",
        },
    )
    event(
        ada,
        "Support Note",
        {"text": f"Customer {EMAIL.upper()} asked for gift wrap", "ticket": 77},
    )
    event(ada, "Called", {"contact": "415.555.0132", "duration_s": 40, "raw": 4155550132})
    event(
        ada,
        "Identify",
        {
            "context": {"ip": "203.0.113.7", "locale": "en-GB"},
            "traits": {"firstName": FIRST, "lastName": LAST, "loyaltyCard": "LC-99-1234"},
        },
        source="segment",
    )
    event(ada, "Gift Message", {"message": f"With love, {LAST}, {FIRST}", "wrap": "gold"})
    m = make_event(
        session,
        profile=ada,
        type="Placed Order",
        properties={"order_id": 1010},
        timestamp=start + timedelta(minutes=50),
    )
    m.message_id = f"order-{EMAIL}"
    out.event_ids.append(m.id)

    email_campaign = make_campaign(session, workspace_id=workspace_id, name="Black Friday")
    sms_campaign = make_campaign(session, workspace_id=workspace_id, name="Flash", channel="sms")
    for campaign in (email_campaign, sms_campaign):
        r = make_recipient(session, campaign=campaign, profile=ada)
        out.recipient_ids.append(r.id)
        opened = "Opened Email" if campaign.channel == "email" else "Delivered SMS"
        event(
            ada,
            opened,
            {"ip": "198.51.100.4", "user_agent": "Mail/1.0"},
            source="tracking",
            campaign_id=campaign.id,
            recipient_id=r.id,
        )
        event(
            ada,
            "Clicked Email" if campaign.channel == "email" else "Clicked SMS",
            {"url": "https://shop.example.com/sale", "ip": "198.51.100.4"},
            source="tracking",
            campaign_id=campaign.id,
            recipient_id=r.id,
        )
    make_recipient(session, campaign=email_campaign, profile=grace)
    grace_order = shopify_order(
        email="grace@example.com", phone="+14155550199", first="Grace", last="Hopper"
    )
    for kind in ("shipping_address", "billing_address"):
        grace_order[kind].update(address1="1 Navy Yard", address2="", zip="20374")
    make_event(session, profile=grace, type="Placed Order", properties=grace_order)

    # An open (ready, not downloaded) export with its encrypted file in the store.
    export_id = new_id("exp")
    key = f"{export_id}.json.enc"
    document = orjson.dumps({"profile": {"email": EMAIL, "phone": PHONE, "name": FULL_NAME}})
    runtime.export_store.put(
        key,
        lambda fh: runtime.file_keyring.encrypt_stream(
            iter([document]), fh, owner=file_owner(workspace_id, export_id)
        ),
    )
    now = utcnow()
    session.add(
        ExportRequest(
            id=export_id,
            workspace_id=workspace_id,
            profile_id=ada.id,
            status="ready",
            requested_at=now,
            requested_by="ops@acme.test",
            due_at=now + timedelta(days=30),
            expires_at=now + timedelta(days=7),
            ready_at=now,
            file_key=key,
            file_size=len(io.BytesIO(document).getvalue()),
        )
    )
    out.export_id, out.export_key = export_id, key
    session.flush()
    return out
