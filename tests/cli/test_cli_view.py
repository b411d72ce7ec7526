"""``sealog view``, black-box: the real command serves the store on 127.0.0.1 behind the token
in the URL it prints, and bad input is one line and exit code 2 before anything is served."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from clihelp import SEALOG

from sealog.cli import main
from sealog.seal._keys import OwnerPrivateKey, write_key_pair
from streams import SessionMaker


@pytest.fixture
def key_file(tmp_path: Path, owner_key: OwnerPrivateKey) -> Path:
    key, _ = write_key_pair(owner_key, tmp_path / "owner")
    return key


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - 127.0.0.1
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_view_prints_a_token_url_on_localhost_and_serves_only_with_it(
    make_session: SessionMaker, key_file: Path
) -> None:
    store, sid = make_session(records=12)
    proc = subprocess.Popen(
        [*SEALOG, "view", str(store), "--key", str(key_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].strip()
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1"
        assert parts.query.startswith("token=")
        assert len(parts.query) > len("token=") + 40  # 32 random bytes
        status, page = fetch(url)
        assert status == 200
        assert sid[:12] in page
        bare = f"{parts.scheme}://{parts.netloc}/session/{sid}"
        status, page = fetch(bare)
        assert status == 403
        assert sid not in page
        status, page = fetch(f"{bare}?token=wrong")
        assert status == 403
        status, page = fetch(f"{bare}?{parts.query}")
        assert status == 200
        assert "record 11 of the test" in page
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("missing store", "store"),
        ("malformed key", "key"),
        ("missing key", "owner.key"),
        ("trust root not PEM", "not a PEM certificate file"),
        ("unknown required profile", "no-such-profile"),
    ],
)
def test_view_with_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    make_session: SessionMaker,
    key_file: Path,
    problem: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, _ = make_session(records=2)
    if problem == "missing store":
        store = tmp_path / "nowhere"
    elif problem == "malformed key":
        key_file.write_text("not a key\n")
    elif problem == "missing key":
        key_file.unlink()
    extra = []
    if problem == "trust root not PEM":
        (tmp_path / "root.pem").write_text("not a certificate\n")
        extra = ["--trust-root", str(tmp_path / "root.pem")]
    elif problem == "unknown required profile":
        extra = ["--require-profile", "no-such-profile"]
    with pytest.raises(SystemExit) as exited:
        main(["view", str(store), "--key", str(key_file), *extra])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""  # no URL: nothing is served
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sealog: error: ")
    assert expected in lines[0]


def test_view_without_its_extra_says_how_to_get_it(
    make_session: SessionMaker, key_file: Path
) -> None:
    store, _ = make_session(records=2)
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "from sealog.cli import main\n"
        f"main(['view', {str(store)!r}, '--key', {str(key_file)!r}])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "sealog: error: sealog view needs the 'view' extra (starlette is missing): "
        "pip install 'sealog[view]'"
    )
