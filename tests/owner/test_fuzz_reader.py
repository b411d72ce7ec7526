"""Whatever bytes the host stores, the owner's tools name a verdict and never crash.

Random frames, trailing bytes, rewritten and truncated entries and whole random store files
go to the reader and to the owner's commands (``read``, ``verify``, ``host-view``): no
traceback, no hang, and never ``intact`` for a session whose bytes were changed.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealog.host._store import Store
from sealog.owner import verify_store
from sealog.seal._container import MAGIC, Entry, encode_entry, iter_entries
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import OwnerPrivateKey, generate_owner_key, write_key_pair
from sealog.seal._writer import start_session
from streams import SessionMaker, none_evidence

sys.path.insert(0, str(Path(__file__).parent.parent / "cli"))
from inprocess import cli

_CACHE: dict[int, tuple[Path, Path, bytes]] = {}


def _session(make_session: SessionMaker, owner_key: OwnerPrivateKey) -> tuple[Path, Path, bytes]:
    """One real session per test (each example restores its bytes)."""
    if id(make_session) not in _CACHE:
        store, sid = make_session(records=12, frames_every=3)
        path = store / f"{sid}.seal"
        write_key_pair(owner_key, store.parent / "owner")
        _CACHE[id(make_session)] = (store, path, path.read_bytes())
    return _CACHE[id(make_session)]


def _entries(data: bytes) -> list[bytes]:
    return [e.payload for e in iter_entries(data) if isinstance(e, Entry)]


#: How the host may change a stored session: each returns the new file bytes.
Mutation = Callable[[bytes, bytes, float, int], bytes]


def _append(original: bytes, extra: bytes, _pos: float, _n: int) -> bytes:
    return original + extra


def _overwrite(original: bytes, extra: bytes, pos: float, _n: int) -> bytes:
    at = int(pos * len(original))
    return original[:at] + extra + original[at + len(extra) :]


def _truncate(original: bytes, _extra: bytes, pos: float, _n: int) -> bytes:
    return original[: int(pos * len(original))]


def _insert_frame(original: bytes, extra: bytes, _pos: float, n: int) -> bytes:
    parts = _entries(original)
    parts.insert(1 + n % len(parts), extra)
    return MAGIC + b"".join(encode_entry(p) for p in parts)


def _replace_frame(original: bytes, extra: bytes, _pos: float, n: int) -> bytes:
    parts = _entries(original)
    parts[1 + n % (len(parts) - 1)] = extra
    return MAGIC + b"".join(encode_entry(p) for p in parts)


def _random_file(_original: bytes, extra: bytes, _pos: float, _n: int) -> bytes:
    return extra


MUTATIONS: list[Mutation] = [
    _append,
    _overwrite,
    _truncate,
    _insert_frame,
    _replace_frame,
    _random_file,
]
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(
    mutation=st.sampled_from(MUTATIONS),
    extra=st.binary(min_size=1, max_size=300),
    pos=st.floats(0, 1, exclude_max=True),
    n=st.integers(0, 1000),
)
def test_changed_session_bytes_are_never_intact_and_never_crash(
    make_session: SessionMaker,
    owner_key: OwnerPrivateKey,
    mutation: Mutation,
    extra: bytes,
    pos: float,
    n: int,
) -> None:
    store, path, original = _session(make_session, owner_key)
    changed = mutation(original, extra, pos, n)
    path.write_bytes(changed)
    try:
        (verdict,) = verify_store(store, owner_key)
    finally:
        path.write_bytes(original)
    if changed != original:
        assert verdict.status != "intact", (mutation.__name__, verdict.message)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mutation=st.sampled_from(MUTATIONS),
    extra=st.binary(min_size=1, max_size=200),
    pos=st.floats(0, 1, exclude_max=True),
    n=st.integers(0, 1000),
    command=st.sampled_from(["read", "verify", "host-view"]),
    note=st.sampled_from(["", ".index", ".events.jsonl"]),
)
def test_owner_commands_on_random_store_files_end_in_a_verdict_or_one_line(
    make_session: SessionMaker,
    owner_key: OwnerPrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
    mutation: Mutation,
    extra: bytes,
    pos: float,
    n: int,
    command: str,
    note: str,
) -> None:
    store, path, original = _session(make_session, owner_key)
    work = tmp_path_factory.mktemp("fuzz") / "store"
    shutil.copytree(store, work)
    target = work / path.name
    if note:  # the host's own notes: random bytes where it keeps its index or events
        target = work / (path.name.removesuffix(".seal") + note)
        target.write_bytes(extra)
    else:
        target.write_bytes(mutation(original, extra, pos, n))
    args: list[str | Path] = [command, work]
    if command != "host-view":
        args += ["--key", store.parent / "owner.key"]
    done = cli(*args)
    assert done.exception is None, repr(done.exception)
    assert "Traceback" not in done.stderr
    assert done.code in (0, 1, 2), done.code
    if done.code == 2:
        assert len(done.stderr.splitlines()) == 1, done.stderr
    if command == "verify" and not note and target.read_bytes() != original:
        assert done.code != 0, done.stdout


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(_JSON, max_size=10) | _JSON, max_size=4))
def test_random_rows_sealed_by_a_real_keep_never_crash_the_owner(
    tmp_path_factory: pytest.TempPathFactory, rows: list[Any]
) -> None:
    """Whatever a (buggy or hostile) sealer put inside authenticated frames, the owner gets a
    verdict and an exit code, never a traceback."""
    root = tmp_path_factory.mktemp("rows")
    owner = generate_owner_key()
    write_key_pair(owner, root / "owner")
    launch = LaunchConfig("test", "production", b"\x11" * 32, owner.public_key.key_id)
    header, sealer = start_session(owner.public_key, launch, none_evidence)
    sink = Store.create(root / "store").new_session(header)
    body = json.dumps(rows, default=str).encode()
    sink.write_frame(sealer.seal(len(body).to_bytes(4, "big") + body))
    sink.write_frame(sealer.seal(b"", close=True))
    sink.close()
    (verdict,) = verify_store(root / "store", owner)
    assert verdict.status in ("intact", "modified"), verdict.message
    for command in ("read", "verify"):
        done = cli(command, root / "store", "--key", root / "owner.key")
        assert done.exception is None, repr(done.exception)
        assert done.code in (0, 1), done.stderr
