"""An example workload that works in one environment and fails in another.

It reads its configuration from the file named by ``$PROBE_CONFIG`` (default
``/etc/probe/probe.conf``) and reports which confidential-computing guest device it can see.
Where the configuration file was provisioned (a developer's VM), it works; where it was not (a
Keep whose image forgot it), it fails with ``FileNotFoundError``. The same code, two
environments: ``sealog diff`` on the two sessions points at the failing ``open``.

Run it under sealog, with the trace on:

    sealog run --owner owner.pub --profile testing --store store-vm -- \\
        python examples/platform_probe.py
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("probe")

#: Guest devices whose presence says what kind of Keep this is.
GUEST_DEVICES = ("/dev/sev-guest", "/dev/tdx_guest", "/dev/sgx_enclave")


def read_config(path: Path) -> dict[str, str]:
    """``key = value`` lines of the configuration file (raises OSError when it is missing)."""
    settings = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            key, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                settings[key.strip()] = value.strip()
    return settings


def main() -> int:
    """Probe the environment, read the configuration, and do the (tiny) work."""
    logging.basicConfig(level=logging.DEBUG)
    log.info("probe starting (pid %d)", os.getpid())
    seen = [d for d in GUEST_DEVICES if os.path.exists(d)]
    log.info("guest devices: %s", ", ".join(seen) or "none")
    config = Path(os.environ.get("PROBE_CONFIG", "/etc/probe/probe.conf"))
    log.debug("reading configuration from %s", config)
    settings = read_config(config)  # fails, with a clear exception, where it was not provisioned
    log.info("configuration loaded: %d settings", len(settings))
    greeting = settings.get("greeting", "hello")
    log.info("work done: %s", greeting)
    return 0


if __name__ == "__main__":
    sys.exit(main())
