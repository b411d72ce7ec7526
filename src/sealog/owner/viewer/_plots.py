"""Plots as inline SVG, drawn on the server: the viewer's pages load nothing and run no script."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from markupsafe import Markup, escape

from sealog.owner import ProfileSpan
from sealog.seal import Record

__all__ = ["LEVEL_COLOURS", "WIDTH", "frames_plot", "levels_plot", "profile_band"]

LEVEL_COLOURS = {
    "DEBUG": "#adb5bd",
    "INFO": "#2f9e44",
    "WARNING": "#f08c00",
    "ERROR": "#e03131",
    "CRITICAL": "#862e9c",
}
_PROFILE_COLOURS = {
    "development": "#c92a2a",
    "testing": "#7048e8",
    "incident": "#e8590c",
    "staging": "#1971c2",
    "production": "#2b8a3e",
}
_OTHER = "#868e96"
#: Drawing width of a full-width plot (SVG user units; the page scales it).
WIDTH = 960
#: Most points one plot draws; longer series are thinned evenly (the shape stays).
_MAX_POINTS = 4000


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def _svg(height: int, body: list[str], label: str, width: int = WIDTH) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" class="plot">'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text part is escaped


def _colour(profile: str, stage: str | None = None) -> str:
    return _PROFILE_COLOURS.get(profile) or _PROFILE_COLOURS.get(stage or "", _OTHER)


def profile_band(
    spans: Sequence[ProfileSpan],
    start: float,
    end: float,
    releases: Sequence[Record] = (),
    launch_stage: str | None = None,
) -> Markup:
    """The profile timeline as a band: one coloured stretch per span, incident windows stand
    out, and a marker at each flight-recorder release.

    Args:
        spans: the verified profile spans, in order.
        start: the left edge (the session's first record).
        end: the right edge (its last record).
        releases: the records announcing flight-recorder releases.
        launch_stage: the launch profile's stage, to colour a custom-named launch profile.
    """
    left, right, top, band = 8, WIDTH - 8, 18, 26
    scale = (right - left) / max(end - start, 1e-9)

    def x(t: float) -> float:
        return left + (min(max(t, start), end) - start) * scale

    body = [f'<rect x="{left}" y="{top}" width="{right - left}" height="{band}" fill="#f1f3f5"/>']
    for i, span in enumerate(spans):
        x0 = x(span.time)
        x1 = x(spans[i + 1].time) if i + 1 < len(spans) else right
        stage = launch_stage if span.cause != "order" else None
        colour = _colour(span.profile, stage)
        kind = "window" if span.cause == "order" else "span"
        body.append(
            f'<rect class="{kind}" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1.5):.1f}" '
            f'height="{band}" fill="{colour}"><title>{escape(span.describe())}</title></rect>'
        )
        if x1 - x0 > 60:
            body.append(
                f'<text x="{x0 + 4:.1f}" y="{top + 17}" fill="#fff" font-size="12">'
                f"{escape(span.profile)}</text>"
            )
    for record in releases:
        rx = x(record.time)
        count = record.fields.get("records", "?")
        body.append(
            f'<path class="release" d="M{rx - 6:.1f},2 L{rx + 6:.1f},2 L{rx:.1f},{top - 2} Z" '
            f'fill="#212529"><title>flight recorder released at {_clock(record.time)}: '
            f"{escape(str(count))} records from before the order</title></path>"
        )
    body.append(
        f'<text x="{left}" y="{top + band + 14}" font-size="11" fill="#495057">'
        f"{_clock(start)}</text>"
        f'<text x="{right}" y="{top + band + 14}" font-size="11" fill="#495057" '
        f'text-anchor="end">{_clock(end)} UTC</text>'
    )
    return _svg(top + band + 18, body, "profile timeline")


#: Bar widths in seconds, finest first: the finest that keeps a plot to 60 bars is used.
_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)


def _unit(width: int) -> str:
    if width < 60:
        return "second" if width == 1 else f"{width} seconds"
    if width < 3600:
        return "minute" if width == 60 else f"{width // 60} minutes"
    return "hour" if width == 3600 else f"{width // 3600} hours"


def levels_plot(
    records: Sequence[Record], start: float, end: float, width_px: int = WIDTH
) -> tuple[Markup, str]:
    """Records per minute by level as stacked bars; a session shorter than ten minutes gets
    finer bars, a long one wider bars (never more than 60).

    Args:
        records: the records to count.
        start: the left edge (the session's first record).
        end: the right edge.
        width_px: the drawing's width (narrower for a half-width panel: larger text).

    Returns:
        The plot and what one bar counts (``"minute"``, ``"10 seconds"``, ``"hour"``...).
    """
    span = max(end - start, 1.0)
    width = _BUCKETS[-1]
    for candidate in _BUCKETS:
        if span / candidate <= 60 and (candidate >= 60 or span < 600):
            width = candidate
            break
    unit = _unit(width)
    first = start - start % width
    buckets: dict[int, Counter[str]] = {}
    for record in records:
        n = max(0, int((record.time - first) // width))
        buckets.setdefault(n, Counter())[record.level_name] += 1
    count = max(buckets) + 1 if buckets else 1
    peak = max((sum(c.values()) for c in buckets.values()), default=1)
    left, right, top, height = 48, width_px - 8, 10, 150
    bar = (right - left) / count
    body = [
        f'<line x1="{left}" y1="{top + height}" x2="{right}" y2="{top + height}" '
        'stroke="#868e96"/>',
        f'<text x="{left - 4}" y="{top + 10}" font-size="11" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + height}" font-size="11" text-anchor="end">0</text>',
    ]
    for n, counts in sorted(buckets.items()):
        y: float = top + height
        for level, colour in LEVEL_COLOURS.items():
            k = counts.get(level, 0)
            if not k:
                continue
            h = k / peak * height
            y -= h
            when = _clock(first + n * width)
            body.append(
                f'<rect class="bar" x="{left + n * bar + 0.5:.1f}" y="{y:.1f}" '
                f'width="{max(bar - 1, 0.8):.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{when}: {k} {level}</title></rect>"
            )
        other = sum(v for lv, v in counts.items() if lv not in LEVEL_COLOURS)
        if other:
            h = other / peak * height
            body.append(
                f'<rect class="bar" x="{left + n * bar + 0.5:.1f}" y="{y - h:.1f}" '
                f'width="{max(bar - 1, 0.8):.1f}" height="{h:.1f}" fill="{_OTHER}"/>'
            )
    axis = top + height + 14
    body.append(
        f'<text x="{left}" y="{axis}" font-size="11">{_clock(first)}</text>'
        f'<text x="{right}" y="{axis}" font-size="11" text-anchor="end">'
        f"{_clock(first + count * width)} UTC</text>"
    )
    # The legend on a line of its own, under the time axis.
    legend = axis + 18
    for n, (level, colour) in enumerate(LEVEL_COLOURS.items()):
        lx = left + n * 90
        body.append(
            f'<rect x="{lx}" y="{legend - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{legend}" font-size="11">{level}</text>'
        )
    return _svg(legend + 6, body, f"records per {unit} by level", width_px), unit


def _thin(n: int) -> range:
    return range(0, n, max(1, -(-n // _MAX_POINTS)))


def frames_plot(sizes: Sequence[int], times: Sequence[float], width_px: int = WIDTH) -> Markup:
    """What the host saw of a session: each frame's size against its arrival time, and the
    gap before it. Padded frames at a constant rate draw one flat line of evenly spaced dots.

    Args:
        sizes: the sealed frames' sizes in bytes, in order.
        times: their arrival times from the host's index (may be shorter, or empty).
        width_px: the drawing's width (narrower for a half-width panel: larger text).
    """
    n = len(sizes)
    timed = len(times) >= n > 0
    xs = [times[i] - times[0] for i in range(n)] if timed else [float(i) for i in range(n)]
    x_max = max(xs[-1] if xs else 1.0, 1e-6)
    left, right, height = 56, width_px - 8, 120
    top_a, top_b = 16, 16 + height + 40
    size_max = max(sizes, default=1) * 1.1 or 1
    gaps = [xs[i] - xs[i - 1] for i in range(1, n)]
    gap_max = max(gaps, default=1.0) * 1.1 or 1.0

    def px(v: float) -> float:
        return left + v / x_max * (right - left)

    body = [
        f'<text x="{left}" y="12" font-size="12" font-weight="bold">frame size (bytes)</text>',
        f'<text x="{left - 4}" y="{top_a + 10}" font-size="11" text-anchor="end">'
        f"{int(size_max)}</text>",
        f'<line x1="{left}" y1="{top_a + height}" x2="{right}" y2="{top_a + height}" '
        'stroke="#868e96"/>',
    ]
    for i in _thin(n):
        y = top_a + height - sizes[i] / size_max * height
        body.append(
            f'<circle class="frame" cx="{px(xs[i]):.1f}" cy="{y:.1f}" r="2" fill="#1971c2"/>'
        )
    body.append(
        f'<text x="{left}" y="{top_b - 4}" font-size="12" font-weight="bold">'
        f"gap before each frame ({'s' if timed else 'no timing in the index'})</text>"
        f'<text x="{left - 4}" y="{top_b + 10}" font-size="11" text-anchor="end">'
        f"{gap_max:.2f}</text>"
        f'<line x1="{left}" y1="{top_b + height}" x2="{right}" y2="{top_b + height}" '
        'stroke="#868e96"/>'
    )
    if timed:
        for i in _thin(len(gaps)):
            y = top_b + height - gaps[i] / gap_max * height
            body.append(
                f'<circle class="gap" cx="{px(xs[i + 1]):.1f}" cy="{y:.1f}" r="2" fill="#e8590c"/>'
            )
    axis = top_b + height + 14
    unit = "s after the first frame" if timed else "frame number"
    body.append(
        f'<text x="{left}" y="{axis}" font-size="11">0</text>'
        f'<text x="{right}" y="{axis}" font-size="11" text-anchor="end">'
        f"{x_max:.1f} {unit}</text>"
    )
    return _svg(axis + 6, body, "frame sizes and timing", width_px)
