"""The attestation evidence field of a session header.

The sealing layer only carries evidence; producing it (providers) and judging it (verifiers)
is the job of :mod:`sealog.attest`, which imports this module, never the other way round.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from sealog.errors import FormatError

__all__ = ["REPORT_DATA_SIZE", "Evidence"]

#: Both SEV-SNP and TDX reports carry exactly 64 bytes of caller-chosen report data.
REPORT_DATA_SIZE = 64


@dataclass(frozen=True)
class Evidence:
    """Attestation evidence as stored in a session header.

    Attributes:
        provider: the provider that produced it: ``none``, ``tsm`` or ``gramine``.
        kind: what the blob is: ``none``, ``sev-snp`` (an attestation report), ``tdx``
            (a v4 quote) or ``sgx`` (a Gramine DCAP quote).
        report_data: the 64 bytes the Keep asked the hardware to sign.
        blob: the raw report or quote, exactly as the kernel or runtime returned it.
        aux: auxiliary data (``auxblob``: the SNP certificate table), empty when absent.
    """

    provider: str
    kind: str
    report_data: bytes
    blob: bytes = b""
    aux: bytes = b""

    def __post_init__(self) -> None:
        if len(self.report_data) != REPORT_DATA_SIZE:
            got = len(self.report_data)
            raise FormatError(f"evidence report data is {got} bytes, expected {REPORT_DATA_SIZE}")

    def to_json(self) -> dict[str, str]:
        """The header's JSON form: text fields as they are, bytes in standard base64."""
        return {
            "aux": base64.b64encode(self.aux).decode(),
            "blob": base64.b64encode(self.blob).decode(),
            "kind": self.kind,
            "provider": self.provider,
            "report_data": self.report_data.hex(),
        }

    @classmethod
    def from_json(cls, obj: Any) -> Evidence:
        """Parse the header's JSON form.

        Raises:
            FormatError: a field is missing or of the wrong type or encoding.
        """
        if not isinstance(obj, dict):
            raise FormatError("evidence: expected an object")
        try:
            return cls(
                provider=_text(obj, "provider"),
                kind=_text(obj, "kind"),
                report_data=bytes.fromhex(_text(obj, "report_data")),
                blob=base64.b64decode(_text(obj, "blob"), validate=True),
                aux=base64.b64decode(_text(obj, "aux"), validate=True),
            )
        except (ValueError, binascii.Error) as exc:
            raise FormatError(f"evidence: bad encoding ({exc})") from exc


def _text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise FormatError(f"evidence: field {key!r} missing or not a string")
    return value
