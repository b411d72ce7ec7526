"""The host tampers with a stored session; the owner's verify must name what happened.

DESIGN.md section 2, promise 2 (integrity). Every case edits a real stored stream the way a
host could, then asserts the exact verdict.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from sealog.owner import verify_store
from sealog.seal._container import MAGIC, Entry, encode_entry, iter_entries
from sealog.seal._keys import OwnerPrivateKey, generate_owner_key
from streams import SessionMaker


def entries(path: Path) -> list[bytes]:
    """Header then frames, as stored."""
    return [e.payload for e in iter_entries(path.read_bytes()) if isinstance(e, Entry)]


def rewrite(path: Path, payloads: list[bytes]) -> None:
    path.write_bytes(MAGIC + b"".join(encode_entry(p) for p in payloads))


def only_verdict(store: Path, key: OwnerPrivateKey) -> tuple[str, str, int | None]:
    (verdict,) = verify_store(store, key)
    return verdict.status, verdict.message, verdict.at_seq


def test_untouched_session_is_intact_and_closed(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, _ = make_session()
    status, message, _ = only_verdict(store, owner_key)
    assert status == "intact"
    assert "41 records" in message  # 40 logged, and the closing record


def test_host_flips_a_ciphertext_byte_is_detected_as_modified(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session()
    path = store / f"{sid}.seal"
    parts = entries(path)
    frame = bytearray(parts[3])
    frame[-5] ^= 0x01
    parts[3] = bytes(frame)
    rewrite(path, parts)
    status, message, at = only_verdict(store, owner_key)
    assert (status, at) == ("modified", 2)
    assert "frame 2" in message


def test_host_drops_middle_frame_is_detected(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session()
    path = store / f"{sid}.seal"
    parts = entries(path)
    del parts[4]  # frame 3
    rewrite(path, parts)
    status, message, at = only_verdict(store, owner_key)
    assert (status, at) == ("deleted", 3)
    assert "frames 3..3 are missing" in message


def test_host_swaps_two_frames_is_detected_as_reordered(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session()
    path = store / f"{sid}.seal"
    parts = entries(path)
    parts[2], parts[3] = parts[3], parts[2]  # frames 1 and 2
    rewrite(path, parts)
    status, _, at = only_verdict(store, owner_key)
    assert (status, at) == ("reordered", 1)


def test_host_replays_a_frame_is_detected_as_duplicated(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session()
    path = store / f"{sid}.seal"
    parts = entries(path)
    parts.insert(3, parts[2])  # frame 1 again after itself
    rewrite(path, parts)
    status, message, at = only_verdict(store, owner_key)
    assert (status, at) == ("duplicated", 2)
    assert "frame 1 appears again" in message


def test_frame_spliced_from_another_session_is_named(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid_a = make_session()
    _, sid_b = make_session()
    path_a = store / f"{sid_a}.seal"
    parts_a = entries(path_a)
    parts_b = entries(store / f"{sid_b}.seal")
    parts_a[3] = parts_b[3]  # same position, other session
    rewrite(path_a, parts_a)
    verdicts = {v.session: v for v in verify_store(store, owner_key)}
    assert verdicts[sid_a].status == "spliced"
    assert sid_b in verdicts[sid_a].message
    assert verdicts[sid_b].ok


def test_splice_is_named_whichever_file_the_host_dated_first(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    """The spliced frame sits in both files; the host sets file times, so the session that
    holds the copy may come first in the store: the verdict must not depend on it."""
    store, sid_a = make_session()
    _, sid_b = make_session()
    path_a = store / f"{sid_a}.seal"
    parts_a = entries(path_a)
    parts_a[3] = entries(store / f"{sid_b}.seal")[3]
    rewrite(path_a, parts_a)
    os.utime(path_a, (1, 1))  # the spliced session is now the oldest file in the store
    verdicts = {v.session: v for v in verify_store(store, owner_key)}
    assert verdicts[sid_a].status == "spliced"
    assert sid_b in verdicts[sid_a].message


def test_session_file_copied_under_another_name_is_caught(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session()
    fake = "f" * 32
    shutil.copy(store / f"{sid}.seal", store / f"{fake}.seal")
    verdicts = {v.session: v for v in verify_store(store, owner_key)}
    assert verdicts[fake].status == "spliced"
    assert verdicts[sid].ok


def test_missing_closing_frame_is_truncated_never_intact(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session()
    path = store / f"{sid}.seal"
    parts = entries(path)
    n_frames = len(parts) - 1
    rewrite(path, parts[:-1])
    status, message, _ = only_verdict(store, owner_key)
    assert status == "truncated"
    assert f"truncated after sequence {n_frames - 2}" in message


def test_torn_last_frame_is_truncated_after_last_whole_frame(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session()
    path = store / f"{sid}.seal"
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    n_frames = len(entries(path)) - 1  # whole frames left
    status, message, _ = only_verdict(store, owner_key)
    assert status == "truncated"
    assert f"after sequence {n_frames - 1}" in message
    assert "partial frame" in message


def test_session_never_closed_reports_truncated(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, _ = make_session(close=False)
    status, _, _ = only_verdict(store, owner_key)
    assert status == "truncated"


def test_frame_appended_after_close_is_detected(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session()
    path = store / f"{sid}.seal"
    parts = entries(path)
    rewrite(path, [*parts, parts[2]])
    status, _, _ = only_verdict(store, owner_key)
    assert status == "modified"


def test_altered_clear_sequence_number_is_modified_not_deleted(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session()
    path = store / f"{sid}.seal"
    parts = entries(path)
    frame = bytearray(parts[3])
    frame[7] ^= 0x40  # low byte of seq
    parts[3] = bytes(frame)
    rewrite(path, parts)
    status, message, _ = only_verdict(store, owner_key)
    assert status == "modified"
    assert "sequence number altered" in message


@pytest.mark.parametrize(
    ("old", "new"),
    [(b'"keep":"keep"', b'"keep":"kEEp"'), (b'"profile":"test"', b'"profile":"tEst"')],
)
def test_header_edited_is_detected(
    make_session: SessionMaker, owner_key: OwnerPrivateKey, old: bytes, new: bytes
) -> None:
    store, sid = make_session()
    path = store / f"{sid}.seal"
    parts = entries(path)
    assert old in parts[0]
    parts[0] = parts[0].replace(old, new)
    rewrite(path, parts)
    status, _, _ = only_verdict(store, owner_key)
    assert status == "modified"


def test_session_for_another_owner_is_not_addressed(make_session: SessionMaker) -> None:
    other = generate_owner_key()
    store, _ = make_session(key=other)
    status, message, _ = only_verdict(store, generate_owner_key())
    assert status == "not-addressed"
    assert other.public_key.key_id in message


def test_damaged_length_prefix_is_modified_not_truncated(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session()
    path = store / f"{sid}.seal"
    data = bytearray(path.read_bytes())
    last = [e for e in iter_entries(bytes(data)) if isinstance(e, Entry)][-1]
    data[last.offset + 3] ^= 0x01
    path.write_bytes(bytes(data))
    status, _, _ = only_verdict(store, owner_key)
    assert status == "modified"


@pytest.mark.parametrize(
    "tail",
    [
        b"\x00\x01\x02",  # 3 bytes: less than an entry's length prefix
        b"\x00\x00\x00\x10\xff\xff\xff",  # 7 bytes
        # an entry header that claims 16 MiB, then 1 MiB of arbitrary bytes
        (16 << 20).to_bytes(4, "big")
        + ((16 << 20) ^ 0xFFFFFFFF).to_bytes(4, "big")
        + b"\xa5" * (1 << 20),
    ],
    ids=["3-bytes", "7-bytes", "16MiB-claim"],
)
def test_bytes_appended_after_close_are_a_modification(
    make_session: SessionMaker, owner_key: OwnerPrivateKey, tail: bytes
) -> None:
    """The reader used to take a torn entry after the close for one still being written."""
    store, sid = make_session()
    path = store / f"{sid}.seal"
    with path.open("ab") as fh:
        fh.write(tail)
    status, message, _ = only_verdict(store, owner_key)
    assert status == "modified"
    assert "after the closing frame" in message


def _reseal_closing_frame(
    path: Path, owner_key: OwnerPrivateKey, edit: Callable[[bytes], bytes]
) -> None:
    """Do what the owner can: derive the closing frame's key, re-encrypt edited content."""
    from sealog.seal._frames import FrameOpener, KeySchedule, core_digest
    from sealog.seal._header import Header

    parts = entries(path)
    header = Header.from_bytes(parts[0])
    root = owner_key.open(header.enc, header.hpke_info)
    opener = FrameOpener(header, root)
    for payload in parts[1:-1]:
        opener.open(payload)
    last = parts[-1]
    seq = opener.next_seq
    aead = KeySchedule(root, core_digest(header)).aead(seq)
    aad = b"sealog/frame/v2\n" + header.digest + last[:12] + opener.chain
    plain = aead.decrypt(seq.to_bytes(12, "big"), last[12:], aad)
    edited = edit(plain)
    assert edited != plain
    assert len(edited) == len(plain)
    parts[-1] = last[:12] + aead.encrypt(seq.to_bytes(12, "big"), edited, aad)
    rewrite(path, parts)


def test_owner_cannot_rewrite_the_closing_frame_unnoticed(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    """The owner re-encrypts the closing frame with a record changed ("payment FAILED" into
    "OK", exit code 3 into 0): the last signature covers the closing frame's own content, so
    verify refuses it although every AEAD tag is right."""
    store, sid = make_session(records=3, frames_every=100)
    path = store / f"{sid}.seal"
    # The closing frame carries the pending records and the ``session closed`` record.
    _reseal_closing_frame(path, owner_key, lambda p: p.replace(b"record 2", b"record 9"))
    status, _, at = only_verdict(store, owner_key)
    assert status == "modified"
    assert at is not None
