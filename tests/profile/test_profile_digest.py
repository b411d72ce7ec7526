"""The profile digest: the same policy always hashes the same, a different policy never does."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.errors import FormatError
from sealog.profile import (
    LEVELS,
    SOURCES,
    Destination,
    Profile,
    Stage,
    StreamSettings,
    canonical_bytes,
    canonical_dict,
    parse_profile,
    profile_digest,
)

MINIMAL = 'format = 1\nname = "custom"\nstage = "production"\n'

_DEFAULT_DEST = (
    '{"min_level":"INFO","rate_limit":0.0,"redact_fields":[],"redact_patterns":[],'
    '"sources":["workload","runtime","sealog"],"traceback":"redacted"}'
)
#: The exact bytes hashed for MINIMAL, written out by hand so that the encoding cannot drift.
MINIMAL_CANONICAL = (
    b"sealog/profile/v1\n"
    + (
        '{"description":"","host":"events","host_rules":' + _DEFAULT_DEST + ',"name":"custom",'
        '"owner":' + _DEFAULT_DEST + ',"production_secrets":false,"reveal_secrets":false,'
        '"ring":null,"ring_records":0,"stage":"production","stream":{"bucket":4096,'
        '"checkpoint_every":32,"cover_traffic":false,"epoch_frames":64,"flush_interval":1.0,'
        '"max_backlog":4194304,"overflow":"drop","pad_multiple":1,"padding":false,"step_hold":60.0,'
        '"step_levels":[1]},"trace":false}'
    ).encode()
)


def digest_of(text: str) -> bytes:
    return profile_digest(parse_profile(text, source="x.toml"))


def test_canonical_bytes_of_a_minimal_profile_are_exactly_as_documented() -> None:
    profile = parse_profile(MINIMAL, source="x.toml")
    assert canonical_bytes(profile) == MINIMAL_CANONICAL
    assert profile_digest(profile) == hashlib.sha256(MINIMAL_CANONICAL).digest()
    assert len(profile_digest(profile)) == 32


def test_digest_stable_across_key_order_and_whitespace() -> None:
    reordered = '\n# a comment\nstage="production"   \n\n  name  =  "custom"\nformat=1 # one\n'
    assert digest_of(reordered) == digest_of(MINIMAL)


def test_writing_out_a_default_does_not_change_the_digest() -> None:
    explicit = MINIMAL + (
        "description = ''\ntrace = false\nhost = 'events'\n"
        "[owner]\nmin_level = 'info'\nsources = ['sealog', 'runtime', 'workload']\n"
        "rate_limit = 0\n[stream]\nflush_interval = 1\nbucket = 4096\n"
    )
    assert digest_of(explicit) == digest_of(MINIMAL)


def test_level_case_in_the_file_does_not_change_the_digest() -> None:
    upper = MINIMAL + "[owner]\nmin_level = 'DEBUG'\n"
    lower = MINIMAL + "[owner]\nmin_level = 'debug'\n"
    assert digest_of(upper) == digest_of(lower)


def test_profile_built_in_code_hashes_like_the_loaded_one() -> None:
    built = Profile(
        name="custom",
        stage=Stage.PRODUCTION,
        stream=StreamSettings(flush_interval=1),
        owner=Destination(rate_limit=0),
    )
    assert profile_digest(built) == digest_of(MINIMAL)


def test_unnamed_level_in_a_hand_built_profile_is_refused() -> None:
    odd = Profile(name="custom", stage=Stage.PRODUCTION, owner=Destination(min_level=15))
    with pytest.raises(FormatError, match=r"owner\.min_level: level 15 has no name"):
        profile_digest(odd)


def test_non_ascii_text_is_hashed_as_utf8_not_escaped() -> None:
    profile = parse_profile(MINIMAL + 'description = "café"\n', source="x.toml")
    assert '"description":"café"'.encode() in canonical_bytes(profile)


def test_canonical_dict_is_valid_json_round_trip() -> None:
    profile = parse_profile(MINIMAL + "[ring]\nrecords = 3\n", source="x.toml")
    data = canonical_dict(profile)
    assert json.loads(json.dumps(data)) == data
    assert data["ring_records"] == 3
    assert data["ring"]["min_level"] == "INFO"


@pytest.mark.parametrize(
    "change",
    [
        "description = 'x'\n",
        "trace = true\n",
        "production_secrets = true\n",
        "host = 'events+codes'\n",
        "[owner]\nmin_level = 'WARNING'\n",
        "[owner]\nsources = ['workload']\n",
        "[owner]\ntraceback = 'full'\n",
        "[owner]\nredact_fields = ['password']\n",
        "[owner]\nredact_patterns = ['secret']\n",
        "[owner]\nrate_limit = 0.5\n",
        "[host_rules]\nmin_level = 'ERROR'\n",
        "[ring]\nrecords = 1\n",
        "[stream]\nbucket = 8192\n",
        "[stream]\nflush_interval = 0.5\n",
        "[stream]\npadding = true\n",
        "[stream]\ncheckpoint_every = 1\n",
        "[stream]\nepoch_frames = 1\n",
        "[stream]\nmax_backlog = 4096\n",
    ],
)
def test_changing_any_single_setting_changes_the_digest(change: str) -> None:
    assert digest_of(MINIMAL + change) != digest_of(MINIMAL)


def test_moving_a_rule_between_destinations_changes_the_digest() -> None:
    owner = digest_of(MINIMAL + "[owner]\nmin_level = 'DEBUG'\n")
    host = digest_of(MINIMAL + "[host_rules]\nmin_level = 'DEBUG'\n")
    assert owner != host


def test_redaction_list_order_and_pattern_text_are_hashed_exactly() -> None:
    a = digest_of(MINIMAL + "[owner]\nredact_patterns = ['a+', 'b+']\n")
    b = digest_of(MINIMAL + "[owner]\nredact_patterns = ['b+', 'a+']\n")
    c = digest_of(MINIMAL + "[owner]\nredact_patterns = ['a+', 'b{1,}']\n")
    assert len({a, b, c}) == 3


# --- property tests: any valid profile, written any way, hashes the same ---------------------

_PATTERNS = ["AKIA[0-9A-Z]{16}", "(?i)secret", r"\d{4}", "x+y", "[,;]"]
_LEVEL_NAMES = list(LEVELS)
_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@st.composite
def destinations(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "min_level": draw(st.sampled_from(_LEVEL_NAMES)),
        "sources": draw(st.lists(st.sampled_from(SOURCES), min_size=1, unique=True)),
        "traceback": draw(st.sampled_from(["full", "redacted", "none"])),
        "redact_fields": draw(st.lists(_TEXT.filter(lambda s: s.strip() != ""), max_size=3)),
        "redact_patterns": draw(st.lists(st.sampled_from(_PATTERNS), max_size=3)),
        "rate_limit": draw(
            st.one_of(st.integers(0, 1000).map(float), st.floats(0, 1e6, allow_nan=False))
        ),
    }


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid profile as a nested dict of TOML values, every key present."""
    stage = draw(st.sampled_from([s.value for s in Stage]))
    dev = stage == "development"
    padding = draw(st.booleans())
    bucket = draw(st.integers(256, 1 << 20))
    spec: dict[str, Any] = {
        "format": 1,
        "name": draw(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,12}", fullmatch=True)),
        "stage": stage,
        "description": draw(_TEXT),
        "reveal_secrets": draw(st.booleans()) if dev else False,
        "production_secrets": (
            draw(st.booleans()) if stage in ("staging", "production", "incident") else False
        ),
        "trace": draw(st.booleans()),
        "host": draw(
            st.sampled_from(
                ["records", "events+codes", "events"] if dev else ["events+codes", "events"]
            )
        ),
        "host_rules": draw(destinations()),
        "owner": draw(destinations()),
        "stream": {
            "bucket": bucket,
            "flush_interval": draw(
                st.floats(0.001, 3600).filter(lambda f: f > 0) | st.integers(1, 3600).map(float)
            ),
            "padding": padding,
            "cover_traffic": draw(st.booleans()) if padding else False,
            "checkpoint_every": draw(st.integers(1, 10_000)),
            "epoch_frames": draw(st.integers(1, 10_000)),
            "max_backlog": draw(st.integers(bucket, 1 << 30)),
            "pad_multiple": draw(st.integers(1, 1000)),
        },
    }
    if draw(st.booleans()):
        spec["ring"] = {**draw(destinations()), "records": draw(st.integers(1, 100_000))}
    return spec


_DEFAULTS: dict[str, Any] = {
    "description": "",
    "reveal_secrets": False,
    "production_secrets": False,
    "trace": False,
    "host": "events",
    "min_level": "INFO",
    "traceback": "redacted",
    "redact_fields": [],
    "redact_patterns": [],
    "rate_limit": 0.0,
    "bucket": 4096,
    "flush_interval": 1.0,
    "padding": False,
    "cover_traffic": False,
    "checkpoint_every": 32,
    "epoch_frames": 64,
    "max_backlog": 4 * 1024 * 1024,
    "overflow": "drop",
    "pad_multiple": 1,
}


def _is_default(key: str, value: Any) -> bool:
    if key == "sources":
        return sorted(value) == sorted(SOURCES)
    return key in _DEFAULTS and _DEFAULTS[key] == value and type(_DEFAULTS[key]) is type(value)


def _value(value: Any, rng: random.Random | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if rng is not None and value.is_integer() and abs(value) < 2**53 and rng.random() < 0.5:
            return str(int(value))  # an int where a float is expected means the same
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if rng is not None and rng.random() < 0.3 and "'" not in value and "\n" not in value:
            return f"'{value}'"  # a literal string
        return json.dumps(value, ensure_ascii=False)
    items = list(value)
    sep = ", " if rng is None else rng.choice([",", ", ", " ,\n  "])
    return "[" + sep.join(_value(v, rng) for v in items) + "]"


def render(spec: dict[str, Any], rng: random.Random | None = None) -> str:
    """Write ``spec`` as TOML; with ``rng``, in a random but equivalent way."""

    def pairs(table: dict[str, Any]) -> list[str]:
        keys = [k for k, v in table.items() if not isinstance(v, dict)]
        if rng is not None:
            rng.shuffle(keys)
            keys = [k for k in keys if not (_is_default(k, table[k]) and rng.random() < 0.5)]
        lines = []
        for key in keys:
            value = table[key]
            if key == "sources" and rng is not None:
                value = rng.sample(value, len(value))  # sources are a set
            if key == "min_level" and rng is not None:
                value = rng.choice([value, value.lower(), value.title()])
            eq = " = " if rng is None else rng.choice(["=", " = ", "  =\t"])
            comment = "" if rng is None or rng.random() < 0.7 else "  # note"
            lines.append(f"{key}{eq}{_value(value, rng)}{comment}")
            if rng is not None and rng.random() < 0.2:
                lines.append("" if rng.random() < 0.5 else "# a comment line")
        return lines

    out = pairs(spec)
    tables = [k for k, v in spec.items() if isinstance(v, dict)]
    if rng is not None:
        rng.shuffle(tables)
    for name in tables:
        body = pairs(spec[name])
        if rng is not None and not body and name != "ring" and rng.random() < 0.5:
            continue  # an empty table means the same as no table
        out.append(f"[{name}]")
        out.extend(body)
    return "\n".join(out) + "\n"


@settings(max_examples=150, deadline=None)
@given(spec=specs(), seed=st.integers())
def test_any_valid_profile_hashes_the_same_however_it_is_written(
    spec: dict[str, Any], seed: int
) -> None:
    plain = parse_profile(render(spec), source="plain.toml")
    shuffled = parse_profile(render(spec, random.Random(seed)), source="shuffled.toml")
    assert shuffled == plain
    assert profile_digest(shuffled) == profile_digest(plain)


def _mutations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every single-setting change of ``spec`` that keeps it valid, with a label."""
    out: list[tuple[str, dict[str, Any]]] = []

    def variant(label: str, path: tuple[str, ...], value: Any) -> None:
        new = json.loads(json.dumps(spec))
        node = new
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        out.append((label, new))

    name = spec["name"]
    variant("name", ("name",), name + "x" if len(name) < 64 else name[:-1])
    variant("description", ("description",), spec["description"] + ".")
    variant("trace", ("trace",), not spec["trace"])
    if spec["stage"] in ("staging", "production", "incident"):
        stages = ["staging", "production", "incident"]
        variant("stage", ("stage",), stages[(stages.index(spec["stage"]) + 1) % 3])
        variant("production_secrets", ("production_secrets",), not spec["production_secrets"])
    if spec["host"] != "records":
        variant("host", ("host",), "events" if spec["host"] == "events+codes" else "events+codes")
    dests = ["host_rules", "owner"] + (["ring"] if "ring" in spec else [])
    for dest in dests:
        d = spec[dest]
        level = _LEVEL_NAMES[(_LEVEL_NAMES.index(d["min_level"]) + 1) % len(_LEVEL_NAMES)]
        variant(f"{dest}.min_level", (dest, "min_level"), level)
        modes = ["full", "redacted", "none"]
        variant(
            f"{dest}.traceback", (dest, "traceback"), modes[(modes.index(d["traceback"]) + 1) % 3]
        )
        others = [s for s in SOURCES if s not in d["sources"]]
        variant(
            f"{dest}.sources",
            (dest, "sources"),
            d["sources"][1:] if others == [] else d["sources"] + others[:1],
        )
        variant(f"{dest}.redact_fields", (dest, "redact_fields"), [*d["redact_fields"], "zz"])
        variant(f"{dest}.redact_patterns", (dest, "redact_patterns"), [*d["redact_patterns"], "q+"])
        variant(f"{dest}.rate_limit", (dest, "rate_limit"), d["rate_limit"] + 1.0)
    if "ring" in spec:
        variant("ring.records", ("ring", "records"), spec["ring"]["records"] + 1)
    s = spec["stream"]
    variant("stream.flush_interval", ("stream", "flush_interval"), s["flush_interval"] / 2)
    variant("stream.checkpoint_every", ("stream", "checkpoint_every"), s["checkpoint_every"] + 1)
    variant("stream.epoch_frames", ("stream", "epoch_frames"), s["epoch_frames"] + 1)
    variant("stream.max_backlog", ("stream", "max_backlog"), s["max_backlog"] + 1)
    variant("stream.pad_multiple", ("stream", "pad_multiple"), s["pad_multiple"] + 1)
    variant(
        "stream.bucket",
        ("stream", "bucket"),
        s["bucket"] - 1 if s["bucket"] > 256 else 257,
    )
    if not s["cover_traffic"]:
        variant("stream.padding", ("stream", "padding"), not s["padding"])
    elif s["padding"]:
        variant("stream.cover_traffic", ("stream", "cover_traffic"), False)
    return out


@settings(max_examples=100, deadline=None)
@given(spec=specs(), data=st.data())
def test_changing_any_value_changes_the_digest(spec: dict[str, Any], data: st.DataObject) -> None:
    original = profile_digest(parse_profile(render(spec), source="a.toml"))
    label, changed = data.draw(st.sampled_from(_mutations(spec)), label="mutation")
    if label == "stream.bucket" and changed["stream"]["max_backlog"] < changed["stream"]["bucket"]:
        changed["stream"]["max_backlog"] = changed["stream"]["bucket"]
    mutated = parse_profile(render(changed), source="b.toml")
    assert profile_digest(mutated) != original, label


def test_digest_ignores_nothing_a_hand_built_profile_carries() -> None:
    base = Profile(name="custom", stage=Stage.PRODUCTION)
    variants = [
        replace(base, ring=Destination(), ring_records=0),
        replace(base, ring_records=5),
        replace(base, owner=Destination(min_level=logging.DEBUG)),
    ]
    digests = {profile_digest(p) for p in [base, *variants]}
    assert len(digests) == 4
