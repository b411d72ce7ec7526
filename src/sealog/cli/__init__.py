"""The ``sealog`` command line: a thin layer that parses arguments and prints."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading

import click

from sealog.cli._common import SealogGroup

__all__ = ["main", "program"]


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


def program() -> None:
    """The ``sealog`` program (``python -m sealog`` too): :data:`main`, then a quick exit.

    When a command has returned, everything it wrote is written: its files are closed (a
    session's file made durable), and what exit handlers do is done here. What the interpreter
    would still do, freeing every module one by one, changes nothing on disk and costs about
    20 ms, which every ``sealog run`` adds to its workload's time: it is skipped. A command that
    leaves a thread behind exits the usual way.
    """
    try:
        main()
    except SystemExit as exc:
        code = exc.code
        if code is not None and not isinstance(code, int):
            raise  # a message to print: the interpreter's own exit does that
    else:
        code = 0
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing reaches it
            stream.flush()
    os._exit(code or 0)
