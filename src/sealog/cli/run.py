"""``sealog run``: start a workload inside the Keep runtime under a profile."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sealog import run_keep
from sealog.cli._common import guarded

__all__ = ["run"]


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--owner", type=click.Path(path_type=Path), required=True, help="Owner public key.")
@click.option(
    "--profile",
    "profile_ref",
    default="production",
    show_default=True,
    help="A built-in profile name or a profile TOML file.",
)
@click.option(
    "--store",
    default="sealog-store",
    show_default=True,
    help="The store folder (created if needed), or nats://HOST:PORT[/STREAM] to publish directly.",
)
@click.option(
    "--attest",
    type=click.Choice(["none", "tsm", "gramine", "auto"]),
    default="none",
    show_default=True,
    help="Attestation provider.",
)
@click.option("--keep-id", default="keep", show_default=True, help="A name for this Keep.")
@click.option(
    "--control-policy",
    type=click.Path(path_type=Path),
    help="Control policy (TOML): who may change the profile at run time.",
)
@click.option(
    "--control",
    "control_dir",
    type=click.Path(path_type=Path),
    help="Folder the host feeds with change-order bundles (needs --control-policy).",
)
@click.argument("cmd", nargs=-1, type=click.UNPROCESSED)
@guarded
def run(
    owner: Path,
    profile_ref: str,
    store: str,
    attest: str,
    keep_id: str,
    control_policy: Path | None,
    control_dir: Path | None,
    cmd: tuple[str, ...],
) -> None:
    """Run CMD in a sealed session; exit with its exit code (128+N if killed by signal N).

    Host-channel events go to stderr as JSON lines. The workload's output is sealed (shown in
    clear only under a development profile).
    """
    result = run_keep(
        cmd,
        owner,
        store,
        profile_ref,
        attest=attest,
        keep_id=keep_id,
        control_policy=control_policy,
        control_dir=control_dir,
        host_stream=sys.stderr,
    )
    sys.exit(result.exit_code)
