"""A fingerprint of the platform a session runs on: what differs between "works here" and
"fails there" (DESIGN.md section 7).

Read from the file system the kernel exposes, under a root that tests can point at a folder
laid out like ``/``. Standard library only.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

__all__ = ["CPU_FLAGS", "DEVICES", "platform_fingerprint"]

#: CPU flags that matter for confidential computing and for what workloads assume.
CPU_FLAGS = (
    "hypervisor",
    "sev",
    "sev_es",
    "sev_snp",
    "tdx_guest",
    "sme",
    "aes",
    "avx",
    "avx2",
    "avx512f",
    "rdrand",
    "rdseed",
    "sha_ni",
)
#: Paths whose presence tells what kind of Keep this is.
DEVICES = (
    "dev/sev-guest",
    "dev/tdx_guest",
    "dev/tdx-guest",
    "dev/sgx_enclave",
    "dev/attestation",
    "dev/nsm",
    "sys/kernel/config/tsm/report",
)
_RLIMITS = ("RLIMIT_NOFILE", "RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_STACK", "RLIMIT_CORE")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _cpu_flags(root: Path) -> list[str]:
    text = _read(root / "proc" / "cpuinfo") or ""
    for line in text.splitlines():
        if line.startswith("flags"):
            present = set(line.partition(":")[2].split())
            return [f for f in CPU_FLAGS if f in present]
    return []


def _limit(value: int) -> int | str:
    return "unlimited" if value == resource.RLIM_INFINITY else value


def platform_fingerprint(root: Path = Path("/"), *, attest: str = "none") -> dict[str, Any]:
    """What this Keep runs on.

    Args:
        root: where the kernel's file systems are (``/``; a folder tree in tests).
        attest: the attestation provider in use.
    """
    uname = platform.uname()
    cgroup_mem = _read(root / "sys" / "fs" / "cgroup" / "memory.max")
    meminfo = _read(root / "proc" / "meminfo") or ""
    mem_total = next(
        (line.split()[1] + " kB" for line in meminfo.splitlines() if line.startswith("MemTotal")),
        None,
    )
    rlimits = {}
    for name in _RLIMITS:
        soft, hard = resource.getrlimit(getattr(resource, name))
        rlimits[name.removeprefix("RLIMIT_").lower()] = [_limit(soft), _limit(hard)]
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "os": uname.system,
        "kernel": uname.release,
        "machine": uname.machine,
        "cpu_flags": _cpu_flags(root),
        "cpus": os.cpu_count(),
        "devices": {d: (root / d).exists() for d in DEVICES},
        "attest": attest,
        "memory_total": mem_total,
        "cgroup_memory_max": cgroup_mem.strip() if cgroup_mem else None,
        "rlimits": rlimits,
    }
