"""The erasure rules (SPEC §5.3): what a deletion erases, what it keeps, and why — in one place.

Both the deletion job (veil.compliance.deletions) and its tests read this module; the tests
also check that every model column that can hold personal data is declared here, so a column
added later cannot be forgotten.

Erased
------
- profiles: email, phone, external_id, anonymous_id, first_name, last_name and properties are
  cleared. The row stays as a tombstone (status "deleted", deleted_at) so the kept event history
  still has an owner id — an id that no longer leads to a person, and that identity resolution
  never matches again (SPEC §2).
- events: every property whose key is a PII key, at any depth inside objects and arrays, is
  removed together with its value (an address object goes whole: street, city and country
  together point at a household). Every other string that contains one of the subject's
  identifiers — email (any case, also URL-encoded), phone number (E.164, national or
  international format, any separators), full name ("First Last" or "Last, First", any case),
  external or anonymous id, street address — is replaced by "[redacted]" as a whole string, not
  just the matching part: a free-text note that names the person usually says more about them.
  A whole number whose digits contain the phone number is replaced too. Values are replaced,
  not dropped, so arrays keep their positions and an analyst can see that something was
  removed. A key that itself contains an identifier loses its property. The event's `type` is
  treated like a string value; its `message_id` (a client's idempotency key) is cleared if it
  contains an identifier.
- recipient records: the email is replaced by `redacted<random>@redacted.invalid`, the phone by
  `redacted<random>` — random and unique per row, so nothing links two records of the subject.
- consents: deleted (a consent is a statement by the person; with the person gone it means
  nothing and would only mark that someone existed).
- export files of the profile: destroyed; their export requests become "expired".
- the deletion request's `subject_sealed` (every identifier the job searches for, sealed):
  wiped when the job completes.

Kept, and why
-------------
- event rows: type, timestamp, source, campaign and recipient ids, and every property that is
  not personal (sku, product ids, titles, prices, quantities, currency, totals): the shop's
  sales history and campaign statistics stay correct without the person.
- recipient rows: campaign, channel, status, sent time and (through events) opens and clicks,
  so campaign reports keep their numbers.
- the deletion request: the permanent record that the workspace complied (SPEC §5.5) with the
  subject's name, email and phone sealed (AES-GCM, bound to workspace and request), readable by
  admins only, plus who asked, when, and counts of what was erased.
- the audit log: ids and counts only, never personal data, by contract.

Matching rules
--------------
Property keys are compared normalised — case, `_`, `-`, spaces and camelCase do not matter, so
`firstName`, `first_name`, `FirstName` and `first-name` are one key — and by trailing words:
`customer_email`, `billingPhone` and `shipping_address` end in a PII key and count as one;
`email_opt_in` and `phone_verified` do not. A bare `name` counts only inside an object that also
holds other personal keys (a person or an address), not in a product or a campaign. Workspace
admins add keys (`pii_keys` in the settings) with the same matching. A single-word name alone
("Ada") is not searched for in free text — it would erase "Ada" the product line too — but is
removed wherever its key says it is a name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

# -- PII keys ---------------------------------------------------------------------------------

_CAMEL_LOWER_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CAMEL_ACRONYM = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\W_]+")


def key_words(key: str) -> list[str]:
    """`browserIP` → [browser, ip]; `first-name` → [first, name]; `Address_Line_1` → […, 1]."""
    spaced = _CAMEL_ACRONYM.sub(" ", _CAMEL_LOWER_UPPER.sub(" ", key))
    folded = unicodedata.normalize("NFKC", spaced).casefold()
    return [word for word in _SEPARATORS.split(folded) if word]


def normalize_key(key: str) -> str:
    """One spelling per key: `firstName`, `first_name`, `FirstName`, `first-name` → firstname."""
    return "".join(key_words(key))


def key_in(key: str, group: frozenset[str]) -> bool:
    """The key, or its trailing words, is in `group`: `billingPhone` is in PHONE_KEYS."""
    words = key_words(key)
    return any("".join(words[i:]) in group for i in range(len(words)))


EMAIL_KEYS = frozenset({"email", "emailaddress"})
PHONE_KEYS = frozenset(
    {
        "phone",
        "phonenumber",
        "telephone",
        "tel",
        "mobile",
        "mobilephone",
        "mobilenumber",
        "cellphone",
        "fax",
    }
)
NAME_KEYS = frozenset(
    {
        "firstname",
        "lastname",
        "fullname",
        "middlename",
        "givenname",
        "familyname",
        "surname",
        "maidenname",
        "nickname",
        "username",
        "fname",
        "lname",
        "customername",
        "contactname",
        "recipientname",
        "billingname",
        "shippingname",
    }
)
ADDRESS_KEYS = frozenset(
    {
        "address",
        "address1",
        "address2",
        "address3",
        "addressline",
        "addressline1",
        "addressline2",
        "addressline3",
        "street",
        "streetname",
        "streetnumber",
        "housenumber",
        "apartment",
        "zip",
        "zipcode",
        "postal",
        "postalcode",
        "postcode",
    }
)
LOCATION_KEYS = frozenset(
    {"ip", "ipv4", "ipv6", "latitude", "longitude", "lat", "lng", "lon", "coordinates"}
)
BIRTH_KEYS = frozenset({"birthday", "birthdate", "dateofbirth", "dob"})
# The person as a whole, and ids that link the kept history back to the person elsewhere.
PERSON_KEYS = frozenset({"customer", "customerid", "userid", "anonymousid"})

DEFAULT_PII_KEYS: frozenset[str] = (
    EMAIL_KEYS | PHONE_KEYS | NAME_KEYS | ADDRESS_KEYS | LOCATION_KEYS | BIRTH_KEYS | PERSON_KEYS
)
# A key that is personal only next to other personal keys (a person's or an address's name,
# not a product's).
CONTEXTUAL_NAME_KEY = "name"


@dataclass(frozen=True)
class PiiKeys:
    """The PII keys of one workspace: the defaults plus its `pii_keys`, matched normalised."""

    keys: frozenset[str] = DEFAULT_PII_KEYS
    _cache: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_workspace(cls, extra: Iterable[object] | None) -> PiiKeys:
        """The defaults plus the workspace's keys. A new instance each time: its memo holds
        the keys and strings of one erasure's payloads (the prefilter asks about every
        string), which must not outlive that job in the worker's memory."""
        added = {normalize_key(k) for k in extra or () if isinstance(k, str)}
        return cls(DEFAULT_PII_KEYS | frozenset(k for k in added if k))

    def matches(self, key: str) -> bool:
        """True when the key, or its trailing words, name personal data."""
        hit = self._cache.get(key)
        if hit is None:
            hit = key_in(key, self.keys)
            if len(self._cache) < 10_000:
                self._cache[key] = hit
        return hit

    def is_contextual_name(self, key: str) -> bool:
        return normalize_key(key) == CONTEXTUAL_NAME_KEY


# -- the PII registry: every column that can hold personal data, and its rule ------------------


class Rule(StrEnum):
    CLEAR = "clear"  # set to NULL ({} for JSON) on the tombstone
    SCRUB_JSON = "scrub_json"  # PII keys removed, personal values replaced, at any depth
    SCRUB_TEXT = "scrub_text"  # replaced by "[redacted]" if it contains an identifier
    NULL_IF_PERSONAL = "null_if_personal"  # cleared if it contains an identifier
    REDACT_EMAIL = "redact_email"  # redacted<random>@redacted.invalid, unique
    REDACT_PHONE = "redact_phone"  # redacted<random>, unique
    DELETE_ROW = "delete_row"  # the rows go
    DESTROY_FILE = "destroy_file"  # the stored file is deleted, the request expires
    SEALED_RECORD = "sealed_record"  # kept, AES-GCM sealed: the compliance record (SPEC §5.5)
    WIPE_ON_COMPLETION = "wipe_on_completion"  # sealed while the job runs, NULL once done


ALL_COLUMNS = "*"


@dataclass(frozen=True)
class PiiColumn:
    table: str
    column: str  # ALL_COLUMNS: the rule applies to the whole row
    rule: Rule
    why: str


PII_REGISTRY: tuple[PiiColumn, ...] = (
    PiiColumn("profiles", "email", Rule.CLEAR, "identifier"),
    PiiColumn("profiles", "phone", Rule.CLEAR, "identifier"),
    PiiColumn("profiles", "external_id", Rule.CLEAR, "links the person to another system"),
    PiiColumn("profiles", "anonymous_id", Rule.CLEAR, "device / browser identifier"),
    PiiColumn("profiles", "first_name", Rule.CLEAR, "name"),
    PiiColumn("profiles", "last_name", Rule.CLEAR, "name"),
    PiiColumn("profiles", "properties", Rule.CLEAR, "free attributes (addresses, birthday…)"),
    PiiColumn("profiles", "restriction_reason", Rule.CLEAR, "free text about the person"),
    PiiColumn("events", "properties", Rule.SCRUB_JSON, "payloads carry addresses, notes, ips"),
    PiiColumn("events", "type", Rule.SCRUB_TEXT, "free text chosen by the sending client"),
    PiiColumn("events", "message_id", Rule.NULL_IF_PERSONAL, "client-chosen idempotency key"),
    PiiColumn("recipients", "email", Rule.REDACT_EMAIL, "the address a message went to"),
    PiiColumn("recipients", "phone", Rule.REDACT_PHONE, "the number a message went to"),
    PiiColumn("consents", ALL_COLUMNS, Rule.DELETE_ROW, "the person's own statement"),
    PiiColumn("profile_identifiers", ALL_COLUMNS, Rule.DELETE_ROW, "emails/phones/ids they had"),
    PiiColumn("export_requests", "file_key", Rule.DESTROY_FILE, "the file holds everything"),
    PiiColumn("deletion_requests", "name_sealed", Rule.SEALED_RECORD, "compliance record"),
    PiiColumn("deletion_requests", "email_sealed", Rule.SEALED_RECORD, "compliance record"),
    PiiColumn("deletion_requests", "phone_sealed", Rule.SEALED_RECORD, "compliance record"),
    PiiColumn("deletion_requests", "subject_sealed", Rule.WIPE_ON_COMPLETION, "search list"),
)


@dataclass(frozen=True)
class ReviewedColumn:
    """A column whose name looks personal but holds no data subject's personal data."""

    table: str
    column: str
    why: str


NOT_SUBJECT_DATA: tuple[ReviewedColumn, ...] = (
    ReviewedColumn("users", "email", "a staff login, not a shop customer"),
    ReviewedColumn("workspaces", "name", "the store's name"),
    ReviewedColumn("workspaces", "pii_keys", "configuration: property names"),
    ReviewedColumn("workspaces", "default_phone_region", "configuration: a region code"),
    ReviewedColumn(
        "workspaces", "shopify_webhook_secret_sealed", "a credential, sealed, not personal"
    ),
    ReviewedColumn("write_keys", "key_sealed", "a credential, sealed, not personal"),
    ReviewedColumn("api_keys", "name", "a label staff give to a key"),
    ReviewedColumn("campaigns", "name", "the campaign's name, written by staff"),
    ReviewedColumn("campaigns", "links", "the campaign's URLs, the same for every recipient"),
    ReviewedColumn("audit_log", "details", "ids and counts only, by contract (audit service)"),
    ReviewedColumn("deletion_requests", "summary", "counts of what was erased"),
    ReviewedColumn("deletion_requests", "progress", "phase, an event id cursor and counts"),
    # Privacy requests (SPEC §8): the identities are the requester's own words and the record
    # of what was asked; kept sealed (AES-GCM, bound to the request) like the deletion record,
    # shown to admins only, and not tied to one profile (they may match none or several).
    ReviewedColumn("privacy_requests", "identities_sealed", "sealed record of the request"),
    ReviewedColumn("privacy_requests", "reference_sealed", "the requester's id, sealed"),
    ReviewedColumn("privacy_requests", "extension_reason_sealed", "an admin's note, sealed"),
    ReviewedColumn("privacy_requests", "profile_ids", "ids of matched profiles"),
    ReviewedColumn("privacy_requests", "export_ids", "ids of its export requests"),
    ReviewedColumn("privacy_requests", "deletion_ids", "ids of its deletion requests"),
    ReviewedColumn("privacy_requests", "callback_urls", "the requester's system's endpoints"),
    ReviewedColumn(
        "workspaces", "callback_signing_secret_sealed", "a credential, sealed, not personal"
    ),
    ReviewedColumn("suppressions", "identifier_types", "kinds (email, phone…), never values"),
    ReviewedColumn("suppression_keys", "key_sealed", "an HMAC key, sealed, not personal"),
    ReviewedColumn(
        "suppressed_identifiers",
        "digest",
        "keyed HMAC of an identifier, kept on purpose to keep the person out (SPEC §9)",
    ),
)


def rules_for(table: str) -> list[PiiColumn]:
    return [c for c in PII_REGISTRY if c.table == table]


def cleared_profile_values() -> dict[str, object]:
    """The tombstone: every registered profile column cleared (NULL, or {} for properties)."""
    values: dict[str, object] = {}
    for column in rules_for("profiles"):
        if column.rule is Rule.CLEAR:
            values[column.column] = {} if column.column == "properties" else None
    return values


REDACTED = "[redacted]"
REDACTED_EMAIL_DOMAIN = "redacted.invalid"
REDACTED_PREFIX = "redacted"
