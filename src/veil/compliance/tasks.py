"""Importing this registers every compliance job and sweeper with the worker."""

from __future__ import annotations

import veil.compliance.deletions.tasks
import veil.compliance.exports.tasks
import veil.compliance.privacy_requests.tasks
import veil.compliance.retention.tasks
import veil.compliance.suppressions.tasks  # noqa: F401
