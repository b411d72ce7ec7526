"""A profile's ``[lines]`` table: as strict as every other table, and part of the digest."""

from __future__ import annotations

import logging

import pytest

from sealog.errors import FormatError
from sealog.profile import LineSettings, builtin_profile, parse_profile, profile_digest

MINIMAL = 'format = 1\nname = "custom"\nstage = "production"\n'


def refused(text: str) -> str:
    with pytest.raises(FormatError) as info:
        parse_profile(text, source="custom.toml")
    return str(info.value)


def test_lines_table_is_read() -> None:
    profile = parse_profile(
        MINIMAL
        + "[lines]\nstdout = 'debug'\nstderr = 'ERROR'\nunderstand = false\n"
        + "group_lines = 20\ngroup_bytes = 4096\n"
        + "[[lines.patterns]]\nmatch = '^!!'\nlevel = 'CRITICAL'\n"
        + "[[lines.patterns]]\nmatch = '^(?P<level>[A-Z]+) '\n",
        source="custom.toml",
    )
    lines = profile.lines
    assert (lines.stdout, lines.stderr) == (logging.DEBUG, logging.ERROR)
    assert (lines.understand, lines.group_lines, lines.group_bytes) == (False, 20, 4096)
    assert [(p.match.pattern, p.level) for p in lines.patterns] == [
        ("^!!", logging.CRITICAL),
        ("^(?P<level>[A-Z]+) ", None),
    ]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("[lines]\nstdou = 'INFO'\n", "lines.stdou: unknown key"),
        ("[lines]\nstderr = 'LOUD'\n", "lines.stderr: expected one of DEBUG"),
        ("[lines]\ngroup_lines = 0\n", "lines.group_lines: expected an integer between 1"),
        ("[lines]\ngroup_bytes = 10\n", "lines.group_bytes: expected an integer between 256"),
        ("[lines]\nunderstand = 'yes'\n", "lines.understand: expected true or false"),
        ("[[lines.patterns]]\nlevel = 'ERROR'\n", "lines.patterns[0].match: required key"),
        ("[[lines.patterns]]\nmatch = '('\n", "lines.patterns[0].match: bad regular expression"),
        ("[[lines.patterns]]\nmatch = 'x'\n", "lines.patterns[0]: expected a level, or a"),
        ("[[lines.patterns]]\nmatch = 'x'\nlevl = 'ERROR'\n", "lines.patterns[0].levl: unknown"),
        ("[lines]\npatterns = 'x'\n", "lines.patterns: expected an array of tables"),
    ],
)
def test_typo_in_lines_table_is_refused(table: str, expected: str) -> None:
    assert expected in refused(MINIMAL + table)


def test_profiles_without_lines_keep_their_digest() -> None:
    """Writing the defaults out changes nothing; any change of meaning changes the digest."""
    plain = parse_profile(MINIMAL, source="a.toml")
    explicit = parse_profile(
        MINIMAL + "[lines]\nstdout = 'INFO'\nstderr = 'WARNING'\ngroup_lines = 200\n",
        source="b.toml",
    )
    quieter = parse_profile(MINIMAL + "[lines]\nstderr = 'INFO'\n", source="c.toml")
    patterned = parse_profile(
        MINIMAL + "[[lines.patterns]]\nmatch = '^!!'\nlevel = 'ERROR'\n", source="d.toml"
    )
    assert explicit.lines == LineSettings() == plain.lines
    assert profile_digest(explicit) == profile_digest(plain)
    digests = {profile_digest(p) for p in (plain, quieter, patterned)}
    assert len(digests) == 3


def test_builtin_profiles_use_the_default_line_settings() -> None:
    for name in ("development", "testing", "staging", "production", "incident"):
        assert builtin_profile(name).lines == LineSettings()
