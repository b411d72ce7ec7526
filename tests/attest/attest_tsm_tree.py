"""A folder tree that behaves like Linux configfs-tsm (``/sys/kernel/config/tsm/report``).

On a real kernel, ``mkdir`` of a report folder creates its attributes atomically, every write
to ``inblob`` bumps ``generation``, reading ``outblob`` makes the TEE sign the current inblob,
and ``rmdir`` takes the attributes with the folder. A plain folder does none of that, so this
emulator watches the process's file operations through a Python audit hook (PEP 578) and acts
*before* each one, synchronously:

* the first open or listing of a new report folder creates ``inblob``, ``generation``
  (``0``), ``provider`` and, for ``sev_guest``, ``auxblob`` (the SNP certificate table);
* opening ``inblob`` for writing starts a write, committed at the next attribute access: a
  64-byte inblob bumps ``generation``; any other size is refused like the kernel's EINVAL
  (here at the next ``outblob`` read, since a plain file cannot fail the write itself);
* opening ``outblob`` writes a report freshly signed by the test VCEK over the inblob;
* ``rmdir`` of a report folder removes its attributes first, so it succeeds as on configfs.

Failures the kernel can return are injected with ``fail={"mkdir": errno.EACCES}`` or
``fail={"outblob": errno.EBUSY}``, and ``race_writes=n`` simulates ``n`` writes by another
process between our inblob write and our outblob read. The emulator affects only paths under
its own root, and only while it is active (``with TsmTree(...) as tree:``).
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attest_snp_builder import PROD_POLICY, TestChain, build_report, shared_chain

_ACTIVE: list[TsmTree] = []
_LOCK = threading.RLock()
_LOCAL = threading.local()
_INSTALLED: list[bool] = []  # a hook cannot be removed, so it is added once


@dataclass
class _Report:
    generation: int = 0
    pending_write: bool = False
    inblob: bytes | None = None
    invalid: bool = False


@dataclass
class TsmTree:
    """Emulate configfs-tsm under ``root`` (created if missing)."""

    root: Path
    provider: str = "sev_guest"
    chain: TestChain = field(default_factory=shared_chain)
    policy: int = PROD_POLICY
    quote: bytes = b""  # what outblob serves for tdx_guest (a fixed quote)
    race_writes: int = 0
    fail: dict[str, int] = field(default_factory=dict)
    reports: dict[str, _Report] = field(default_factory=dict)
    served: int = 0

    def __enter__(self) -> TsmTree:
        self.root.mkdir(parents=True, exist_ok=True)
        with _LOCK:
            if not _INSTALLED:
                sys.addaudithook(_hook)
                _INSTALLED.append(True)
            _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with _LOCK:
            _ACTIVE.remove(self)

    # -- kernel behaviour -------------------------------------------------------------------

    def _write(self, path: Path, data: bytes) -> None:
        path.write_bytes(data)

    def _init(self, folder: Path) -> _Report:
        state = self.reports.get(folder.name)
        if state is None:
            state = _Report()
            self.reports[folder.name] = state
            self._write(folder / "inblob", b"")
            self._write(folder / "generation", b"0\n")
            self._write(folder / "provider", self.provider.encode() + b"\n")
            self._write(folder / "outblob", b"")
            if self.provider == "sev_guest":
                self._write(folder / "auxblob", self.chain.cert_table())
        return state

    def _commit(self, folder: Path, state: _Report) -> None:
        if not state.pending_write:
            return
        state.pending_write = False
        data = (folder / "inblob").read_bytes()
        if len(data) != 64:
            state.invalid = True  # the kernel refuses such a write with EINVAL
            return
        state.invalid = False
        state.inblob = data
        state.generation += 1
        self._write(folder / "generation", f"{state.generation}\n".encode())

    def _serve_outblob(self, folder: Path, state: _Report) -> None:
        if "outblob" in self.fail:
            code = self.fail["outblob"]
            raise OSError(code, os.strerror(code), str(folder / "outblob"))
        if state.invalid or state.inblob is None:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), str(folder / "outblob"))
        if self.provider == "sev_guest":
            blob = build_report(self.chain, state.inblob, policy=self.policy)
        else:
            blob = self.quote
        self._write(folder / "outblob", blob)
        self.served += 1
        if self.race_writes:
            state.generation += self.race_writes
            self._write(folder / "generation", f"{state.generation}\n".encode())

    def _rmdir(self, folder: Path) -> None:
        if self.reports.pop(folder.name, None) is None:
            return
        for child in folder.iterdir():
            child.unlink()

    def handle(self, event: str, args: tuple[Any, ...]) -> None:
        """Act on one audit event if it concerns this tree."""
        if event in ("open", "os.listdir", "os.scandir", "os.mkdir", "os.rmdir"):
            raw = args[0] if args else None
        else:
            return
        if not isinstance(raw, str | bytes | os.PathLike):
            return
        path = Path(os.fsdecode(os.fspath(raw))).absolute()
        root = self.root.absolute()
        if event == "os.mkdir":
            if path.parent == root and "mkdir" in self.fail:
                code = self.fail["mkdir"]
                raise OSError(code, os.strerror(code), str(path))
            return
        if event == "os.rmdir":
            if path.parent == root:
                self._rmdir(path)
            return
        if event in ("os.listdir", "os.scandir"):
            if path.parent == root and path.is_dir():
                self._init(path)
            return
        # open
        if path.parent.parent != root or not path.parent.is_dir():
            return
        folder, attr = path.parent, path.name
        state = self._init(folder)
        mode, flags = args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wa+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR)
        )
        if attr == "inblob" and writing:
            self._commit(folder, state)
            state.pending_write = True
            return
        self._commit(folder, state)
        if attr == "outblob" and not writing:
            self._serve_outblob(folder, state)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if getattr(_LOCAL, "busy", False) or not _ACTIVE:
        return
    _LOCAL.busy = True
    try:
        with _LOCK:
            for tree in list(_ACTIVE):
                tree.handle(event, args)
    finally:
        _LOCAL.busy = False
