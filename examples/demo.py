"""The sealog walkthrough behind ``make demo``.

A workload runs in a Keep under the production profile; the host sees only what it may; the
owner reads and verifies the sealed logs; a tampered copy is caught. Everything happens in
``demo-out/`` with the real ``sealog`` command.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "demo-out"
console = Console(highlight=False)


def step(title: str, sentence: str) -> None:
    console.print()
    console.print(Rule(f"[bold]{title}[/bold]", align="left"))
    console.print(sentence)


def sealog(*args: str | Path, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
    shown = " ".join(str(a).replace(str(ROOT) + "/", "") for a in args)
    console.print(f"[dim]$ sealog {shown}[/dim]")
    done = subprocess.run(
        [sys.executable, "-m", "sealog", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.stdout:
        console.print(done.stdout.rstrip(), markup=False)
    if done.stderr:
        console.print(done.stderr.rstrip(), style="yellow", markup=False)
    console.print(f"[dim](exit {done.returncode})[/dim]")
    if expect is not None and done.returncode != expect:
        console.print(f"[bold red]expected exit {expect}[/bold red]")
        sys.exit(1)
    return done


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    store = OUT / "store"

    step(
        "1. The owner makes a key pair",
        "Only the public half goes with the workload; the private key never leaves the owner.",
    )
    sealog("keygen", OUT / "owner")

    step(
        "2. The workload runs in a Keep under the production profile",
        "It logs, handles an API token marked secret, and fails: its signing key is missing "
        "inside the Keep. The lines below are everything sealog run prints: host-channel "
        "events from a fixed vocabulary, with a generic cause code, no text from the workload.",
    )
    sealog(
        "run",
        "--owner",
        OUT / "owner.pub",
        "--profile",
        "production",
        "--store",
        store,
        "--",
        sys.executable,
        ROOT / "examples" / "payments_worker.py",
        expect=3,
    )

    step(
        "3. What the host can see",
        "The store holds sealed frames of one fixed size at a steady rate, the header's "
        "clear fields and the lifecycle events. No record, no token, no path.",
    )
    sealog("host-view", store)

    step(
        "4. The owner reads the sealed logs",
        "Decrypted and verified as they are read: WARNING and up (the production profile), "
        "redacted tracebacks, the token shown as \\[secret]. The cause of the failure is there.",
    )
    sealog("read", store, "--key", OUT / "owner.key")

    step(
        "5. The owner verifies the store",
        "Every frame authenticates, in order, and the session was closed: intact.",
    )
    sealog("verify", store, "--key", OUT / "owner.key")

    step(
        "6. The host tampers with a copy",
        "One byte of one sealed frame is changed in a copy of the store. verify names the "
        "frame and exits 1.",
    )
    tampered = OUT / "tampered"
    shutil.copytree(store, tampered)
    (session_file,) = tampered.glob("*.seal")
    data = bytearray(session_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    session_file.write_bytes(bytes(data))
    sealog("verify", tampered, "--key", OUT / "owner.key", expect=1)

    console.print()
    console.print("[bold green]Walkthrough complete.[/bold green] Files are in demo-out/.")


if __name__ == "__main__":
    main()
