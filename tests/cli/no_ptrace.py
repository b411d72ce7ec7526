"""Run a command where ptrace is denied, as container sandboxes deny it (x86_64 Linux).

``python no_ptrace.py CMD [ARG...]`` installs a seccomp filter that makes every ``ptrace`` call
fail with EPERM, then becomes CMD; the filter holds for CMD and everything it starts.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_AUDIT_ARCH_X86_64 = 0xC000003E
_NR_PTRACE = 101  # x86_64
_ALLOW = 0x7FFF0000
_ERRNO_EPERM = 0x00050000 | 1


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def deny_ptrace() -> None:
    """Install the filter in this process (inherited across fork and exec)."""
    code = b"".join(
        [
            _insn(0x20, 0, 0, 4),  # load the architecture
            _insn(0x15, 1, 0, _AUDIT_ARCH_X86_64),
            _insn(0x06, 0, 0, _ALLOW),  # another architecture: allow
            _insn(0x20, 0, 0, 0),  # load the call number
            _insn(0x15, 0, 1, _NR_PTRACE),
            _insn(0x06, 0, 0, _ERRNO_EPERM),
            _insn(0x06, 0, 0, _ALLOW),
        ]
    )
    buf = ctypes.create_string_buffer(code)
    program = _Program(len(code) // 8, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


if __name__ == "__main__":
    deny_ptrace()
    os.execvp(sys.argv[1], sys.argv[1:])  # noqa: S606 - becoming the command is the point
