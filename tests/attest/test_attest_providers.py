"""Providers against folder trees that behave like configfs-tsm and Gramine's /dev/attestation."""

from __future__ import annotations

import errno
import threading
from pathlib import Path

import pytest
from attest_snp_builder import shared_chain
from attest_tsm_tree import TsmTree

from sealog.attest import (
    NONE_STATEMENT,
    GramineProvider,
    NoneProvider,
    SnpCertTable,
    SnpReport,
    TsmProvider,
    auto_provider,
    provider_by_name,
    verify_snp_report,
)
from sealog.errors import AttestationUnavailable, FormatError

RD = bytes(range(64))


def test_tsm_collects_a_fresh_report_over_our_report_data_and_cleans_up(tmp_path: Path) -> None:
    chain = shared_chain()
    with TsmTree(tmp_path / "tsm") as tree:
        evidence = TsmProvider(tree.root).collect(RD)
    assert (evidence.provider, evidence.kind, evidence.report_data) == ("tsm", "sev-snp", RD)
    report = SnpReport.from_bytes(evidence.blob)
    assert report.report_data == RD
    verify_snp_report(report, vcek=chain.vcek, ask=chain.ask, ark=chain.ark)
    assert SnpCertTable.from_bytes(evidence.aux).vcek == chain.vcek_der
    assert list(tree.root.iterdir()) == []  # the report folder was removed
    assert tree.served == 1


def test_tsm_each_call_uses_its_own_folder_so_concurrent_callers_do_not_mix(
    tmp_path: Path,
) -> None:
    results: dict[int, bytes] = {}
    with TsmTree(tmp_path / "tsm") as tree:
        provider = TsmProvider(tree.root)

        def worker(i: int) -> None:
            results[i] = SnpReport.from_bytes(provider.collect(bytes([i]) * 64).blob).report_data

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == {i: bytes([i]) * 64 for i in range(4)}
    assert list(tree.root.iterdir()) == []


@pytest.mark.parametrize("size", [0, 32, 63, 65, 128])
def test_tsm_refuses_report_data_that_is_not_64_bytes(tmp_path: Path, size: int) -> None:
    with TsmTree(tmp_path / "tsm") as tree, pytest.raises(FormatError, match="expected exactly 64"):
        TsmProvider(tree.root).collect(b"x" * size)
    assert list(tree.root.iterdir()) == []


def test_tsm_on_a_machine_without_configfs_tsm_says_so(tmp_path: Path) -> None:
    root = tmp_path / "sys/kernel/config/tsm/report"
    provider = TsmProvider(root)
    assert not provider.available()
    with pytest.raises(
        AttestationUnavailable,
        match=r"not a TEE guest with configfs-tsm \(.*tsm/report not found\)",
    ):
        provider.collect(RD)


def test_tsm_another_writer_racing_our_request_is_refused(tmp_path: Path) -> None:
    with TsmTree(tmp_path / "tsm", race_writes=1) as tree:
        with pytest.raises(
            AttestationUnavailable, match="report generation changed: another writer raced us"
        ):
            TsmProvider(tree.root).collect(RD)
        assert list(tree.root.iterdir()) == []  # removed on failure too


@pytest.mark.parametrize(
    ("where", "code", "message"),
    [
        ("mkdir", errno.EACCES, "no permission"),
        ("mkdir", errno.EPERM, "no permission"),
        ("mkdir", errno.EBUSY, "busy"),
        ("outblob", errno.EBUSY, "busy"),
        ("outblob", errno.ENXIO, "no TEE guest driver answered"),
        ("outblob", errno.EIO, "could not read outblob"),
    ],
)
def test_tsm_kernel_errors_become_one_clear_line(
    tmp_path: Path, where: str, code: int, message: str
) -> None:
    with TsmTree(tmp_path / "tsm", fail={where: code}) as tree:
        with pytest.raises(AttestationUnavailable, match=message) as info:
            TsmProvider(tree.root).collect(RD)
        assert "\n" not in str(info.value)
        assert list(tree.root.iterdir()) == []


def test_tsm_tdx_guest_yields_tdx_evidence_without_certificate_table(
    tmp_path: Path, vectors: Path
) -> None:
    quote = (vectors / "tee/tdx/tdx_prod_quote_SPR_E4.dat").read_bytes()
    with TsmTree(tmp_path / "tsm", provider="tdx_guest", quote=quote) as tree:
        evidence = TsmProvider(tree.root).collect(RD)
    assert (evidence.kind, evidence.blob, evidence.aux) == ("tdx", quote, b"")


def test_tsm_unknown_kernel_provider_is_refused(tmp_path: Path) -> None:
    tree = TsmTree(tmp_path / "tsm", provider="arm_cca_guest", quote=b"token")
    with tree, pytest.raises(AttestationUnavailable, match="'arm_cca_guest' is not supported"):
        TsmProvider(tree.root).collect(RD)


def test_emulated_kernel_enforces_the_64_byte_inblob_rule(tmp_path: Path) -> None:
    with TsmTree(tmp_path / "tsm") as tree:
        folder = tree.root / "manual"
        folder.mkdir()
        assert (folder / "generation").read_text() == "0\n"
        (folder / "inblob").write_bytes(b"short")
        with pytest.raises(OSError, match="Invalid argument"):
            (folder / "outblob").read_bytes()
        assert (folder / "generation").read_text() == "0\n"
        (folder / "inblob").write_bytes(RD)
        assert SnpReport.from_bytes((folder / "outblob").read_bytes()).report_data == RD
        assert (folder / "generation").read_text() == "1\n"
        folder.rmdir()


def _gramine_tree(root: Path, attestation_type: str | None = "dcap") -> Path:
    root.mkdir(parents=True)
    if attestation_type is not None:
        (root / "attestation_type").write_text(attestation_type + "\n")
    (root / "user_report_data").write_bytes(b"")
    (root / "quote").write_bytes(b"\x03\x00\x02\x00" + b"Q" * 60)
    return root


def test_gramine_writes_report_data_and_reads_the_quote(tmp_path: Path) -> None:
    root = _gramine_tree(tmp_path / "attestation")
    provider = GramineProvider(root)
    assert provider.available()
    evidence = provider.collect(RD)
    assert (evidence.provider, evidence.kind, evidence.report_data) == ("gramine", "sgx", RD)
    assert evidence.blob.startswith(b"\x03\x00\x02\x00")
    assert (root / "user_report_data").read_bytes() == RD


def test_gramine_without_attestation_type_file_assumes_sgx(tmp_path: Path) -> None:
    root = _gramine_tree(tmp_path / "attestation", attestation_type=None)
    assert GramineProvider(root).collect(RD).kind == "sgx"


def test_gramine_with_attestation_disabled_is_unavailable(tmp_path: Path) -> None:
    root = _gramine_tree(tmp_path / "attestation", attestation_type="none")
    provider = GramineProvider(root)
    assert not provider.available()
    with pytest.raises(AttestationUnavailable, match="disabled"):
        provider.collect(RD)


def test_gramine_outside_gramine_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(AttestationUnavailable, match="not running under Gramine"):
        GramineProvider(tmp_path / "dev/attestation").collect(RD)


def test_none_provider_says_it_proves_nothing() -> None:
    evidence = NoneProvider().collect(RD)
    assert (evidence.provider, evidence.kind, evidence.blob) == ("none", "none", NONE_STATEMENT)
    assert b"proves nothing" in evidence.blob
    with pytest.raises(FormatError):
        NoneProvider().collect(b"\0" * 63)


def test_auto_picks_tsm_then_gramine_then_none(tmp_path: Path) -> None:
    tsm = tmp_path / "tsm"
    gramine = tmp_path / "gramine"
    assert auto_provider(tsm, gramine).name == "none"
    _gramine_tree(gramine)
    assert auto_provider(tsm, gramine).name == "gramine"
    tsm.mkdir()
    assert auto_provider(tsm, gramine).name == "tsm"


def test_provider_by_name_maps_cli_names_and_refuses_others(tmp_path: Path) -> None:
    kw = {"tsm_root": tmp_path / "t", "gramine_root": tmp_path / "g"}
    assert [provider_by_name(n, **kw).name for n in ("none", "tsm", "gramine", "auto")] == [
        "none",
        "tsm",
        "gramine",
        "none",
    ]
    with pytest.raises(FormatError, match="unknown attestation provider 'sgx'"):
        provider_by_name("sgx", **kw)
