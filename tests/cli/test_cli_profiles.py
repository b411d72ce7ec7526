"""``sealog profiles``: run as a user would, through the real click entry point."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from clihelp import sealog, sealog_subprocess

from sealog.profile import builtin_names, builtin_profile, builtin_text, profile_digest


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_init_writes_the_five_builtins_verbatim(tmp_path: Path) -> None:
    target = tmp_path / "profiles"
    result = sealog("profiles", "init", target)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in target.iterdir()) == sorted(f"{n}.toml" for n in builtin_names())
    for name in builtin_names():
        assert (target / f"{name}.toml").read_text(encoding="utf-8") == builtin_text(name)


def test_init_refuses_to_overwrite_an_edited_profile(tmp_path: Path) -> None:
    edited = tmp_path / "production.toml"
    edited.write_text("# my edits\n", encoding="utf-8")
    result = sealog("profiles", "init", tmp_path)
    assert_one_line_error(result, "production.toml", "--force")
    assert edited.read_text(encoding="utf-8") == "# my edits\n"
    # Nothing else was written either: a refusal leaves the directory as it was.
    assert [p.name for p in tmp_path.iterdir()] == ["production.toml"]


def test_init_force_overwrites(tmp_path: Path) -> None:
    (tmp_path / "production.toml").write_text("# my edits\n", encoding="utf-8")
    result = sealog("profiles", "init", tmp_path, "--force")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "production.toml").read_text(encoding="utf-8") == builtin_text("production")


def test_init_into_a_file_is_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert_one_line_error(sealog("profiles", "init", blocker))


@pytest.mark.parametrize("name", builtin_names())
def test_show_json_gives_profile_and_digest(name: str) -> None:
    result = sealog("profiles", "show", name, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["digest"] == profile_digest(builtin_profile(name)).hex()
    assert data["profile"]["name"] == name
    assert data["profile"]["stage"] == name


def test_show_human_output_includes_the_digest() -> None:
    result = sealog("profiles", "show", "production")
    assert result.returncode == 0, result.stderr
    digest = profile_digest(builtin_profile("production")).hex()
    assert f"digest {digest}" in result.stdout
    assert "owner.min_level" in result.stdout
    assert "WARNING" in result.stdout


def test_show_an_edited_file_reports_its_own_digest(tmp_path: Path) -> None:
    assert sealog("profiles", "init", tmp_path).returncode == 0
    path = tmp_path / "production.toml"
    text = path.read_text(encoding="utf-8").replace('min_level = "WARNING"', 'min_level = "INFO"')
    path.write_text(text, encoding="utf-8")
    result = sealog("profiles", "show", path, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["profile"]["owner"]["min_level"] == "INFO"
    assert data["digest"] != profile_digest(builtin_profile("production")).hex()


def test_show_a_typo_in_a_profile_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "production.toml"
    path.write_text(
        'format = 1\nname = "production"\nstage = "production"\n[owner]\nmin_level = "VERBOSE"\n',
        encoding="utf-8",
    )
    result = sealog("profiles", "show", path)
    assert_one_line_error(
        result,
        "production.toml: owner.min_level: expected one of DEBUG, INFO, WARNING, ERROR, "
        "CRITICAL, got 'VERBOSE'",
    )
    assert result.stdout == ""


def test_show_an_unknown_key_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'format = 1\nname = "p"\nstage = "production"\n[stream]\npaddding = true\n',
        encoding="utf-8",
    )
    assert_one_line_error(sealog("profiles", "show", path), "stream.paddding: unknown key")


def test_show_a_toml_syntax_error_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("format = = 1\n", encoding="utf-8")
    assert_one_line_error(sealog("profiles", "show", path), "broken.toml: invalid TOML")


def test_show_an_unknown_name_lists_the_builtins() -> None:
    assert_one_line_error(
        sealog("profiles", "show", "prod"),
        "prod: not a built-in profile",
        "development, testing, staging, production, incident",
    )


def test_debug_flag_gives_a_traceback_instead() -> None:
    result = sealog_subprocess("--debug", "profiles", "show", "prod")
    assert result.returncode != 0
    assert "Traceback" in result.stderr
