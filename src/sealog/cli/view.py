"""``sealog view``: the owner's local web viewer."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from sealog.attest import load_appraisal_policy
from sealog.cli._common import fail, guarded
from sealog.owner import OwnerPrivateKey

__all__ = ["view"]

#: The packages of the ``view`` extra; without them the command says how to get them.
_EXTRA = frozenset({"starlette", "uvicorn", "jinja2", "markupsafe", "anyio"})


@click.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.option(
    "--key",
    "key_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The owner's private key (read once, at start).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (0: a free one).",
)
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(path_type=Path),
    help="PEM: an AMD ASK+ARK chain (SEV-SNP) or a root CA (TDX), for the evidence "
    "appraisal. Repeatable.",
)
@guarded
def view(store: Path, key_path: Path, port: int, trust_roots: tuple[Path, ...]) -> None:
    """Browse a store in a local web viewer: it listens on 127.0.0.1 only and serves nothing
    without the random token in the URL it prints. Ctrl+C stops it."""
    try:
        from sealog.owner.viewer import Viewer  # noqa: PLC0415 - its packages are an optional extra
    except ModuleNotFoundError as exc:
        package = (exc.name or "").split(".")[0]
        if package not in _EXTRA:
            raise
        fail(
            f"sealog view needs the 'view' extra ({package} is missing): pip install 'sealog[view]'"
        )
    policy = load_appraisal_policy(trust_roots=trust_roots)
    key = OwnerPrivateKey.load(key_path)
    viewer = Viewer(store, key, port=port, policy=policy)
    click.echo(f"sealog view: {store} at {viewer.url}")
    click.echo("Open it in a browser on this machine; Ctrl+C stops the viewer.", err=True)
    # Ctrl+C is how the owner closes the viewer: a normal end, exit 0.
    with contextlib.suppress(KeyboardInterrupt):
        viewer.serve()
