"""Multi-line records in captured output: tracebacks, stack traces and panics.

A Python traceback (plain, loguru's, or rich's as structlog prints it), a Python fatal error with
faulthandler's stacks, a Java stack trace, a Go panic with its goroutine dump and a Rust panic
each become one row, their lines parsed into the row's exception (type, message, frames) so that
the profile's traceback mode decides what of them leaves. Variable values that loguru and rich
print under a frame are never kept. :class:`Group` collects the lines while they arrive; the
reader (``_lines.py``) decides when a group starts and ends.

Standard library only, like the rest of ``sealog.keep``'s capture half.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sealog.seal._row import Row, make_row

__all__ = ["GROUP_FIRST", "Group", "group_start", "python_exception"]

_ERROR, _CRITICAL = 40, 50

_PY_START = "Traceback (most recent call last):"
_PY_CHAIN = (
    "During handling of the above exception",
    "The above exception was the direct cause",
)
_PY_FRAME = re.compile(r'\s*>?\s*File "(.+)", line (\d+)(?:, in (.+))?$')
_PY_EXC = re.compile(r"([A-Za-z_][\w.]*)(?::\s?(.*))?$")
_RICH_FRAME = re.compile(r"│ (\S+):(\d+)(?: in(?: (\S+))?)?\s*│$")
_RICH_IN = re.compile(r"│ (?:in )?([^\s│]+)\s*│$")
_JAVA_START = re.compile(
    r"(?:Exception in thread \"[^\"]*\" )?"
    r"((?:[A-Za-z_$][\w$]*\.)+[\w$]*(?:Exception|Error|Throwable))(?::\s?(.*))?$"
)
_JAVA_CONT = re.compile(
    r"\s+at |\s*\.\.\. \d+ (?:more|common frames omitted)|\s*Caused by: |\s+Suppressed: "
)
_JAVA_FRAME = re.compile(r"\s+at (?:[\w.$/@]+/)?([\w.$<>]+)\(([^:)]*)(?::(\d+))?\)")
#: Longest line tried against the patterns below that could backtrack on crafted input (a
#: Go function line, a Rust panic header): real ones are far shorter.
_MAX_FRAME_LINE = 4096
_GO_FUNC = re.compile(r"[\w./*()\[\]{}$-]+\(.*\)(?: \S+)?$")
_GO_FILE = re.compile(r"\t(\S+?):(\d+)(?: \+0x[0-9a-f]+)?$")
_GO_CONT = (
    "goroutine ",
    "created by ",
    "[signal ",
    "panic: ",
    "runtime stack:",
    "...",
    "exit status ",
)
_FAULT_CONT = (
    "Current thread ",
    "Thread 0x",
    "Stack (most recent call first):",
    "Extension modules:",
    "Python runtime state:",
    "Current thread's C stack",
)
_FAULT_FRAME = re.compile(r'\s+File "(.+)", line (\d+) in (.+)$')
_RUST_START = re.compile(r"thread '([^']*)' panicked at (?:'(.*)', )?(\S+?):(\d+)(?::\d+)?:?$")
_RUST_FRAME = re.compile(r"\s+\d+: (.+)$")
_RUST_AT = re.compile(r"\s+at (\S+?):(\d+)(?::\d+)?$")


class Group:
    """The lines of one multi-line record while they arrive."""

    __slots__ = ("bytes", "closed", "dropped", "kind", "lines", "state", "time")

    def __init__(self, kind: str, line: str, now: float) -> None:
        self.kind = kind
        self.lines = [line]
        self.bytes = len(line)
        self.time = now
        self.state = "body"
        self.dropped = 0
        self.closed = False

    def accepts(self, line: str) -> bool:
        """Whether ``line`` continues this group (and move the group's state along)."""
        kind = self.kind
        if kind in ("python", "rich"):
            return self._python(line)
        if kind == "java":
            return _JAVA_CONT.match(line) is not None
        if kind == "fault":
            return not line or line[0] in " \t" or line.startswith(_FAULT_CONT)
        if kind == "go":
            return (
                not line
                or line[0] == "\t"
                or line.startswith(_GO_CONT)
                or (len(line) <= _MAX_FRAME_LINE and _GO_FUNC.match(line) is not None)
            )
        return self._rust(line)

    def _python(self, line: str) -> bool:
        state = self.state
        if state == "body":
            if self.kind == "rich":
                if line.startswith(("│", "╰")):
                    return True
            elif not line or line[0] in " \t" or line.startswith("> File"):
                return True
            self.state = "after"  # the exception's own line ends the traceback
            return True
        if state in ("after", "gap"):
            if not line:
                self.state = "gap"
                return True
            if line.startswith(_PY_CHAIN):
                self.state = "chain"
                return True
            return False
        # chain: a blank line, then the next traceback
        if not line:
            return True
        if line == _PY_START or (self.kind == "rich" and line.startswith("╭")):
            self.state = "body"
            return True
        return False

    def _rust(self, line: str) -> bool:
        if line.startswith("note: "):
            self.closed = True
            return True
        if line == "stack backtrace:" or _RUST_FRAME.match(line) or _RUST_AT.match(line):
            self.state = "trace"
            return True
        # the panic's message, on the line after "panicked at ...:"
        return self.state == "body" and self.lines[0].endswith(":") and len(self.lines) == 1

    def add(self, line: str, max_lines: int, max_bytes: int) -> None:
        if len(self.lines) >= max_lines or self.bytes + len(line) > max_bytes:
            self.dropped += 1
            return
        self.lines.append(line)
        self.bytes += len(line)

    def row(self, name: str) -> Row:
        level, message, exc, fields = _BUILD[self.kind](self.lines)
        fields["lines"] = len(self.lines) + self.dropped
        if self.dropped:
            fields["lines_dropped"] = self.dropped
        return make_row(self.time, level, "workload", name, message, None, exc, fields)


def python_exception(lines: list[str]) -> dict[str, Any]:
    """Type, message and frames of a Python traceback's text (plain, loguru's or rich's).

    Source lines are kept with their frame (the traceback mode decides whether they leave);
    loguru's and rich's variable values are never kept.
    """
    frames: list[list[Any]] = []
    raised: list[str] = []
    chain: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        m = _PY_FRAME.match(line)
        if m is not None:
            source = None
            if i + 1 < n:
                nxt = lines[i + 1]
                body = nxt.strip()
                if (
                    nxt[:1] in (" ", "\t")
                    and body
                    and not _PY_FRAME.match(nxt)
                    and body[0] not in "│└^~"
                    and not set(body) <= set("^~ ")
                ):
                    source = body
                    i += 1
            frames.append([m.group(1), int(m.group(2)), m.group(3) or "<module>", source])
        elif line.startswith("│"):
            r = _RICH_FRAME.match(line)
            if r is not None:
                function = r.group(3)
                if function is None and i + 1 < n:
                    # a long path pushes the function onto the box's next line
                    wrapped = _RICH_IN.match(lines[i + 1])
                    if wrapped is not None:
                        function = wrapped.group(1)
                        i += 1
                frames.append([r.group(1), int(r.group(2)), function or "?", None])
        elif line.startswith(_PY_CHAIN):
            chain.append("caused" if line.startswith(_PY_CHAIN[1]) else "during")
        elif line and line[0] not in " \t╭╰" and line != _PY_START:
            raised.append(line)
        i += 1
    final = raised[-1] if raised else "Exception"
    m = _PY_EXC.match(final)
    etype, emessage = (m.group(1), m.group(2)) if m else (final, None)
    for earlier in reversed(raised[:-1]):
        note = "caused by" if chain and chain.pop() == "caused" else "while handling"
        emessage = f"{emessage or ''}\n{note}: {earlier}"
    return {"type": etype, "message": emessage, "frames": frames}


def _build_python(lines: list[str]) -> tuple[int, str, dict[str, Any], dict[str, Any]]:
    exc = python_exception(lines)
    return _ERROR, f"python traceback: {exc['type']}", exc, {"format": "python-traceback"}


def _build_java(lines: list[str]) -> tuple[int, str, dict[str, Any], dict[str, Any]]:
    m = _JAVA_START.match(lines[0])
    etype, emessage = (m.group(1), m.group(2)) if m else (lines[0], None)
    frames: list[list[Any]] = []
    for line in lines[1:]:
        f = _JAVA_FRAME.match(line)
        if f is not None:
            frames.append([f.group(2), int(f.group(3) or 0), f.group(1), None])
        elif line.lstrip().startswith(("Caused by: ", "Suppressed: ")):
            emessage = f"{emessage or ''}\n{line.strip()}"
    exc = {"type": etype, "message": emessage, "frames": frames}
    return _ERROR, f"java stack trace: {etype}", exc, {"format": "java-stack-trace"}


def _build_go(lines: list[str]) -> tuple[int, str, dict[str, Any], dict[str, Any]]:
    head = lines[0]
    etype, _, emessage = head.partition(": ")
    frames: list[list[Any]] = []
    goroutines = 0
    function = None
    for line in lines[1:]:
        if line.startswith("goroutine "):
            goroutines += 1
        elif line.startswith(("panic: ", "[signal ", "fatal error: ")):
            emessage = f"{emessage}\n{line}"
        elif line.startswith("created by "):
            function = line.removeprefix("created by ").split(" in goroutine ")[0]
        elif line.startswith("\t") and function is not None:
            f = _GO_FILE.match(line)
            if f is not None:
                frames.append([f.group(1), int(f.group(2)), function, None])
            function = None
        elif len(line) <= _MAX_FRAME_LINE and _GO_FUNC.match(line):
            function = line.rsplit("(", 1)[0]
    exc = {"type": etype, "message": emessage, "frames": frames}
    fields: dict[str, Any] = {"format": "go-panic", "goroutines": goroutines}
    return _CRITICAL, f"go {etype}", exc, fields


def _build_rust(lines: list[str]) -> tuple[int, str, dict[str, Any], dict[str, Any]]:
    m = _RUST_START.match(lines[0])
    thread, emessage = "?", None
    frames: list[list[Any]] = []
    if m is not None:
        thread, emessage = m.group(1), m.group(2)
        frames.append([m.group(3), int(m.group(4)), f"thread '{thread}'", None])
    function = None
    for line in lines[1:]:
        f = _RUST_FRAME.match(line)
        at = _RUST_AT.match(line)
        if at is not None and function is not None:
            frames.append([at.group(1), int(at.group(2)), function, None])
            function = None
        elif f is not None:
            function = f.group(1)
        elif emessage is None and not line.startswith(("note: ", "stack backtrace:")):
            emessage = line
    exc = {"type": "panic", "message": emessage, "frames": frames}
    return _CRITICAL, "rust panic", exc, {"format": "rust-panic", "thread": thread}


def _build_fault(lines: list[str]) -> tuple[int, str, dict[str, Any], dict[str, Any]]:
    frames: list[list[Any]] = []
    thread: list[list[Any]] = []
    for line in lines[1:]:
        f = _FAULT_FRAME.match(line)
        if f is not None:
            thread.append([f.group(1), int(f.group(2)), f.group(3), None])
        elif line.startswith(("Current thread ", "Thread 0x")):
            # faulthandler prints each thread's stack innermost first; frames go outermost first
            frames += reversed(thread)
            thread = []
    frames += reversed(thread)
    message = lines[0].removeprefix("Fatal Python error: ")
    exc = {"type": "Fatal Python error", "message": message, "frames": frames}
    return _CRITICAL, "python fatal error", exc, {"format": "python-faulthandler"}


_BUILD: dict[str, Callable[[list[str]], tuple[int, str, dict[str, Any], dict[str, Any]]]] = {
    "python": _build_python,
    "rich": _build_python,
    "java": _build_java,
    "go": _build_go,
    "rust": _build_rust,
    "fault": _build_fault,
}


#: The first characters of the lines that start a group (Java's are found by their words).
GROUP_FIRST = frozenset("TpfFt╭")


def group_start(line: str) -> str | None:
    """The kind of multi-line record ``line`` starts, if any (cheap checks first)."""
    if not line:
        return None
    first = line[0]
    if first == "T" and line == _PY_START:
        return "python"
    if first == "p" and line.startswith("panic: "):
        return "go"
    if first == "f" and line.startswith("fatal error: "):
        return "go"
    if first == "F" and line.startswith("Fatal Python error: "):
        return "fault"
    if (
        first == "t"
        and line.startswith("thread '")
        and len(line) <= _MAX_FRAME_LINE
        and _RUST_START.match(line)
    ):
        return "rust"
    if first == "╭" and "Traceback" in line:
        return "rich"
    if ("Exception" in line or "Error" in line or "Throwable" in line) and _JAVA_START.match(line):
        return "java"
    return None
