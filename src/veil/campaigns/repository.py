"""Every campaign and recipient query, scoped to one workspace."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, and_, exists, func, select

from veil.kit.repository import WorkspaceRepository
from veil.models import Campaign, Consent, Profile, Recipient
from veil.models.profile import ACTIVE

# Keeps IN (...) lists well under every driver's bound-parameter limit.
IN_CHUNK = 500

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class CampaignRepository(WorkspaceRepository[Campaign]):
    """Campaigns, and the recipients, profiles and consents they reach, of one workspace."""

    model = Campaign
    not_found = "Campaign not found."
    newest_by = (Campaign.created_at, Campaign.id)

    def recipient_counts(self, campaign_ids: Sequence[str]) -> dict[str, int]:
        if not campaign_ids:
            return {}
        rows = self.session.execute(
            self.scoped(select(Recipient.campaign_id, func.count()), Recipient)
            .where(Recipient.campaign_id.in_(list(campaign_ids)))
            .group_by(Recipient.campaign_id)
        )
        return {campaign_id: int(count) for campaign_id, count in rows}

    def recipients_of(self, campaign_id: str) -> Select[Any]:
        return self.scoped(select(Recipient), Recipient).where(Recipient.campaign_id == campaign_id)

    def known_profile_ids(self, profile_ids: Sequence[str]) -> set[str]:
        """Which of these ids are profiles of this workspace (active or deleted)."""
        found: set[str] = set()
        for part in chunks(profile_ids):
            found.update(
                self.session.scalars(
                    self.scoped(select(Profile.id), Profile).where(Profile.id.in_(list(part)))
                )
            )
        return found

    def audience(
        self,
        *,
        campaign: Campaign,
        once_per_profile: bool,
        profile_ids: Sequence[str] | None,
    ) -> list[tuple[str, str | None, str | None]]:
        """(id, email, phone) of active contacts subscribed to the campaign's channel.

        Consent is per channel: an email campaign needs email consent and an email address,
        an SMS one sms consent and a phone number.
        """
        address = Profile.email if campaign.channel == "email" else Profile.phone
        stmt = (
            self.scoped(select(Profile.id, Profile.email, Profile.phone), Profile)
            .join(
                Consent,
                and_(
                    Consent.profile_id == Profile.id,
                    Consent.workspace_id == self.workspace_id,
                    Consent.channel == campaign.channel,
                    Consent.state == "subscribed",
                ),
            )
            .where(
                Profile.status == ACTIVE,
                # Restricted (GDPR art. 18): never a recipient, even when named.
                Profile.restricted_at.is_(None),
                address.is_not(None),
            )
            .order_by(Profile.id)
        )
        if once_per_profile:
            stmt = stmt.where(
                ~exists(
                    self.scoped(select(Recipient.id), Recipient).where(
                        Recipient.campaign_id == campaign.id,
                        Recipient.profile_id == Profile.id,
                    )
                )
            )
        if profile_ids is None:
            return list(self.session.execute(stmt))
        rows: list[tuple[str, str | None, str | None]] = []
        for part in chunks(profile_ids):
            rows.extend(self.session.execute(stmt.where(Profile.id.in_(list(part)))))
        return rows
