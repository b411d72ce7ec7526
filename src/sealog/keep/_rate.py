"""The rate ladder of ``overflow = "step"``: when a constant-rate stream moves up or down.

The decision is taken only at the end of a hold (``step_hold`` seconds at the current level)
and only from how many frames of backlog wait, so what the host can see is one choice among at
most three (up, stay, down) per hold, never the size of a burst or when it came.
"""

from __future__ import annotations

__all__ = ["next_level"]


def next_level(levels: tuple[int, ...], current: int, pending: int, hold: int) -> int:
    """The ladder index for the next hold.

    Args:
        levels: frames per interval at each rung, increasing from 1.
        current: the rung in force.
        pending: frames' worth of backlog waiting.
        hold: intervals per hold.

    Returns:
        One rung up when the backlog would not drain within one hold at the current rate; one
        rung down when it would drain within half a hold at the rate below; else ``current``.
    """
    if current + 1 < len(levels) and pending > levels[current] * hold:
        return current + 1
    if current > 0 and pending * 2 <= levels[current - 1] * hold:
        return current - 1
    return current
