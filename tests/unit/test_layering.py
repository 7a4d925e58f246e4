"""The dependency direction the README draws: flows → supportflow → models; the library and
the model never import the flows or the CLI (the CLI is the library's face, not a part of it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement in ``path`` (also ones inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


LIBRARY = sorted(
    p
    for folder in ("supportflow", "models")
    for p in (ROOT / folder).rglob("*.py")
    if "cli" not in p.relative_to(ROOT).parts[:2]
    and p.relative_to(ROOT).as_posix() != "supportflow/__main__.py"  # `python -m supportflow`
)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_library_and_model_never_import_flows_or_the_cli(path):
    upward = {
        m
        for m in imported_modules(path)
        if m == "flows" or m.startswith(("flows.", "supportflow.cli"))
    }
    assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)}"


def test_the_model_package_never_imports_the_library_but_its_yaml_loader():
    for path in (ROOT / "models").rglob("*.py"):
        library = {m for m in imported_modules(path) if m.startswith("supportflow")}
        assert library <= {"supportflow.yaml_config"}, f"{path.relative_to(ROOT)}: {library}"
