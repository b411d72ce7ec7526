"""How long the viewer's pages take on a large store: ``python bench/viewer.py [RECORDS]``.

Writes a development store of RECORDS records (200 000 by default, as ``make bench``'s
reading case) with the benchmark's workload, serves it with :class:`sealog.owner.viewer.Viewer` on
127.0.0.1, and times each page over HTTP, first (cold: the session is decrypted and verified)
and again (served from memory). Prints one JSON object.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import _owner, _reset_logging, setup
from workload import make_pool


def _get(url: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as response:  # noqa: S310 - 127.0.0.1
        response.read()
        assert response.status == 200
    return time.perf_counter() - t0


def main(records: int) -> dict[str, Any]:
    from sealog.owner import OwnerPrivateKey
    from sealog.owner.viewer import Viewer

    with tempfile.TemporaryDirectory(prefix="sealog-bench-view-") as d:
        tmp = Path(d)
        _owner(tmp)
        run, finish = setup("sealog-development", tmp, make_pool())
        run(records)
        finish()
        _reset_logging()
        key = OwnerPrivateKey.load(tmp / "owner.key")
        store = tmp / "store"
        (seal,) = store.glob("*.seal")
        sid = seal.name.split(".")[0]
        out: dict[str, Any] = {
            "records": records,
            "store_mib": round(seal.stat().st_size / 2**20, 1),
        }
        with Viewer(store, key) as viewer:
            base = f"http://127.0.0.1:{viewer.port}"
            token = f"token={viewer.token}"
            pages = {
                "sessions": f"{base}/?{token}",
                "session": f"{base}/session/{sid}?{token}",
                "search": f"{base}/session/{sid}?{token}&q=timeout",
                "level": f"{base}/session/{sid}?{token}&level=WARNING",
                "host": f"{base}/session/{sid}/host?{token}",
            }
            for name, url in pages.items():
                out[f"{name}_first_s"] = round(_get(url), 3)
                out[f"{name}_again_s"] = round(_get(url), 3)
        out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)))
