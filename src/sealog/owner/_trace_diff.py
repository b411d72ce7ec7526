"""The trace's part of ``sealog diff``: the first failing call one run has and the other not.

Where two runs of the same program part, the answer to "my code or the platform?" is usually a
call the platform answered differently: ``openat("/dev/sgx_enclave") = ENOENT``, an
``mprotect(PROT_EXEC) = EACCES``, a ``connect`` refused. The record-by-record alignment finds
the first divergence, but with several processes traced at once (``strace -f``) their records
interleave in an order that changes from run to run, and the first divergence can be a mere
reordering. So the failing calls are also compared as sets: :func:`first_unmatched_failures`
names, on each side, the first failing call (in that session's order) whose normalised form
never fails in the other session. Both traces count alike: a Python ``open failed`` and a
system call with an errno.

The same interleaving moves system-call records against the workload's output lines (strace's
output, the workload's stdout and its stderr are each read by their own thread), so that two
runs in one environment would "diverge" where a call changed place with a line.
:class:`MovedCalls` lets the alignment ignore such a record when one side lacks it at one place
and the other side at another.

System-call records also carry values that change from run to run but that the general text
rules do not know: pipe and socket inode numbers (``pipe:[48211]``). :func:`normalise_syscall`
replaces them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sealog.seal._records import Record
from sealog.seal._vocabulary import TRACE_LOGGER

__all__ = ["MovedCalls", "first_unmatched_failures", "is_failing_call", "normalise_syscall"]

SYSCALL_TRACER = "strace"
_OUTPUT = frozenset({"stdout", "stderr"})
_STRACE = ("tracer", SYSCALL_TRACER)
_INODE = re.compile(r"\b(pipe|socket|anon_inode|net):\[\d+\]")


def _text(value: Any) -> Any:
    if isinstance(value, str):
        return _INODE.sub(r"\1:[<n>]", value)
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value


def normalise_syscall(message: str, fields: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A system-call record's message and fields without run-specific kernel numbers.

    Args:
        message: the record's message.
        fields: the record's fields.

    Returns:
        The message and fields with pipe and socket inode numbers replaced by ``<n>``.
    """
    return _text(message), {k: _text(v) for k, v in fields.items()}


def is_failing_call(record: Record) -> bool:
    """Whether ``record`` is a traced call that failed (either tracer)."""
    return (
        record.logger == TRACE_LOGGER
        and record.source == "runtime"
        and record.fields.get("error") is not None
    )


def _first_missing(
    mine: Sequence[Record], theirs: set[Hashable], key: Callable[[Record], Hashable]
) -> int | None:
    for i, record in enumerate(mine):
        if is_failing_call(record) and key(record) not in theirs:
            return i
    return None


def first_unmatched_failures(
    a: Sequence[Record], b: Sequence[Record], key: Callable[[Record], Hashable]
) -> tuple[int | None, int | None]:
    """The first failing call of each session that never fails in the other.

    Args:
        a: session A's records.
        b: session B's records.
        key: the comparable form of a record (the diff's normaliser), so that pids, temporary
            paths and addresses do not make two equal failures look different.

    Returns:
        The index in A of its first failing call that B does not have, and the same for B;
        None on a side that has none.
    """
    failing_a = {key(r) for r in a if is_failing_call(r)}
    failing_b = {key(r) for r in b if is_failing_call(r)}
    return _first_missing(a, failing_b, key), _first_missing(b, failing_a, key)


def _may_move(key: Hashable) -> bool:
    """Whether a normalised record (``(source, logger, level, message, fields, exc)``) is a
    system-call record or a line of the workload's output: each is read by its own thread, so
    their order against each other is not the workload's."""
    if not isinstance(key, tuple) or len(key) < 5:
        return False
    if key[0] == "workload" and key[1] in _OUTPUT:
        return True
    return key[1] == TRACE_LOGGER and isinstance(key[4], tuple) and _STRACE in key[4]


class MovedCalls:
    """Records unmatched on both sides that are the same call or output line in another place.

    Args:
        unmatched_a: the normalised records of A that the alignment left unmatched.
        unmatched_b: the same for B.
    """

    def __init__(self, unmatched_a: Sequence[Hashable], unmatched_b: Sequence[Hashable]) -> None:
        calls_a = Counter(k for k in unmatched_a if _may_move(k))
        calls_b = Counter(k for k in unmatched_b if _may_move(k))
        self._a = calls_a & calls_b
        self._b = Counter(self._a)

    @staticmethod
    def _take(counts: Counter[Hashable], key: Hashable) -> bool:
        if counts[key] > 0:
            counts[key] -= 1
            return True
        return False

    def take_a(self, key: Hashable) -> bool:
        """Whether this unmatched record of A only moved (each match is used once)."""
        return self._take(self._a, key)

    def take_b(self, key: Hashable) -> bool:
        """Whether this unmatched record of B only moved (each match is used once)."""
        return self._take(self._b, key)
