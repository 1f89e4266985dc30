"""Type aliases shared across layers."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]
"""A parsed JSON object: request bodies, upstream answers, stream chunks."""
