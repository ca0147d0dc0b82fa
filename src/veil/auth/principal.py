"""Who is asking: a workspace, a role, and a label for records ("ops@shop.com", "API key ci")."""

from __future__ import annotations

from dataclasses import dataclass

ADMIN = "admin"
MEMBER = "member"
ROLES = (ADMIN, MEMBER)


@dataclass(frozen=True)
class Principal:
    workspace_id: str
    role: str
    # Stable machine id for the audit log: "user:usr_…", "key:key_…", "cli", "shopify".
    actor: str
    # Human label for "Requested By": a user's login email or an API key's name.
    label: str
    user_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN
