"""What every ``sealog`` subcommand shares: one line per error, and exit codes that mean one thing.

Exit codes: 0 success, 1 a failed verification or a refusal by policy, 2 bad input or an
unusable environment. ``sealog --debug`` re-raises for a traceback.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from sealog.errors import Error

__all__ = [
    "SealogGroup",
    "appraisal_options",
    "fail",
    "guarded",
    "owner_key_option",
    "quiet_broken_pipe",
]


def printable(text: str) -> str:
    """Text as the terminal may show it (``sealog.owner.printable``), loaded on first use: only
    errors need it, and the owner's package is not part of ``sealog run``'s start."""
    from sealog.owner import printable as shown  # noqa: PLC0415

    return shown(text)


P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit with ``code``."""
    # Messages quote paths, names and values someone else chose: one line, no escapes.
    click.echo(f"sealog: error: {printable(message)}", err=True)
    sys.exit(code)


def quiet_broken_pipe() -> None:
    """Exit quietly when the reader of our output went away (``sealog read | head``).

    Whatever is still buffered for standard output would fail again when the interpreter
    flushes it at exit, so standard output is pointed at ``/dev/null`` first.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's capture): nothing will be flushed to a closed pipe
    sys.exit(0)


def _debug_enabled() -> bool:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.obj and isinstance(ctx.obj, dict) and ctx.obj.get("debug"):
            return True
        ctx = ctx.parent
    return False


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Turn :class:`sealog.Error` and OS errors into one line on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Error as exc:
            if _debug_enabled():
                raise
            fail(str(exc), exc.exit_code)
        except BrokenPipeError:
            quiet_broken_pipe()
        except OSError as exc:
            if _debug_enabled():
                raise
            name = f"{exc.filename}: " if exc.filename else ""
            fail(f"{name}{exc.strerror or exc}", 2)
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


class SealogGroup(click.Group):
    """A click group whose usage errors exit 2 with one line, like every other bad input.

    Commands can be registered lazily, as ``"module:attribute"`` (:meth:`add_lazy`): a command
    is imported only when it runs (or when help lists it), so ``sealog run`` does not pay for
    loading the owner's or the auditor's tools.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy: dict[str, str] = {}

    def add_lazy(self, name: str, target: str) -> None:
        """Register command ``name``, to be imported from ``target`` (``module:attribute``)."""
        self._lazy[name] = target

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, loaded or not, sorted."""
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing it on first use."""
        target = self._lazy.get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            module, _, attribute = target.partition(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line; a usage error is one line on stderr and exit code 2."""
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            # A command group given no command: its help is what the person is after.
            if exc.ctx is not None:
                click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.UsageError as exc:
            where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
            click.echo(f"sealog: error: {where}{printable(exc.format_message())}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"sealog: error: {printable(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("sealog: aborted", err=True)
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)


def owner_key_option(func: Callable[P, R]) -> Callable[P, R]:
    """``--key``, the owner's private key, also from ``SEALOG_KEY``."""
    return click.option(
        "--key",
        "key_path",
        type=click.Path(path_type=Path),
        required=True,
        envvar="SEALOG_KEY",
        show_envvar=True,
        help="The owner's private key (or set SEALOG_KEY).",
    )(func)


def appraisal_options(func: Callable[P, R]) -> Callable[P, R]:
    """The options that describe what a relying party requires of a session's attestation,
    shared by ``verify`` (which fails sessions) and ``view`` (which shows the appraisal):
    ``--require-profile``, ``--require-tee``, ``--trust-root`` and ``--allow-debug-tee``."""
    options = [
        click.option(
            "--require-profile",
            help="Require profiles at least as strict as this one (compared by digest).",
        ),
        click.option(
            "--require-tee",
            type=click.Choice(["snp", "tdx", "any"]),
            help="Require verified evidence from this TEE.",
        ),
        click.option(
            "--trust-root",
            "trust_roots",
            multiple=True,
            type=click.Path(path_type=Path),
            help="PEM: an AMD ASK+ARK chain (SEV-SNP) or a root CA (TDX). Repeatable.",
        ),
        click.option("--allow-debug-tee", is_flag=True, help="Accept a TEE in debug mode."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
