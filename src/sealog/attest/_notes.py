"""Words about attestation that reading a store needs without loading the verifiers.

Standard library only: the owner's reader names an unattested session in every verdict, and
importing the appraisal (``cryptography.x509``, the SNP and TDX verifiers) for one sentence was
a third of ``sealog read``'s start-up.
"""

from __future__ import annotations

__all__ = ["UNATTESTED_NOTE"]

#: What a session with ``none`` evidence proves, said wherever it is judged.
UNATTESTED_NOTE = "unattested: proves nothing about who wrote it"
