"""The demo store's fixed content: the shop, its countries, products and campaigns."""

from __future__ import annotations

from dataclasses import dataclass

SHOP_DOMAIN = "veil-demo.myshopify.com"
SHOP_URL = f"https://{SHOP_DOMAIN}"
VENDOR = "Veil Outdoor Co."
HISTORY_DAYS = 180


@dataclass(frozen=True)
class Country:
    locale: str
    region: str
    country: str
    currency: str
    lat: float
    lng: float


# With the share of customers each country gets.
COUNTRIES = (
    (Country("en_US", "US", "United States", "USD", 39.8, -98.6), 40),
    (Country("en_GB", "GB", "United Kingdom", "GBP", 52.5, -1.5), 20),
    (Country("de_DE", "DE", "Germany", "EUR", 51.2, 10.4), 20),
    (Country("fr_FR", "FR", "France", "EUR", 46.6, 2.4), 12),
    (Country("nl_NL", "NL", "Netherlands", "EUR", 52.2, 5.3), 8),
)

US_AREA_CODES = ("206", "212", "303", "312", "404", "415", "503", "512", "617", "702", "917")


@dataclass(frozen=True)
class Product:
    id: int
    handle: str
    title: str
    category: str
    price: float
    variants: tuple[str, ...]


_PRODUCTS = (
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
)


def catalogue() -> list[Product]:
    return [
        Product(
            id=7_431_000_001 + index,
            handle=title.lower().replace(" ", "-").replace("(", "").replace(")", ""),
            title=title,
            category=category,
            price=price,
            variants=variants,
        )
        for index, (title, category, price, variants) in enumerate(_PRODUCTS)
    ]


@dataclass(frozen=True)
class CampaignPlan:
    name: str
    kind: str
    channel: str
    paths: tuple[str, ...]

    @property
    def links(self) -> list[str]:
        return [f"{SHOP_URL}{path}" for path in self.paths]


NEW_SEASON_LAUNCH = CampaignPlan(
    "New Season Collection Launch",
    "campaign",
    "email",
    ("/collections/new-season", "/products/trail-runner-x"),
)
FLASH_SALE = CampaignPlan("Weekend Flash Sale", "campaign", "sms", ("/collections/sale",))
CHECKOUT_REMINDER = CampaignPlan("Abandoned Checkout Reminder", "flow", "email", ("/cart",))

EMAIL_CLIENTS = ("Apple Mail", "Gmail", "Outlook")
LOYALTY_TIERS = ("bronze", "silver", "gold")
SIGNUP_SOURCES = ("checkout", "newsletter", "popup", "in-store")
CUSTOMER_TAGS = ("hiker", "runner", "camper", "climber", "vip", "wholesale")
