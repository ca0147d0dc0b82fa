"""Every feature's background jobs and sweepers, registered with the worker by importing this.

Only entry points import it (`veil serve`, `veil worker`, `veil sweep`, the tests' conftest,
the benchmarks): the worker package stays a leaf that knows no feature, and a job missing from
this list fails loudly (`UnknownJob`) instead of being imported on demand.
"""

from __future__ import annotations

import veil.compliance.tasks
import veil.integrations.tasks  # noqa: F401
