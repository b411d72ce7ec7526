"""Attestation providers: ask the platform to sign 64 bytes of report data.

Each provider takes its filesystem root as a parameter, so the same code runs against the
kernel's configfs, Gramine's pseudo-files, or a folder tree that behaves like them in tests.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path
from typing import Protocol, runtime_checkable

from sealog.errors import AttestationUnavailable, FormatError
from sealog.seal import REPORT_DATA_SIZE, Evidence

__all__ = [
    "NONE_STATEMENT",
    "PROVIDER_NAMES",
    "GramineProvider",
    "NoneProvider",
    "Provider",
    "TsmProvider",
    "auto_provider",
    "provider_by_name",
]

#: The blob of ``none`` evidence: a plain statement, so nobody mistakes it for a report.
NONE_STATEMENT = (
    b"sealog attestation provider 'none': this evidence was not produced by a TEE and proves "
    b"nothing about the platform, its measurement or its debug state."
)
#: Names the command line accepts for ``--attest``.
PROVIDER_NAMES = ("none", "tsm", "gramine", "auto")

DEFAULT_TSM_ROOT = Path("/sys/kernel/config/tsm/report")
DEFAULT_GRAMINE_ROOT = Path("/dev/attestation")

#: configfs-tsm ``provider`` values and the evidence kind each produces.
_TSM_KINDS = {"sev_guest": "sev-snp", "tdx_guest": "tdx"}
#: Gramine ``attestation_type`` values that yield an SGX quote.
_GRAMINE_KINDS = {"dcap": "sgx", "epid": "sgx"}


@runtime_checkable
class Provider(Protocol):
    """What every attestation provider offers."""

    @property
    def name(self) -> str:
        """The provider's name: ``none``, ``tsm`` or ``gramine``."""
        ...

    def available(self) -> bool:
        """Whether this provider can run here."""
        ...

    def collect(self, report_data: bytes) -> Evidence:
        """Produce evidence over exactly 64 bytes of report data."""
        ...


def _check_report_data(report_data: bytes) -> bytes:
    if not isinstance(report_data, bytes | bytearray) or len(report_data) != REPORT_DATA_SIZE:
        got = len(report_data) if isinstance(report_data, bytes | bytearray) else "not"
        raise FormatError(f"report data is {got} bytes, expected exactly {REPORT_DATA_SIZE}")
    return bytes(report_data)


class NoneProvider:
    """Evidence that says plainly it proves nothing (development only).

    It never satisfies a TEE requirement; the report data is still carried, so a relying party
    can check that it binds the session header.
    """

    name = "none"

    def available(self) -> bool:
        """Always true."""
        return True

    def collect(self, report_data: bytes) -> Evidence:
        """Return ``none`` evidence over ``report_data``.

        Raises:
            FormatError: ``report_data`` is not 64 bytes.
        """
        return Evidence("none", "none", _check_report_data(report_data), NONE_STATEMENT)


def _unavailable(action: str, exc: OSError, path: Path) -> AttestationUnavailable:
    """Turn a kernel error from configfs-tsm into one clear line."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return AttestationUnavailable(
            f"no permission to {action} ({path}): configfs-tsm needs root or a granted group"
        )
    if code == errno.EBUSY:
        return AttestationUnavailable(f"configfs-tsm is busy, could not {action} ({path}); retry")
    if code in (errno.ENXIO, errno.ENODEV, errno.EOPNOTSUPP, errno.ENOTTY):
        return AttestationUnavailable(
            f"configfs-tsm could not {action}: no TEE guest driver answered "
            f"({os.strerror(code)}; is sev-guest or tdx-guest loaded?)"
        )
    if code == errno.EINVAL:
        return AttestationUnavailable(f"configfs-tsm refused to {action}: invalid argument")
    if code == errno.ENOENT:
        return AttestationUnavailable(f"configfs-tsm could not {action}: {path} not found")
    reason = os.strerror(code) if code else str(exc)
    return AttestationUnavailable(f"configfs-tsm could not {action} ({path}): {reason}")


class TsmProvider:
    """Linux configfs-tsm (kernel 6.7+): SEV-SNP and TDX guests.

    One call makes a fresh report folder, writes the report data to ``inblob``, reads
    ``outblob`` (and ``auxblob``, the SNP certificate table), checks that no other writer
    changed the request in between (``generation``), and removes the folder, also on failure.
    """

    name = "tsm"

    def __init__(self, root: Path = DEFAULT_TSM_ROOT) -> None:
        """Use the configfs-tsm report folder at ``root``."""
        self.root = Path(root)

    def available(self) -> bool:
        """Whether the configfs-tsm report folder exists."""
        return self.root.is_dir()

    def collect(self, report_data: bytes) -> Evidence:
        """Ask the TEE for a report over ``report_data``.

        Raises:
            FormatError: ``report_data`` is not 64 bytes.
            AttestationUnavailable: not a TEE guest, no permission, busy, or raced.
        """
        data = _check_report_data(report_data)
        if not self.root.is_dir():
            raise AttestationUnavailable(
                f"not a TEE guest with configfs-tsm ({self.root} not found)"
            )
        # A unique name: concurrent callers (threads, processes) each get their own request.
        folder = self.root / f"sealog-{os.getpid()}-{secrets.token_hex(8)}"
        try:
            folder.mkdir()
        except OSError as exc:
            raise _unavailable("create a report request", exc, folder) from exc
        try:
            return self._collect_in(folder, data)
        finally:
            # Best effort: a report folder left behind holds no secret and is reclaimed when the
            # guest reboots, while hiding the real outcome behind a cleanup error would mislead.
            with contextlib.suppress(OSError):
                folder.rmdir()

    def _read(self, folder: Path, attr: str) -> bytes:
        path = folder / attr
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise _unavailable(f"read {attr}", exc, path) from exc

    def _generation(self, folder: Path) -> int:
        text = self._read(folder, "generation").decode("ascii", "replace").strip()
        if not text.isdigit():
            raise AttestationUnavailable(f"configfs-tsm generation is not a number: {text!r}")
        return int(text)

    def _collect_in(self, folder: Path, data: bytes) -> Evidence:
        # The kernel bumps ``generation`` on every write to the folder. Reading it before our
        # one write and after the last read tells us whether anybody else wrote in between
        # (the configfs-tsm ABI's way of detecting racing writers).
        before = self._generation(folder)
        inblob = folder / "inblob"
        try:
            with open(inblob, "wb", buffering=0) as fh:
                fh.write(data)
        except OSError as exc:
            raise _unavailable("write inblob", exc, inblob) from exc
        outblob = self._read(folder, "outblob")
        try:
            with open(folder / "auxblob", "rb") as fh:
                aux = fh.read()
        except FileNotFoundError:
            aux = b""  # TDX has no certificate table; older kernels have no auxblob
        except OSError as exc:
            raise _unavailable("read auxblob", exc, folder / "auxblob") from exc
        provider = self._read(folder, "provider").decode("ascii", "replace").strip()
        after = self._generation(folder)
        if after != before + 1:
            raise AttestationUnavailable(
                f"report generation changed: another writer raced us "
                f"(expected {before + 1}, found {after})"
            )
        if not outblob:
            raise AttestationUnavailable("configfs-tsm returned an empty report")
        kind = _TSM_KINDS.get(provider)
        if kind is None:
            raise AttestationUnavailable(f"configfs-tsm provider {provider!r} is not supported")
        return Evidence("tsm", kind, data, outblob, aux)


class GramineProvider:
    """Gramine's ``/dev/attestation`` pseudo-files (SGX with DCAP or EPID)."""

    name = "gramine"

    def __init__(self, root: Path = DEFAULT_GRAMINE_ROOT) -> None:
        """Use Gramine's attestation pseudo-filesystem at ``root``."""
        self.root = Path(root)

    def _attestation_type(self) -> str | None:
        try:
            return (self.root / "attestation_type").read_text("ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise AttestationUnavailable(f"cannot read Gramine attestation_type: {exc}") from exc

    def available(self) -> bool:
        """Whether the pseudo-files exist and remote attestation is enabled."""
        if not (self.root / "user_report_data").exists() or not (self.root / "quote").exists():
            return False
        try:
            return self._attestation_type() != "none"
        except AttestationUnavailable:
            return False

    def collect(self, report_data: bytes) -> Evidence:
        """Write the report data and read back Gramine's quote.

        Raises:
            FormatError: ``report_data`` is not 64 bytes.
            AttestationUnavailable: not under Gramine, attestation disabled, or an I/O error.
        """
        data = _check_report_data(report_data)
        if not self.root.is_dir():
            raise AttestationUnavailable(
                f"not running under Gramine with attestation ({self.root} not found)"
            )
        kind_name = self._attestation_type()
        if kind_name == "none":
            raise AttestationUnavailable(
                'Gramine remote attestation is disabled (sgx.remote_attestation = "none")'
            )
        kind = _GRAMINE_KINDS.get(kind_name or "dcap")
        if kind is None:
            raise AttestationUnavailable(f"Gramine attestation type {kind_name!r} is not supported")
        try:
            with open(self.root / "user_report_data", "wb", buffering=0) as fh:
                fh.write(data)
            with open(self.root / "quote", "rb") as fh:
                quote = fh.read()
        except OSError as exc:
            name = Path(exc.filename).name if exc.filename else "quote"
            raise AttestationUnavailable(
                f"Gramine attestation failed at {name}: {exc.strerror or exc}"
            ) from exc
        if not quote:
            raise AttestationUnavailable("Gramine returned an empty quote")
        return Evidence("gramine", kind, data, quote)


def auto_provider(
    tsm_root: Path = DEFAULT_TSM_ROOT, gramine_root: Path = DEFAULT_GRAMINE_ROOT
) -> TsmProvider | GramineProvider | NoneProvider:
    """The first available of configfs-tsm, Gramine, else ``none``.

    The returned provider's ``name`` says which was chosen.
    """
    tsm = TsmProvider(tsm_root)
    if tsm.available():
        return tsm
    gramine = GramineProvider(gramine_root)
    if gramine.available():
        return gramine
    return NoneProvider()


def provider_by_name(
    name: str, *, tsm_root: Path = DEFAULT_TSM_ROOT, gramine_root: Path = DEFAULT_GRAMINE_ROOT
) -> TsmProvider | GramineProvider | NoneProvider:
    """The provider for a command-line name: ``none``, ``tsm``, ``gramine`` or ``auto``.

    Raises:
        FormatError: an unknown name.
    """
    if name == "none":
        return NoneProvider()
    if name == "tsm":
        return TsmProvider(tsm_root)
    if name == "gramine":
        return GramineProvider(gramine_root)
    if name == "auto":
        return auto_provider(tsm_root, gramine_root)
    raise FormatError(
        f"unknown attestation provider {name!r} (expected one of none|tsm|gramine|auto)"
    )
