"""Importing this registers every compliance job and sweeper with the worker."""

from __future__ import annotations

import veil.compliance.deletions.tasks
import veil.compliance.exports.tasks
import veil.compliance.privacy_requests.tasks  # noqa: F401
