"""Counts in messages people read: "1 record", "2 records"."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, word: str, words: str | None = None) -> str:
    """``count`` and ``word``, in the plural unless ``count`` is 1 (``words`` if irregular).

    >>> plural(1, "record"), plural(3, "record"), plural(2, "entry", "entries")
    ('1 record', '3 records', '2 entries')
    """
    return f"{count} {word if count == 1 else (words or word + 's')}"
