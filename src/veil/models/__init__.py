"""All tables, one module each."""

from veil.models.api_key import ApiKey
from veil.models.audit_entry import AuditEntry
from veil.models.audit_head import AuditHead
from veil.models.base import Base
from veil.models.campaign import Campaign
from veil.models.consent import Consent
from veil.models.dedup_key import DedupKey
from veil.models.deletion_request import DeletionRequest
from veil.models.event import Event
from veil.models.export_request import ExportRequest
from veil.models.membership import Membership
from veil.models.privacy_callback import PrivacyCallback
from veil.models.privacy_request import PrivacyRequest
from veil.models.profile import Profile
from veil.models.profile_identifier import IdentifierType, ProfileIdentifier
from veil.models.recipient import Recipient
from veil.models.suppressed_drop_count import SuppressedDropCount
from veil.models.suppression import SuppressedIdentifier, Suppression, SuppressionKey
from veil.models.user import User
from veil.models.web_session import WebSession
from veil.models.workspace import Workspace
from veil.models.write_key import WriteKey

__all__ = [
    "ApiKey",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Campaign",
    "Consent",
    "DedupKey",
    "DeletionRequest",
    "Event",
    "ExportRequest",
    "IdentifierType",
    "Membership",
    "PrivacyCallback",
    "PrivacyRequest",
    "Profile",
    "ProfileIdentifier",
    "Recipient",
    "SuppressedDropCount",
    "SuppressedIdentifier",
    "Suppression",
    "SuppressionKey",
    "User",
    "WebSession",
    "Workspace",
    "WriteKey",
]
