"""The in-Keep runtime: the logging handler, the sealed session, the host channel, the runner.

Importing this package needs only the standard library: its workload half runs inside
workload interpreters that may not have sealog's dependencies. Modules that seal
(``_session``, ``_runtime``, ``_control_channel``) import ``cryptography`` themselves.
"""

from typing import TYPE_CHECKING

from sealog._lazy import lazy_getattr
from sealog.keep._handler import SealogHandler
from sealog.keep._secret import SECRET_TEXT, Secret, secret

if TYPE_CHECKING:
    from sealog.keep._host_channel import CAUSES, VOCABULARY, HostChannel

__all__ = [
    "CAUSES",
    "SECRET_TEXT",
    "VOCABULARY",
    "HostChannel",
    "SealogHandler",
    "Secret",
    "secret",
]

# The host channel is the runtime's, never a workload interpreter's: loaded on first use.
__getattr__ = lazy_getattr(
    "sealog.keep",
    dict.fromkeys(("CAUSES", "VOCABULARY", "HostChannel"), "sealog.keep._host_channel"),
)
