"""Stage profiles: what goes to whom, loaded strictly from TOML and identified by a digest.

Importing this package needs only the standard library: it runs inside workload processes.
"""

from typing import TYPE_CHECKING

from sealog._lazy import lazy_getattr
from sealog.profile._loader import (
    builtin_names,
    builtin_profile,
    builtin_text,
    load_profile,
    parse_profile,
    resolve_profile,
)
from sealog.profile._model import (
    LADDER,
    LEVELS,
    SOURCES,
    Destination,
    HostClear,
    LinePattern,
    LineSettings,
    Overflow,
    Profile,
    Stage,
    StreamSettings,
    TracebackMode,
)

if TYPE_CHECKING:
    from sealog.profile._digest import canonical_bytes, canonical_dict, profile_digest

__all__ = [
    "LADDER",
    "LEVELS",
    "SOURCES",
    "Destination",
    "HostClear",
    "LinePattern",
    "LineSettings",
    "Overflow",
    "Profile",
    "Stage",
    "StreamSettings",
    "TracebackMode",
    "builtin_names",
    "builtin_profile",
    "builtin_text",
    "canonical_bytes",
    "canonical_dict",
    "load_profile",
    "parse_profile",
    "profile_digest",
    "resolve_profile",
]

# The digest (and hashlib) load on first use: a workload's interpreter parses its profile but
# never digests it.
__getattr__ = lazy_getattr(
    "sealog.profile",
    dict.fromkeys(
        ("canonical_bytes", "canonical_dict", "profile_digest"), "sealog.profile._digest"
    ),
)
