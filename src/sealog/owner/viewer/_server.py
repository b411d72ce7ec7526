"""Serving the viewer: 127.0.0.1 only, a free port, a random token in the one URL printed."""

from __future__ import annotations

import secrets
import socket
import threading
from pathlib import Path

import uvicorn

from sealog.attest import AppraisalPolicy
from sealog.owner import OwnerPrivateKey
from sealog.owner.viewer._app import create_app
from sealog.owner.viewer._model import StoreModel

__all__ = ["Viewer"]

HOST = "127.0.0.1"


class Viewer:
    """The owner's web viewer for one store, listening on 127.0.0.1.

    The socket is bound when the viewer is made, so :attr:`url` is right at once and a browser
    that connects before :meth:`serve` runs simply waits in the listen queue.

    Args:
        store: the store folder.
        key: the owner's private key, read once by the caller; it stays in this process.
        port: the port on 127.0.0.1 (0: a free one).
        policy: what each session's evidence is appraised against.
        token: the secret in the URL (default: 32 random bytes, URL-safe).

    Raises:
        FormatError: the store is missing, empty or holds foreign files.
        OSError: the port cannot be bound.
    """

    def __init__(
        self,
        store: Path | str,
        key: OwnerPrivateKey,
        *,
        port: int = 0,
        policy: AppraisalPolicy | None = None,
        token: str | None = None,
    ) -> None:
        self.model = StoreModel(store, key, policy)
        self.token = token or secrets.token_urlsafe(32)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.bind((HOST, port))
            self._socket.listen(64)
        except OSError:
            self._socket.close()
            raise
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.model, self.token),
            # Access logs would print every URL, token and search text included.
            access_log=False,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The address to open, token included."""
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def serve(self) -> None:
        """Serve until interrupted (Ctrl+C) or :meth:`stop`."""
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def start(self) -> Viewer:
        """Serve from a background thread (for programs and tests); returns ``self``."""
        self._thread = threading.Thread(target=self.serve, name="sealog-view", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server to finish."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        else:  # never served: release the port
            self._socket.close()

    def __enter__(self) -> Viewer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
