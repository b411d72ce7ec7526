"""The ``sealog`` command line: a thin layer that parses arguments and prints."""

from __future__ import annotations

import click

import sealog
from sealog.cli._common import SealogGroup
from sealog.cli.attest import attest
from sealog.cli.audit import approver, audit, order
from sealog.cli.diff import diff
from sealog.cli.owner import host_view_cmd, keygen, read, verify
from sealog.cli.profiles import profiles
from sealog.cli.run import run

__all__ = ["main"]


@click.group(cls=SealogGroup)
@click.version_option(sealog.__version__, prog_name="sealog")
@click.option("--debug", is_flag=True, help="Show a traceback instead of one line on errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Sealed, policy-controlled logging for Confidential Computing workloads."""
    ctx.obj = {"debug": debug}


main.add_command(keygen)
main.add_command(run)
main.add_command(read)
main.add_command(verify)
main.add_command(host_view_cmd)
main.add_command(diff)
main.add_command(profiles)
main.add_command(attest)
main.add_command(audit)
main.add_command(approver)
main.add_command(order)
