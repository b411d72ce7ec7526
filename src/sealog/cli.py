"""The ``sealog`` command line: a thin layer that parses arguments and prints."""

from __future__ import annotations

import click

import sealog

__all__ = ["main"]


@click.group()
@click.version_option(sealog.__version__, prog_name="sealog")
def main() -> None:
    """Sealed, policy-controlled logging for Confidential Computing workloads."""
