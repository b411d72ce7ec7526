"""``sealog attest`` as a user runs it, through the real click entry point."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from clihelp import sealog


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return sealog("attest", *args)


def one_line_error(proc: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("sealog: error: ")
    assert text in lines[0]


@pytest.fixture(scope="module")
def snp(vectors: Path) -> Path:
    return vectors / "tee" / "snp"


@pytest.fixture(scope="module")
def tdx(vectors: Path) -> Path:
    return vectors / "tee" / "tdx"


def test_inspect_snp_report_prints_fields_with_report_data_in_hex(snp: Path) -> None:
    proc = run("inspect", snp / "attestation.bin")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("kind")
    assert "sev-snp" in proc.stdout
    assert "0102030405" + "00" * 59 in proc.stdout
    assert "DEBUG" in proc.stdout
    assert proc.stderr == ""  # the VCEK-style warnings never leak


def test_inspect_json_is_machine_readable(snp: Path, tdx: Path) -> None:
    fields = json.loads(run("inspect", snp / "attestation.bin", "--json").stdout)
    assert (fields["version"], fields["policy"], fields["debug"]) == (2, "0xb0000", True)
    quote = json.loads(run("inspect", tdx / "tdx_prod_quote_SPR_E4.dat", "--json").stdout)
    assert (quote["kind"], quote["tee_type"], quote["debug"]) == ("tdx", "0x81", False)
    assert len(quote["report_data"]) == 128


def test_inspect_unrecognised_input_exits_2_with_one_line(snp: Path) -> None:
    one_line_error(run("inspect", snp / "LICENSE"), 2, "unrecognised evidence")


def test_inspect_missing_file_exits_2(tmp_path: Path) -> None:
    one_line_error(run("inspect", tmp_path / "nope.bin"), 2, "nope.bin")


def test_verify_published_snp_report(snp: Path) -> None:
    proc = run(
        "verify", snp / "attestation.bin", "--vcek", snp / "vcek.der",
        "--chain", snp / "ask_ark_milan.pem", "--report-data", "0102030405",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines() == [
        "verified: SEV-SNP report signed by the Milan-B0 VCEK, chained to the ARK; "
        "report data matches"
    ]
    assert proc.stderr == ""


def test_verify_published_snp_report_with_pinned_ark(snp: Path, tmp_path: Path) -> None:
    ark = tmp_path / "ark.pem"
    ark.write_bytes(
        b"-----BEGIN" + (snp / "ask_ark_milan.pem").read_bytes().split(b"-----BEGIN")[2]
    )
    proc = run(
        "verify", snp / "attestation.bin", "--vcek", snp / "vcek.der",
        "--chain", snp / "ask_ark_milan.pem", "--root", ark,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    genoa = run(
        "verify", snp / "attestation.bin", "--vcek", snp / "vcek.der",
        "--chain", snp / "ask_ark_milan.pem", "--root", snp / "ask_ark_genoa.pem",
    )  # fmt: skip
    one_line_error(genoa, 1, "ARK is not a trusted AMD root")


@pytest.mark.parametrize("chain", ["ask_ark_genoa.pem", "ask_ark_turin_vcek.pem"])
def test_verify_snp_with_the_wrong_product_chain_exits_1(snp: Path, chain: str) -> None:
    proc = run(
        "verify", snp / "attestation.bin", "--vcek", snp / "vcek.der", "--chain", snp / chain
    )
    one_line_error(proc, 1, "VCEK is not signed by the ASK")


def test_verify_tampered_snp_report_exits_1(snp: Path, tmp_path: Path) -> None:
    data = bytearray((snp / "attestation.bin").read_bytes())
    data[0x90] ^= 1  # measurement
    bad = tmp_path / "report.bin"
    bad.write_bytes(bytes(data))
    proc = run("verify", bad, "--vcek", snp / "vcek.der", "--chain", snp / "ask_ark_milan.pem")
    one_line_error(proc, 1, "SNP report signature does not verify with the VCEK")


def test_verify_snp_report_data_mismatch_exits_1(snp: Path) -> None:
    proc = run(
        "verify", snp / "attestation.bin", "--vcek", snp / "vcek.der",
        "--chain", snp / "ask_ark_milan.pem", "--report-data", "ff" * 64,
    )  # fmt: skip
    one_line_error(proc, 1, "does not match --report-data")


def test_verify_published_tdx_quote(tdx: Path) -> None:
    proc = run("verify", tdx / "tdx_prod_quote_SPR_E4.dat", "--root", tdx / "intel_sgx_root_ca.pem")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("verified: TDX quote")
    assert len(proc.stdout.strip().splitlines()) == 1


def test_verify_tdx_with_report_data(tdx: Path) -> None:
    quote = (tdx / "tdx_prod_quote_SPR_E4.dat").read_bytes()
    rd = quote[48 + 584 - 64 : 48 + 584].hex()
    root = tdx / "intel_sgx_root_ca.pem"
    ok = run("verify", tdx / "tdx_prod_quote_SPR_E4.dat", "--root", root, "--report-data", rd)
    assert ok.returncode == 0, ok.stderr
    bad = run("verify", tdx / "tdx_prod_quote_SPR_E4.dat", "--root", root, "--report-data", "00")
    one_line_error(bad, 1, "does not match --report-data")


def test_verify_tdx_against_the_wrong_root_exits_1(tdx: Path, snp: Path) -> None:
    proc = run("verify", tdx / "tdx_prod_quote_SPR_E4.dat", "--root", snp / "ask_ark_milan.pem")
    one_line_error(proc, 1, "PCK chain does not end at a trusted Intel root")


def test_verify_truncated_tdx_quote_exits_2(tdx: Path, tmp_path: Path) -> None:
    short = tmp_path / "quote.dat"
    short.write_bytes((tdx / "tdx_prod_quote_SPR_E4.dat").read_bytes()[:1000])
    one_line_error(run("verify", short, "--root", tdx / "intel_sgx_root_ca.pem"), 2, "truncated")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--report-data", "xyz"], "not hexadecimal"),
        (["--report-data", "00" * 65], "expected 1 to 64"),
        (["--vcek", "VCEK_MISSING", "--chain", "ask_ark_milan.pem"], "VCEK_MISSING"),
        (
            ["--vcek", "LICENSE", "--chain", "ask_ark_milan.pem"],
            "not a DER or PEM X.509 certificate",
        ),
        (["--vcek", "vcek.der", "--chain", "LICENSE"], "not a PEM certificate bundle"),
        (["--vcek", "vcek.der", "--chain", "attestation.bin"], "not a PEM certificate bundle"),
        ([], "needs --vcek CERT and --chain"),
    ],
)
def test_verify_snp_bad_input_exits_2(snp: Path, extra: list[str], message: str) -> None:
    args = [str(snp / a) if (snp / a).exists() or a.isupper() else a for a in extra]
    one_line_error(run("verify", snp / "attestation.bin", *args), 2, message)


def test_verify_missing_evidence_exits_2(tmp_path: Path, tdx: Path) -> None:
    proc = run("verify", tmp_path / "missing.dat", "--root", tdx / "intel_sgx_root_ca.pem")
    one_line_error(proc, 2, "missing.dat")


def test_verify_tdx_without_root_exits_2(tdx: Path) -> None:
    one_line_error(run("verify", tdx / "tdx_prod_quote_SPR_E4.dat"), 2, "needs --root")
