"""How the owner's commands print records and verdicts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from rich.console import Console
from rich.text import Text

from sealog._display import printable
from sealog.owner._reader import Verdict
from sealog.seal._records import Record

__all__ = ["LEVEL_STYLE", "print_record", "print_verdict", "record_json"]

#: One encoder for every line: json.dumps would build a new one per record when given options.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)

#: The rich style of each level name, shared by every command that prints records.
LEVEL_STYLE = {
    "DEBUG": "dim",
    "INFO": "green",
    "WARNING": "yellow",
    "ERROR": "bold red",
    "CRITICAL": "bold white on red",
}


def record_json(session: str, record: Record, profile: str = "") -> str:
    """One JSON object per line, as ``sealog read --json`` prints it."""
    obj: dict[str, Any] = {"session": session, **record.to_json(), "profile": profile}
    return _ENCODER.encode(obj)


def print_record(console: Console, session: str, record: Record, profile: str = "") -> None:
    """One record, coloured when the console is a terminal; ``profile`` tags records logged
    under a profile other than the launch profile."""
    when = dt.datetime.fromtimestamp(record.time, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    line = Text()
    line.append(f"{when} ", style="dim")
    line.append(f"{record.level_name:<8} ", style=LEVEL_STYLE.get(record.level_name, ""))
    if profile:
        line.append(f"[{printable(profile)}] ", style="magenta")
    line.append(f"{printable(str(record.source))}:{printable(str(record.logger))} ", style="cyan")
    # One record, one line: a newline or an escape sequence in a message cannot fake another.
    line.append(printable(str(record.message)))
    if record.fields:
        line.append(
            " " + printable(json.dumps(dict(record.fields), ensure_ascii=False, default=str)),
            style="dim",
        )
    console.print(line, soft_wrap=True, highlight=False)
    if record.exception is not None:
        rendered = printable(record.exception.render(), keep_newlines=True)
        console.print(Text(rendered, style="red"), soft_wrap=True, highlight=False)


def print_verdict(console: Console, verdict: Verdict) -> None:
    """One line per session: the verdict."""
    style = "green" if verdict.ok else ("yellow" if verdict.status == "truncated" else "bold red")
    line = Text()
    line.append(f"{verdict.session} ")
    line.append(f"{verdict.status.upper()}", style=style)
    line.append(f": {printable(verdict.message)}")
    if verdict.header is not None:
        # The header's names are the launcher's choice: never raw on the owner's terminal.
        line.append(
            f" [keep {printable(verdict.header.keep_id)}, "
            f"profile {printable(verdict.header.profile_name)}, "
            f"evidence {verdict.header.evidence.kind if verdict.header.evidence else 'missing'}]",
            style="dim",
        )
    console.print(line, soft_wrap=True, highlight=False)
