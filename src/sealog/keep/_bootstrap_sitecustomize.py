"""Copied as ``sitecustomize.py`` into a folder on the workload's PYTHONPATH by ``sealog run``.

It installs sealog's workload half, then hands over to any ``sitecustomize`` the workload's
interpreter would have run anyway.
"""

import contextlib
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
try:
    from sealog.keep._workload import install

    install()
except Exception:  # noqa: S110
    # Every Python process of the workload runs this, whatever its version: one that cannot
    # import sealog (another interpreter) still runs, and its output is still captured.
    pass
finally:
    # Let the interpreter's own sitecustomize (if any) run as it would have.
    _saved = list(sys.path)
    _me = sys.modules.pop("sitecustomize", None)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    with contextlib.suppress(ImportError):
        import sitecustomize  # type: ignore[import-not-found]  # noqa: F401
    sys.path[:] = _saved
    # The import system looks this module up again when it finishes: leave one there.
    if "sitecustomize" not in sys.modules and _me is not None:
        sys.modules["sitecustomize"] = _me
