"""An example workload: a payments worker that works on one platform and fails on another.

It reads its signing key from ``$PAYMENTS_KEY_DIR/signing.key``. On the developer's VM the
folder is there; inside the Keep it was never provisioned, so the worker fails. The host may
only learn that it failed; the owner must learn why, without the API token ever leaving.

Run it under sealog:

    sealog run --owner owner.pub --profile production -- python examples/payments_worker.py
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import sealog

log = logging.getLogger("payments.worker")


def load_signing_key() -> bytes:
    folder = Path(os.environ.get("PAYMENTS_KEY_DIR", "/etc/payments"))
    return (folder / "signing.key").read_bytes()


def main() -> int:
    # The token is marked secret: it is logged as [secret] under every profile but development.
    token = sealog.secret(os.environ.get("PAYMENTS_API_TOKEN", "tok_live_4f9c2a7e1b"))
    log.info("worker starting (pid %d)", os.getpid())
    log.debug("connecting to the ledger with token %s", token)
    log.warning("ledger latency high: %d ms", 870, extra={"ledger": "eu-1", "token": token})
    for batch in (40, 41):
        print(f"processing batch {batch} with token {token}")
        time.sleep(0.8)  # the work itself; under cover traffic frames keep leaving meanwhile
        log.info("batch %d processed: %d payments", batch, 120 + batch)
    try:
        key = load_signing_key()
    except OSError:
        log.exception("cannot load the signing key; refusing to process payments")
        return 3
    log.info("signing key loaded (%d bytes); batch 42 processed", len(key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
