"""allocator: optimization-based batch allocator of CRM customer ownership.

The public API (the same path the CLI takes)::

    from allocator import plan, Policy
    result = plan("data/customers.csv", "data/reps.csv", "data/activities.csv", policy=Policy())
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import Plan, plan, read_inputs  # noqa: E402
from .datagen import generate  # noqa: E402
from .errors import AllocatorError, InputError, Issue, PolicyError  # noqa: E402
from .policy import Policy, Rules, SolverSettings, Weights  # noqa: E402

__all__ = [
    "AllocatorError",
    "InputError",
    "Issue",
    "Plan",
    "Policy",
    "PolicyError",
    "Rules",
    "SolverSettings",
    "Weights",
    "__version__",
    "generate",
    "plan",
    "read_inputs",
]
