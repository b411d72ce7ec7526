"""Making untrusted text safe to print: one line, no terminal control sequences.

Keep ids, file names in a store, record fields and error messages that quote a path can hold
anything the host or the workload chose, including a newline followed by a forged ``INTACT``
line or ANSI escapes that rewrite the screen. Everything sealog prints from such a source goes
through :func:`printable` first.
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every control, format (bidi overrides) or separator character escaped.

    Ordinary characters, spaces included, are kept as they are; a backslash is doubled so an
    escape cannot be faked either.
    """
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text:
        if ch == " " or (ch != "\\" and ch.isprintable()):
            cat = unicodedata.category(ch)
            out.append(_escape(ch) if cat in ("Cf", "Zl", "Zp") else ch)
        else:
            out.append(_escape(ch))
    return "".join(out)
