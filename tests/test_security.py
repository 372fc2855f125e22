"""What no visitor of a public Space may do: read files that are not theirs, make the server
unpickle or run code, or find a resource cap the README does not state."""

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "playground").rglob("*.py")) + [ROOT / "app.py"]


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize("path", ["/etc/passwd", str(ROOT / "app.py"), str(ROOT / "playground" / "registry.py")])
def test_the_file_route_serves_no_file_of_the_server(app_url, path):
    assert status_of(f"{app_url}gradio_api/file={path}") in (403, 404)


def test_one_session_cannot_fetch_another_sessions_files(app_url, sessions):
    secret = sessions("someone-else").new_folder("ckpt") / "model.safetensors"
    secret.write_bytes(b"weights")
    assert status_of(f"{app_url}gradio_api/file={secret}") in (403, 404)


def test_no_code_runs_remote_code_or_unpickles():
    for path in SOURCES:
        text = path.read_text()
        assert "trust_remote_code=True" not in text, path
        assert not re.search(r"^\s*(import|from) (pickle|dill|joblib)\b|pickle\.loads?\(", text, re.M), path
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, (path, call)


def test_every_resource_cap_read_from_the_environment_is_documented():
    readme = (ROOT / "README.md").read_text()
    names = {name for path in SOURCES for name in re.findall(r"\"(PLAYGROUND_[A-Z_]+)\"", path.read_text())}
    assert names, "expected the caps to be read from PLAYGROUND_* variables"
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"document these in the README's table: {missing}"
