"""The ``sealog`` command line: a thin layer that parses arguments and prints."""

from __future__ import annotations

import click

from sealog.cli._common import SealogGroup

__all__ = ["main"]


@click.group(cls=SealogGroup)
@click.version_option(package_name="sealog", prog_name="sealog")
@click.option("--debug", is_flag=True, help="Show a traceback instead of one line on errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Sealed, policy-controlled logging for Confidential Computing workloads."""
    ctx.obj = {"debug": debug}


# Each command group is imported only when it is used: `sealog run` starts fast.
for _name, _target in {
    "keygen": "sealog.cli.owner:keygen",
    "run": "sealog.cli.run:run",
    "read": "sealog.cli.owner:read",
    "verify": "sealog.cli.owner:verify",
    "host-view": "sealog.cli.owner:host_view_cmd",
    "diff": "sealog.cli.diff:diff",
    "profiles": "sealog.cli.profiles:profiles",
    "attest": "sealog.cli.attest:attest",
    "audit": "sealog.cli.audit:audit",
    "approver": "sealog.cli.audit:approver",
    "order": "sealog.cli.audit:order",
    "relay": "sealog.cli.relay:relay",
    "pull": "sealog.cli.fleet:pull_cmd",
    "sessions": "sealog.cli.fleet:sessions",
    "view": "sealog.cli.view:view",
}.items():
    main.add_lazy(_name, _target)
