"""The strict profile loader: a typo in a security policy is refused, never ignored."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sealog.errors import FormatError
from sealog.profile import (
    SOURCES,
    Destination,
    HostClear,
    Overflow,
    Stage,
    StreamSettings,
    TracebackMode,
    load_profile,
    parse_profile,
    resolve_profile,
)

MINIMAL = 'format = 1\nname = "custom"\nstage = "production"\n'


def refused(text: str, source: str = "custom.toml") -> str:
    """Parse ``text`` expecting a FormatError; return its message."""
    with pytest.raises(FormatError) as info:
        parse_profile(text, source=source)
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    assert message.startswith(f"{source}: ")
    return message


def test_minimal_profile_gets_every_default() -> None:
    profile = parse_profile(MINIMAL, source="custom.toml")
    assert profile.name == "custom"
    assert profile.stage is Stage.PRODUCTION
    assert profile.description == ""
    assert profile.reveal_secrets is False
    assert profile.production_secrets is False
    assert profile.trace is False
    assert profile.host is HostClear.EVENTS
    assert profile.host_rules == Destination()
    assert profile.owner == Destination()
    assert profile.ring is None
    assert profile.ring_records == 0
    assert profile.stream == StreamSettings()


def test_every_key_is_read() -> None:
    text = (
        MINIMAL.replace("production", "staging")
        + """
description = "all keys"
production_secrets = true
trace = true
host = "events+codes"
[host_rules]
min_level = "error"
sources = ["sealog", "workload"]
traceback = "none"
redact_fields = ["password"]
redact_patterns = ['AKIA[0-9A-Z]{16}']
rate_limit = 2.5
[owner]
min_level = "Debug"
traceback = "full"
rate_limit = 7
[ring]
records = 100
min_level = "DEBUG"
sources = ["runtime"]
[stream]
bucket = 256
flush_interval = 2
padding = true
cover_traffic = true
checkpoint_every = 3
epoch_frames = 5
max_backlog = 256
"""
    )
    profile = parse_profile(text, source="all.toml")
    assert profile.stage is Stage.STAGING
    assert profile.description == "all keys"
    assert profile.production_secrets is True
    assert profile.trace is True
    assert profile.host is HostClear.EVENTS_AND_CODES
    assert profile.host_rules.min_level == logging.ERROR
    # Sources are a set: kept in the fixed order of SOURCES, whatever the file's order.
    assert profile.host_rules.sources == ("workload", "sealog")
    assert profile.host_rules.traceback is TracebackMode.NONE
    assert profile.host_rules.redact_fields == ("password",)
    assert [p.pattern for p in profile.host_rules.redact_patterns] == ["AKIA[0-9A-Z]{16}"]
    assert profile.host_rules.rate_limit == 2.5
    assert profile.owner.min_level == logging.DEBUG
    assert profile.owner.sources == SOURCES
    assert profile.owner.traceback is TracebackMode.FULL
    assert profile.owner.rate_limit == 7.0
    assert isinstance(profile.owner.rate_limit, float)
    assert profile.ring == Destination(min_level=logging.DEBUG, sources=("runtime",))
    assert profile.ring_records == 100
    assert profile.stream == StreamSettings(
        bucket=256,
        flush_interval=2.0,
        padding=True,
        cover_traffic=True,
        checkpoint_every=3,
        epoch_frames=5,
        max_backlog=256,
    )
    assert isinstance(profile.stream.flush_interval, float)


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("verbose = true\n", "verbose"),
        ("[owner]\nmin_levle = 'DEBUG'\n", "owner.min_levle"),
        ("[host_rules]\nredact = ['x']\n", "host_rules.redact"),
        ("[ring]\nrecords = 5\nsize = 5\n", "ring.size"),
        ("[stream]\npaddding = true\n", "stream.paddding"),
        ("[owner.extra]\nx = 1\n", "owner.extra"),
        ("[logging]\nlevel = 'DEBUG'\n", "logging"),
    ],
)
def test_unknown_key_is_rejected_not_ignored(extra: str, path: str) -> None:
    message = refused(MINIMAL + extra)
    assert f": {path}: unknown key" in message


def test_records_key_outside_ring_is_unknown() -> None:
    assert "owner.records: unknown key" in refused(MINIMAL + "[owner]\nrecords = 5\n")


@pytest.mark.parametrize("key", ["format", "name", "stage"])
def test_missing_required_key_is_refused(key: str) -> None:
    lines = [line for line in MINIMAL.splitlines() if not line.startswith(key)]
    message = refused("\n".join(lines))
    assert f": {key}: required key is missing" in message


def test_ring_without_size_is_refused() -> None:
    assert "ring.records: required key is missing" in refused(MINIMAL + "[ring]\n")


@pytest.mark.parametrize(
    ("extra", "path", "found"),
    [
        # bool is not an int, even though Python says it is.
        ("[stream]\nbucket = true\n", "stream.bucket", "got true"),
        ("[stream]\ncheckpoint_every = 1.0\n", "stream.checkpoint_every", "got 1.0"),
        ("[stream]\npadding = 1\n", "stream.padding", "got 1"),
        ("[stream]\nflush_interval = '1'\n", "stream.flush_interval", "got '1'"),
        ("[stream]\nflush_interval = true\n", "stream.flush_interval", "got true"),
        ("[owner]\nrate_limit = false\n", "owner.rate_limit", "got false"),
        ("trace = 'yes'\n", "trace", "got 'yes'"),
        ("reveal_secrets = 0\n", "reveal_secrets", "got 0"),
        ("description = 3\n", "description", "got 3"),
        ("owner = 'DEBUG'\n", "owner", "got 'DEBUG'"),
        ("[[owner]]\nmin_level = 'DEBUG'\n", "owner", "got an array"),
        ("[owner]\nsources = 'workload'\n", "owner.sources", "got 'workload'"),
        ("[owner]\nsources = ['workload', 1]\n", "owner.sources[1]", "got 1"),
        ("[owner]\nredact_fields = 'password'\n", "owner.redact_fields", "got 'password'"),
        ("[owner]\nredact_patterns = 'x'\n", "owner.redact_patterns", "got 'x'"),
        ("[owner]\nmin_level = 10\n", "owner.min_level", "got 10"),
        ("[ring]\nrecords = '5'\n", "ring.records", "got '5'"),
        ("stage2 = 1979-05-27\n", "stage2", "unknown key"),
    ],
)
def test_wrong_type_is_refused_with_expected_and_found(extra: str, path: str, found: str) -> None:
    message = refused(MINIMAL + extra)
    assert f": {path}: " in message
    assert found in message


def test_int_is_accepted_where_a_float_is_expected() -> None:
    profile = parse_profile(MINIMAL + "[stream]\nflush_interval = 3\n", source="x.toml")
    assert profile.stream.flush_interval == 3.0


def test_unknown_level_names_file_path_expected_and_found() -> None:
    message = refused(MINIMAL + "[owner]\nmin_level = 'VERBOSE'\n", source="production.toml")
    assert message == (
        "production.toml: owner.min_level: expected one of DEBUG, INFO, WARNING, ERROR, "
        "CRITICAL, got 'VERBOSE'"
    )


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("[owner]\nsources = ['workload', 'kernel']\n", "owner.sources[1]"),
        ("[owner]\ntraceback = 'partial'\n", "owner.traceback"),
        ("[owner]\ntraceback = 'FULL'\n", "owner.traceback"),
        ("host = 'everything'\n", "host"),
        ("format = 2\n", "format"),
    ],
)
def test_unknown_enum_value_is_refused(extra: str, path: str) -> None:
    text = MINIMAL.replace("format = 1\n", "") if extra.startswith("format") else MINIMAL
    assert f": {path}: expected " in refused(text + extra)


@pytest.mark.parametrize("stage", ["developer", "prod", "Production", ""])
def test_unknown_stage_is_refused(stage: str) -> None:
    message = refused(MINIMAL.replace('stage = "production"', f'stage = "{stage}"'))
    assert ": stage: expected one of development, testing, staging, production, incident" in message


@pytest.mark.parametrize("fmt", ["true", "1.0", "'1'", "0"])
def test_format_must_be_exactly_integer_one(fmt: str) -> None:
    assert ": format: expected 1, got " in refused(MINIMAL.replace("format = 1", f"format = {fmt}"))


@pytest.mark.parametrize("name", ["", "Production", "-lead", "has space", "a" * 65, "dots.no"])
def test_bad_profile_name_is_refused(name: str) -> None:
    assert ": name: expected " in refused(MINIMAL.replace('"custom"', f'"{name}"'))


@pytest.mark.parametrize("name", ["a", "0", "prod-eu_1", "a" * 64])
def test_good_profile_names_are_accepted(name: str) -> None:
    assert parse_profile(MINIMAL.replace('"custom"', f'"{name}"'), source="x").name == name


def test_bad_regex_names_pattern_and_re_message() -> None:
    message = refused(MINIMAL + "[owner]\nredact_patterns = ['ok', '(unclosed']\n")
    assert "owner.redact_patterns[1]: bad regular expression '(unclosed'" in message
    assert "missing )" in message


def test_empty_regex_is_refused_because_it_matches_everywhere() -> None:
    assert "owner.redact_patterns[0]: expected a non-empty" in refused(
        MINIMAL + "[owner]\nredact_patterns = ['']\n"
    )


def test_empty_redact_field_name_is_refused() -> None:
    assert "owner.redact_fields[0]: expected a non-empty field name" in refused(
        MINIMAL + "[owner]\nredact_fields = ['']\n"
    )


def test_empty_sources_would_silence_a_destination_and_is_refused() -> None:
    assert "owner.sources: expected a non-empty array" in refused(
        MINIMAL + "[owner]\nsources = []\n"
    )


def test_duplicate_sources_are_refused() -> None:
    assert "owner.sources: expected unique sources" in refused(
        MINIMAL + "[owner]\nsources = ['workload', 'workload']\n"
    )


@pytest.mark.parametrize("stage", ["testing", "staging", "production", "incident"])
def test_reveal_secrets_outside_development_is_refused(stage: str) -> None:
    text = MINIMAL.replace("production", stage) + "reveal_secrets = true\n"
    assert ': reveal_secrets: true is only allowed with stage = "development"' in refused(text)


@pytest.mark.parametrize("stage", ["testing", "staging", "production", "incident"])
def test_host_records_in_clear_outside_development_is_refused(stage: str) -> None:
    text = MINIMAL.replace("production", stage) + "host = 'records'\n"
    assert ': host: "records" is only allowed with stage = "development"' in refused(text)


def test_development_may_reveal_secrets_and_show_records() -> None:
    text = MINIMAL.replace("production", "development")
    profile = parse_profile(text + "reveal_secrets = true\nhost = 'records'\n", source="x")
    assert profile.reveal_secrets is True
    assert profile.host is HostClear.RECORDS


@pytest.mark.parametrize("stage", ["development", "testing"])
def test_production_secrets_for_a_never_eligible_stage_is_refused(stage: str) -> None:
    text = MINIMAL.replace("production", stage) + "production_secrets = true\n"
    assert ": production_secrets: true is not allowed" in refused(text)


def test_cover_traffic_without_padding_is_refused_because_it_leaks_sizes() -> None:
    message = refused(MINIMAL + "[stream]\ncover_traffic = true\n")
    assert ": stream.cover_traffic: cover_traffic = true requires padding = true" in message


@pytest.mark.parametrize(
    ("stream", "path"),
    [
        ("bucket = 255", "stream.bucket"),
        ("bucket = 1048577", "stream.bucket"),
        ("bucket = -1", "stream.bucket"),
        ("flush_interval = 0", "stream.flush_interval"),
        ("flush_interval = -0.5", "stream.flush_interval"),
        ("flush_interval = 3600.5", "stream.flush_interval"),
        ("flush_interval = nan", "stream.flush_interval"),
        ("flush_interval = inf", "stream.flush_interval"),
        ("checkpoint_every = 0", "stream.checkpoint_every"),
        ("epoch_frames = 0", "stream.epoch_frames"),
        ("bucket = 8192\nmax_backlog = 8191", "stream.max_backlog"),
    ],
)
def test_out_of_range_stream_setting_is_refused(stream: str, path: str) -> None:
    assert f": {path}: expected " in refused(MINIMAL + f"[stream]\n{stream}\n")


@pytest.mark.parametrize(
    "stream",
    ["bucket = 256", "bucket = 1048576", "flush_interval = 3600", "flush_interval = 0.001"],
)
def test_stream_bounds_are_inclusive(stream: str) -> None:
    parse_profile(MINIMAL + f"[stream]\n{stream}\n", source="x")


@pytest.mark.parametrize("value", ["-1", "-0.1", "nan", "-inf", "inf"])
def test_negative_or_non_finite_rate_limit_is_refused(value: str) -> None:
    assert ": owner.rate_limit: expected a finite number >= 0" in refused(
        MINIMAL + f"[owner]\nrate_limit = {value}\n"
    )


def test_ring_size_must_be_positive() -> None:
    assert ": ring.records: expected an integer >= 1, got 0" in refused(
        MINIMAL + "[ring]\nrecords = 0\n"
    )


def test_toml_syntax_error_names_the_file() -> None:
    message = refused(MINIMAL + "[owner\n", source="broken.toml")
    assert message.startswith("broken.toml: invalid TOML: ")
    assert "line 4" in message


def test_load_profile_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL + "[owner]\nmin_level = 'LOUD'\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"mine\.toml: owner\.min_level: expected one of"):
        load_profile(path)


def test_missing_profile_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"absent\.toml: no such file"):
        load_profile(tmp_path / "absent.toml")


def test_profile_directory_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="is a folder, expected a profile file"):
        load_profile(tmp_path)


def test_non_utf8_profile_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.encode() + b'description = "caf\xe9"\n')
    with pytest.raises(FormatError, match="not UTF-8"):
        load_profile(path)


def test_resolve_reads_a_file_path(tmp_path: Path) -> None:
    path = tmp_path / "custom.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert resolve_profile(str(path)).name == "custom"


def test_resolve_unknown_name_lists_the_builtins() -> None:
    with pytest.raises(FormatError) as info:
        resolve_profile("prod")
    message = str(info.value)
    assert message.startswith("prod: not a built-in profile")
    for name in ("development", "testing", "staging", "production", "incident"):
        assert name in message


def test_resolve_prefers_the_builtin_over_a_same_named_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "production").write_text(MINIMAL.replace("custom", "impostor"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert resolve_profile("production").name == "production"
    assert resolve_profile("./production").name == "impostor"


def test_profiles_are_frozen() -> None:
    profile = parse_profile(MINIMAL, source="x")
    with pytest.raises(AttributeError):
        profile.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("stream", "path"),
    [
        ('overflow = "burst"', "stream.overflow"),
        ('overflow = "step"\nstep_levels = [1]', "stream.step_levels"),
        ('overflow = "step"\nstep_levels = [2, 4]', "stream.step_levels"),
        ('overflow = "step"\nstep_levels = [1, 4, 4]', "stream.step_levels"),
        ('overflow = "step"\nstep_levels = [1, 65]', "stream.step_levels[1]"),
        ('overflow = "step"\nstep_levels = []', "stream.step_levels"),
        ('overflow = "step"\nstep_levels = [1, 2]\nstep_hold = 2.5', "stream.step_hold"),
        ('overflow = "step"\nstep_levels = [1, 2]\nstep_hold = 0', "stream.step_hold"),
        ("pad_multiple = 0", "stream.pad_multiple"),
        ("pad_multiple = 65537", "stream.pad_multiple"),
        ("pad_multiple = true", "stream.pad_multiple"),
    ],
)
def test_a_mistyped_overflow_policy_is_refused_never_replaced_by_a_default(
    stream: str, path: str
) -> None:
    """A typo in how the stream overflows must not silently change what the host learns."""
    assert f": {path}: " in refused(MINIMAL + f"[stream]\n{stream}\n")


def test_step_policy_with_a_ladder_and_a_whole_hold_is_read() -> None:
    profile = parse_profile(
        MINIMAL + '[stream]\noverflow = "step"\nstep_levels = [1, 2, 8]\nstep_hold = 30\n'
        "pad_multiple = 16\n",
        source="x",
    )
    assert profile.stream.overflow is Overflow.STEP
    assert profile.stream.step_levels == (1, 2, 8)
    assert profile.stream.step_hold == 30.0
    assert profile.stream.pad_multiple == 16
