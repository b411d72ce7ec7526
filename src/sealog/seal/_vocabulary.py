"""The sealed-event vocabulary: the loggers and events sealog itself writes into a stream.

The Keep writes these records and the owner's tools read them (the profile timeline, diff, the
renderers), so both sides take the names from here. Records with source ``sealog`` carry the
runtime's proof of what happened in a session; docs/format.md lists them, and a test keeps that
table and :data:`SEALED_EVENTS` equal.

Standard library only.
"""

from __future__ import annotations

__all__ = [
    "CONTROL_LOGGER",
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "EVENT_ANNOUNCE_REFUSED",
    "EVENT_ANNOUNCE_STOPPED",
    "EVENT_ANNOUNCE_TIMEOUT",
    "EVENT_CONTROL_POLICY",
    "EVENT_ORDER_REFUSED",
    "EVENT_PROFILE_CHANGED",
    "EVENT_PROFILE_REVERTED",
    "EVENT_RING_SEALED",
    "EVENT_SESSION_ANNOUNCED",
    "FINGERPRINT_LOGGER",
    "INFO",
    "RUNTIME_LOGGER",
    "SEALED_EVENTS",
    "SESSION_LOGGER",
    "TRACE_LOGGER",
    "UNCAUGHT_LOGGER",
    "WARNING",
]

#: Level numbers, as the stdlib numbers them (the rows carry numbers, not names).
DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40
CRITICAL = 50

#: sealog's notes on the session itself: drop counts, held-back host events, the closing record.
SESSION_LOGGER = "sealog.session"
#: The control process as the Keep applied it: the policy in force, profile changes, refusals.
CONTROL_LOGGER = "sealog.control"
#: The runtime's own account of the workload: start, exit code, resource usage.
RUNTIME_LOGGER = "sealog.runtime"
#: What the workload asked of its environment (the runtime trace).
TRACE_LOGGER = "sealog.trace"
#: The platform fingerprint sealed at session start under trace profiles.
FINGERPRINT_LOGGER = "sealog.fingerprint"
#: An exception nothing in the workload caught.
UNCAUGHT_LOGGER = "sealog.uncaught"

EVENT_CONTROL_POLICY = "control.policy"
EVENT_PROFILE_CHANGED = "profile.changed"
EVENT_PROFILE_REVERTED = "profile.reverted"
EVENT_ORDER_REFUSED = "order.refused"
EVENT_RING_SEALED = "ring.sealed"
EVENT_SESSION_ANNOUNCED = "session.announced"
EVENT_ANNOUNCE_REFUSED = "announce.refused"
EVENT_ANNOUNCE_TIMEOUT = "announce.timeout"
EVENT_ANNOUNCE_STOPPED = "announce.stopped"

#: The ``event`` field values of control records, each with what it means.
SEALED_EVENTS: dict[str, str] = {
    EVENT_CONTROL_POLICY: "the control policy in force (its text and digest), at session start",
    EVENT_PROFILE_CHANGED: "an approved order switched the profile (the order bundle is sealed)",
    EVENT_PROFILE_REVERTED: "an order's window ended and the launch profile is back",
    EVENT_ORDER_REFUSED: "an order was refused (file name and reason)",
    EVENT_RING_SEALED: "the flight recorder's records follow, released by an order",
    EVENT_SESSION_ANNOUNCED: "the session is in the audit log (the announcement bundle is sealed)",
    EVENT_ANNOUNCE_REFUSED: "the announcement bundle was refused (reason); no workload ran",
    EVENT_ANNOUNCE_TIMEOUT: "no announcement bundle within the policy's wait; no workload ran",
    EVENT_ANNOUNCE_STOPPED: "SIGINT or SIGTERM while waiting for the announcement; no workload ran",
}
