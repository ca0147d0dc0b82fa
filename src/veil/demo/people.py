"""The demo store's people: customers with believable names, addresses, phones and consent,
a few anonymous visitors, and the profile and consent rows they become."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from faker import Faker
from sqlalchemy.orm import Session

from veil.demo.catalogue import (
    COUNTRIES,
    CUSTOMER_TAGS,
    HISTORY_DAYS,
    LOYALTY_TIERS,
    SHOP_DOMAIN,
    SIGNUP_SOURCES,
    US_AREA_CODES,
    Country,
    Product,
)
from veil.kit.ids import new_id


@dataclass(frozen=True)
class Seeding:
    """What every part of one seeding run shares; one `rng` drawn in a fixed order is what
    makes the store the same on every run."""

    session: Session
    workspace_id: str
    rng: random.Random
    fakers: dict[str, Faker]
    anchor: datetime
    products: list[Product]


class SeedingPart:
    """One part of the run, with the shared state at hand under short names."""

    def __init__(self, seeding: Seeding) -> None:
        self.session = seeding.session
        self.workspace_id = seeding.workspace_id
        self.rng = seeding.rng
        self.fakers = seeding.fakers
        self.anchor = seeding.anchor
        self.products = seeding.products


@dataclass
class Customer:
    id: str
    shopify_id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    country: Country
    address: dict[str, Any] | None
    email_subscribed: bool
    sms_subscribed: bool
    engagement: float
    created_at: datetime
    orders: int = 0
    spent: float = 0.0


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class People(SeedingPart):
    def __init__(self, seeding: Seeding) -> None:
        super().__init__(seeding)
        self.phones: set[str] = set()

    def _phone(self, country: Country) -> str | None:
        """A mobile number valid for the customer's country (validated by phonenumbers)."""
        example = phonenumbers.example_number_for_type(
            country.region, phonenumbers.PhoneNumberType.MOBILE
        )
        if example is None:
            return None
        digits = str(example.national_number)
        for _ in range(100):
            if country.region == "US":
                area = self.rng.choice(US_AREA_CODES)
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

    def _address(self, fake: Faker, country: Country, first: str, last: str) -> dict[str, Any]:
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

    def customers(self, count: int) -> list[Customer]:
        countries = [c for c, _ in COUNTRIES]
        weights = [w for _, w in COUNTRIES]
        customers: list[Customer] = []
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
                Customer(
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

    def visitors(self, count: int) -> list[Customer]:
        country = COUNTRIES[0][0]
        return [
            Customer(
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

    def profile_rows(
        self, people: Sequence[Customer], visitors: Sequence[Customer]
    ) -> list[dict[str, Any]]:
        tiers = LOYALTY_TIERS
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
                "signup_source": self.rng.choice(SIGNUP_SOURCES),
                "tags": sorted(self.rng.sample(CUSTOMER_TAGS, 2)),
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

    def consent_rows(self, people: Sequence[Customer]) -> list[dict[str, Any]]:
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
