"""Every record a workload logs comes back to the owner unchanged.

The workload logs through ``sealog.open_session`` into a real store sealed to a real owner key;
the owner reads it back with ``read_store`` and checks it with ``verify_store``. Under the
development profile the owner gets everything (full tracebacks with locals); under production
tracebacks are redacted to their locations.
"""

from __future__ import annotations

import io
import logging
import math
import os
import random
import tempfile
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sealog
from sealog.owner import read_store, verify_store
from sealog.seal._container import Entry, iter_entries
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record


class Created(logging.Handler):
    """Keeps the stdlib records, to compare what the owner reads with what was logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def sealed_logger(
    store: Path, key: OwnerPrivateKey, profile: str
) -> Iterator[tuple[logging.Logger, Created]]:
    """A private logger routed through a real sealed session, closed on exit."""
    log = logging.getLogger(f"rt.{uuid.uuid4().hex[:12]}")
    log.propagate = False
    created = Created()
    log.addHandler(created)
    session = sealog.open_session(
        key.public_key, store, profile, logger=log, host_stream=io.StringIO()
    )
    try:
        yield log, created
    finally:
        session.close()
        log.handlers.clear()


def owner_reads(store: Path, key: OwnerPrivateKey) -> list[Record]:
    """The workload's records, after checking every session is intact."""
    verdicts = verify_store(store, key)
    assert verdicts, "no session"
    for v in verdicts:
        assert v.ok, v.message
    return [r for _, r in read_store(store, key) if r.source == "workload"]


def frame_sizes(store: Path) -> list[int]:
    (path,) = store.glob("*.seal")
    return [len(e.payload) for e in iter_entries(path.read_bytes()) if isinstance(e, Entry)][1:]


# -- one record, every part --------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["development", "production"])
def test_every_part_of_a_record_comes_back_unchanged(
    tmp_path: Path, owner_key: OwnerPrivateKey, profile: str
) -> None:
    fields = {
        "count": 7,
        "ratio": 0.125,
        "big": 2**70,
        "ok": True,
        "nothing": None,
        "tags": ["a", "b", 3],
        "nested": {"k": {"deeper": [1, {"x": "y"}]}},
        "text": "plain",
    }
    with sealed_logger(tmp_path / "st", owner_key, profile) as (log, created):
        log.warning("retry %d of %s at %.1f%%", 2, "db", 99.5, extra=fields)
    (rec,) = owner_reads(tmp_path / "st", owner_key)
    (orig,) = created.records
    assert rec.time == orig.created
    assert rec.level == logging.WARNING
    assert rec.level_name == "WARNING"
    assert rec.logger == log.name
    assert rec.message == "retry 2 of db at 99.5%"
    assert rec.template == "retry %d of %s at %.1f%%"
    assert dict(rec.fields) == fields
    assert rec.exception is None


def test_custom_levels_keep_their_number(tmp_path: Path, owner_key: OwnerPrivateKey) -> None:
    logging.addLevelName(25, "NOTICE")
    logging.addLevelName(45, "ALERT")
    with sealed_logger(tmp_path / "st", owner_key, "development") as (log, _):
        log.log(25, "a notice")
        log.log(45, "an alert")
        log.log(11, "just above debug")
    got = [(r.level, r.level_name, r.message) for r in owner_reads(tmp_path / "st", owner_key)]
    assert got == [
        (25, "NOTICE", "a notice"),
        (45, "ALERT", "an alert"),
        (11, "Level 11", "just above debug"),
    ]


def test_message_without_arguments_keeps_percent_signs_and_has_no_template(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    with sealed_logger(tmp_path / "st", owner_key, "development") as (log, _):
        log.info("100% done, %s stays literal")
        log.info({"a dict": "as message"})
    first, second = owner_reads(tmp_path / "st", owner_key)
    assert (first.message, first.template) == ("100% done, %s stays literal", None)
    assert second.message == "{'a dict': 'as message'}"


def test_unicode_and_emoji_survive(tmp_path: Path, owner_key: OwnerPrivateKey) -> None:
    fraktur = "\U0001d518\U0001d52b\U0001d526"
    text = f"Zahlung fehlgeschlagen: 💳❌ — 東京 — Ω≈ç√ — \u200b zero width — {fraktur}"
    with sealed_logger(tmp_path / "st", owner_key, "production") as (log, _):
        logging.getLogger(log.name).warning("%s", text, extra={"ключ": "значение 🔑"})
    (rec,) = owner_reads(tmp_path / "st", owner_key)
    assert rec.message == text
    assert dict(rec.fields) == {"ключ": "значение 🔑"}


def test_very_long_messages_span_several_padded_frames(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    # Random text: padded streams are compressed, and repetitive text would fit in one frame.
    rng = random.Random(7)
    long_a = "".join(rng.choice("0123456789abcdef-") for _ in range(28_000))
    long_b = "".join(rng.choice("é🙂жñ") for _ in range(18_000))  # multi-byte UTF-8
    with sealed_logger(tmp_path / "st", owner_key, "production") as (log, _):
        log.warning(long_a)
        log.error("b: %s", long_b)
        log.warning("short after")
    got = [r.message for r in owner_reads(tmp_path / "st", owner_key)]
    assert got == [long_a, f"b: {long_b}", "short after"]
    sizes = frame_sizes(tmp_path / "st")
    assert len(sizes) > 5  # the records could not fit in fewer 4 KiB frames
    assert set(sizes) == {4096 + 28}  # padded: every frame has the same size


# -- exceptions --------------------------------------------------------------------------------


def _charge(amount: int) -> None:
    limit = 100
    if amount > limit:
        raise ValueError(f"amount {amount} over limit {limit}")


def _checkout() -> None:
    basket = ["apple", "pear"]
    _charge(len(basket) * 1000)


def _raise_and_log(log: logging.Logger) -> BaseException:
    try:
        _checkout()
    except ValueError as exc:
        log.exception("checkout failed")
        return exc
    raise AssertionError("no exception")


def test_exception_with_frames_comes_back_in_full_under_development(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    with sealed_logger(tmp_path / "st", owner_key, "development") as (log, _):
        exc = _raise_and_log(log)
    (rec,) = owner_reads(tmp_path / "st", owner_key)
    assert rec.level == logging.ERROR
    assert rec.message == "checkout failed"
    info = rec.exception
    assert info is not None
    assert info.type == "ValueError"
    assert info.message == "amount 2000 over limit 100"
    expected = [
        (f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)
    ]
    assert list(info.frames) == expected
    assert [f[2] for f in info.frames] == ["_raise_and_log", "_checkout", "_charge"]
    assert info.frames[-1][3] == 'raise ValueError(f"amount {amount} over limit {limit}")'
    assert info.locals[-1]["amount"] == "2000"
    assert info.locals[1]["basket"] == "['apple', 'pear']"


def test_exception_is_redacted_to_locations_under_production(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    with sealed_logger(tmp_path / "st", owner_key, "production") as (log, _):
        exc = _raise_and_log(log)
    (rec,) = owner_reads(tmp_path / "st", owner_key)
    info = rec.exception
    assert info is not None
    assert info.type == "ValueError"
    assert info.message == "amount 2000 over limit 100"
    expected = [
        (f.filename, f.lineno, f.name, None) for f in traceback.extract_tb(exc.__traceback__)
    ]
    assert list(info.frames) == expected
    assert info.locals == ()


def test_exception_type_of_a_module_keeps_its_qualified_name(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    with sealed_logger(tmp_path / "st", owner_key, "development") as (log, _):
        try:
            os.stat(tmp_path / "no-such-file")
        except OSError:
            log.exception("stat failed")
        try:
            raise sealog.FormatError("bad thing")
        except sealog.Error:
            log.exception("ours")
    first, second = owner_reads(tmp_path / "st", owner_key)
    assert first.exception is not None
    assert first.exception.type == "FileNotFoundError"
    assert second.exception is not None
    assert second.exception.type == "sealog.errors.FormatError"


# -- concurrency -------------------------------------------------------------------------------


def test_records_from_many_threads_are_neither_lost_nor_duplicated(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    threads_n, per_thread = 8, 300
    with sealed_logger(tmp_path / "st", owner_key, "development") as (log, _):
        start = threading.Barrier(threads_n)

        def work(t: int) -> None:
            start.wait()
            for i in range(per_thread):
                log.info("thread %d record %d", t, i, extra={"t": t, "i": i})
                if i % 97 == 0:
                    log.error("thread %d error %d", t, i, extra={"t": t, "i": -1 - i})

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    records = owner_reads(tmp_path / "st", owner_key)
    seen = [(r.fields["t"], r.fields["i"]) for r in records if r.level == logging.INFO]
    assert len(seen) == len(set(seen)) == threads_n * per_thread
    for t in range(threads_n):
        mine = [i for (tt, i) in seen if tt == t]
        assert mine == list(range(per_thread)), f"thread {t} out of order"
    errors = [r for r in records if r.level == logging.ERROR]
    assert len(errors) == threads_n * len(range(0, per_thread, 97))


# -- bytes a workload cannot help --------------------------------------------------------------


def test_message_with_an_undecodable_file_name_is_not_lost(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    """``os.fsdecode`` turns a file name that is not UTF-8 into lone surrogates; logging it
    must not lose that record, nor the records sealed in the same batch."""
    name = os.fsdecode(b"report-\xff\xfe.csv")
    with sealed_logger(tmp_path / "st", owner_key, "development") as (log, _):
        log.info("before")
        log.info("cannot open %s", name)
        log.info("after")
    got = [r.message for r in owner_reads(tmp_path / "st", owner_key)]
    assert got[0] == "before"
    assert got[1].startswith("cannot open report-")
    assert got[2] == "after"


# -- properties --------------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=200)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_fields = st.dictionaries(
    st.text(min_size=1, max_size=20).map(lambda k: f"f_{k}"), _json, max_size=5
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _roundtrip(owner_key: OwnerPrivateKey, body: Callable[[logging.Logger], None]) -> list[Record]:
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "st"
        with sealed_logger(store, owner_key, "development") as (log, _):
            body(log)
        return owner_reads(store, owner_key)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(message=_text, arg=_text, fields=_fields)
def test_arbitrary_text_and_fields_round_trip(
    owner_key: OwnerPrivateKey, message: str, arg: str, fields: dict[str, Any]
) -> None:
    def body(log: logging.Logger) -> None:
        log.warning(message, extra=fields)
        log.warning("<%s>", arg, extra=fields)

    plain, templated = _roundtrip(owner_key, body)
    assert plain.message == message
    assert plain.template is None
    assert templated.message == f"<{arg}>"
    assert templated.template == "<%s>"
    assert _same(dict(plain.fields), fields)
    assert _same(dict(templated.fields), fields)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(messages=st.lists(_text, min_size=1, max_size=30))
def test_any_sequence_of_messages_comes_back_in_order(
    owner_key: OwnerPrivateKey, messages: list[str]
) -> None:
    def body(log: logging.Logger) -> None:
        for i, m in enumerate(messages):
            (log.error if i % 5 == 4 else log.info)(m)

    assert [r.message for r in _roundtrip(owner_key, body)] == messages


def test_owner_may_name_the_store_as_a_string_like_open_session_does(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    """``open_session`` takes ``store="store"``; the owner's calls must take the same string
    (and never fail with a raw ``AttributeError``)."""
    store = str(tmp_path / "st")
    with sealed_logger(Path(store), owner_key, "development") as (log, _):
        log.warning("by name")
    (verdict,) = verify_store(store, owner_key)
    assert verdict.ok
    got = [r.message for _, r in read_store(store, owner_key) if r.source == "workload"]
    assert got == ["by name"]


def test_private_keys_never_show_in_their_repr() -> None:
    """A repr ends up in tracebacks, test failures and logs: no private key bytes in it."""
    from sealog.audit import SigningKey
    from sealog.seal import generate_owner_key

    for kem in ("x25519", "mlkem768-x25519"):
        key = generate_owner_key(kem)
        assert key.raw.hex() not in repr(key)
        assert repr(key.raw)[2:-1] not in repr(key)
    signing = SigningKey.generate()
    assert "PRIVATE" not in repr(signing)
