"""The helper process that writes scheduled frames: order, completeness, the host's notes.

Emission timing itself is measured in bench/ (never timed here); these cases check that
handing frames to another process loses, reorders or duplicates nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sealog.keep._timed_writer import TimedWriter


def test_frames_handed_to_the_helper_are_written_in_order_and_each_noted_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "frames"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    notes: list[tuple[int, float]] = []
    writer = TimedWriter(fd, lambda size, when: notes.append((size, when)))
    now = time.monotonic()
    frames = [bytes([i]) * (100 + i) for i in range(20)]
    for i, frame in enumerate(frames):
        writer.write_at(now + i * 0.001, frame, len(frame) - 1)
    writer.close()  # returns once the helper wrote everything it held
    os.close(fd)
    assert path.read_bytes() == b"".join(frames)
    assert [size for size, _ in notes] == [len(f) - 1 for f in frames]
    assert [when for _, when in notes] == sorted(when for _, when in notes)
    assert len(writer.lateness) == len(frames)


def test_a_frame_due_in_the_past_is_written_at_once(tmp_path: Path) -> None:
    path = tmp_path / "frames"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    writer = TimedWriter(fd, lambda size, when: None)
    writer.write_at(time.monotonic() - 60, b"late frame", 10)
    writer.close()
    os.close(fd)
    assert path.read_bytes() == b"late frame"
