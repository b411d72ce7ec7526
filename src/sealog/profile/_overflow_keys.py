"""The ``[stream]`` keys that say what a constant-rate stream does under overflow.

Read strictly, like every profile key: a ladder that does not start at 1, repeats a level or
is not increasing, a hold that is not a whole number of intervals, or a policy name that is not
known is refused with the key's path, never silently replaced by a default.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

from sealog.errors import FormatError
from sealog.profile._model import Overflow, StreamSettings

__all__ = ["MAX_LEVEL", "MAX_PAD_MULTIPLE", "overflow_settings"]

#: The fastest rung of a ladder: frames per interval.
MAX_LEVEL = 64
#: The largest padding multiple (frames).
MAX_PAD_MULTIPLE = 1 << 16


class _Reader(Protocol):
    def fail(self, path: str, message: str) -> FormatError: ...

    def expected(self, path: str, what: str, value: object) -> FormatError: ...

    def integer(self, value: object, path: str, *, low: int, high: int | None = None) -> int: ...

    def number(
        self,
        value: object,
        path: str,
        *,
        low: float,
        low_inclusive: bool,
        high: float | None = None,
    ) -> float: ...

    def choice(self, value: object, path: str, enum: type[Overflow]) -> Overflow: ...


def overflow_settings(
    reader: _Reader, data: dict[str, Any], default: StreamSettings
) -> dict[str, Any]:
    """``overflow``, ``step_levels``, ``step_hold`` and ``pad_multiple`` from a ``[stream]``
    table, checked (raises FormatError naming the key)."""
    out: dict[str, Any] = {}
    if "overflow" in data:
        out["overflow"] = reader.choice(data["overflow"], "stream.overflow", Overflow)
    if "step_levels" in data:
        out["step_levels"] = _levels(reader, data["step_levels"])
    if "step_hold" in data:
        out["step_hold"] = reader.number(
            data["step_hold"], "stream.step_hold", low=0.0, low_inclusive=False, high=86400.0
        )
    if "pad_multiple" in data:
        out["pad_multiple"] = reader.integer(
            data["pad_multiple"], "stream.pad_multiple", low=1, high=MAX_PAD_MULTIPLE
        )
    if out.get("overflow", default.overflow) is not Overflow.STEP:
        return out
    interval = float(data.get("flush_interval", default.flush_interval))
    hold = out.get("step_hold", default.step_hold)
    ratio = hold / interval
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise reader.expected(
            "stream.step_hold", f"a whole number of intervals ({interval:g} s)", hold
        )
    if len(out.get("step_levels", default.step_levels)) < 2:
        raise reader.fail(
            "stream.step_levels", 'overflow = "step" needs at least two levels, e.g. [1, 2, 4]'
        )
    return out


def _levels(reader: _Reader, value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise reader.expected("stream.step_levels", "a non-empty array of integers", value)
    levels = tuple(
        reader.integer(v, f"stream.step_levels[{i}]", low=1, high=MAX_LEVEL)
        for i, v in enumerate(value)
    )
    if levels[0] != 1 or any(b <= a for a, b in itertools.pairwise(levels)):
        raise reader.expected(
            "stream.step_levels", "increasing levels starting at 1, e.g. [1, 2, 4]", value
        )
    return levels
