"""A STORE argument that may be a folder or a ``nats://`` source, for the owner's commands.

:func:`store_source` wraps a command whose ``store`` argument is text: a ``nats://`` source is
materialised into a private temporary folder before the command runs (and removed after), so
the command's own code sees a folder and its verdicts are the folder's.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sealog.host import is_nats

if TYPE_CHECKING:
    from sealog.owner import StreamSelection

__all__ = ["selection_from", "selection_options", "session_spec", "store_source"]


def selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--keep``, ``--since`` and ``--until`` (selections from a ``nats://`` source)."""
    func = click.option("--until", help="Only sessions started by then (time or age: 1h).")(func)
    func = click.option("--since", help="Only sessions active since then (time or age: 15m).")(
        func
    )
    return click.option("--keep", help="Only this Keep's sessions (nats:// sources).")(func)


def selection_from(
    keep: str | None, session: str | None, since: str | None, until: str | None
) -> StreamSelection:
    """The selection the options name."""
    from sealog.owner import StreamSelection, parse_when  # noqa: PLC0415 - the fleet on demand

    return StreamSelection(
        keep=keep,
        session=session,
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
    )


def store_source(func: Callable[..., Any]) -> Callable[..., Any]:
    """Resolve the command's ``store`` argument to a folder (see the module's docstring).

    The wrapped command gets ``store`` as a :class:`~pathlib.Path`; a ``merge`` parameter left
    unset becomes True for a ``nats://`` source that is not followed (many Keeps are read merged
    by time), and a ``selection`` parameter, if the command has one, gets the selection.
    """
    params = inspect.signature(func).parameters

    @functools.wraps(func)
    def wrapper(
        *args: Any, keep: str | None, since: str | None, until: str | None, **kwargs: Any
    ) -> Any:
        source = str(kwargs["store"])
        unselected = keep is None and since is None and until is None
        if unselected and not is_nats(source) and "selection" not in params:
            # A folder needs nothing from the fleet: no copy, and no asyncio to load.
            kwargs["store"] = Path(source)
            if "merge" in params and kwargs.get("merge") is None:
                kwargs["merge"] = False
            return func(*args, **kwargs)
        from sealog.owner import open_source  # noqa: PLC0415 - the fleet on demand

        selection = selection_from(keep, kwargs.get("session"), since, until)
        follow = bool(kwargs.get("follow"))
        if "merge" in params and kwargs.get("merge") is None:
            kwargs["merge"] = is_nats(source) and not follow
        if "selection" in params:
            kwargs["selection"] = selection
        with contextlib.ExitStack() as stack:
            kwargs["store"] = stack.enter_context(open_source(source, selection, follow=follow))
            return func(*args, **kwargs)

    # click reads the wrapped command's parameters from the wrapper.
    return selection_options(wrapper)


def session_spec(spec: str) -> str:
    """``STORE[:SESSION]`` for ``sealog diff``, where ``nats://HOST:PORT/STREAM:SESSION`` is
    materialised into a temporary folder (removed when the command ends) and named by it."""
    if not is_nats(spec):
        return spec
    from sealog.owner import StreamSelection, open_source  # noqa: PLC0415 - the fleet on demand

    session: str | None = None
    host_part, slash, path = spec[len("nats://") :].partition("/")
    if slash and ":" in path:
        path, _, session = path.rpartition(":")
    source = f"nats://{host_part}{slash}{path}"
    ctx = click.get_current_context()
    folder = ctx.with_resource(open_source(source, StreamSelection(session=session)))
    return f"{folder}:{session}" if session else str(folder)
