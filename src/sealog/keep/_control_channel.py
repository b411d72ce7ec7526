"""The Keep's side of the control process: take change orders from the host, apply the good ones.

The host feeds a control folder (``sealog run --control DIR``): it drops order bundles there
(``sealog audit append ... -o BUNDLE``). The host can deliver, delay or withhold orders; it
cannot forge one, because :func:`sealog.audit.check_order` accepts an order only with enough
approver signatures and a proof of inclusion under a tree head signed by the audit log key.

An applied order switches the profile, is sealed into the stream as a ``profile.changed``
record (the whole bundle, so the owner's ``verify`` can check it again), and is announced on
the host channel as ``keep.profile_changed``. When its window ends the Keep reverts by itself
(``profile.reverted``). A refused order is sealed with its reason; the host gets a generic code.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealog._display import printable
from sealog._files import DOCUMENT_LIMIT, read_bytes
from sealog.audit import ControlPolicy, OrderApproval, OrderBundle, SignedTreeHead, check_order
from sealog.errors import Error, PolicyError
from sealog.keep._host_channel import HostChannel
from sealog.keep._targets import bind_profile, bind_targets
from sealog.profile import Profile, profile_digest
from sealog.seal._vocabulary import (
    EVENT_ORDER_REFUSED,
    EVENT_PROFILE_CHANGED,
    EVENT_PROFILE_REVERTED,
)

__all__ = ["ControlChannel"]

_POLL = 0.2

#: ``(level, message, fields)``: seal one ``sealog``-source record.
Seal = Callable[[int, str, dict[str, Any]], None]
#: Switch to a profile (given with the TOML text the workload parses it from).
Switch = Callable[[Profile, str], None]


class ControlChannel:
    """Watches a control folder and applies approved change orders.

    Args:
        folder: where the host drops order bundles (``*.json``).
        policy: the launch configuration's control policy.
        keep_id: this Keep's id (orders name a Keep or ``*``).
        launch: the launch profile and how to refer to it (reverting returns to it).
        switch: switches the runtime and the workload to a profile.
        dump_ring: asks the workload to seal its flight recorder.
        seal: seals a record.
        host: the host channel.
        clock: the current time (aware); injected for tests.
    """

    def __init__(
        self,
        folder: Path,
        policy: ControlPolicy,
        *,
        keep_id: str,
        launch: tuple[Profile, str],
        switch: Switch,
        dump_ring: Callable[[], None],
        seal: Seal,
        host: HostChannel,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._folder = folder
        self._policy = policy
        self._keep_id = keep_id
        self._launch = launch
        self._switch = switch
        self._dump_ring = dump_ring
        self._seal = seal
        self._host = host
        self._clock = clock
        # Targets and the launch profile are read now, at launch, never when an order comes.
        self._targets = bind_targets(policy)
        launch_profile, launch_ref = launch
        self._launch_text: str | None = None
        with contextlib.suppress(Error):
            self._launch_text = bind_profile(launch_ref, profile_digest(launch_profile)).text
        self._seen_files: set[str] = set()
        self._nonces: set[str] = set()
        self._last_tree_head: SignedTreeHead | None = None
        self.active: OrderApproval | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Poll the folder in the background until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="sealog-control", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (the session is closing)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(_POLL):
            self.poll()

    def poll(self) -> None:
        """Revert an expired order, then consider every bundle not seen before, by name."""
        now = self._clock()
        if self.active is not None and now >= self.active.expires:
            self._revert()
        try:
            names = sorted(p.name for p in self._folder.iterdir() if p.suffix == ".json")
        except OSError:
            return  # the host removed the folder: no orders, nothing else changes
        for name in names:
            if name not in self._seen_files:
                self._seen_files.add(name)
                if _is_regular(self._folder / name):
                    self._consider(self._folder / name, now)

    def _consider(self, path: Path, now: datetime) -> None:
        try:
            # Opened without following a link and without blocking, and size-capped: the
            # host chooses what lies here (a FIFO, a link to a device, a huge file).
            data = read_bytes(path, "an order bundle", limit=DOCUMENT_LIMIT, follow=False)
            bundle = OrderBundle.from_json(data, source=printable(path.name))
            approval = check_order(
                bundle.order,
                self._policy,
                keep_id=self._keep_id,
                now=now,
                seen_nonces=self._nonces,
                inclusion=bundle.inclusion,
                last_tree_head=self._last_tree_head,
            )
            bound = self._targets.get(approval.target)
            if bound is None:
                raise PolicyError(f"target {approval.target} is not in the control policy")
            if isinstance(bound, Error):
                raise bound
            target = bound.profile
        except Error as exc:
            self._seal(
                30,
                f"change order refused: {exc}",
                {"event": EVENT_ORDER_REFUSED, "file": printable(path.name), "reason": str(exc)},
            )
            self._host.emit("keep.order_refused", code="order.refused")
            return
        self._nonces.add(approval.nonce)
        self._last_tree_head = bundle.inclusion.tree_head
        self._switch(target, bound.text)
        self.active = approval
        self._seal(
            30,
            f"profile changed to {target.name} until {approval.expires.isoformat()} "
            f"by order {approval.digest.hex()[:16]} ({', '.join(approval.approvers)})",
            {
                "event": EVENT_PROFILE_CHANGED,
                "profile": target.name,
                "profile_digest": profile_digest(target).hex(),
                "order_digest": approval.digest.hex(),
                "approvers": list(approval.approvers),
                "expires": approval.expires.isoformat(),
                "reason": approval.reason,
                "bundle": json.loads(bundle.to_json()),
            },
        )
        self._host.emit("keep.profile_changed", profile=target.name)
        if approval.flight_recorder:
            self._dump_ring()

    def _revert(self) -> None:
        expired = self.active
        self.active = None
        profile, _ref = self._launch
        self._switch(profile, self._launch_text or "")
        self._seal(
            30,
            f"profile reverted to {profile.name}: order window ended",
            {
                "event": EVENT_PROFILE_REVERTED,
                "profile": profile.name,
                "profile_digest": profile_digest(profile).hex(),
                "order_digest": expired.digest.hex() if expired else None,
            },
        )
        self._host.emit("keep.profile_reverted", profile=profile.name)


def _is_regular(path: Path) -> bool:
    """Whether ``path`` is a regular file itself (not a link, a FIFO, a device or a folder)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False
