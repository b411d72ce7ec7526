"""The package layout is the architecture (DESIGN.md section 8): imports flow one way, and the
command line is a thin shell over public names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "sealog"
#: From the inside out: a package may import itself and the packages before it.
LAYERS = ("profile", "seal", "attest", "audit", "keep", "integrations", "host", "owner", "cli")
#: Modules every layer may use: errors, the file reader, the strict parsers, the text escaper,
#: counted words.
SHARED = {
    "sealog",
    "sealog.errors",
    "sealog._files",
    "sealog._lazy",
    "sealog._strict",
    "sealog._display",
    "sealog._words",
}


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sealog"):
            found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("sealog")]
    return found


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("package", LAYERS)
def test_a_package_imports_only_itself_and_the_layers_inside_it(package: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    wrong = []
    for path in _modules(package):
        for module, line in _imports(path):
            if module in SHARED:
                continue
            parts = module.split(".")
            if len(parts) < 2 or parts[1] not in allowed:
                wrong.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert wrong == []


def test_the_command_line_imports_only_public_names() -> None:
    private = []
    for path in _modules("cli"):
        for module, line in _imports(path):
            if module.startswith("sealog.cli"):
                continue
            if any(part.startswith("_") for part in module.split(".")[1:]):
                private.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert private == []
