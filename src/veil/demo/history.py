"""The demo store's history: browsing sessions, checkouts and Shopify-shaped orders, and the
campaigns sent to customers with the opens and clicks they drew."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from veil.demo.catalogue import (
    CHECKOUT_REMINDER,
    EMAIL_CLIENTS,
    FLASH_SALE,
    HISTORY_DAYS,
    NEW_SEASON_LAUNCH,
    SHOP_URL,
    VENDOR,
    CampaignPlan,
    Product,
)
from veil.demo.people import Customer, Seeding, SeedingPart
from veil.kit.ids import new_id, new_token
from veil.models import Campaign


def _money(value: float) -> str:
    return f"{value:.2f}"


class History(SeedingPart):
    def __init__(self, seeding: Seeding) -> None:
        super().__init__(seeding)
        self.events: list[dict[str, Any]] = []
        self.order_number = 1001

    def _event(
        self,
        person: Customer,
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

    def _line_items(self, person: Customer, cart: Sequence[Product]) -> list[dict[str, Any]]:
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
                    "vendor": VENDOR,
                    "quantity": 1 if self.rng.random() < 0.85 else 2,
                    "price": _money(product.price),
                }
            )
        return items

    def _totals(self, items: Iterable[dict[str, Any]], person: Customer) -> dict[str, str]:
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

    def _customer_block(self, person: Customer) -> dict[str, Any]:
        return {
            "id": person.shopify_id,
            "email": person.email,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "phone": person.phone,
            "accepts_marketing": person.email_subscribed,
        }

    def _checkout(self, person: Customer, at: datetime, cart: Sequence[Product]) -> str:
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

    def _order(self, person: Customer, at: datetime, cart: Sequence[Product]) -> None:
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

    def _next_product(self, favourite: Product) -> Product:
        """People come back to one product, browse its category, or wander off."""
        roll = self.rng.random()
        if roll < 0.3:
            return favourite
        if roll < 0.7:
            return self.rng.choice([p for p in self.products if p.category == favourite.category])
        return self.rng.choice(self.products)

    def _session(
        self,
        person: Customer,
        at: datetime,
        budget: int,
        checkouts: list[tuple[Customer, datetime]],
    ) -> int:
        """One browsing session; returns the number of events it added (at most `budget`)."""
        start = len(self.events)
        favourite = self.rng.choice(self.products)
        viewed: list[Product] = []
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

    def browse(
        self,
        people: Sequence[Customer],
        budget: int,
        checkouts: list[tuple[Customer, datetime]],
    ) -> None:
        weights = [p.engagement for p in people]
        while budget > 0:
            person = self.rng.choices(people, weights)[0]
            earliest = max(person.created_at, self.anchor - timedelta(days=HISTORY_DAYS))
            span = (self.anchor - timedelta(hours=1) - earliest).total_seconds()
            at = earliest + timedelta(seconds=self.rng.uniform(0, max(span, 60)))
            budget -= self._session(person, at, budget, checkouts)

    def _campaign(self, plan: CampaignPlan, created_at: datetime) -> str:
        campaign_id = new_id("cmp")
        self.session.execute(
            insert(Campaign),
            [
                {
                    "id": campaign_id,
                    "workspace_id": self.workspace_id,
                    "name": plan.name,
                    "kind": plan.kind,
                    "channel": plan.channel,
                    "links": plan.links,
                    "created_at": created_at,
                    "updated_at": created_at,
                }
            ],
        )
        return campaign_id

    def _send(
        self,
        campaign_id: str,
        plan: CampaignPlan,
        sends: Sequence[tuple[Customer, datetime]],
    ) -> list[dict[str, Any]]:
        channel, links = plan.channel, plan.links
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
                            {"client": self.rng.choice(EMAIL_CLIENTS)},
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

    def campaigns(
        self, customers: Sequence[Customer], checkouts: Sequence[tuple[Customer, datetime]]
    ) -> list[dict[str, Any]]:
        launch_at = self.anchor - timedelta(days=40) + timedelta(hours=9)
        launch = self._campaign(NEW_SEASON_LAUNCH, launch_at)
        sale_at = self.anchor - timedelta(days=12) + timedelta(hours=11)
        sale = self._campaign(FLASH_SALE, sale_at)
        flow_at = self.anchor - timedelta(days=HISTORY_DAYS + 10)
        flow = self._campaign(CHECKOUT_REMINDER, flow_at)

        records = self._send(
            launch,
            NEW_SEASON_LAUNCH,
            [(c, launch_at) for c in customers if c.email_subscribed and c.created_at < launch_at],
        )
        records += self._send(
            sale,
            FLASH_SALE,
            [(c, sale_at) for c in customers if c.sms_subscribed and c.created_at < sale_at],
        )
        reminders = [
            (person, at + timedelta(hours=1))
            for person, at in checkouts
            if person.email_subscribed and at + timedelta(hours=1) < self.anchor
        ]
        records += self._send(flow, CHECKOUT_REMINDER, sorted(reminders, key=lambda r: r[1]))
        return records
