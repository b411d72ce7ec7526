"""``sealog run``: start a workload inside the Keep runtime under a profile."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sealog.audit._policy import control_policy_digest, load_control_policy
from sealog.cli._common import fail, guarded
from sealog.host._store import Store
from sealog.keep._runtime import ControlSetup, run_workload
from sealog.profile import builtin_names, resolve_profile
from sealog.seal._frames import FrameSealer
from sealog.seal._header import Header
from sealog.seal._keys import OwnerPublicKey
from sealog.seal._writer import Attester, start_profile_session

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
    type=click.Path(path_type=Path),
    default=Path("sealog-store"),
    show_default=True,
    help="The store folder (created if needed).",
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
    store: Path,
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
    if not cmd:
        fail("no command given: sealog run --owner PUB [OPTIONS] -- CMD [ARG...]")
    owner_key = OwnerPublicKey.load(owner)
    profile = resolve_profile(profile_ref)
    control = _control(control_policy, control_dir, keep_id)
    # The workload's interpreter resolves the profile again: a built-in by name, a file by
    # absolute path, so a change of working folder in between cannot make it read another file.
    builtin = profile_ref in builtin_names()
    ref = profile_ref if builtin else str(Path(profile_ref).resolve())
    store_obj = Store.create(store)
    from sealog.attest import provider_by_name  # noqa: PLC0415 - loads only what is asked for

    attester = provider_by_name(attest).collect
    control_digest = control_policy_digest(control.policy) if control else b""

    def start(att: Attester) -> tuple[Header, FrameSealer]:
        return start_profile_session(
            owner_key, profile, att, keep_id=keep_id, control_digest=control_digest
        )

    result = run_workload(
        cmd,
        profile=profile,
        profile_ref=ref,
        start=start,
        sink_for=store_obj.new_session,
        attester=attester,
        host_stream=sys.stderr,
        record_event=store_obj.append_event,
        control=control,
    )
    sys.exit(result.exit_code)


def _control(policy: Path | None, folder: Path | None, keep_id: str) -> ControlSetup | None:
    if policy is None and folder is None:
        return None
    if policy is None or folder is None:
        fail("--control and --control-policy go together")
        return None
    if not folder.is_dir():
        fail(f"{folder}: control folder does not exist")
    parsed = load_control_policy(policy)
    return ControlSetup(folder, parsed, policy.read_text(), keep_id)
