"""The viewer's pages through Starlette's TestClient: the token gate, what each page shows,
and what it must never show (the owner's key, unescaped markup from a record)."""

from __future__ import annotations

import base64
import re

import pytest

pytest.importorskip("starlette", reason="the viewer's packages (the 'view' extra) are missing")

from httpx2 import Response
from starlette.testclient import TestClient
from viewer_store import INJECTION, SECRET_WORD, ViewerStore

from sealog.attest import AppraisalPolicy
from sealog.owner.viewer import RecordQuery, StoreModel, create_app
from sealog.owner.viewer._model import parse_when
from sealog.seal import OwnerPrivateKey
from streams import SessionMaker

TOKEN = "t0ken-for-tests"  # noqa: S105 - the viewer's URL token in these tests


@pytest.fixture(scope="module")
def model(viewer_store: ViewerStore) -> StoreModel:
    return StoreModel(viewer_store.path, viewer_store.key)


@pytest.fixture
def client(model: StoreModel) -> TestClient:
    return TestClient(create_app(model, TOKEN), base_url="http://127.0.0.1")


def get(client: TestClient, path: str, **params: str) -> Response:
    return client.get(path, params={"token": TOKEN, **params})


def rows(html: str) -> list[str]:
    """The level of every record row on a page."""
    return re.findall(r'<span class="badge level lvl-(\w+)">', html)


@pytest.mark.parametrize("path", ["/", "/session/0", "/diff", "/session/0/host", "/nowhere"])
@pytest.mark.parametrize("token", [None, "", "t0ken-for-test", TOKEN + "x"])
def test_request_without_the_right_token_gets_403_and_no_page(
    client: TestClient, path: str, token: str | None
) -> None:
    params = {} if token is None else {"token": token}
    response = client.get(path, params=params)
    assert response.status_code == 403
    assert "<html" not in response.text
    assert "sealog view" in response.text  # says which address to open instead


def test_request_under_another_host_name_is_refused(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    """A page reached through DNS rebinding (evil.example resolving to 127.0.0.1) gets nothing."""
    response = client.get("/", params={"token": TOKEN}, headers={"host": "evil.example"})
    assert response.status_code == 400
    assert viewer_store.incident not in response.text


def test_sessions_page_lists_every_session_with_its_verdict_and_keep(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    html = get(client, "/").text
    for sid, keep, profile in (
        (viewer_store.incident, "k1", "production"),
        (viewer_store.other, "k2", "production"),
        (viewer_store.padded, "k3", "staging"),
    ):
        row = html[html.index(sid[:12]) :].split("</tr>")[0]
        assert f">{keep}<" in row
        assert profile in row
        assert "intact" in row
        assert "none: no TEE" in row  # the evidence appraisal, honest about 'none' evidence
    k1 = html[html.index(viewer_store.incident[:12]) :].split("</tr>")[0]
    assert 'class="prof"' in k1  # the incident window, and the return to production
    assert "incident" in k1


def test_every_page_renders_with_security_headers(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    sid = viewer_store.incident
    for path, params in (
        ("/", {}),
        (f"/session/{sid}", {}),
        (f"/session/{sid}/host", {}),
        ("/diff", {"a": sid, "b": viewer_store.other}),
    ):
        response = get(client, path, **params)
        assert response.status_code == 200, response.text
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src" not in csp  # no script may run, not even the page's own
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "<script" not in response.text.lower()


def test_owner_key_never_appears_in_any_response(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    key_text = viewer_store.key_file.read_text()
    secrets = {line.split(":")[-1].strip() for line in key_text.splitlines() if line.strip()}
    raw = viewer_store.key.raw
    secrets |= {raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    secrets = {s for s in secrets if len(s) >= 16}
    assert secrets
    sid = viewer_store.incident
    pages = [
        get(client, "/"),
        get(client, f"/session/{sid}"),
        get(client, f"/session/{sid}", q="payment", level="info"),
        get(client, f"/session/{viewer_store.padded}/host"),
        get(client, "/diff", a=sid, b=viewer_store.other),
        get(client, "/session/nope"),
        client.get("/"),
    ]
    for response in pages:
        blob = response.text + str(response.headers)
        for secret in secrets:
            assert secret not in blob


def test_record_holding_html_is_shown_as_text(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    html = get(client, f"/session/{viewer_store.incident}", q="pwned").text
    assert rows(html) == ["INFO"]
    assert INJECTION not in html
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;" in html


def test_level_filter_keeps_that_level_and_above(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    sid = viewer_store.incident
    everything = rows(get(client, f"/session/{sid}").text)
    assert {"DEBUG", "INFO", "WARNING", "ERROR"} <= set(everything)
    for name, allowed in (("warn", {"WARNING", "ERROR", "CRITICAL"}), ("ERROR", {"ERROR"})):
        selected = rows(get(client, f"/session/{sid}", level=name).text)
        assert selected
        assert set(selected) <= allowed
    assert len(rows(get(client, f"/session/{sid}", level="debug").text)) == len(everything)


def test_search_finds_text_in_messages_fields_and_tracebacks_ignoring_case(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    sid = viewer_store.incident
    html = get(client, f"/session/{sid}", q="ACQUIRER LATENCY").text
    assert len(rows(html)) == 22
    assert "22 of 129 records" in html
    # The traceback is searched too (a file name that only its frames hold).
    assert rows(get(client, f"/session/{sid}", q="LEDGER.PY").text) == ["ERROR"]
    assert rows(get(client, f"/session/{sid}", q="no such text anywhere").text) == []


def test_time_range_selects_the_incident_window(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    from datetime import UTC, datetime

    def at(offset: float) -> str:
        return datetime.fromtimestamp(viewer_store.start + offset, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )

    html = get(client, f"/session/{viewer_store.incident}", since=at(121), until=at(209)).text
    levels = rows(html)
    assert levels.count("DEBUG") == 22  # the live DEBUG records of the window, not the ring's
    assert "payment 29 settled" not in html
    assert "payment 30 settled" not in html  # at +120, before the window's first second
    assert "payment 31 settled" in html
    assert "payment 52 settled" in html  # at +208
    assert "payment 53 settled" not in html  # at +212, after the range


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2026-11-27T08:50", False, "2026-11-27T08:50:00"),
        ("2026-11-27T08:50", True, "2026-11-27T08:50:59.999999"),
        ("2026-11-27 08:50", True, "2026-11-27T08:50:59.999999"),
        ("2026-11-27T08:50:10", True, "2026-11-27T08:50:10"),
        ("2026-11-27T09:50:10+01:00", False, "2026-11-27T08:50:10"),
    ],
)
def test_time_bounds_read_as_utc_and_a_minute_bound_covers_its_minute(
    text: str, end: bool, expected: str
) -> None:
    from datetime import UTC, datetime

    when = parse_when(text, end=end)
    assert when is not None
    assert datetime.fromtimestamp(when, UTC).isoformat() == expected + "+00:00"
    assert parse_when("  ") is None


def test_bad_filter_values_get_one_clear_message(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    sid = viewer_store.incident
    loud = get(client, f"/session/{sid}", level="loud")
    assert loud.status_code == 400
    assert "unknown level &#39;loud&#39;" in loud.text
    when = get(client, f"/session/{sid}", since="yesterday")
    assert when.status_code == 400
    assert "not a time" in when.text
    unknown = get(client, "/session/ffff")
    assert unknown.status_code == 400
    assert "no session" in unknown.text


def test_profile_band_marks_the_incident_window_and_the_flight_recorder_release(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    html = get(client, f"/session/{viewer_store.incident}").text
    band = html[html.index('aria-label="profile timeline"') :].split("</svg>")[0]
    assert band.count('class="window"') == 1
    assert "incident by order" in band
    assert "alice, bob" in band
    assert band.count('class="release"') == 1
    assert "3 records from before the order" in band
    plain = get(client, f"/session/{viewer_store.other}").text
    assert 'class="window"' not in plain


def test_records_per_minute_plot_counts_every_selected_record(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    html = get(client, f"/session/{viewer_store.incident}", level="warning").text
    plot = html[html.index('aria-label="records per') :].split("</svg>")[0]
    counts = [int(n) for n in re.findall(r"<title>[\d:]+: (\d+) (?:WARNING|ERROR)</title>", plot)]
    assert sum(counts) == len(rows(html))


def test_host_page_plots_every_frame_beside_what_the_owner_reads(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    view = next(
        s
        for s in StoreModel(viewer_store.path, viewer_store.key).host().sessions
        if s.session == viewer_store.padded
    )
    html = get(client, f"/session/{viewer_store.padded}/host").text
    assert 'id="owner-side"' in html
    assert 'id="host-side"' in html
    assert html.count('class="frame"') == view.frames
    assert html.count('class="gap"') == view.frames - 1
    assert len(set(view.frame_sizes)) == 1  # padded: one size
    assert view.header["launch"]["profile_digest"] in html  # whole, never cut
    assert "RuntimeError" not in html.split('id="host-side"')[1]  # the host side has no text


def test_diff_shows_where_two_sessions_first_diverge(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    html = get(client, "/diff", a=viewer_store.incident, b=viewer_store.other).text
    assert "different" in html
    assert "First divergence at record" in html
    only_b = html.split('class="only-b"')[1].split("</table>")[0]
    assert "TimeoutError" in only_b
    assert rows(only_b) == ["ERROR"]
    same = get(client, "/diff", a=viewer_store.other, b=viewer_store.other).text
    assert "align record for record" in same


def test_record_query_combines_its_conditions(model: StoreModel, viewer_store: ViewerStore) -> None:
    data = model.session(viewer_store.incident)
    chosen = RecordQuery(min_level=30, text="slow").select(data)
    assert chosen
    assert all(data.records[i].level == 30 and "slow" in data.records[i].message for i in chosen)


def test_sealed_text_is_only_in_the_owners_pages_not_the_hosts_files(
    client: TestClient, viewer_store: ViewerStore
) -> None:
    """The canary the workload logged reaches the owner's browser, and no host-readable file."""
    assert SECRET_WORD in get(client, f"/session/{viewer_store.incident}", q="customer").text
    for path in viewer_store.path.iterdir():
        assert SECRET_WORD.encode() not in path.read_bytes()


def test_session_started_while_the_viewer_runs_appears_on_the_next_page(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, first = make_session(records=3)
    client = TestClient(
        create_app(StoreModel(store, owner_key), TOKEN), base_url="http://127.0.0.1"
    )
    assert first[:12] in get(client, "/").text
    _, second = make_session(records=4, store=store, close=False)
    html = get(client, "/").text
    assert first[:12] in html
    row = html[html.index(second[:12]) :].split("</tr>")[0]
    assert "truncated" in row  # still running: no closing frame yet


def test_evidence_is_appraised_against_the_policy_given(viewer_store: ViewerStore) -> None:
    """An owner who requires SEV-SNP sees 'none' evidence fail, with the reason."""
    strict = StoreModel(viewer_store.path, viewer_store.key, AppraisalPolicy(require_tee="snp"))
    client = TestClient(create_app(strict, TOKEN), base_url="http://127.0.0.1")
    html = get(client, "/").text
    assert html.count("none: failed") == 3
    assert "&#39;none&#39; evidence proves no TEE; policy requires snp" in html


def test_tampered_session_shows_its_verdict_and_only_what_authenticated(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session(records=40, frames_every=5)
    seal = store / f"{sid}.seal"
    data = bytearray(seal.read_bytes())
    data[len(data) // 2] ^= 0x01  # the host flips one bit of a frame in the middle
    seal.write_bytes(bytes(data))
    client = TestClient(
        create_app(StoreModel(store, owner_key), TOKEN), base_url="http://127.0.0.1"
    )
    listing = get(client, "/").text
    row = listing[listing.index(sid[:12]) :].split("</tr>")[0]
    assert "modified" in row
    assert 'class="badge verdict bad"' in row
    html = get(client, f"/session/{sid}").text
    shown = len(rows(html))
    assert 0 < shown < 40  # records up to the altered frame, none after it
    assert f"record {shown - 1} of the test" in html
    assert f"record {shown} of the test" not in html


def test_host_written_event_with_markup_is_shown_as_text(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    """The host writes the events file: what it puts there is text on the page, never markup."""
    store, sid = make_session(records=3)
    events = store / f"{sid}.events.jsonl"
    with events.open("a") as fh:
        fh.write('{"event": "keep.error", "code": "<script>alert(1)</script>"}\n')
    client = TestClient(
        create_app(StoreModel(store, owner_key), TOKEN), base_url="http://127.0.0.1"
    )
    html = get(client, f"/session/{sid}/host").text
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_long_session_is_shown_a_page_at_a_time(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, sid = make_session(records=620, frames_every=100)
    client = TestClient(
        create_app(StoreModel(store, owner_key), TOKEN), base_url="http://127.0.0.1"
    )
    first = get(client, f"/session/{sid}").text
    assert len(rows(first)) == 500
    assert "showing 1\u2013500" in first
    assert "next →" in first
    second = get(client, f"/session/{sid}", offset="500").text
    assert len(rows(second)) == 121  # 620 records and the closing record
    assert "record 619 of the test" in second
    assert "← previous" in second


def test_drops_are_the_sealed_counts(viewer_store: ViewerStore) -> None:
    """The closing record carries the total; before it, the notes are added up."""
    from sealog.owner.viewer import SessionData
    from sealog.seal import Record

    data = StoreModel(viewer_store.path, viewer_store.key).session(viewer_store.other)

    def note(n: int, message: str) -> Record:
        return Record(0.0, 30, "sealog", "sealog.session", message, fields={"dropped": n})

    notes = (note(12, "12 records dropped: backlog full"), note(3, "3 records dropped"))
    running = SessionData.build(data.verdict, None, notes, ("", ""), 0)
    assert running.drops == 15
    closed = SessionData.build(
        data.verdict, None, (*notes, note(15, "session closed")), ("",) * 3, 0
    )
    assert closed.drops == 15
    forged = Record(0.0, 30, "workload", "sealog.session", "session closed", fields={"dropped": 99})
    assert SessionData.build(data.verdict, None, (forged,), ("",), 0).drops == 0
