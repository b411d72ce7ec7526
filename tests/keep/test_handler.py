"""The logging handler inside the Keep: secrets, redaction, tracebacks, rate limit, rhythm.

DESIGN.md section 2 (confidentiality, bounded metadata) and section 10 (durability against
constant-rate emission, capacity against constant rate). Every case logs through the real
stdlib ``logging`` into a real sealed session, then reads what the owner gets.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sealog
import sealog.testing
from sealog.host._store import Store
from sealog.keep._handler import SealogHandler
from sealog.keep._session import SealedSession
from sealog.owner import read_store, verify_store
from sealog.profile import Profile, TracebackMode, builtin_profile, parse_profile
from sealog.profile._model import Destination
from sealog.seal._container import Entry, iter_entries
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record
from sealog.seal._writer import start_session
from streams import none_evidence, plain_profile

TOKEN = "tok-7f3a9c2e51"  # noqa: S105 - a canary, not a password


@dataclasses.dataclass
class Keep:
    """A sealed session with a handler on a private logger, driven by the test."""

    session: SealedSession
    handler: SealogHandler
    log: logging.Logger
    store: Path
    seal_file: Path
    key: OwnerPrivateKey

    def frames_on_disk(self) -> int:
        """Frames the host holds right now (the header is not one)."""
        data = self.seal_file.read_bytes()
        return sum(1 for e in iter_entries(data) if isinstance(e, Entry)) - 1

    def frame_sizes(self) -> list[int]:
        data = self.seal_file.read_bytes()
        return [len(e.payload) for e in iter_entries(data) if isinstance(e, Entry)][1:]

    def owner_records(self) -> list[Record]:
        (verdict,) = verify_store(self.store, self.key)
        assert verdict.ok, verdict.message
        return [r for _, r in read_store(self.store, self.key)]


@pytest.fixture
def keep(tmp_path: Path, owner_key: OwnerPrivateKey) -> Iterator[Callable[..., Keep]]:
    """Build a :class:`Keep` for a profile; ``start`` runs the background emitter."""
    made: list[Keep] = []

    def build(profile: Profile, *, start: bool = False, clock: Any = None) -> Keep:
        stream = profile.stream
        key_id = owner_key.public_key.key_id
        launch = LaunchConfig(profile.name, profile.stage.value, b"\x22" * 32, key_id)
        header, sealer = start_session(
            owner_key.public_key,
            launch,
            none_evidence,
            epoch_frames=stream.epoch_frames,
            bucket=stream.bucket if stream.padding else 0,
            checkpoint_every=stream.checkpoint_every,
        )
        store = tmp_path / f"store-{len(made)}"
        sink = Store.create(store).new_session(header)
        extra = {"clock": clock} if clock is not None else {}
        session = SealedSession(sealer, sink, profile.owner, stream, start=start, **extra)
        handler = SealogHandler(session, profile)
        log = logging.getLogger(f"keep.{uuid.uuid4().hex[:12]}")
        log.propagate = False
        log.handlers = [handler]
        log.setLevel(handler.threshold)
        k = Keep(session, handler, log, store, store / f"{header.session_hex}.seal", owner_key)
        made.append(k)
        return k

    yield build
    for k in made:
        k.session.close()


def private_logger() -> logging.Logger:
    log = logging.getLogger(f"cap.{uuid.uuid4().hex[:12]}")
    log.propagate = False
    return log


def with_owner(profile: Profile, **rules: Any) -> Profile:
    return dataclasses.replace(profile, owner=dataclasses.replace(profile.owner, **rules))


# -- sealog.secret -----------------------------------------------------------------------------


def test_secret_shows_placeholder_in_every_text_conversion() -> None:
    s = sealog.secret(TOKEN)
    conversions = [
        str(s),
        repr(s),
        format(s),
        format(s, ">30"),
        "%s" % s,  # noqa: UP031 - the old-style operator is what logging uses
        "%r" % s,  # noqa: UP031
        f"{s}",
        f"{s!r}",
        f"{s!s:^40}",
        "{}".format(s),  # noqa: UP032
        str([s]),
        str({"k": s}),
    ]
    for text in conversions:
        assert TOKEN not in text
        assert "[secret]" in text
    assert s.value == TOKEN


def test_pickled_secret_does_not_carry_the_value() -> None:
    s = sealog.secret(TOKEN)
    data = pickle.dumps(s)
    assert TOKEN.encode() not in data
    assert pickle.loads(data) == "[secret]"  # noqa: S301 - our own bytes
    nested = pickle.dumps({"creds": [s]})
    assert TOKEN.encode() not in nested


@pytest.mark.parametrize("profile", ["testing", "staging", "production", "incident"])
def test_secret_is_placeholder_in_records_outside_development(profile: str) -> None:
    log = private_logger()
    with sealog.testing.capture_records(profile, logger=log) as cap:
        log.critical("token %s rejected", sealog.secret(TOKEN), extra={"tok": sealog.secret(TOKEN)})
        log.critical(sealog.secret(TOKEN))
        log.critical("as dict %(t)s", {"t": sealog.secret(TOKEN)})
    assert cap.messages() == ["token [secret] rejected", "[secret]", "as dict [secret]"]
    assert str(cap.records[0].fields["tok"]) == "[secret]"
    assert TOKEN not in repr(cap.records)


def test_secret_is_revealed_to_the_owner_only_under_development() -> None:
    log = private_logger()
    with sealog.testing.capture_records("development", logger=log) as cap:
        log.warning("token %s rejected", sealog.secret(TOKEN), extra={"tok": sealog.secret(TOKEN)})
        log.warning(sealog.secret(TOKEN))
    assert cap.messages() == [f"token {TOKEN} rejected", TOKEN]
    assert cap.records[0].fields["tok"] == TOKEN


def test_secret_never_reaches_the_sealed_stream_under_production(keep: Callable[..., Keep]) -> None:
    k = keep(builtin_profile("production"))
    k.log.error("token %s", sealog.secret(TOKEN), extra={"t": sealog.secret(TOKEN)})
    k.session.tick()
    k.session.close()
    (rec,) = [r for r in k.owner_records() if r.source == "workload"]
    assert rec.message == "token [secret]"
    assert rec.fields == {"t": "[secret]"}


# -- redaction -------------------------------------------------------------------------------


def test_sensitive_field_names_are_redacted_case_insensitively_and_nested() -> None:
    log = private_logger()
    fields = {
        "Password": "hunter2",
        "user": "bob",
        "request": {"headers": {"AUTHORIZATION": "Basic Ym9iOmh1bnRlcjI="}, "path": "/login"},
        "attempts": [{"Token": "t-1"}, {"note": "ok"}],
    }
    with sealog.testing.capture_records("production", logger=log) as cap:
        log.warning("login failed", extra=fields)
    got = cap.records[0].fields
    assert got["Password"] == "[redacted]"  # noqa: S105 - the placeholder
    assert got["user"] == "bob"
    assert got["request"] == {"headers": {"AUTHORIZATION": "[redacted]"}, "path": "/login"}
    assert got["attempts"] == [{"Token": "[redacted]"}, {"note": "ok"}]
    assert "hunter2" not in repr(cap.records)
    assert "Ym9i" not in repr(cap.records)


def test_bearer_token_matched_by_inline_flag_pattern_is_redacted_everywhere() -> None:
    """The built-in pattern is ``(?i)\\bbearer ...``: upper or mixed case must match too."""
    log = private_logger()
    leak = "BeArEr eyJhbGciOiJIUzI1NiJ9.payload"
    with sealog.testing.capture_records("production", logger=log) as cap:
        log.warning(f"call with {leak} failed for %s", "bob", extra={"hdr": {"v": [leak]}})
        try:
            raise PermissionError(f"rejected {leak}")
        except PermissionError:
            log.exception("upstream said no")
    first, second = cap.records
    assert first.message == "call with [redacted] failed for bob"
    assert first.template == "call with [redacted] failed for %s"
    assert first.fields == {"hdr": {"v": ["[redacted]"]}}
    assert second.exception is not None
    assert second.exception.message == "rejected [redacted]"
    assert "eyJhbGci" not in repr(cap.records)


def test_pattern_in_a_rendered_argument_is_redacted() -> None:
    log = private_logger()
    with sealog.testing.capture_records("production", logger=log) as cap:
        log.warning("key %s used", "AKIAABCDEFGHIJKLMNOP")
    assert cap.messages() == ["key [redacted] used"]


def test_custom_pattern_with_inline_flags_from_a_profile_file_is_applied() -> None:
    text = """
format = 1
name = "custom"
stage = "production"
[owner]
min_level = "INFO"
redact_patterns = ['(?i)ssn-\\d{4}', '(?i:card)=\\d{4}-\\d{4}']
"""
    profile = parse_profile(text, source="custom.toml")
    log = private_logger()
    with sealog.testing.capture_records(profile, logger=log) as cap:
        log.info("user SSN-1234 and ssn-9876 CARD=1111-2222 end")
    assert cap.messages() == ["user [redacted] and [redacted] [redacted] end"]


# -- traceback modes ---------------------------------------------------------------------------


def _fail_deep() -> None:
    def inner() -> None:
        raise ValueError("deep failure 42")

    inner()


@pytest.mark.parametrize("mode", list(TracebackMode))
def test_traceback_mode_decides_what_of_an_exception_leaves(mode: TracebackMode) -> None:
    profile = with_owner(builtin_profile("testing"), traceback=mode)
    log = private_logger()
    with sealog.testing.capture_records(profile, logger=log) as cap:
        try:
            _fail_deep()
        except ValueError:
            log.exception("it broke")
    exc = cap.records[0].exception
    assert exc is not None
    assert exc.type == "ValueError"
    if mode is TracebackMode.NONE:
        assert exc.message is None
        assert exc.frames == ()
        return
    assert exc.message == "deep failure 42"
    functions = [f[2] for f in exc.frames]
    assert functions[-2:] == ["_fail_deep", "inner"]
    assert all(f[0] == __file__ for f in exc.frames)
    lines = [f[3] for f in exc.frames]
    if mode is TracebackMode.FULL:
        assert lines[-1] == 'raise ValueError("deep failure 42")'
    else:
        assert lines == [None] * len(lines)


# -- rate limit --------------------------------------------------------------------------------


def test_records_over_the_rate_limit_are_counted_in_a_sealed_record(
    keep: Callable[..., Keep],
) -> None:
    k = keep(plain_profile(), start=False)
    k.session.set_owner_rules(Destination(min_level=10, rate_limit=5))
    for i in range(20):
        k.log.info("burst %d", i)
    k.session.flush()
    k.session.close()
    records = k.owner_records()
    workload = [r.message for r in records if r.source == "workload"]
    assert workload == [f"burst {i}" for i in range(5)]
    (note,) = [r for r in records if r.fields.get("rate_limited")]
    assert note.source == "sealog"
    assert note.fields["rate_limited"] == 15
    assert "15 records over the rate limit were not sealed" in note.message


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_records_logged_within_the_rate_are_not_limited_when_sealed_in_one_batch(
    keep: Callable[..., Keep],
) -> None:
    """A service logs one record per second under a limit of one per second; the sealer
    happens to seal them together (a long flush interval). None was over the limit."""
    clock = FakeClock()
    k = keep(plain_profile(flush_interval=5.0), start=False, clock=clock)
    k.session.set_owner_rules(Destination(min_level=10, rate_limit=1))

    def logged_at_clock(record: logging.LogRecord) -> bool:
        record.created = clock.now  # the records' own times, one second apart
        return True

    k.handler.addFilter(logged_at_clock)
    for i in range(5):
        k.log.info("steady %d", i)
        clock.now += 1.0
    k.session.flush()
    k.session.close()
    workload = [r.message for r in k.owner_records() if r.source == "workload"]
    assert workload == [f"steady {i}" for i in range(5)]


# -- durability and rhythm ---------------------------------------------------------------------


def test_error_without_cover_traffic_is_on_disk_before_the_call_returns(
    keep: Callable[..., Keep],
) -> None:
    k = keep(plain_profile(), start=True)  # flush interval: an hour
    k.log.info("routine")
    k.log.warning("odd")
    assert k.frames_on_disk() == 0  # batched: no frame per record
    k.log.error("payment failed")
    assert k.frames_on_disk() == 1  # sealed and written inside the logging call
    k.session.close()
    messages = [r.message for r in k.owner_records() if r.source == "workload"]
    assert messages == ["routine", "odd", "payment failed"]


def test_critical_without_cover_traffic_is_on_disk_before_the_call_returns(
    keep: Callable[..., Keep],
) -> None:
    k = keep(plain_profile(), start=True)
    k.log.critical("disk gone")
    assert k.frames_on_disk() == 1


def test_error_under_cover_traffic_waits_for_the_next_tick(keep: Callable[..., Keep]) -> None:
    k = keep(plain_profile(padding=True, cover_traffic=True, bucket=512), start=False)
    k.session.tick()
    k.session.tick()  # two cover frames: the rhythm the host sees
    assert k.frames_on_disk() == 2
    k.log.error("payment failed")
    k.log.critical("and worse")
    assert k.frames_on_disk() == 2  # no extra frame tells the host an error happened
    k.session.tick()
    assert k.frames_on_disk() == 3
    k.session.tick()
    assert k.frames_on_disk() == 4
    sizes = k.frame_sizes()
    assert len(set(sizes)) == 1, sizes  # cover and data frames look alike
    k.session.close()
    messages = [r.message for r in k.owner_records() if r.source == "workload"]
    assert messages == ["payment failed", "and worse"]


def test_backlog_overflow_under_cover_traffic_is_never_silent(keep: Callable[..., Keep]) -> None:
    profile = plain_profile(padding=True, cover_traffic=True, bucket=512, max_backlog=2000)
    k = keep(profile, start=False)
    for i in range(300):
        k.log.info("record number %d with some text to fill the backlog", i)
        if i % 50 == 0:
            k.session.tick()
    for _ in range(30):
        k.session.tick()
    k.session.close()
    records = k.owner_records()
    sealed = [r for r in records if r.source == "workload"]
    closing = records[-1]
    assert closing.message == "session closed"
    assert len(sealed) < 300  # the backlog did overflow
    assert closing.fields["dropped"] > 0
    assert any("dropped: backlog full" in r.message for r in records if r.source == "sealog")


def test_backlog_drop_count_matches_the_records_actually_lost(keep: Callable[..., Keep]) -> None:
    """The owner must be able to account for every record: sealed + counted as dropped."""
    profile = plain_profile(padding=True, cover_traffic=True, bucket=512, max_backlog=2000)
    k = keep(profile, start=False)
    logged = 300
    for i in range(logged):
        k.log.info("record number %d with some text to fill the backlog", i)
        if i % 50 == 0:
            k.session.tick()
    for _ in range(30):
        k.session.tick()
    k.session.close()
    records = k.owner_records()
    sealed = [r for r in records if r.source == "workload"]
    closing = records[-1]
    assert len(sealed) + closing.fields["dropped"] == logged


def test_errors_are_kept_when_the_backlog_overflows(keep: Callable[..., Keep]) -> None:
    profile = plain_profile(padding=True, cover_traffic=True, bucket=512, max_backlog=2000)
    k = keep(profile, start=False)
    for i in range(100):
        k.log.info("chatter %d with enough text to overflow the small backlog", i)
    k.log.error("the one that matters")
    k.session.tick()
    k.session.close()
    messages = [r.message for r in k.owner_records() if r.source == "workload"]
    assert "the one that matters" in messages


# -- sealog.testing ----------------------------------------------------------------------------


def _workload_code(log: logging.Logger) -> None:
    log.debug("debug detail")
    log.info("routine")
    log.warning("token %s for bearer abcdefghijk", sealog.secret(TOKEN), extra={"password": "x"})
    empty: dict[str, str] = {}
    try:
        empty["missing"]
    except KeyError:
        log.error("lookup failed", exc_info=True)


def test_capture_records_shows_exactly_what_the_owner_gets(keep: Callable[..., Keep]) -> None:
    profile = builtin_profile("production")
    log = private_logger()
    with sealog.testing.capture_records(profile, logger=log) as cap:
        _workload_code(log)
    k = keep(profile)
    _workload_code(k.log)
    k.session.close()
    sealed = [r for r in k.owner_records() if r.source == "workload"]

    def strip(r: Record) -> tuple[Any, ...]:
        return (r.level, r.logger is not None, r.message, r.template, dict(r.fields), r.exception)

    assert [strip(r) for r in cap.records] == [strip(r) for r in sealed]
    assert cap.messages() == ["token [secret] for [redacted]", "lookup failed"]
    assert cap.records[0].fields == {"password": "[redacted]"}
    assert [r.message for r in cap.ring] == ["debug detail", "routine"]
    assert cap.host_events == []


def test_capture_records_reports_host_error_codes_under_staging() -> None:
    log = private_logger()
    with sealog.testing.capture_records("staging", logger=log) as cap:
        log.error("card %s declined", "4111")
    assert cap.host_events == [{"event": "keep.error", "code": "workload.error"}]
    assert "4111" not in repr(cap.host_events)


def test_capture_records_restores_the_logger() -> None:
    log = private_logger()
    log.setLevel(logging.ERROR)
    with sealog.testing.capture_records("testing", logger=log):
        assert log.level == logging.DEBUG
    assert log.level == logging.ERROR
    assert log.handlers == []


def test_redaction_patterns_compile_with_their_own_flags() -> None:
    """Each pattern keeps its inline flags; a case-sensitive one stays case-sensitive."""
    profile = builtin_profile("production")
    assert any(p.flags & re.IGNORECASE for p in profile.owner.redact_patterns)
    log = private_logger()
    with sealog.testing.capture_records(profile, logger=log) as cap:
        log.warning("akiaabcdefghijklmnop stays, AKIAABCDEFGHIJKLMNOP goes")
    assert cap.messages() == ["akiaabcdefghijklmnop stays, [redacted] goes"]
