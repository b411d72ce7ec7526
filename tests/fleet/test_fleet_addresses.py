"""Addresses, subjects, limits and times as users type them: parsed exactly, or refused with
one clear error."""

from __future__ import annotations

import pytest

from sealog.errors import FormatError
from sealog.host import NatsTarget, limits_from_options
from sealog.host._nats import keep_token, msg_id, parse_msg_id
from sealog.owner import parse_when

SID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("url", "servers", "stream"),
    [
        ("nats://127.0.0.1:4222", ("nats://127.0.0.1:4222",), "SEALOG"),
        ("nats://n0,n1:5000/PROD", ("nats://n0:4222", "nats://n1:5000"), "PROD"),
        ("nats://[::1]:4222/S-1", ("nats://[::1]:4222",), "S-1"),
    ],
)
def test_nats_address_names_servers_and_stream(
    url: str, servers: tuple[str, ...], stream: str
) -> None:
    target = NatsTarget.parse(url)
    assert (target.servers, target.stream) == (servers, stream)


@pytest.mark.parametrize(
    "url", ["http://x:4222", "nats://", "nats://h:4222/a.b", "nats://h:4222/S/x", "nats://a b"]
)
def test_malformed_nats_address_is_refused(url: str) -> None:
    with pytest.raises(FormatError):
        NatsTarget.parse(url)


def test_keep_ids_that_subjects_cannot_hold_become_one_token() -> None:
    target = NatsTarget.parse("nats://h/S")
    subject = target.subject("db.primary eu", SID, "frame")
    assert subject.count(".") == 4
    assert target.split(subject) == (keep_token("db.primary eu"), SID, "frame")
    assert target.subject("payments-1", SID, "header") == f"sealog.S.payments-1.{SID}.header"
    assert target.split(f"sealog.S.k.{SID}.other") is None
    assert target.split(f"sealog.OTHER.k.{SID}.frame") is None


def test_message_ids_round_trip_and_foreign_ids_are_not_ours() -> None:
    assert parse_msg_id(msg_id(SID, "frame", 41)) == (SID, "frame", 41)
    assert parse_msg_id(msg_id(SID, "event", 0)) == (SID, "event", 0)
    assert parse_msg_id(msg_id(SID, "header")) == (SID, "header", 0)
    assert parse_msg_id("moved") is None
    assert parse_msg_id(None) is None


def test_retention_options_are_parsed_and_remembered_as_asked() -> None:
    limits = limits_from_options("12h", "10GiB", 3)
    assert (limits.max_age, limits.max_bytes, limits.replicas) == (43200.0, 10 * 2**30, 3)
    assert limits.explicit == {"max_age", "max_bytes", "replicas"}
    defaults = limits_from_options(None, None, None)
    assert (defaults.max_age, defaults.max_bytes, defaults.replicas) == (30 * 86400.0, -1, 1)
    assert defaults.explicit == frozenset()
    assert limits_from_options(None, "500MB", None).max_bytes == 500_000_000


@pytest.mark.parametrize(("age", "size"), [("soon", None), (None, "lots"), (None, "0")])
def test_malformed_retention_is_refused(age: str | None, size: str | None) -> None:
    with pytest.raises(FormatError):
        limits_from_options(age, size, None)


def test_times_are_iso_or_ages_before_now() -> None:
    assert parse_when("2026-11-27T10:00:00Z") == 1795773600.0
    assert parse_when("2026-11-27T10:00:00") == 1795773600.0  # no zone: UTC
    assert parse_when("15m", now=1000.0) == 100.0
    assert parse_when("2h", now=10000.0) == 2800.0
    with pytest.raises(FormatError):
        parse_when("yesterday")
