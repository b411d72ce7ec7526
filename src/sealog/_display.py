"""Making untrusted text safe to print: one line, no terminal control sequences.

Keep ids, file names in a store, header fields, record fields and error messages that quote a
path can hold anything the host or the workload chose, including a newline followed by a forged
``INTACT`` line or ANSI escapes that rewrite the screen. Everything sealog prints from such a
source goes through :func:`printable` first.
"""

from __future__ import annotations

__all__ = ["printable"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


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


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control, format (bidi overrides) or line-separator character escaped.

    Ordinary characters, spaces included, are kept as they are. With ``keep_newlines`` a plain
    ``\\n`` stays (a traceback is several lines by nature); nothing else that moves the cursor
    or colours the screen does.
    """
    if text.isprintable():
        return text
    return "".join(
        ch if ch == " " or ch.isprintable() or (keep_newlines and ch == "\n") else _escape(ch)
        for ch in text
    )
