"""Shopify's queries: the profiles that came from a shop, scoped to one workspace."""

from __future__ import annotations

from sqlalchemy import or_

from veil.kit.repository import WorkspaceRepository
from veil.models import Profile
from veil.models.profile import ACTIVE

EXTERNAL_ID_PREFIX = "shopify:"


def origin_of(shop_domain: str | None) -> str:
    return f"shopify:{shop_domain}" if shop_domain else "shopify"


class ShopifyProfiles(WorkspaceRepository[Profile]):
    model = Profile

    def active_ids_from_shop(self, shop_domain: str | None, limit: int | None = None) -> list[str]:
        """Active profiles created by this shop's webhooks (origin `shopify:<domain>`), and
        those carrying a Shopify customer id (external_id `shopify:<id>`): a workspace is one
        store, so such an id came from its shop even when the profile was first created by
        another source and then matched by a Shopify webhook."""
        stmt = (
            self.statement()
            .where(
                Profile.status == ACTIVE,
                or_(
                    Profile.origin == origin_of(shop_domain),
                    Profile.external_id.startswith(EXTERNAL_ID_PREFIX, autoescape=True),
                ),
            )
            .order_by(Profile.id)
            .limit(limit)
        )
        return [profile.id for profile in self.session.scalars(stmt)]
