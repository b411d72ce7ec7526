"""Values the workload marks secret. Standard library only: it is imported inside workloads."""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["SECRET_TEXT", "Secret", "secret"]

SECRET_TEXT = "[secret]"  # noqa: S105 - the placeholder, not a password
T = TypeVar("T")


class Secret(Generic[T]):
    """A value that must never leave the Keep in clear (outside a development profile).

    Every way of turning it into text (``str``, ``repr``, ``format``, ``%s``) gives
    ``[secret]``, so it is safe by default wherever it ends up. The workload reads the real value
    with :attr:`value`.
    """

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    @property
    def value(self) -> T:
        """The real value, for the workload's own use."""
        return self._value

    def __str__(self) -> str:
        return SECRET_TEXT

    def __repr__(self) -> str:
        return SECRET_TEXT

    def __format__(self, spec: str) -> str:
        return SECRET_TEXT

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        # Pickling (multiprocessing, caches) must not carry the value out either.
        return (str, (SECRET_TEXT,))


def secret(value: T) -> Secret[T]:
    """Mark ``value`` secret: it is logged as ``[secret]`` under every profile but development.

    Example:
        >>> log.info("connecting with token %s", sealog.secret(token))
    """
    return Secret(value)
