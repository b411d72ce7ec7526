"""``sealog view``: the owner's local web viewer."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from sealog.attest import load_appraisal_policy
from sealog.cli._common import appraisal_options, fail, guarded
from sealog.cli._source import store_source
from sealog.owner import OwnerPrivateKey

__all__ = ["view"]

#: The packages of the ``view`` extra; without them the command says how to get them.
_EXTRA = frozenset({"starlette", "uvicorn", "jinja2", "markupsafe", "anyio"})


@click.command()
@click.argument("store")
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
@appraisal_options
@click.option(
    "--follow/--no-follow",
    default=True,
    show_default=True,
    help="From a nats:// source, keep pulling what arrives while the viewer runs.",
)
@guarded
@store_source
def view(
    store: Path,
    key_path: Path,
    port: int,
    require_profile: str | None,
    require_tee: str | None,
    trust_roots: tuple[Path, ...],
    allow_debug_tee: bool,
    follow: bool,
) -> None:
    """Browse a store in a local web viewer: it listens on 127.0.0.1 only and serves nothing
    without the random token in the URL it prints. Ctrl+C stops it.

    STORE is a folder or a nats:// source (copied into a private temporary folder, and
    followed). The appraisal options are those of ``sealog verify``: here they colour the
    evidence column, they do not hide sessions."""
    del follow  # used by store_source
    try:
        from sealog.owner.viewer import Viewer  # noqa: PLC0415 - its packages are an optional extra
    except ModuleNotFoundError as exc:
        package = (exc.name or "").split(".")[0]
        if package not in _EXTRA:
            raise
        fail(
            f"sealog view needs the 'view' extra ({package} is missing): pip install 'sealog[view]'"
        )
    policy = load_appraisal_policy(require_profile, require_tee, trust_roots, allow_debug_tee)
    key = OwnerPrivateKey.load(key_path)
    viewer = Viewer(store, key, port=port, policy=policy)
    click.echo(f"sealog view: {store} at {viewer.url}")
    click.echo("Open it in a browser on this machine; Ctrl+C stops the viewer.", err=True)
    # Ctrl+C is how the owner closes the viewer: a normal end, exit 0.
    with contextlib.suppress(KeyboardInterrupt):
        viewer.serve()
