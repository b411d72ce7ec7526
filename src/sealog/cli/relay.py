"""``sealog relay``: the host ships a store folder's sealed sessions to NATS JetStream.

Kept apart from the owner's fleet commands so that a relay loads nothing it does not use.
"""

from __future__ import annotations

from pathlib import Path

import click

from sealog.cli._common import guarded
from sealog.host import NatsTarget, limits_from_options, run_relay

__all__ = ["relay"]

_PATH = click.Path(path_type=Path)


@click.command()
@click.argument("store", type=_PATH)
@click.option("--to", "to", required=True, help="nats://HOST:PORT[,HOST:PORT...][/STREAM]")
@click.option("--max-age", help="Stream retention by age when created: 30d (default), 0 = none.")
@click.option("--max-bytes", help="Stream size limit when created: 10GiB; -1 (default) = none.")
@click.option("--replicas", type=click.IntRange(1, 5), help="Copies in a cluster (default 1).")
@click.option("--window", type=click.IntRange(1, 4000), default=256, show_default=True,
              help="Messages published but not yet acknowledged, at most.")
@click.option("--once", is_flag=True, help="Ship what the store holds now, then exit.")
@guarded
def relay(
    store: Path,
    to: str,
    max_age: str | None,
    max_bytes: str | None,
    replicas: int | None,
    window: int,
    once: bool,
) -> None:
    """Ship a store folder's sealed sessions to NATS JetStream (host side).

    Tails every session (header, frames, host events) and publishes each entry once; resumes
    from what the stream holds. Progress goes to stderr as JSON lines. SIGINT/SIGTERM end it
    after the published messages are acknowledged.
    """
    target = NatsTarget.parse(to)
    limits = limits_from_options(max_age, max_bytes, replicas)
    run_relay(store, target, limits, once=once, window=window)
