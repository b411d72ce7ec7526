"""Where two sessions first diverge: "is it my code or the platform?" (DESIGN.md section 7).

Two runs of the same workload never produce identical records: times, process ids, temporary
folders, memory addresses, session ids and resource measurements change from run to run. The
normaliser replaces those with placeholders, so what remains is what the workload did and what
its environment answered. :func:`diff_sessions` then aligns the two normalised sequences with
:class:`difflib.SequenceMatcher` and reports the first point where they differ, with context,
the records only one side has, and the platform fingerprint items that differ.

What is left out of the alignment, and why:

* the ``sealog.fingerprint`` record: it is compared item by item instead, because one line
  "fingerprint differs" would hide which item did;
* trace summaries (``trace summary: ...``): they are sealed when a one-second window closes, so
  where they fall depends on timing, not on what the workload did;
* a trace event already seen earlier in the same session: the trace collapses repeats per
  window, so whether a repeat is recorded again depends on where the window boundaries fell.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sealog.errors import FormatError
from sealog.owner._trace_diff import (
    SYSCALL_TRACER,
    MovedCalls,
    first_unmatched_failures,
    normalise_syscall,
)
from sealog.seal._records import Record
from sealog.seal._vocabulary import FINGERPRINT_LOGGER, SESSION_LOGGER, TRACE_LOGGER

__all__ = [
    "DiffResult",
    "Divergence",
    "Located",
    "diff_sessions",
    "flatten",
    "normalise_record",
    "normalise_text",
]

_TRACE_SUMMARY = "trace summary:"

#: (pattern, replacement), applied in order: the more specific shapes first, so that a UUID is
#: not half-eaten by the hex-id rule and an address keeps its ``0x``.
_TEXT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"),
        "<time>",
    ),
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<id>",
    ),
    (re.compile(r"\b0[xX][0-9a-fA-F]+\b"), "0x<addr>"),
    # Temporary folders: tempfile's random suffixes, sealog's bootstrap folder, pytest's.
    (
        re.compile(
            r"(/(?:var/)?tmp|/dev/shm|/var/folders/[^/\s]+/[^/\s]+/T)/"
            r"(sealog-boot-|tmp|pymp-)[A-Za-z0-9_]+"
        ),
        r"\1/\2<tmp>",
    ),
    (re.compile(r"pytest-of-[^/\s]+/pytest-\d+"), "pytest-of-<user>/pytest-<n>"),
    (re.compile(r"/proc/\d+/"), "/proc/<pid>/"),
    (re.compile(r"(?i)\b(p?pid|tid|process|thread)([\s:=#]+)\d+\b"), r"\1\2<pid>"),
    # Hex ids of 8 characters or more (session and key ids, digests). Both a digit and a letter
    # are required so that plain counts and plain words stay as they are.
    (re.compile(r"\b(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b"), "<hex>"),
    # Durations in text: "took 0.53 s", "12ms", "3.2 seconds".
    (
        re.compile(r"\b\d+(?:\.\d+)?(\s?(?:ns|us|µs|ms|s|sec|secs|seconds?|minutes?|min)\b)"),
        r"<n>\1",
    ),
)

#: Field names whose numbers are measurements, not behaviour (``cpu_user_s``, ``max_rss_kib``,
#: ``elapsed_ms``, ``pid``, ``backlog_peak``...).
_MEASURED_FIELD = re.compile(
    r"(?i)(?:^|_)(time|times|timestamp|elapsed|duration|took|latency|cpu|rss|ms|us|ns|s|sec|"
    r"secs|seconds|pid|ppid|tid|kib|kb|mib|mb|peak)(?:_|$)"
)
#: Counts in the closing record: they follow from the records, which are compared themselves.
_SESSION_COUNTS = frozenset({"records", "dropped", "frames"})


@functools.lru_cache(maxsize=16384)
def normalise_text(text: str) -> str:
    """``text`` with run-specific values (ids, addresses, pids, temp paths, times) replaced.

    Args:
        text: a message, or a string inside a record's fields.

    Returns:
        The text with placeholders such as ``<hex>``, ``0x<addr>``, ``<pid>`` and ``<tmp>``.

    Results are cached (a bounded number): a long session repeats its messages, and nine
    substitutions per message were most of the cost of comparing two long sessions.
    """
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


def _normalise_value(value: Any, measured: bool = False) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return "<n>" if measured else value
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, Mapping):
        return {
            str(k): _normalise_value(v, measured or bool(_MEASURED_FIELD.search(str(k))))
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        }
    if isinstance(value, list | tuple):
        return [_normalise_value(v, measured) for v in value]
    return normalise_text(str(value))


def _freeze(value: Any) -> Any:
    """A hashable form of a normalised value (for comparison as one key)."""
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def normalise_record(record: Record) -> tuple[Any, ...]:
    """The comparable form of a record: what it says, without what changes from run to run.

    Time and sequence number are dropped; the message, the fields and the exception are
    normalised with :func:`normalise_text`; numbers in measurement fields (CPU time, RSS,
    durations, pids) become ``<n>``; a traced ``open`` of a file descriptor loses its number;
    the closing record's counts are dropped.

    Args:
        record: a record as the owner reads it.

    Returns:
        A hashable key ``(source, logger, level, message, fields, exception)``.
    """
    fields = dict(record.fields)
    message = record.message
    args = fields.get("args")
    if record.logger == TRACE_LOGGER and isinstance(args, list) and args:
        first = args[0]
        if fields.get("event") == "open" and isinstance(first, str) and first.isdigit():
            # open() of a file descriptor: its number depends on what else the process holds
            fields["args"] = ["<fd>", *args[1:]]
            message = message.replace(f"open {first} ", "open <fd> ", 1)
    if record.logger == TRACE_LOGGER and fields.get("tracer") == SYSCALL_TRACER:
        message, fields = normalise_syscall(message, fields)
    if record.logger == SESSION_LOGGER:
        fields = {k: v for k, v in fields.items() if k not in _SESSION_COUNTS}
    exc = None
    if record.exception is not None:
        text = record.exception.message
        exc = (record.exception.type, None if text is None else normalise_text(text))
    return (
        record.source,
        record.logger,
        record.level,
        normalise_text(message),
        _freeze(_normalise_value(fields)),
        exc,
    )


@dataclass(frozen=True)
class Located:
    """A record and its position in the session it came from.

    Attributes:
        index: the record's position in the sequence given to :func:`diff_sessions` (0-based).
        record: the record.
    """

    index: int
    record: Record

    def to_json(self) -> dict[str, Any]:
        """The record's JSON form (as ``sealog read --json``) with its index."""
        return {"index": self.index, **self.record.to_json()}


@dataclass(frozen=True)
class Divergence:
    """The first point where two sessions differ.

    Attributes:
        index_a: position of the first differing record in A (``len(a)`` when A has ended).
        index_b: the same in B.
        context_a: records of A around the point: up to ``context`` before it, and up to
            ``context`` from it on (the first of those is the differing record).
        context_b: the same in B.
    """

    index_a: int
    index_b: int
    context_a: tuple[Located, ...]
    context_b: tuple[Located, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``diff --json`` form."""
        return {
            "index_a": self.index_a,
            "index_b": self.index_b,
            "context_a": [x.to_json() for x in self.context_a],
            "context_b": [x.to_json() for x in self.context_b],
        }


@dataclass(frozen=True)
class DiffResult:
    """How two sessions compare.

    Attributes:
        first_divergence: where the records first differ, or None when they align fully.
        only_a: records only A has (deleted or replaced on the way from A to B).
        only_b: records only B has.
        fingerprint_changes: fingerprint item (dotted path) to its values in A and in B
            (None where a side does not have it).
        failing_only_a: A's first traced call that failed and never fails in B (for example
            ``openat /dev/sgx_enclave O_RDWR = ENOENT``), or None.
        failing_only_b: the same for B.
    """

    first_divergence: Divergence | None
    only_a: tuple[Located, ...] = ()
    only_b: tuple[Located, ...] = ()
    fingerprint_changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    failing_only_a: Located | None = None
    failing_only_b: Located | None = None

    @property
    def same(self) -> bool:
        """True when the records align fully and the platforms' fingerprints are equal."""
        return self.first_divergence is None and not self.fingerprint_changes

    def to_json(self) -> dict[str, Any]:
        """The ``diff --json`` form."""
        return {
            "same": self.same,
            "first_divergence": (
                self.first_divergence.to_json() if self.first_divergence else None
            ),
            "only_a": [x.to_json() for x in self.only_a],
            "only_b": [x.to_json() for x in self.only_b],
            "fingerprint_changes": {k: list(v) for k, v in self.fingerprint_changes.items()},
            "first_failing_call": {
                "a": self.failing_only_a.to_json() if self.failing_only_a else None,
                "b": self.failing_only_b.to_json() if self.failing_only_b else None,
            },
        }


def flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Put ``value``'s leaves into ``out`` under dotted names (``a.b``) below ``prefix``."""
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = list(value) if isinstance(value, tuple) else value


def _fingerprint(records: Sequence[Record]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for record in records:
        if record.logger == FINGERPRINT_LOGGER and record.source == "runtime":
            flatten("", dict(record.fields), found)
            break
    return found


def _aligned(records: Sequence[Record]) -> tuple[list[int], list[tuple[Any, ...]]]:
    """The positions and keys of the records that take part in the alignment."""
    positions: list[int] = []
    keys: list[tuple[Any, ...]] = []
    seen_trace: set[tuple[Any, ...]] = set()
    for i, record in enumerate(records):
        if record.logger == FINGERPRINT_LOGGER:
            continue
        key = normalise_record(record)
        if record.logger == TRACE_LOGGER and record.source == "runtime":
            if record.message.startswith(_TRACE_SUMMARY):
                continue
            if key in seen_trace:
                continue
            seen_trace.add(key)
        positions.append(i)
        keys.append(key)
    return positions, keys


def _context(
    records: Sequence[Record], positions: list[int], at: int, context: int
) -> tuple[Located, ...]:
    lo, hi = max(0, at - context), min(len(positions), at + context)
    return tuple(Located(positions[k], records[positions[k]]) for k in range(lo, hi))


def diff_sessions(a: Sequence[Record], b: Sequence[Record], *, context: int = 3) -> DiffResult:
    """Align two sessions' records and report where they first diverge.

    Args:
        a: the records of session A, in order (as :func:`sealog.owner.read_store` yields them).
        b: the records of session B.
        context: how many records to show before and from the divergence point, on each side.

    Returns:
        The comparison; ``result.same`` is True when nothing differs.

    Raises:
        FormatError: ``context`` is negative.
    """
    if context < 0:
        raise FormatError(f"context must be 0 or more records, not {context}")
    pos_a, keys_a = _aligned(a)
    pos_b, keys_b = _aligned(b)
    # autojunk off: a trace is full of similar records, and treating the frequent ones as junk
    # would let the matcher skip over exactly the records that differ.
    matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    first: Divergence | None = None
    only_a: list[Located] = []
    only_b: list[Located] = []
    opcodes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    # A traced system call or an output line that only changed place is not a difference:
    # strace's output, stdout and stderr are each read by their own thread.
    moved = MovedCalls(
        [keys_a[k] for _, i1, i2, _, _ in opcodes for k in range(i1, i2)],
        [keys_b[k] for _, _, _, j1, j2 in opcodes for k in range(j1, j2)],
    )
    for _, i1, i2, j1, j2 in opcodes:
        kept_a = [k for k in range(i1, i2) if not moved.take_a(keys_a[k])]
        kept_b = [k for k in range(j1, j2) if not moved.take_b(keys_b[k])]
        if not kept_a and not kept_b:
            continue
        if first is None:
            i, j = kept_a[0] if kept_a else i2, kept_b[0] if kept_b else j2
            first = Divergence(
                pos_a[i] if i < len(pos_a) else len(a),
                pos_b[j] if j < len(pos_b) else len(b),
                _context(a, pos_a, i, context),
                _context(b, pos_b, j, context),
            )
        only_a.extend(Located(pos_a[k], a[pos_a[k]]) for k in kept_a)
        only_b.extend(Located(pos_b[k], b[pos_b[k]]) for k in kept_b)
    fp_a, fp_b = _fingerprint(a), _fingerprint(b)
    changes = {
        k: (fp_a.get(k), fp_b.get(k))
        for k in sorted(fp_a.keys() | fp_b.keys())
        if fp_a.get(k) != fp_b.get(k)
    }
    fail_a, fail_b = first_unmatched_failures(a, b, normalise_record)
    return DiffResult(
        first,
        tuple(only_a),
        tuple(only_b),
        changes,
        None if fail_a is None else Located(fail_a, a[fail_a]),
        None if fail_b is None else Located(fail_b, b[fail_b]),
    )
