"""loguru's records reach sealog natively through a sink: levels, extra fields, exceptions."""

from __future__ import annotations

from loguru import logger

from sealog.keep._shape import REDACTED
from sealog.testing import capture_loguru


def divide(x: int) -> float:
    return 1 / x


def test_records_arrive_with_level_module_extra_and_the_real_exception() -> None:
    with capture_loguru("testing") as captured:
        logger.trace("tracing {}", 1)
        logger.success("paid {amount}", amount=5)
        logger.bind(order=17).warning("slow")
        try:
            divide(0)
        except ZeroDivisionError:
            logger.exception("division failed")
    trace, paid, slow, failed = captured.records
    assert [r.level_name for r in captured.records] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert trace.message == "tracing 1"
    assert paid.message == "paid 5"
    assert slow.logger == __name__
    assert slow.fields["order"] == 17
    assert failed.exception is not None
    assert failed.exception.type == "ZeroDivisionError"
    assert failed.exception.frames[-1][2:] == ("divide", "return 1 / x")


def test_production_redacts_bound_fields_and_leaves_info_out() -> None:
    with capture_loguru("production") as captured:
        logger.info("login bob")
        logger.bind(password="hunter2").error("login failed password=hunter2")  # noqa: S106
    (record,) = captured.records
    assert record.fields["password"] == REDACTED
    assert "hunter2" not in record.message


def test_the_sink_is_removed_after_the_block() -> None:
    with capture_loguru("testing") as captured:
        logger.error("inside")
    logger.error("outside")
    assert captured.messages() == ["inside"]
