"""Sealing: the key schedule, frames, and the stream writer and reader."""

from sealog.seal._evidence import REPORT_DATA_SIZE, Evidence

__all__ = ["REPORT_DATA_SIZE", "Evidence"]
