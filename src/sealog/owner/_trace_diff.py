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

System-call records also carry values that change from run to run but that the general text
rules do not know: pipe and socket inode numbers (``pipe:[48211]``). :func:`normalise_syscall`
replaces them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sealog.seal._records import Record

__all__ = ["first_unmatched_failures", "is_failing_call", "normalise_syscall"]

TRACE_LOGGER = "sealog.trace"
SYSCALL_TRACER = "strace"
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
