"""allocator: optimization-based batch allocator of CRM customer ownership."""

from __future__ import annotations

__version__ = "0.1.0"
