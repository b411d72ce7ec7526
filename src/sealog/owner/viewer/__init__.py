"""``sealog view``: the owner's local web viewer, on 127.0.0.1 behind a random token.

Built on the owner's public API (:mod:`sealog.owner`, :mod:`sealog.host`, :mod:`sealog.attest`);
pages are rendered on the server with inline CSS and SVG, and run no script. Needs the ``view``
extra (``pip install 'sealog[view]'``).
"""

from sealog.owner.viewer._app import create_app
from sealog.owner.viewer._model import RecordQuery, SessionData, StoreModel
from sealog.owner.viewer._server import Viewer

__all__ = ["RecordQuery", "SessionData", "StoreModel", "Viewer", "create_app"]
