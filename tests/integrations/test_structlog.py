"""structlog's events reach sealog natively: levels, fields and real exceptions, no text."""

from __future__ import annotations

import pytest
import structlog

from sealog.integrations import SealogRenderer
from sealog.keep._shape import REDACTED
from sealog.testing import capture_structlog


def charge(amount: int) -> None:
    raise ValueError(f"card declined for {amount}")


def test_events_arrive_with_level_logger_fields_and_the_real_exception() -> None:
    log = structlog.get_logger().bind(logger="payments", order=17)
    with capture_structlog("testing") as captured:
        log.debug("quote", amount=5)
        log.warning("slow upstream", ms=900)
        try:
            charge(5)
        except ValueError:
            log.exception("charge failed")
    quote, slow, failed = captured.records
    assert [r.level_name for r in captured.records] == ["DEBUG", "WARNING", "ERROR"]
    assert {r.logger for r in captured.records} == {"payments"}
    assert quote.message == "quote"
    assert dict(quote.fields) == {"order": 17, "amount": 5}
    assert dict(slow.fields) == {"order": 17, "ms": 900}
    assert failed.exception is not None
    assert failed.exception.type == "ValueError"
    assert failed.exception.message == "card declined for 5"
    assert failed.exception.frames[-1][2:] == (
        "charge",
        'raise ValueError(f"card declined for {amount}")',
    )


def test_production_redacts_fields_and_keeps_info_in_the_flight_recorder() -> None:
    log = structlog.get_logger()
    with capture_structlog("production") as captured:
        log.info("login", user="bob")
        log.error("login failed", user="bob", password="hunter2", token="tok_live_abc")  # noqa: S106
    (record,) = captured.records
    assert record.message == "login failed"
    assert record.fields["password"] == REDACTED
    assert record.fields["token"] == REDACTED
    assert [r.message for r in captured.ring] == ["login"]


def test_renderer_prints_nothing_so_sealog_run_does_not_capture_a_second_copy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with capture_structlog("testing") as captured:
        structlog.get_logger().error("once")
    assert captured.messages() == ["once"]
    out = capsys.readouterr()
    assert out.out + out.err == ""


def test_field_named_like_a_logrecord_attribute_is_kept_not_lost() -> None:
    with capture_structlog("testing") as captured:
        structlog.get_logger().info("upload", filename="report.pdf", process="ingest")
    (record,) = captured.records
    assert dict(record.fields) == {"filename_": "report.pdf", "process_": "ingest"}


def test_the_chain_is_restored_after_the_block() -> None:
    before = structlog.get_config()["processors"]
    with capture_structlog("testing"):
        assert isinstance(structlog.get_config()["processors"][-1], SealogRenderer)
    assert structlog.get_config()["processors"] == before


def test_renderer_drops_the_event() -> None:
    with pytest.raises(structlog.DropEvent):
        SealogRenderer()(None, "info", {"event": "x"})


def test_an_exception_already_rendered_to_text_keeps_only_its_last_line() -> None:
    """format_exc_info before the renderer: source lines must not bypass the traceback mode."""
    processors = structlog.get_config()["processors"]
    saved = list(processors)
    processors[-1:] = [structlog.processors.format_exc_info, structlog.dev.ConsoleRenderer()]
    try:
        with capture_structlog("production") as captured:
            try:
                charge(9)
            except ValueError:
                structlog.get_logger().exception("charge failed")
    finally:
        processors[:] = saved
    (record,) = captured.records
    assert record.fields["exception"] == "ValueError: card declined for 9"
