"""The viewer in a real headless Chromium, driven by Playwright, against a real server on
127.0.0.1: the owner opens the printed URL, filters, searches, unfolds a traceback, looks at
what the host saw and at a diff. The screenshots are the ones docs/viewer.md shows."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("playwright", reason="the viewer's browser tests need playwright (dev extra)")

from playwright.sync_api import Browser, Dialog, Page, sync_playwright
from viewer_store import ViewerStore

from sealog.owner.viewer import Viewer

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no browser: the viewer's browser tests need Debian's chromium (.ci/run installs it)",
)
#: Debian's chromium as Playwright's browser: headless, and quiet on the network.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Where screenshots go: a temporary folder, or the folder ``SEALOG_SCREENSHOTS`` names (the
#: documentation's are made with ``SEALOG_SCREENSHOTS=docs/viewer``), so a test run never
#: changes the work tree by itself.
SHOTS = Path(os.environ.get("SEALOG_SCREENSHOTS") or tempfile.mkdtemp(prefix="sealog-shots-"))


@pytest.fixture(scope="module")
def viewer(viewer_store: ViewerStore) -> Iterator[Viewer]:
    with Viewer(viewer_store.path, viewer_store.key) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    opened = context.new_page()
    # No page of the viewer may ask for anything but 127.0.0.1.
    asked: list[str] = []
    opened.on("request", lambda request: asked.append(request.url))
    dialogs: list[Dialog] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog)
        dialog.dismiss()

    opened.on("dialog", dismiss)
    yield opened
    assert all(url.startswith(("http://127.0.0.1:", "data:")) for url in asked)
    assert not dialogs  # no record's markup ran
    context.close()


def shot(page: Page, name: str, *, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def levels_shown(page: Page) -> list[str]:
    return page.locator("#records span.level").all_inner_texts()


def test_printed_url_without_its_token_shows_no_page(page: Page, viewer: Viewer) -> None:
    bare = f"http://127.0.0.1:{viewer.port}/"
    for url in (bare, bare + "?token=guess", bare + f"session/{viewer.token[:8]}"):
        response = page.goto(url)
        assert response is not None
        assert response.status == 403
        assert page.locator("table").count() == 0
    response = page.goto(viewer.url)
    assert response is not None
    assert response.status == 200
    assert page.locator("#sessions tr.session").count() == 3
    shot(page, "sessions")


def test_owner_filters_a_session_by_level(
    page: Page, viewer: Viewer, viewer_store: ViewerStore
) -> None:
    page.goto(viewer.url)
    page.click(f"a:text('{viewer_store.incident[:12]}')")
    assert "DEBUG" in levels_shown(page)
    shot(page, "session")
    page.select_option("#level", "WARNING")
    page.click("#apply")
    shown = levels_shown(page)
    assert shown
    assert set(shown) <= {"WARNING", "ERROR", "CRITICAL"}
    assert "ERROR" in shown
    assert page.locator("#level").input_value() == "WARNING"  # the form keeps the choice


def test_owner_searches_within_a_time_range(
    page: Page, viewer: Viewer, viewer_store: ViewerStore
) -> None:
    def at(offset: float) -> str:
        return datetime.fromtimestamp(viewer_store.start + offset, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )

    page.goto(viewer.url.replace("/?", f"/session/{viewer_store.incident}?"))
    page.fill("#q", "Acquirer")
    page.click("#apply")
    everywhere = page.locator("#records tr.record").count()
    page.fill("#since", at(121))
    page.fill("#until", at(209))
    page.click("#apply")
    messages = page.locator("#records td.message").all_inner_texts()
    assert 0 < len(messages) < everywhere
    assert all("acquirer" in m.lower() for m in messages)
    assert all("retry" not in m for m in messages)  # the ring's records are from before
    assert page.locator("#count").inner_text().startswith(f"{len(messages)} of ")


def test_owner_unfolds_a_traceback(page: Page, viewer: Viewer, viewer_store: ViewerStore) -> None:
    page.goto(viewer.url.replace("/?", f"/session/{viewer_store.incident}?") + "&level=ERROR")
    details = page.locator("details.traceback").first
    frames = details.locator("pre")
    assert not frames.is_visible()  # folded until asked for
    details.locator("summary").click()
    assert frames.is_visible()
    assert "ledger.py" in frames.inner_text()
    assert "LedgerError: ledger replica eu-1 refused the write" in frames.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#records").screenshot(path=str(SHOTS / "traceback.png"))


def test_record_holding_markup_is_shown_not_run(
    page: Page, viewer: Viewer, viewer_store: ViewerStore
) -> None:
    page.goto(viewer.url.replace("/?", f"/session/{viewer_store.incident}?") + "&q=pwned")
    assert page.title() != "pwned"
    assert "<script>" in page.locator("#records td.message").first.inner_text()


def test_owner_sees_what_the_host_saw(
    page: Page, viewer: Viewer, viewer_store: ViewerStore
) -> None:
    page.goto(viewer.url)
    row = page.locator("#sessions tr.session", has_text=viewer_store.padded[:12])
    row.locator("a:text('host view')").click()
    host = page.locator("#host-side")
    owner = page.locator("#owner-side")
    assert host.is_visible()
    assert owner.is_visible()
    # Side by side: the two panels share a row.
    assert abs(host.bounding_box()["y"] - owner.bounding_box()["y"]) < 2  # type: ignore[index]
    frames = int(page.locator("#frame-count").inner_text().split(";")[0])
    assert page.locator("svg circle.frame").count() == frames
    assert "ledger" not in host.inner_text().lower()
    shot(page, "host", full=True)


def test_owner_compares_two_sessions(page: Page, viewer: Viewer, viewer_store: ViewerStore) -> None:
    page.goto(viewer.url)
    page.click("header a:text('Diff')")
    page.select_option("#diff-a", viewer_store.incident)
    page.select_option("#diff-b", viewer_store.other)
    page.click("#compare")
    assert "different" in page.locator("#diff-summary").inner_text()
    assert page.locator("tr.diverge").count() == 2
    assert "TimeoutError" in page.locator("table.only-b").inner_text()
    shot(page, "diff")
