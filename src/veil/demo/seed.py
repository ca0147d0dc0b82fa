"""Seeding the demo store: a believable outdoor-gear shop with customers, orders and campaigns.

Deterministic content (Faker and `random` seeded; ids and tracking tokens stay random, so they
remain unguessable), bulk inserts in one transaction (all or nothing), and idempotent: the demo
workspace is recognised by its admin login, so running `veil demo` twice seeds once.

What it holds, by default: 240 customers (names, emails, E.164 phones valid for their country,
addresses, custom attributes, email/SMS consent), 10 anonymous visitors, about 20,000 events
(Shopify-shaped `Placed Order` and `Started Checkout` with nested addresses and line items,
`Viewed Product`, `Added to Cart`), two campaigns and one flow with recipient records, and
`Opened Email` / `Clicked Email` / `Clicked SMS` events linked by campaign_id and recipient_id.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from faker import Faker
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from veil.audit import service as audit
from veil.auth.principal import ADMIN, MEMBER
from veil.db import session_scope
from veil.kit.ids import new_id, new_token
from veil.kit.time import utcnow
from veil.models import Campaign, Consent, Event, Membership, Profile, Recipient, User
from veil.runtime import Runtime
from veil.workspaces.service import create_user, create_workspace

WORKSPACE_NAME = "Demo Store"
ADMIN_EMAIL = "admin@demo.veil"
MEMBER_EMAIL = "member@demo.veil"
# Documented in the README: a demo login, never a real one.
DEMO_PASSWORD = "veil-demo-2026"  # noqa: S105
SHOP_DOMAIN = "veil-demo.myshopify.com"
SHOP_URL = f"https://{SHOP_DOMAIN}"

DEFAULT_PROFILES = 240
DEFAULT_EVENTS = 20_000
DEFAULT_SEED = 2026
HISTORY_DAYS = 180
_CHUNK = 2000


@dataclass(frozen=True)
class _Country:
    locale: str
    region: str
    country: str
    currency: str
    lat: float
    lng: float


_COUNTRIES = (
    (_Country("en_US", "US", "United States", "USD", 39.8, -98.6), 40),
    (_Country("en_GB", "GB", "United Kingdom", "GBP", 52.5, -1.5), 20),
    (_Country("de_DE", "DE", "Germany", "EUR", 51.2, 10.4), 20),
    (_Country("fr_FR", "FR", "France", "EUR", 46.6, 2.4), 12),
    (_Country("nl_NL", "NL", "Netherlands", "EUR", 52.2, 5.3), 8),
)


_US_AREA_CODES = ("206", "212", "303", "312", "404", "415", "503", "512", "617", "702", "917")


@dataclass(frozen=True)
class _Product:
    id: int
    handle: str
    title: str
    category: str
    price: float
    variants: tuple[str, ...]


def _catalogue() -> list[_Product]:
    items = [
        ("Trail Runner X", "Footwear", 129.0, ("US 8", "US 9", "US 10", "US 11")),
        ("Summit Hiking Boot", "Footwear", 189.0, ("US 8", "US 9", "US 10", "US 11")),
        ("Approach Shoe", "Footwear", 139.0, ("US 8", "US 9", "US 10")),
        ("Ultralight Rain Jacket", "Apparel", 149.0, ("S", "M", "L", "XL")),
        ("Merino Base Layer", "Apparel", 79.0, ("S", "M", "L")),
        ("Fleece Midlayer", "Apparel", 89.0, ("S", "M", "L", "XL")),
        ("Down Puffer Vest", "Apparel", 119.0, ("S", "M", "L")),
        ("Hiking Shorts", "Apparel", 55.0, ("S", "M", "L")),
        ("Wool Hiking Socks (3-pack)", "Apparel", 29.0, ("S", "M", "L")),
        ("Sun Hoodie", "Apparel", 65.0, ("S", "M", "L")),
        ("Daypack 22L", "Packs", 99.0, ("Slate", "Moss")),
        ("Trekking Pack 45L", "Packs", 219.0, ("S/M", "M/L")),
        ("Hip Pack", "Packs", 39.0, ("Black", "Ochre")),
        ("Two-Person Tent", "Camping", 349.0, ("Default",)),
        ("Down Sleeping Bag -5C", "Camping", 289.0, ("Regular", "Long")),
        ("Inflatable Sleeping Pad", "Camping", 129.0, ("Regular", "Wide")),
        ("Titanium Cook Pot", "Camping", 49.0, ("750 ml", "1.1 l")),
        ("Camp Stove", "Camping", 69.0, ("Default",)),
        ("Headlamp 400", "Camping", 45.0, ("Default",)),
        ("Trekking Poles (pair)", "Accessories", 119.0, ("Default",)),
        ("Insulated Bottle 750ml", "Accessories", 35.0, ("Sand", "Forest", "Night")),
        ("Water Filter", "Accessories", 45.0, ("Default",)),
        ("Merino Beanie", "Accessories", 25.0, ("Grey", "Rust")),
        ("Softshell Gloves", "Accessories", 39.0, ("S", "M", "L")),
    ]
    return [
        _Product(
            id=7_431_000_001 + index,
            handle=title.lower().replace(" ", "-").replace("(", "").replace(")", ""),
            title=title,
            category=category,
            price=price,
            variants=variants,
        )
        for index, (title, category, price, variants) in enumerate(items)
    ]


@dataclass
class _Customer:
    id: str
    shopify_id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    country: _Country
    address: dict[str, Any] | None
    email_subscribed: bool
    sms_subscribed: bool
    engagement: float
    created_at: datetime
    orders: int = 0
    spent: float = 0.0


@dataclass
class DemoStore:
    workspace_id: str
    created: bool
    counts: dict[str, int] = field(default_factory=dict)


def find_demo_workspace(session: Session) -> str | None:
    """The demo workspace: the one where the demo admin login is an admin."""
    return session.scalar(
        select(Membership.workspace_id)
        .join(User, User.id == Membership.user_id)
        .where(User.email == ADMIN_EMAIL, Membership.role == ADMIN)
        .order_by(Membership.created_at)
        .limit(1)
    )


def count_demo(session: Session, workspace_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, model in (
        ("profiles", Profile),
        ("events", Event),
        ("campaigns", Campaign),
        ("recipients", Recipient),
        ("consents", Consent),
    ):
        counts[name] = int(
            session.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
            )
            or 0
        )
    return counts


def seed_demo(
    runtime: Runtime,
    *,
    profiles: int = DEFAULT_PROFILES,
    events: int = DEFAULT_EVENTS,
    seed: int = DEFAULT_SEED,
) -> DemoStore:
    """Seed the demo store once; later calls find it and return its counts (created=False)."""
    with session_scope(runtime.sessionmaker) as session:
        existing = find_demo_workspace(session)
        if existing is not None:
            return DemoStore(existing, created=False, counts=count_demo(session, existing))
        created = create_workspace(
            session, name=WORKSPACE_NAME, keyring=runtime.seal_keyring, default_phone_region="US"
        )
        workspace_id = created.workspace.id
        create_user(
            session,
            workspace_id=workspace_id,
            email=ADMIN_EMAIL,
            password=DEMO_PASSWORD,
            role=ADMIN,
        )
        create_user(
            session,
            workspace_id=workspace_id,
            email=MEMBER_EMAIL,
            password=DEMO_PASSWORD,
            role=MEMBER,
        )
        _Seeder(session, workspace_id, seed=seed).run(profiles=profiles, events=events)
        counts = count_demo(session, workspace_id)
        audit.record(
            session,
            workspace_id=workspace_id,
            actor="cli",
            action="workspace.demo_seeded",
            target_type="workspace",
            target_id=workspace_id,
            details=counts,
        )
        return DemoStore(workspace_id, created=True, counts=counts)


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _money(value: float) -> str:
    return f"{value:.2f}"


class _Seeder:
    def __init__(self, session: Session, workspace_id: str, *, seed: int) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        for index, (country, _weight) in enumerate(_COUNTRIES):
            fake = Faker(country.locale)
            fake.seed_instance(seed + index)
            self.fakers[country.locale] = fake
        self.products = _catalogue()
        # Everything happened before today's midnight: reruns on one day give the same data.
        self.anchor = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        self.events: list[dict[str, Any]] = []
        self.order_number = 1001
        self.phones: set[str] = set()

    # -- people ---------------------------------------------------------------------------

    def _phone(self, country: _Country) -> str | None:
        """A mobile number valid for the customer's country (validated by phonenumbers)."""
        example = phonenumbers.example_number_for_type(
            country.region, phonenumbers.PhoneNumberType.MOBILE
        )
        if example is None:
            return None
        digits = str(example.national_number)
        for _ in range(100):
            if country.region == "US":
                area = self.rng.choice(_US_AREA_CODES)
                rest = f"{self.rng.randrange(2, 10)}{self.rng.randrange(10**6):06d}"
                national = f"{area}{rest}"
            else:
                keep = len(digits) - 7
                national = digits[:keep] + f"{self.rng.randrange(10**7):07d}"
            candidate = phonenumbers.parse(national, country.region)
            if phonenumbers.is_valid_number(candidate):
                e164 = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
                if e164 not in self.phones:
                    self.phones.add(e164)
                    return e164
        return None

    def _address(self, fake: Faker, country: _Country, first: str, last: str) -> dict[str, Any]:
        address: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "address1": fake.street_address(),
            "address2": fake.secondary_address() if country.region == "US" else None,
            "city": fake.city(),
            "province": (
                fake.state_abbr(include_territories=False, include_freely_associated_states=False)
                if country.region == "US"
                else None
            ),
            "zip": fake.postcode(),
            "country": country.country,
            "country_code": country.region,
            "latitude": round(country.lat + self.rng.uniform(-1.5, 1.5), 4),
            "longitude": round(country.lng + self.rng.uniform(-1.5, 1.5), 4),
        }
        if address["address2"] is not None and self.rng.random() < 0.7:
            address["address2"] = None
        return address

    def _customers(self, count: int) -> list[_Customer]:
        countries = [c for c, _ in _COUNTRIES]
        weights = [w for _, w in _COUNTRIES]
        customers: list[_Customer] = []
        emails: set[str] = set()
        for index in range(count):
            country = self.rng.choices(countries, weights)[0]
            fake = self.fakers[country.locale]
            first, last = fake.first_name(), fake.last_name()
            local = f"{_ascii(first)}.{_ascii(last)}"
            email = f"{local}@example.com"
            suffix = 2
            while email in emails:
                email = f"{local}{suffix}@example.com"
                suffix += 1
            emails.add(email)
            phone = self._phone(country) if self.rng.random() < 0.75 else None
            customers.append(
                _Customer(
                    id=new_id("prf"),
                    shopify_id=6_120_000_000 + index * 7 + self.rng.randrange(7),
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=phone,
                    country=country,
                    address=self._address(fake, country, first, last),
                    email_subscribed=self.rng.random() < 0.72,
                    sms_subscribed=phone is not None and self.rng.random() < 0.45,
                    # A few loyal regulars, many occasional shoppers.
                    engagement=min(self.rng.paretovariate(2.2), 8.0),
                    created_at=self.anchor - timedelta(days=self.rng.uniform(3, 540)),
                )
            )
        return customers

    def _visitors(self, count: int) -> list[_Customer]:
        country = _COUNTRIES[0][0]
        return [
            _Customer(
                id=new_id("prf"),
                shopify_id=0,
                first_name="",
                last_name="",
                email=None,
                phone=None,
                country=country,
                address=None,
                email_subscribed=False,
                sms_subscribed=False,
                engagement=0.3,
                created_at=self.anchor - timedelta(days=self.rng.uniform(1, HISTORY_DAYS)),
            )
            for _ in range(count)
        ]

    # -- events ---------------------------------------------------------------------------

    def _event(
        self,
        person: _Customer,
        type: str,
        at: datetime,
        properties: dict[str, Any],
        *,
        source: str,
        campaign_id: str | None = None,
        recipient_id: str | None = None,
    ) -> None:
        self.events.append(
            {
                "id": new_id("evt"),
                "workspace_id": self.workspace_id,
                "profile_id": person.id,
                "type": type,
                "timestamp": at,
                "received_at": at + timedelta(seconds=self.rng.uniform(0.05, 2.0)),
                "properties": properties,
                "source": source,
                "campaign_id": campaign_id,
                "recipient_id": recipient_id,
            }
        )

    def _line_items(self, person: _Customer, cart: Sequence[_Product]) -> list[dict[str, Any]]:
        items = []
        for product in cart:
            variant_index = self.rng.randrange(len(product.variants))
            items.append(
                {
                    "id": 14_200_000_000 + self.rng.randrange(10_000_000),
                    "product_id": product.id,
                    "variant_id": product.id * 10 + variant_index,
                    "sku": f"{product.handle[:12].upper()}-{variant_index + 1}",
                    "title": product.title,
                    "variant_title": product.variants[variant_index],
                    "vendor": "Veil Outdoor Co.",
                    "quantity": 1 if self.rng.random() < 0.85 else 2,
                    "price": _money(product.price),
                }
            )
        return items

    def _totals(self, items: Iterable[dict[str, Any]], person: _Customer) -> dict[str, str]:
        subtotal = sum(float(i["price"]) * int(i["quantity"]) for i in items)
        discount = round(subtotal * 0.1, 2) if self.rng.random() < 0.2 else 0.0
        shipping = 0.0 if subtotal >= 100 else 6.95
        tax_rate = 0.0 if person.country.region == "US" else 0.19
        tax = round((subtotal - discount) * tax_rate / (1 + tax_rate), 2)
        total = subtotal - discount + shipping
        return {
            "subtotal_price": _money(subtotal),
            "total_discounts": _money(discount),
            "total_shipping": _money(shipping),
            "total_tax": _money(tax),
            "total_price": _money(total),
        }

    def _customer_block(self, person: _Customer) -> dict[str, Any]:
        return {
            "id": person.shopify_id,
            "email": person.email,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "phone": person.phone,
            "accepts_marketing": person.email_subscribed,
        }

    def _checkout(self, person: _Customer, at: datetime, cart: Sequence[_Product]) -> str:
        items = self._line_items(person, cart)
        token = "".join(self.rng.choice("0123456789abcdef") for _ in range(32))
        self._event(
            person,
            "Started Checkout",
            at,
            {
                "checkout_id": 31_500_000_000 + self.rng.randrange(100_000_000),
                "token": token,
                "email": person.email,
                "currency": person.country.currency,
                **self._totals(items, person),
                "line_items": items,
                "shipping_address": dict(person.address or {}),
                "abandoned_checkout_url": f"{SHOP_URL}/checkouts/{token}/recover",
            },
            source="shopify",
        )
        return token

    def _order(self, person: _Customer, at: datetime, cart: Sequence[_Product]) -> None:
        items = self._line_items(person, cart)
        totals = self._totals(items, person)
        number = self.order_number
        self.order_number += 1
        shipping = dict(person.address or {})
        billing = dict(shipping)
        properties: dict[str, Any] = {
            "id": 5_800_000_000 + number,
            "order_number": number,
            "name": f"#{number}",
            "email": person.email,
            "phone": person.phone,
            "currency": person.country.currency,
            **totals,
            "financial_status": "paid",
            "fulfillment_status": "fulfilled" if at < self.anchor - timedelta(days=4) else None,
            "customer": self._customer_block(person),
            "shipping_address": shipping,
            "billing_address": billing,
            "line_items": items,
            "shipping_lines": [{"title": "Standard", "price": totals["total_shipping"]}],
            "browser_ip": f"203.0.113.{self.rng.randrange(1, 255)}",
            "landing_site": f"/products/{cart[0].handle}",
            "source_name": "web",
            "tags": "returning" if person.orders else "first-order",
        }
        roll = self.rng.random()
        if roll < 0.05 and person.phone:
            properties["note"] = f"Please call {person.phone} if nobody answers the door."
        elif roll < 0.09:
            properties["note"] = f"Gift for {person.first_name}, no invoice in the parcel please."
        person.orders += 1
        person.spent += float(totals["total_price"])
        self._event(person, "Placed Order", at, properties, source="shopify")

    def _next_product(self, favourite: _Product) -> _Product:
        """People come back to one product, browse its category, or wander off."""
        roll = self.rng.random()
        if roll < 0.3:
            return favourite
        if roll < 0.7:
            return self.rng.choice([p for p in self.products if p.category == favourite.category])
        return self.rng.choice(self.products)

    def _session(
        self,
        person: _Customer,
        at: datetime,
        budget: int,
        checkouts: list[tuple[_Customer, datetime]],
    ) -> int:
        """One browsing session; returns the number of events it added (at most `budget`)."""
        start = len(self.events)
        favourite = self.rng.choice(self.products)
        viewed: list[_Product] = []
        for _ in range(self.rng.randint(1, 5)):
            if len(self.events) - start >= budget:
                return len(self.events) - start
            product = self._next_product(favourite)
            viewed.append(product)
            self._event(
                person,
                "Viewed Product",
                at,
                {
                    "product_id": product.id,
                    "sku": f"{product.handle[:12].upper()}-1",
                    "name": product.title,
                    "category": product.category,
                    "price": product.price,
                    "currency": person.country.currency,
                    "url": f"{SHOP_URL}/products/{product.handle}",
                },
                source="segment",
            )
            at += timedelta(seconds=self.rng.randint(20, 240))
        if person.email is None or self.rng.random() > 0.3:
            return len(self.events) - start
        cart = list(dict.fromkeys(self.rng.sample(viewed, k=min(len(viewed), 2))))
        for product in cart:
            if len(self.events) - start >= budget:
                return len(self.events) - start
            self._event(
                person,
                "Added to Cart",
                at,
                {
                    "product_id": product.id,
                    "name": product.title,
                    "price": product.price,
                    "quantity": 1,
                    "currency": person.country.currency,
                },
                source="segment",
            )
            at += timedelta(seconds=self.rng.randint(10, 120))
        if len(self.events) - start >= budget or self.rng.random() > 0.55:
            return len(self.events) - start
        at += timedelta(seconds=self.rng.randint(30, 300))
        self._checkout(person, at, cart)
        if len(self.events) - start < budget and self.rng.random() < 0.6:
            self._order(person, at + timedelta(seconds=self.rng.randint(60, 600)), cart)
        else:
            checkouts.append((person, at))
        return len(self.events) - start

    def _browse(
        self,
        people: Sequence[_Customer],
        budget: int,
        checkouts: list[tuple[_Customer, datetime]],
    ) -> None:
        weights = [p.engagement for p in people]
        while budget > 0:
            person = self.rng.choices(people, weights)[0]
            earliest = max(person.created_at, self.anchor - timedelta(days=HISTORY_DAYS))
            span = (self.anchor - timedelta(hours=1) - earliest).total_seconds()
            at = earliest + timedelta(seconds=self.rng.uniform(0, max(span, 60)))
            budget -= self._session(person, at, budget, checkouts)

    # -- campaigns ------------------------------------------------------------------------

    def _campaign(
        self, name: str, kind: str, channel: str, links: list[str], created_at: datetime
    ) -> str:
        campaign_id = new_id("cmp")
        self.session.execute(
            insert(Campaign),
            [
                {
                    "id": campaign_id,
                    "workspace_id": self.workspace_id,
                    "name": name,
                    "kind": kind,
                    "channel": channel,
                    "links": links,
                    "created_at": created_at,
                    "updated_at": created_at,
                }
            ],
        )
        return campaign_id

    def _send(
        self,
        campaign_id: str,
        channel: str,
        links: list[str],
        sends: Sequence[tuple[_Customer, datetime]],
    ) -> list[dict[str, Any]]:
        records = []
        for person, sent_at in sends:
            record_id = new_id("rcp")
            records.append(
                {
                    "id": record_id,
                    "workspace_id": self.workspace_id,
                    "campaign_id": campaign_id,
                    "profile_id": person.id,
                    "channel": channel,
                    "email": person.email if channel == "email" else None,
                    "phone": person.phone if channel == "sms" else None,
                    "status": "sent",
                    "sent_at": sent_at,
                    "token": new_token(),
                }
            )
            if channel == "email" and self.rng.random() < 0.45:
                opened = sent_at + timedelta(minutes=self.rng.uniform(3, 60 * 30))
                for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
                    if opened < self.anchor:
                        self._event(
                            person,
                            "Opened Email",
                            opened,
                            {"client": self.rng.choice(("Apple Mail", "Gmail", "Outlook"))},
                            source="tracking",
                            campaign_id=campaign_id,
                            recipient_id=record_id,
                        )
                    opened += timedelta(hours=self.rng.uniform(1, 48))
                click_rate = 0.3
            else:
                opened = sent_at + timedelta(minutes=self.rng.uniform(1, 240))
                click_rate = 0.15 if channel == "sms" else 0.0
            if links and self.rng.random() < click_rate:
                clicked = opened + timedelta(seconds=self.rng.randint(5, 600))
                if clicked < self.anchor:
                    self._event(
                        person,
                        "Clicked Email" if channel == "email" else "Clicked SMS",
                        clicked,
                        {"url": self.rng.choice(links)},
                        source="tracking",
                        campaign_id=campaign_id,
                        recipient_id=record_id,
                    )
        return records

    def _campaigns(
        self, customers: Sequence[_Customer], checkouts: Sequence[tuple[_Customer, datetime]]
    ) -> list[dict[str, Any]]:
        launch_links = [f"{SHOP_URL}/collections/new-season", f"{SHOP_URL}/products/trail-runner-x"]
        launch_at = self.anchor - timedelta(days=40) + timedelta(hours=9)
        launch = self._campaign(
            "New Season Collection Launch", "campaign", "email", launch_links, launch_at
        )
        sale_links = [f"{SHOP_URL}/collections/sale"]
        sale_at = self.anchor - timedelta(days=12) + timedelta(hours=11)
        sale = self._campaign("Weekend Flash Sale", "campaign", "sms", sale_links, sale_at)
        flow_links = [f"{SHOP_URL}/cart"]
        flow_at = self.anchor - timedelta(days=HISTORY_DAYS + 10)
        flow = self._campaign("Abandoned Checkout Reminder", "flow", "email", flow_links, flow_at)

        records = self._send(
            launch,
            "email",
            launch_links,
            [(c, launch_at) for c in customers if c.email_subscribed and c.created_at < launch_at],
        )
        records += self._send(
            sale,
            "sms",
            sale_links,
            [(c, sale_at) for c in customers if c.sms_subscribed and c.created_at < sale_at],
        )
        reminders = [
            (person, at + timedelta(hours=1))
            for person, at in checkouts
            if person.email_subscribed and at + timedelta(hours=1) < self.anchor
        ]
        records += self._send(flow, "email", flow_links, sorted(reminders, key=lambda r: r[1]))
        return records

    # -- writing --------------------------------------------------------------------------

    def _insert(self, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(rows), _CHUNK):
            self.session.execute(insert(model), list(rows[start : start + _CHUNK]))

    def _profile_rows(
        self, people: Sequence[_Customer], visitors: Sequence[_Customer]
    ) -> list[dict[str, Any]]:
        tiers = ("bronze", "silver", "gold")
        categories = sorted({p.category for p in self.products})
        rows: list[dict[str, Any]] = []
        for person in people:
            fake = self.fakers[person.country.locale]
            address = person.address or {}
            properties: dict[str, Any] = {
                "address": {
                    key: address.get(key)
                    for key in ("address1", "address2", "city", "province", "zip", "country")
                },
                "country_code": person.country.region,
                "locale": person.country.locale.replace("_", "-"),
                "birthday": fake.date_of_birth(minimum_age=18, maximum_age=75).isoformat(),
                "loyalty_tier": tiers[min(person.orders // 2, 2)],
                "orders_count": person.orders,
                "lifetime_value": round(person.spent, 2),
                "preferred_category": self.rng.choice(categories),
                "signup_source": self.rng.choice(("checkout", "newsletter", "popup", "in-store")),
                "tags": sorted(
                    self.rng.sample(["hiker", "runner", "camper", "climber", "vip", "wholesale"], 2)
                ),
            }
            rows.append(
                {
                    "id": person.id,
                    "workspace_id": self.workspace_id,
                    "status": "active",
                    "email": person.email,
                    "phone": person.phone,
                    "external_id": f"shopify:{person.shopify_id}",
                    "anonymous_id": None,
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "properties": properties,
                    "origin": f"shopify:{SHOP_DOMAIN}",
                    "created_at": person.created_at,
                    "updated_at": self.anchor - timedelta(hours=self.rng.uniform(1, 24 * 30)),
                }
            )
        for visitor in visitors:
            rows.append(
                {
                    "id": visitor.id,
                    "workspace_id": self.workspace_id,
                    "status": "active",
                    "email": None,
                    "phone": None,
                    "external_id": None,
                    "anonymous_id": f"anon-{self.rng.getrandbits(64):016x}",
                    "first_name": None,
                    "last_name": None,
                    "properties": {},
                    "origin": "segment",
                    "created_at": visitor.created_at,
                    "updated_at": visitor.created_at,
                }
            )
        return rows

    def _consent_rows(self, people: Sequence[_Customer]) -> list[dict[str, Any]]:
        rows = []
        for person in people:
            channels = [("email", person.email_subscribed)]
            if person.phone:
                channels.append(("sms", person.sms_subscribed))
            for channel, subscribed in channels:
                rows.append(
                    {
                        "id": new_id("cns"),
                        "workspace_id": self.workspace_id,
                        "profile_id": person.id,
                        "channel": channel,
                        "state": "subscribed" if subscribed else "unsubscribed",
                        "source": "shopify",
                        "recorded_at": person.created_at,
                    }
                )
        return rows

    def run(self, *, profiles: int, events: int) -> None:
        # Visitors first: ids are time-ordered and lists show the newest first, so the
        # customers (the interesting profiles) lead the Profiles page.
        visitors = self._visitors(max(1, profiles // 24))
        customers = self._customers(profiles)
        checkouts: list[tuple[_Customer, datetime]] = []
        # Most of the budget goes to shopping; campaign activity comes on top, then the
        # remainder is filled with more browsing so the total lands on `events`.
        self._browse(customers, int(events * 0.93), checkouts)
        self._browse(visitors, int(events * 0.02), [])
        records = self._campaigns(customers, checkouts)
        self._browse(customers, events - len(self.events), [])

        self._insert(Profile, self._profile_rows(customers, visitors))
        self._insert(Consent, self._consent_rows(customers))
        self._insert(Recipient, records)
        self._insert(Event, self.events)
        self.session.flush()
