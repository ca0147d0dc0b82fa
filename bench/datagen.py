"""Deterministic workspaces for the benchmarks: contacts, Shopify-shaped orders, product views,
campaigns with recipient records and their opens and clicks.

Everything comes from one `random.Random(seed)`, ids included, so a seed always gives the same
rows. Rows go in with SQLAlchemy core `insert()` executemany in large batches, not through the
services or the HTTP API (scenarios that measure the API build their own request bodies with
`order_properties` / `view_properties`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Engine, text

from veil.models import Campaign, Consent, Event, Profile, Recipient

# A fixed "now" in the past: every generated timestamp passes the API's "not in the future" check
# and the same seed gives the same timestamps whatever the day.
EPOCH_END = datetime(2026, 6, 1, tzinfo=UTC)
HISTORY = timedelta(days=3 * 365)
INSERT_BATCH = 5_000
COMMIT_EVERY = 50_000

FIRST_NAMES = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Ken",
    "Dennis",
    "Frances",
    "Hedy",
    "Radia",
    "Katherine",
    "Tim",
    "Linus",
    "Guido",
    "Anita",
    "Sophie",
    "Carl",
    "Annie",
    "Niklaus",
    "John",
    "Leslie",
    "Shafi",
    "Whitfield",
]
LAST_NAMES = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Ritchie",
    "Allen",
    "Lamarr",
    "Perlman",
    "Johnson",
    "Berners-Lee",
    "Torvalds",
    "Rossum",
    "Borg",
    "Wilson",
    "Hoare",
    "Easley",
    "Wirth",
    "Backus",
    "Lamport",
]
STREETS = [
    "Analytical Engine Lane",
    "Difference Row",
    "Babbage Street",
    "Jacquard Court",
    "Loom Avenue",
]
CITIES = ("London", "Paris", "Berlin", "Lisbon", "Madrid", "Dublin", "Vienna", "Oslo")
PRODUCTS = tuple(
    (9000 + n, f"SKU-{n:04d}", title, price)
    for n, (title, price) in enumerate(
        [
            ("Trail tent 2P", "249.00"),
            ("Down sleeping bag", "189.90"),
            ("Headlamp 400lm", "39.95"),
            ("Merino base layer", "79.00"),
            ("Rain shell", "159.00"),
            ("Trekking poles", "89.50"),
            ("Stove kit", "64.00"),
            ("Water filter", "44.90"),
            ("Camp mug", "12.50"),
            ("Daypack 24L", "99.00"),
            ("Gaiters", "34.00"),
            ("Map case", "19.90"),
        ]
    )
)
USER_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0",
)

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


class Ids:
    """Ids in Veil's shape (`<prefix>_<26 base32 chars>`) drawn from the seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self, prefix: str) -> str:
        value = self.rng.getrandbits(128)
        chars = []
        for _ in range(26):
            chars.append(_ALPHABET[value & 31])
            value >>= 5
        return f"{prefix}_{''.join(chars)}"


@dataclass(frozen=True)
class Person:
    profile_id: str
    email: str
    phone: str
    first_name: str
    last_name: str
    external_id: str
    index: int

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Generator:
    """One seeded source of rows for one workspace."""

    workspace_id: str
    seed: int = 7
    rng: random.Random = field(init=False)
    ids: Ids = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.ids = Ids(self.rng)

    # -- people -------------------------------------------------------------------------------

    def person(self, index: int, *, tag: str = "p") -> Person:
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
        return Person(
            profile_id=self.ids("prf"),
            email=f"{first.lower()}.{last.lower()}.{tag}{index}@example.com",
            # +1 202 55x xxxx: unique per index up to 10^7, E.164 like the API stores it.
            phone=f"+1202{5_500_000 + index:07d}",
            first_name=first,
            last_name=last,
            external_id=f"cust-{tag}{index}",
            index=index,
        )

    def profile_row(self, person: Person) -> dict[str, Any]:
        rng = self.rng
        return {
            "id": person.profile_id,
            "workspace_id": self.workspace_id,
            "status": "active",
            "email": person.email,
            "phone": person.phone,
            "external_id": person.external_id,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "properties": {
                "default_address": self.address(person),
                "loyalty_tier": rng.choice(("bronze", "silver", "gold")),
                "accepts_marketing": True,
            },
            "origin": "shopify:bench.myshopify.com",
            "created_at": EPOCH_END - HISTORY,
            "updated_at": EPOCH_END - HISTORY,
        }

    def consent_rows(self, person: Person) -> list[dict[str, Any]]:
        return [
            {
                "id": self.ids("cns"),
                "workspace_id": self.workspace_id,
                "profile_id": person.profile_id,
                "channel": channel,
                "state": "subscribed",
                "source": "shopify",
                "recorded_at": EPOCH_END - HISTORY,
            }
            for channel in ("email", "sms")
        ]

    def address(self, person: Person) -> dict[str, Any]:
        rng = self.rng
        return {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "address1": f"{10 + person.index % 90} {STREETS[person.index % len(STREETS)]}",
            "address2": rng.choice(("", "Flat 3", "2nd floor")),
            "city": CITIES[person.index % len(CITIES)],
            # A UK postcode, like the rest of the address.
            "zip": f"EC{1 + person.index % 9}A {person.index % 10}B{chr(65 + person.index % 26)}",
            "country": "United Kingdom",
            "country_code": "GB",
            "phone": person.phone,
            "latitude": round(51 + rng.random(), 4),
            "longitude": round(-0.5 + rng.random(), 4),
        }

    # -- event payloads -------------------------------------------------------------------------

    def order_properties(self, person: Person, order_number: int) -> dict[str, Any]:
        """A Shopify `orders/create` payload, trimmed to what shops really send most."""
        rng = self.rng
        items = []
        subtotal = 0.0
        for _ in range(rng.randint(1, 10)):
            product_id, sku, title, price = rng.choice(PRODUCTS)
            quantity = rng.randint(1, 3)
            subtotal += float(price) * quantity
            items.append(
                {
                    "id": rng.getrandbits(40),
                    "product_id": product_id,
                    "variant_id": product_id * 10 + rng.randint(1, 4),
                    "sku": sku,
                    "title": title,
                    "quantity": quantity,
                    "price": price,
                    "vendor": "Bench Outdoor",
                    "requires_shipping": True,
                }
            )
        address = self.address(person)
        tax = round(subtotal * 0.2, 2)
        return {
            "id": 5_000_000 + order_number,
            "order_number": order_number,
            "name": f"#{order_number}",
            "email": person.email,
            "phone": person.phone,
            "currency": "EUR",
            "subtotal_price": f"{subtotal:.2f}",
            "total_tax": f"{tax:.2f}",
            "total_price": f"{subtotal + tax:.2f}",
            "financial_status": rng.choice(("paid", "paid", "pending", "refunded")),
            "fulfillment_status": rng.choice(("fulfilled", None)),
            "note": (
                f"Leave with neighbour, call {person.phone} - {person.full_name}"
                if rng.random() < 0.1
                else None
            ),
            "customer": {
                "id": 7_000_000 + person.index,
                "email": person.email,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "phone": person.phone,
                "orders_count": order_number % 50,
            },
            "billing_address": address,
            "shipping_address": dict(address),
            "line_items": items,
            "discount_codes": [{"code": "SUMMIT10", "amount": "10.00"}]
            if rng.random() < 0.2
            else [],
            "browser_ip": f"203.0.113.{person.index % 250}",
        }

    def view_properties(self, person: Person) -> dict[str, Any]:
        """A storefront `Viewed Product` with Segment-style context (the ip is personal)."""
        rng = self.rng
        product_id, sku, title, price = rng.choice(PRODUCTS)
        return {
            "product_id": product_id,
            "sku": sku,
            "name": title,
            "price": float(price),
            "currency": "EUR",
            "category": rng.choice(("tents", "sleep", "light", "apparel", "cook")),
            "url": f"https://bench-outdoor.example/products/{product_id}",
            "context": {
                "ip": f"198.51.100.{person.index % 250}",
                "userAgent": rng.choice(USER_AGENTS),
                "page": {"path": f"/products/{product_id}", "referrer": "https://search.example/"},
            },
        }

    # -- rows -----------------------------------------------------------------------------------

    def event_rows(
        self,
        person: Person,
        count: int,
        *,
        recipients: list[tuple[str, str]] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """`count` events of one person, oldest first: ~30% orders, ~60% product views, ~10%
        opens and clicks of the messages in `recipients` ((recipient id, campaign id)), at
        most ~3 per message (the rest are product views)."""
        rng = self.rng
        # Whole seconds: clone_events() spreads copies over the microseconds.
        step = HISTORY.total_seconds() / max(count, 1)
        start = EPOCH_END - HISTORY
        order_number = 1000
        # Opens and clicks: ~10% of the events, but no more than ~3 per message.
        activity = min(0.1, 3 * len(recipients or ()) / max(count, 1))
        for n in range(count):
            roll = rng.random()
            campaign_id = recipient_id = None
            if roll < 0.3:
                order_number += 1
                type_, source = "Placed Order", "shopify"
                properties = self.order_properties(person, order_number)
            elif roll < 1 - activity or not recipients:
                type_, source = "Viewed Product", "segment"
                properties = self.view_properties(person)
            else:
                recipient_id, campaign_id = rng.choice(recipients)
                if rng.random() < 0.7:
                    type_, properties = "Opened Email", {}
                else:
                    type_ = "Clicked Email"
                    properties = {"url": "https://bench-outdoor.example/sale"}
                source = "tracking"
            at = start + timedelta(seconds=int(step * n))
            yield {
                "id": self.ids("evt"),
                "workspace_id": self.workspace_id,
                "profile_id": person.profile_id,
                "type": type_,
                "timestamp": at,
                "received_at": at,
                "properties": properties,
                "source": source,
                "campaign_id": campaign_id,
                "recipient_id": recipient_id,
                "message_id": None,
            }

    def campaign_rows(self, count: int) -> list[dict[str, Any]]:
        return [
            {
                "id": self.ids("cmp"),
                "workspace_id": self.workspace_id,
                "name": f"Campaign {n}",
                "kind": "flow" if n % 5 == 0 else "campaign",
                "channel": "sms" if n % 4 == 0 else "email",
                "links": ["https://bench-outdoor.example/sale"],
                "created_at": EPOCH_END - HISTORY,
                "updated_at": EPOCH_END - HISTORY,
            }
            for n in range(count)
        ]

    def recipient_rows(
        self, person: Person, campaigns: list[dict[str, Any]], count: int
    ) -> list[dict[str, Any]]:
        """`count` recipient records of one person, spread over `campaigns` (oldest first)."""
        step = HISTORY / max(count, 1)
        rows = []
        for n in range(count):
            campaign = campaigns[n % len(campaigns)]
            email = campaign["channel"] == "email"
            rows.append(
                {
                    "id": self.ids("rcp"),
                    "workspace_id": self.workspace_id,
                    "campaign_id": campaign["id"],
                    "profile_id": person.profile_id,
                    "channel": campaign["channel"],
                    "email": person.email if email else None,
                    "phone": None if email else person.phone,
                    "status": "sent",
                    "sent_at": EPOCH_END - HISTORY + step * n,
                    "token": f"{self.rng.getrandbits(192):048x}",
                    "redacted_at": None,
                }
            )
        return rows


# -- bulk insertion ------------------------------------------------------------------------------


def insert_rows(engine: Engine, table: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Bulk insert straight through the driver: executemany on SQLite, COPY on PostgreSQL.

    Values are converted exactly as SQLAlchemy would bind them (each column type's own bind
    processor: UTC datetimes, SQLite's datetime strings), except JSON, which orjson
    serialises (the same JSON, many times faster than the stdlib). A commit every
    COMMIT_EVERY rows keeps transactions (and SQLite's WAL) bounded.
    """
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    names = list(first)
    columns = [table.c[name] for name in names]
    dialect = engine.dialect
    convert = [_converter(column, dialect) for column in columns]
    raw = engine.raw_connection()
    total = 0
    try:
        cursor = raw.cursor()
        if dialect.name == "postgresql":
            total = _copy(raw, cursor, table.name, names, convert, first, iterator)
        else:
            total = _executemany(cursor, table.name, names, convert, first, iterator)
        cursor.close()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    return total


def _converter(column: Any, dialect: Any) -> Callable[[Any], Any]:
    if isinstance(column.type, JSON):
        return _json
    if dialect.name == "postgresql":
        return _identity
    process = column.type._cached_bind_processor(dialect)
    if process is None:
        return _identity
    return cast(Callable[[Any], Any], process)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _identity(value: Any) -> Any:
    return value


def _batches(
    first: dict[str, Any], rest: Iterator[dict[str, Any]], names: list[str], convert: list[Any]
) -> Iterator[list[tuple[Any, ...]]]:
    pairs = list(zip(names, convert, strict=True))
    batch = [tuple(fn(first[name]) for name, fn in pairs)]
    for row in rest:
        batch.append(tuple(fn(row[name]) for name, fn in pairs))
        if len(batch) >= INSERT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _executemany(
    cursor: Any, table: str, names: list[str], convert: list[Any], first: Any, rest: Any
) -> int:
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    total = 0
    cursor.execute("BEGIN IMMEDIATE")
    for batch in _batches(first, rest, names, convert):
        cursor.executemany(sql, batch)
        total += len(batch)
        if total % COMMIT_EVERY == 0:
            cursor.execute("COMMIT")
            cursor.execute("BEGIN IMMEDIATE")
    cursor.execute("COMMIT")
    return total


def _copy(
    raw: Any, cursor: Any, table: str, names: list[str], convert: list[Any], first: Any, rest: Any
) -> int:
    total = 0
    for batch in _batches(first, rest, names, convert):
        with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for values in batch:
                copy.write_row(values)
        total += len(batch)
        if total % COMMIT_EVERY == 0:
            raw.commit()
    raw.commit()
    return total


def clone_events(
    engine: Engine,
    *,
    workspace_id: str,
    source_profile_id: str,
    target_profile_id: str,
    tag: str,
    copy: int = 0,
    recipient_ids: bool = True,
    generated_only: bool = False,
) -> int:
    """INSERT … SELECT a profile's events under another profile, in the database itself (many
    times faster than generating them). Ids become `e<tag>_…` (distinct for distinct tags);
    timestamps move `copy` microseconds later, so copies interleave with their source."""
    return _clone(
        engine,
        Event.__table__,
        workspace_id=workspace_id,
        source_profile_id=source_profile_id,
        target_profile_id=target_profile_id,
        replace={
            "id": ("e", tag),
            "timestamp": copy,
            "message_id": None,
            **({} if recipient_ids else {"recipient_id": None}),
        },
        # Copies of a history into itself copy the generated rows only (ids `evt_…`).
        where="substr(id, 1, 4) = 'evt_'" if generated_only else None,
    )


def clone_recipients(
    engine: Engine, *, workspace_id: str, source_profile_id: str, target_profile_id: str, tag: str
) -> int:
    return _clone(
        engine,
        Recipient.__table__,
        workspace_id=workspace_id,
        source_profile_id=source_profile_id,
        target_profile_id=target_profile_id,
        replace={"id": ("r", tag), "token": ("t", tag)},
    )


def _clone(
    engine: Engine,
    table: Any,
    *,
    workspace_id: str,
    source_profile_id: str,
    target_profile_id: str,
    replace: dict[str, Any],
    where: str | None = None,
) -> int:
    sqlite = engine.dialect.name == "sqlite"
    names = [c.name for c in table.columns]
    expressions = []
    for name in names:
        rule = replace.get(name)
        if name == "profile_id":
            expressions.append(":target")
        elif name not in replace:
            expressions.append(name)
        elif rule is None:
            expressions.append("NULL")
        elif isinstance(rule, tuple):
            letter, tag = rule
            if not tag.isalnum():
                raise ValueError("clone tags are letters and digits")
            expressions.append(f"'{letter}{tag}' || substr({name}, 4)")
        elif isinstance(rule, int):
            if sqlite:  # 'YYYY-MM-DD HH:MM:SS.ffffff' with whole seconds in the source
                expressions.append(f"substr({name}, 1, 20) || printf('%06d', {rule})")
            else:
                expressions.append(f"{name} + ({rule} * interval '1 microsecond')")
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(expressions)} "
        f"FROM {table.name} WHERE workspace_id = :ws AND profile_id = :source"
        + (f" AND {where}" if where else "")
    )
    with engine.begin() as conn:
        result = conn.execute(
            text(sql),
            {"target": target_profile_id, "ws": workspace_id, "source": source_profile_id},
        )
        return int(result.rowcount or 0)


@dataclass
class Seeded:
    """What a seeding call created, for the scenario to act on."""

    people: list[Person]
    events: int = 0
    recipients: int = 0
    campaign_ids: list[str] = field(default_factory=list)


def seed_contact(
    engine: Engine,
    gen: Generator,
    *,
    index: int,
    events: int,
    recipients: int = 0,
    campaigns: list[dict[str, Any]] | None = None,
    tag: str = "p",
) -> Seeded:
    """One contact with consents, `recipients` messages and `events` events."""
    person = gen.person(index, tag=tag)
    insert_rows(engine, Profile.__table__, [gen.profile_row(person)])
    insert_rows(engine, Consent.__table__, gen.consent_rows(person))
    pairs: list[tuple[str, str]] = []
    if recipients:
        campaign_rows = campaigns or seed_campaigns(engine, gen, 20)
        rows = gen.recipient_rows(person, campaign_rows, recipients)
        insert_rows(engine, Recipient.__table__, rows)
        pairs = [(r["id"], r["campaign_id"]) for r in rows]
    insert_rows(engine, Event.__table__, gen.event_rows(person, events, recipients=pairs))
    return Seeded(people=[person], events=events, recipients=recipients)


def seed_campaigns(engine: Engine, gen: Generator, count: int) -> list[dict[str, Any]]:
    rows = gen.campaign_rows(count)
    insert_rows(engine, Campaign.__table__, rows)
    return rows


def seed_population(
    engine: Engine,
    gen: Generator,
    *,
    profiles: int,
    events_per_profile: int,
    tag: str = "m",
    start: int = 0,
) -> Seeded:
    """Many contacts with a few events each (consents, no messages): a workspace's crowd."""
    people = [gen.person(start + n, tag=tag) for n in range(profiles)]
    insert_rows(engine, Profile.__table__, (gen.profile_row(p) for p in people))
    insert_rows(engine, Consent.__table__, (row for p in people for row in gen.consent_rows(p)))
    spread = max(1, events_per_profile)

    def events() -> Iterator[dict[str, Any]]:
        for person in people:
            # ~events_per_profile on average, between half and one and a half of it.
            count = gen.rng.randint(spread // 2, spread + spread // 2) if events_per_profile else 0
            yield from gen.event_rows(person, count)

    total = insert_rows(engine, Event.__table__, events())
    return Seeded(people=people, events=total)
