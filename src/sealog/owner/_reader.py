"""Reading and verifying one sealed session as its owner.

The reader opens frames strictly in order. The first frame that does not open ends the
readable part; what follows is only looked at to name what happened (see :func:`_classify`),
never trusted. Verdicts, from best to worst:

``intact``        every frame opened, in order, and the closing frame is there
``open``          every frame present opened, no closing frame yet, and the session's file is
                  still held by its writer: frames are still arriving (not a failure, not intact)
``truncated``     every frame present opened, but the stream stops after sequence N
``modified``      a frame, the header or the file's framing was altered
``deleted``       frames are missing from the middle
``reordered``     frames are present but out of order
``duplicated``    a frame appears twice (replayed)
``spliced``       a frame from another session was put into this one
``not-addressed`` the session is sealed to another owner key
``policy-violation`` the profile changed without a valid change order behind it
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sealog._files import read_tail
from sealog._words import plural
from sealog.attest._notes import UNATTESTED_NOTE
from sealog.errors import DecryptionError, FormatError
from sealog.host._liveness import writer_active
from sealog.owner._timeline import ProfileSpan, TimelineChecker
from sealog.seal._compress import expand_row
from sealog.seal._container import MAGIC, Damaged, Entry, iter_file_entries
from sealog.seal._frames import FrameOpener, parse_frame_header
from sealog.seal._header import Header
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record, RecordDecoder, plain_row

__all__ = ["INTACT", "OPEN", "SessionReader", "Verdict"]

INTACT = "intact"
#: A session still being written: no closing frame yet, and its writer still has the file.
OPEN = "open"
#: Given a frame payload, the id of another session holding the same bytes, else None.
SpliceLookup = Callable[[bytes], str | None]
T = TypeVar("T")
#: Given a batch's rows as decoded and the frame's sequence number, what to make of them.
TakeBatch = Callable[[list[Any], int], Iterator[T]]


@dataclass(frozen=True)
class Verdict:
    """What verification found for one session.

    Attributes:
        session: the session id (from the file name).
        status: one of the verdicts listed in this module's docstring.
        message: one line for people.
        frames: frames that opened.
        records: records read.
        last_seq: the last sequence number that opened (-1 for none).
        at_seq: where the problem was found, when it is a frame.
        header: the header, when it could be read.
    """

    session: str
    status: str
    message: str
    frames: int = 0
    records: int = 0
    last_seq: int = -1
    at_seq: int | None = None
    header: Header | None = field(default=None, compare=False, repr=False)
    timeline: tuple[ProfileSpan, ...] = ()

    @property
    def ok(self) -> bool:
        """True only for an intact, closed session."""
        return self.status == INTACT

    def to_json(self) -> dict[str, Any]:
        """The ``verify --json`` form."""
        out: dict[str, Any] = {
            "session": self.session,
            "status": self.status,
            "ok": self.ok,
            "message": self.message,
            "frames": self.frames,
            "records": self.records,
            "last_seq": self.last_seq,
            "at_seq": self.at_seq,
        }
        if self.header is not None:
            out["keep"] = self.header.keep_id
            out["profile"] = self.header.profile_name
            out["created"] = self.header.created
            out["evidence"] = self.header.evidence.kind if self.header.evidence else None
        out["timeline"] = [
            span.__dict__ | {"approvers": list(span.approvers)} for span in self.timeline
        ]
        return out


class SessionReader:
    """Reads one session file incrementally (so ``--follow`` can call :meth:`read` again).

    Args:
        path: the ``.seal`` file.
        key: the owner's private key.
        splice_lookup: finds a frame's bytes in the store's other sessions.
    """

    def __init__(
        self, path: Path, key: OwnerPrivateKey, splice_lookup: SpliceLookup | None = None
    ) -> None:
        self.path = path
        self.session = path.name.split(".")[0]
        self._key = key
        self._splice = splice_lookup
        self._offset = 0
        self._opener: FrameOpener | None = None
        self._decoder = RecordDecoder()
        self.header: Header | None = None
        self.frames = 0
        self.records = 0
        self.closed = False
        self._failure: Verdict | None = None
        self._torn = False
        self.timeline: TimelineChecker | None = None

    @property
    def profile(self) -> str | None:
        """The profile in force at the last record read."""
        return self.timeline.current if self.timeline else None

    @property
    def position(self) -> int:
        """Bytes of the file read and authenticated so far (for progress reports)."""
        return self._offset

    @property
    def failed(self) -> bool:
        """Whether a definite integrity failure was found (reading stops there)."""
        return self._failure is not None

    def _fail(self, status: str, message: str, at_seq: int | None = None) -> None:
        self._failure = self._verdict(status, message, at_seq)

    def _verdict(
        self,
        status: str,
        message: str,
        at_seq: int | None = None,
        timeline: tuple[ProfileSpan, ...] = (),
    ) -> Verdict:
        """A verdict carrying what has been read so far."""
        evidence = self.header.evidence if self.header is not None else None
        if self.header is not None and (evidence is None or evidence.kind == "none"):
            message = f"{message}; {UNATTESTED_NOTE}"
        return Verdict(
            self.session,
            status,
            message,
            self.frames,
            self.records,
            self.frames - 1,
            at_seq,
            self.header,
            timeline,
        )

    def read(self) -> Iterator[Record]:
        """Yield every record that the data written so far authenticates."""
        return self.read_with(self._records)

    def check(self) -> Iterator[int]:
        """Read what :meth:`read` reads, checking every record as it does without making a
        :class:`Record` of the plain ones: for verifying. Yields each batch's record count."""
        return self.read_with(self._checked)

    def read_with(self, take: TakeBatch[T]) -> Iterator[T]:
        """Like :meth:`read`, but what ``take`` makes of each batch of rows.

        ``take(rows, seq)`` gets a batch's rows as decoded, unchecked, and the sequence number
        of the frame that completed it. It must do for every row what :meth:`read` does: check
        it as :meth:`Record.from_row` does and raise the same :class:`FormatError` for a
        malformed one (after yielding what it made of the rows before it), add it to
        :attr:`records`, and let :attr:`timeline` observe it (its time, and every record of the
        ``sealog`` source). The reader's verdict is then the same as after :meth:`read`.
        """
        return self._read(take)

    def read_header(self) -> Header | None:
        """Read the header if it is not read yet, and no frame (a later read goes on from there).

        Returns:
            :attr:`header`: None when the file does not (yet) hold one that parses.
        """
        if self.header is None:
            for _ in self._read(None):
                pass
        return self.header

    def _read(self, take: TakeBatch[T] | None) -> Iterator[T]:
        """:meth:`read_with`, or the header only when ``take`` is None."""
        if self._failure is not None:
            return
        if self._offset == 0:
            head = read_tail(self.path, 0, len(MAGIC))
            if head != MAGIC:
                self._torn = len(head) < len(MAGIC) and MAGIC.startswith(head)
                if not self._torn:
                    self._fail("modified", "not a sealog session file (bad magic)")
                return
            self._offset = len(MAGIC)
        self._torn = False
        entries = iter_file_entries(self.path, self._offset)
        for item in entries:
            if self.closed:
                # Anything after the closing frame, a whole entry or a few bytes, was put there.
                self._fail("modified", "data after the closing frame", self.frames)
                return
            if isinstance(item, Damaged):
                if item.torn:
                    self._torn = True  # maybe still being written; verdict() decides
                else:
                    self._fail("modified", f"file framing damaged at byte {item.offset}")
                return
            if self.header is None:
                if not self._open_header(item):
                    return
                if take is None:
                    self._offset = item.offset + 8 + len(item.payload)
                    return
            elif take is not None:
                yield from self._open_frame(item, entries, take)
                if self._failure is not None:
                    return
            self._offset = item.offset + 8 + len(item.payload)

    def _open_header(self, entry: Entry) -> bool:
        try:
            header = Header.from_bytes(entry.payload)
        except FormatError as exc:
            self._fail("modified", f"header altered ({exc})")
            return False
        self.header = header
        if header.session_hex != self.session:
            try:
                self._key.open(header.enc, header.hpke_info)
            except DecryptionError:
                self._fail("modified", "header altered (session id does not match its key)")
                return False
            self._fail("spliced", f"file holds session {header.session_hex} (copied or renamed)")
            return False
        if header.launch.owner_key_id != self._key.public_key.key_id:
            self._fail(
                "not-addressed",
                f"sealed to owner key {header.launch.owner_key_id}, "
                f"not to this key ({self._key.public_key.key_id})",
            )
            return False
        if header.kem != self._key.kem:
            self._fail("modified", "header altered (KEM does not match the owner key)")
            return False
        try:
            root = self._key.open(header.enc, header.hpke_info)
        except DecryptionError:
            self._fail("modified", "header altered (session key does not open)")
            return False
        self._opener = FrameOpener(header, root)
        self.timeline = TimelineChecker(header)
        return True

    def _open_frame(
        self, entry: Entry, later: Iterator[Entry | Damaged], take: TakeBatch[T]
    ) -> Iterator[T]:
        opener = self._opener
        if opener is None:  # pragma: no cover - read() opens the header first
            return
        payload = entry.payload
        try:
            frame = opener.open(payload)
        except (DecryptionError, FormatError):
            rest = (e.payload for e in later if isinstance(e, Entry))
            status, message = self._classify(opener, payload, rest)
            self._fail(status, message, self.frames)
            return
        self.frames += 1
        seq = frame.seq
        try:
            for rows in self._decoder.batches(frame.data):
                yield from take(rows, seq)
        except FormatError as exc:
            self._fail("modified", f"frame {seq}: {exc}", seq)
            return
        if frame.close:
            self.closed = True

    def _records(self, rows: list[Any], seq: int) -> Iterator[Record]:
        """The records of one batch (see :meth:`read_with`)."""
        timeline = self.timeline
        from_row = Record.from_row
        for row in rows:
            compact = isinstance(row, list) and len(row) == 8 and row[4] is None
            record = from_row(expand_row(row) if compact else row, seq)
            self.records += 1
            if timeline is not None:
                timeline.observe(record)
            yield record

    def _checked(self, rows: list[Any], seq: int) -> Iterator[int]:
        """Check one batch's rows (see :meth:`read_with`). A row of the plain types a Keep
        writes (:func:`~sealog.seal._records.plain_row`) is one :meth:`Record.from_row`
        accepts; every other row goes through it, and one of the ``sealog`` source on to the
        timeline."""
        timeline = self.timeline
        n = 0
        latest = float("-inf")
        try:
            for row in rows:
                if plain_row(row):
                    t = row[0]
                    if t > latest:  # noqa: PLR1730 - cheaper than a call, per row
                        latest = t
                    n += 1
                    continue
                compact = isinstance(row, list) and len(row) == 8 and row[4] is None
                record = Record.from_row(expand_row(row) if compact else row, seq)
                n += 1
                if timeline is not None:
                    timeline.observe(record)
        finally:
            self.records += n
            if timeline is not None and latest > float("-inf"):
                timeline.observe_time(latest)
        yield n

    def _earlier_copy(self, payload: bytes) -> int | None:
        """The position of an identical earlier frame, if any (reads the file once more)."""
        for pos, item in enumerate(iter_file_entries(self.path, len(MAGIC), self._offset)):
            if not isinstance(item, Entry):
                break
            if pos > 0 and item.payload == payload:
                return pos - 1
        return None

    def _classify(
        self, opener: FrameOpener, payload: bytes, rest: Iterator[bytes]
    ) -> tuple[str, str]:
        """Name why the frame at the expected position does not open."""
        expected = opener.next_seq
        copy = self._earlier_copy(payload)
        if copy is not None:
            return "duplicated", f"frame {copy} appears again at position {expected}"
        try:
            seq, _epoch = parse_frame_header(payload)
        except FormatError:
            return "modified", f"frame {expected}: too short to be a frame"
        if seq != expected:
            if opener.opens_with_fixed_header(payload):
                return "modified", f"frame {expected}: clear sequence number altered to {seq}"
            if seq < expected:
                return "duplicated", f"frame {seq} appears again at position {expected}"
            if _comes_later(expected, rest):
                return "reordered", f"frame {seq} found where frame {expected} belongs"
            if self._splice and (other := self._splice(payload)):
                return "spliced", f"frame {expected}: spliced from session {other}"
            return "deleted", f"frames {expected}..{seq - 1} are missing (deleted)"
        if self._splice and (other := self._splice(payload)):
            return "spliced", f"frame {expected}: spliced from session {other}"
        where = "header or frame 0" if expected == 0 else f"frame {expected}"
        return "modified", f"{where} altered (does not authenticate)"

    def verdict(self) -> Verdict:
        """The verdict on everything read so far, treating the current end as final."""
        if self._failure is not None:
            return self._failure
        if self.header is None:
            return Verdict(self.session, "truncated", "truncated before the header was complete")
        spans = tuple(self.timeline.spans) if self.timeline else ()
        problems = self.timeline.finish() if self.timeline else []
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return self._verdict("policy-violation", problems[0] + more, timeline=spans)
        if self.closed:
            message = (
                f"intact and closed: {plural(self.frames, 'frame')}, "
                f"{plural(self.records, 'record')}"
            )
            return self._verdict(INTACT, message, timeline=spans)
        tail = " (a partial frame follows)" if self._torn else ""
        where = f"after sequence {self.frames - 1}" if self.frames else "before the first frame"
        if writer_active(self.path):
            return self._verdict(
                OPEN, f"still being written: no closing frame yet {where}{tail}", timeline=spans
            )
        return self._verdict(
            "truncated", f"truncated {where}: no closing frame{tail}", timeline=spans
        )


def _comes_later(seq: int, rest: Iterator[bytes]) -> bool:
    """Whether frame ``seq`` stands somewhere in ``rest`` (read lazily, never held whole)."""
    for payload in rest:
        try:
            if parse_frame_header(payload)[0] == seq:
                return True
        except FormatError:
            return False
    return False
