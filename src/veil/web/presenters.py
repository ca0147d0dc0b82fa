"""Turning stored events into something a merchant reads at a glance.

Placed Order follows Shopify's shape (`total_price`, `currency`, `line_items[title, quantity,
price]`, `shipping_address`); Segment's ecommerce spec (`total`/`revenue`, `products[name, …]`)
is read too. Anything else falls back to its top-level values, and the raw properties stay one
click away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from veil.models import Event
from veil.web.templating import format_money, scalar_text

_KINDS = {
    "placed order": "order",
    "order completed": "order",
    "ordered product": "order",
    "started checkout": "checkout",
    "checkout started": "checkout",
    "viewed product": "view",
    "product viewed": "view",
    "added to cart": "cart",
    "product added": "cart",
    "opened email": "open",
    "clicked email": "click",
    "clicked sms": "click",
}
_MAX_FACTS = 6


@dataclass(frozen=True)
class LineItem:
    title: str
    quantity: int
    price: str
    total: str


@dataclass
class EventView:
    id: str
    type: str
    kind: str
    timestamp: datetime
    source: str
    summary: str = ""
    line_items: list[LineItem] = field(default_factory=list)
    # Under the line items: subtotal, discount, shipping, tax and total, as the store sent them.
    totals: list[tuple[str, str]] = field(default_factory=list)
    ship_to: str | None = None
    link: str | None = None
    facts: list[tuple[str, str]] = field(default_factory=list)
    campaign_id: str | None = None
    campaign_name: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _quantity(value: Any) -> int:
    number = _decimal(value)
    return int(number) if number is not None and number > 0 else 1


def _line_items(props: dict[str, Any], currency: Any) -> list[LineItem]:
    raw = props.get("line_items") or props.get("products") or []
    items: list[LineItem] = []
    if not isinstance(raw, list):
        return items
    for entry in raw[:50]:
        if not isinstance(entry, dict):
            continue
        title = entry.get("title") or entry.get("name") or entry.get("sku") or "Item"
        variant = entry.get("variant_title")
        if variant:
            title = f"{title} — {variant}"
        quantity = _quantity(entry.get("quantity"))
        price = _decimal(entry.get("price"))
        items.append(
            LineItem(
                title=str(title),
                quantity=quantity,
                price=format_money(price, currency) if price is not None else "—",
                total=format_money(price * quantity, currency) if price is not None else "—",
            )
        )
    return items


_TOTALS = (
    ("Subtotal", "subtotal_price"),
    ("Discount", "total_discounts"),
    ("Shipping", "total_shipping"),
    ("Tax (included)", "total_tax"),
    ("Total", "total_price"),
)


def _totals(props: dict[str, Any]) -> list[tuple[str, str]]:
    """The order's money lines, so line totals and the order total visibly add up."""
    currency = props.get("currency")
    lines: list[tuple[str, str]] = []
    for label, key in _TOTALS:
        amount = _decimal(props.get(key))
        if amount is None or (amount == 0 and key != "total_price"):
            continue
        if key == "total_discounts":
            lines.append((label, format_money(-amount, currency)))
        else:
            lines.append((label, format_money(amount, currency)))
    # A total alone repeats the summary line: only a breakdown is worth a table footer.
    return lines if len(lines) > 1 else []


def _place(address: Any) -> str | None:
    if not isinstance(address, dict):
        return None
    parts = [address.get("city"), address.get("province"), address.get("country")]
    text = ", ".join(str(p) for p in parts if p)
    return text or None


def _order_summary(props: dict[str, Any], items: list[LineItem]) -> str:
    currency = props.get("currency")
    total = next(
        (
            _decimal(props.get(k))
            for k in ("total_price", "total", "revenue", "value")
            if _decimal(props.get(k)) is not None
        ),
        None,
    )
    parts: list[str] = []
    number = props.get("name") or props.get("order_number") or props.get("order_id")
    if number is not None:
        text = str(number)
        parts.append(text if text.startswith("#") else f"#{text}")
    if total is not None:
        parts.append(format_money(total, currency))
    count = sum(i.quantity for i in items)
    if count:
        parts.append(f"{count} item{'s' if count != 1 else ''}")
    return " · ".join(parts)


def _product_summary(props: dict[str, Any]) -> str:
    name = props.get("name") or props.get("title") or props.get("product_name")
    price = _decimal(props.get("price"))
    parts = [str(name)] if name else []
    if price is not None:
        parts.append(format_money(price, props.get("currency")))
    return " · ".join(parts)


def present_event(event: Event, campaign_names: dict[str, str]) -> EventView:
    props = event.properties if isinstance(event.properties, dict) else {}
    kind = _KINDS.get(event.type.strip().lower(), "other")
    view = EventView(
        id=event.id,
        type=event.type,
        kind=kind,
        timestamp=event.timestamp,
        source=event.source,
        campaign_id=event.campaign_id,
        campaign_name=campaign_names.get(event.campaign_id or ""),
        properties=props,
    )
    used: set[str] = set()
    if kind in ("order", "checkout"):
        view.line_items = _line_items(props, props.get("currency"))
        view.summary = _order_summary(props, view.line_items)
        view.totals = _totals(props)
        view.ship_to = _place(props.get("shipping_address"))
        used |= {"line_items", "products", "shipping_address", "billing_address", "customer"}
    elif kind in ("view", "cart"):
        view.summary = _product_summary(props)
        used |= {"name", "title", "product_name", "price", "currency"}
    if isinstance(props.get("url"), str) and props["url"].startswith(("http://", "https://")):
        view.link = props["url"]
        used.add("url")
    if kind not in ("order", "checkout"):
        view.facts = [
            (key.replace("_", " ").capitalize(), scalar_text(value))
            for key, value in props.items()
            if key not in used and not isinstance(value, dict | list)
        ][:_MAX_FACTS]
    return view
