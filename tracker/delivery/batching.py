"""Cutting a list of row ids into send batches: one helper for the fan-out,
the digest planner, the sweeper and the commands."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings


def batches(ids: Sequence[int], size: int | None = None) -> list[list[int]]:
    """`ids` in order, in lists of at most `size` (default TRACKER_SEND_BATCH:
    one claim, one task and one SMTP connection each)."""
    size = size or settings.TRACKER_SEND_BATCH
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]
