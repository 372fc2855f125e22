"""`pip install .` gives the whole app: every subpackage (ui, tiny, finetune) and the bundled checkpoints and
tokenizers, with the CLI. The wheel is built from a copy of the tree and installed into a fresh venv that reads
its dependencies from this one's (a .pth file), so the test needs no network; it runs from another folder, so
the source tree cannot stand in for the installed package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.pyc", ".pytest_cache", "runs", "build", "*.egg-info")

pytestmark = pytest.mark.slow

CHECK = """
import importlib.resources, sys
import playground, playground.ui, playground.tiny.train, playground.finetune.run
from playground.bundled import bundled_path
from playground.registry import load
here = str(importlib.resources.files("playground"))
assert here.startswith(sys.prefix), (here, sys.prefix)  # the installed copy, not the source tree
assert (bundled_path("tiny-english-bert") / "model.safetensors").is_file()
loaded = load("tiny-shakespeare-gpt", "causal")  # a bundled checkpoint, through the real loading code
print("ok", loaded.name)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The venv's python, with the wheel of this tree installed."""
    tmp = tmp_path_factory.mktemp("package")
    shutil.copytree(ROOT, tmp / "src", ignore=SKIP)
    wheels = tmp / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, tmp / "src"], check=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp / "venv"], check=True)
    python = tmp / "venv" / "bin" / "python"
    site = (
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True
        )
        .stdout.decode()
        .strip()
    )
    # this venv's packages after the new venv's own: the installed wheel comes first on sys.path
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = wheels.glob("pretraining_playground-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True)
    return python


def test_the_wheel_holds_the_whole_app(installed, tmp_path):
    out = subprocess.run([installed, "-c", CHECK], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok tiny-shakespeare-gpt")


def test_the_cli_runs_from_the_installed_package(installed, tmp_path):
    out = subprocess.run(
        [installed, "-m", "playground", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "pretrain a tiny transformer" in out.stdout


def test_the_package_declares_the_cli_as_a_command(installed, tmp_path):
    find = (
        "from importlib.metadata import entry_points; "
        "(ep,) = [e for e in entry_points(group='console_scripts') if e.name == 'playground']; print(ep.value)"
    )
    out = subprocess.run([installed, "-c", find], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "playground.__main__:main", out.stderr[-3000:]
