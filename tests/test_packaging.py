"""The distribution as a user outside the repository gets it (issue 17.5): built into a wheel, installed
with the pip that ships with the oldest Python the project supports into a fresh venv, and run.

The install needs the package index (PyPI or the machine's mirror); where there is none it is skipped
with the reason, except in CI, where it must run.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    [path] = out.glob("syndication_worker-*.whl")
    return path


def _metadata(wheel: Path) -> tuple[str, list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode()
        licenses = [n for n in archive.namelist() if ".dist-info/licenses/" in n]
    return text, licenses


def test_the_wheel_names_its_license_and_every_module_it_imports(wheel: Path) -> None:
    text, licenses = _metadata(wheel)
    message = Parser().parsestr(text)
    assert message["License-Expression"] == "MIT"
    assert any(name.endswith("/LICENSE") for name in licenses)
    urls = dict(value.split(", ", 1) for value in message.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    requires = [r.split(";")[0].strip() for r in message.get_all("Requires-Dist") or []]
    # imported at run time by trafilatura's justext; before, only reached through lxml's extra
    assert any(r.lower().replace("-", "_").startswith("lxml_html_clean") for r in requires)


def _oldest_python() -> str:
    """The interpreter a fresh machine has: the system's python3.11 with its own bundled pip."""
    for candidate in ("/usr/bin/python3.11", "/usr/local/bin/python3.11",
                      os.path.expanduser("~/.pyenv/versions/3.11.7/bin/python")):
        if os.path.exists(candidate):
            return candidate
    return sys.executable


@pytest.mark.integration
def test_the_wheel_installed_with_a_stock_pip_runs_the_demo_from_an_empty_directory(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([_oldest_python(), "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    pip_version = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, text=True).stdout
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=1200)
    if installed.returncode != 0 and "No matching distribution" in installed.stderr + installed.stdout \
            and not os.environ.get("CI"):
        pytest.skip(f"no package index to install the dependencies from: {installed.stderr[-300:]}")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "REDIS_URL", "DATABASE_URL", "CONFIG_DIR", "SYNDICATION_VAR_DIR",
                        "SYNDICATION_REDIS_KEY_PREFIX", "VIRTUAL_ENV")}
    demo = subprocess.run([str(venv / "bin" / "syndicate"), "demo"], cwd=empty, env=env,
                          capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, f"{pip_version}\n{demo.stdout}\n{demo.stderr}"
    assert "Traceback" not in demo.stderr
    assert list((empty / "var" / "demo" / "outlets").rglob("index.html")), demo.stdout
