"""The viewer's web application: a token gate, four pages, no scripts.

Every response carries a Content-Security-Policy that allows no script, no connection and no
resource from anywhere: a record that contains HTML is shown as text (templates escape it), and
even markup that slipped through could not send plaintext out of the page.
"""

from __future__ import annotations

import hmac
import json
import statistics
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sealog.errors import Error, FormatError
from sealog.owner import diff_sessions
from sealog.owner.viewer._model import (
    RecordQuery,
    SessionData,
    StoreModel,
    level_number,
    parse_when,
)
from sealog.owner.viewer._plots import WIDTH as _WIDTH
from sealog.owner.viewer._plots import frames_plot, levels_plot, profile_band
from sealog.profile import LEVELS

__all__ = ["create_app"]

#: Records shown per page of a session (the rest are a "next" link away).
PAGE = 500
#: Records listed per side under "only in A / only in B" on the diff page.
DIFF_LIST = 200
#: Drawing width of a plot in a half-width panel (its text then reads at the same size).
_HALF = 560
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # Pages hold plaintext: the browser must not keep them in its disk cache.
    "Cache-Control": "no-store",
}
_FORBIDDEN = "403 forbidden: open the address that `sealog view` printed, with its token\n"


class _TokenGate:
    """Serves nothing to a request without the token (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = query.get("token", [""])[0].encode("latin-1", "replace")
            if not hmac.compare_digest(given, self._token):
                await PlainTextResponse(_FORBIDDEN, 403, headers=_HEADERS)(scope, receive, send)
                return
        await self._app(scope, receive, send)


def _clock(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S.%f")[:-3]


def _stamp(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _input_time(t: float | None) -> str:
    """A time as a ``datetime-local`` input holds it (UTC, to the second)."""
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


#: Fields too long to read in a row (the sealed control policy, order bundles): elided.
_LONG_FIELDS = frozenset({"policy", "bundle"})


def _fields(record_fields: Any) -> str:
    shown = {k: "…" if k in _LONG_FIELDS else v for k, v in dict(record_fields).items()}
    return json.dumps(shown, ensure_ascii=False, default=str, sort_keys=True)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sealog.owner.viewer", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        clock=_clock, stamp=_stamp, duration=_duration, fields=_fields, input_time=_input_time
    )
    env.globals["levels"] = list(LEVELS)
    return env


def create_app(model: StoreModel, token: str) -> Starlette:
    """The viewer's application for one store.

    Args:
        model: the store, read with the owner's key.
        token: the secret every request must carry as ``?token=``.

    Returns:
        An ASGI application; serve it on 127.0.0.1 only (it also refuses other Host names).
    """
    env = _environment()
    # The plot of a whole session is the same on every visit: drawn once per file size.
    whole: dict[tuple[str, int, int], tuple[Markup, str]] = {}

    def whole_plot(data: SessionData, width: int = _WIDTH) -> tuple[Markup, str] | None:
        if data.first is None or data.last is None:
            return None
        key = (data.session, data.file_bytes, width)
        if key not in whole:
            whole[key] = levels_plot(data.records, data.first, data.last, width)
        return whole[key]

    def url(path: str, **params: Any) -> str:
        query = {"token": token, **{k: v for k, v in params.items() if v not in (None, "")}}
        return f"{path}?{urlencode(query)}"

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(url=url, token=token, store=model.store, **context)
        return HTMLResponse(html, status, headers=_HEADERS)

    def guarded(
        handler: Callable[[Request], Response],
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                # Reading a session decrypts it: off the event loop, so the server stays live.
                return await run_in_threadpool(handler, request)
            except FormatError as exc:
                return page("error.html", 400, message=str(exc))
            except (Error, OSError) as exc:  # the store changed under the viewer, say so
                return page("error.html", 500, message=str(exc))

        return endpoint

    def sessions(request: Request) -> Response:
        return page("sessions.html", sessions=model.sessions())

    def session(request: Request) -> Response:
        data = model.session(request.path_params["sid"])
        q = request.query_params
        level, text = q.get("level", ""), q.get("q", "")
        since_text, until_text = q.get("since", ""), q.get("until", "")
        query = RecordQuery(
            level_number(level),
            text,
            parse_when(since_text),
            parse_when(until_text, end=True),
        )
        chosen = query.select(data)
        try:
            offset = max(0, int(q.get("offset", "0")))
        except ValueError as exc:
            raise FormatError(f"offset must be a number, not {q.get('offset')!r}") from exc
        shown = chosen[offset : offset + PAGE]
        start, end = data.first, data.last
        band = levels = None
        unit = "minute"
        if start is not None and end is not None:
            stage = data.verdict.header.profile_stage if data.verdict.header else None
            band = profile_band(data.timeline, start, end, data.releases, stage)
            plot = (
                whole_plot(data)
                if len(chosen) == len(data.records)
                else levels_plot([data.records[i] for i in chosen], start, end)
            )
            if plot is not None:
                levels, unit = plot
        return page(
            "session.html",
            data=data,
            rows=[(i, data.records[i], data.profiles[i]) for i in shown],
            matched=len(chosen),
            offset=offset,
            page_size=PAGE,
            level=level.upper(),
            text=text,
            since=since_text,
            until=until_text,
            band=band,
            levels_svg=levels,
            unit=unit,
        )

    def host(request: Request) -> Response:
        data = model.session(request.path_params["sid"])
        view = model.host_session(data.session)
        gaps = [b - a for a, b in zip(view.times, view.times[1:], strict=False)]
        timing = None
        if gaps:
            timing = {
                "span": view.times[-1] - view.times[0],
                "min": min(gaps),
                "median": statistics.median(gaps),
                "max": max(gaps),
            }
        launch = view.header.get("launch")
        evidence = view.header.get("evidence")
        levels, unit = whole_plot(data, _HALF) or (None, "minute")
        return page(
            "host.html",
            data=data,
            view=view,
            launch=launch if isinstance(launch, dict) else {},
            evidence=evidence if isinstance(evidence, dict) else {},
            sizes=sorted(set(view.frame_sizes)),
            timing=timing,
            frames_svg=frames_plot(view.frame_sizes, view.times, _HALF),
            levels_svg=levels,
            unit=unit,
        )

    def diff(request: Request) -> Response:
        q = request.query_params
        ids = model.session_ids()
        a, b = q.get("a", ""), q.get("b", "")
        result = data_a = data_b = None
        if a and b:
            data_a, data_b = model.session(a), model.session(b)
            result = diff_sessions(data_a.records, data_b.records)
        return page(
            "diff.html",
            ids=ids,
            summaries={s.session: s for s in model.sessions()},
            a=data_a.session if data_a else (ids[0] if ids else ""),
            b=data_b.session if data_b else (ids[1] if len(ids) > 1 else ""),
            result=result,
            data_a=data_a,
            data_b=data_b,
            limit=DIFF_LIST,
        )

    routes = [
        Route("/", guarded(sessions)),
        Route("/session/{sid}", guarded(session)),
        Route("/session/{sid}/host", guarded(host)),
        Route("/diff", guarded(diff)),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"]),
        Middleware(_TokenGate, token=token),
    ]
    return Starlette(routes=routes, middleware=middleware)
