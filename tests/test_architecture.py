"""The house plan as code: the layer rules (import-linter contracts in pyproject.toml) and the shape of worker/.

docs/ARCHITECTURE.md explains the rules; these tests keep them from being only prose.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "worker"


def test_the_import_contracts_hold() -> None:
    # lint-imports reads [tool.importlinter] from pyproject.toml and analyses the source statically
    # (function-level imports included), so a lazy import cannot hide a forbidden dependency
    result = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()", "--no-cache"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and "KEPT" in result.stdout


def test_the_top_level_of_worker_holds_at_most_twelve_modules() -> None:
    # the contract and the runtime; everything else lives in a package named for its place in the flow
    modules = sorted(p.name for p in WORKER.glob("*.py"))
    assert len(modules) <= 12, modules


def test_every_package_says_what_it_holds_and_what_it_may_import() -> None:
    for init in sorted(WORKER.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text("utf8"))) or ""
        assert len(doc.split()) >= 8, f"{init.relative_to(ROOT)} has no docstring saying what the package holds"
        assert "may import" in doc.lower(), f"{init.relative_to(ROOT)} does not say what it may import"
