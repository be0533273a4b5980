"""Session fixtures: one small demo store built once through the real CLI path."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures"
ARTIFACTS = ROOT / "test-artifacts"
# Every build-demo a test runs (in-process or as a subprocess) skips training the image encoder from
# scratch when no weights are committed: the encoder's own tests cover training.
os.environ.setdefault("TB_TRAIN_ENCODER_IF_MISSING", "0")
DEMO_PATIENTS = int(os.environ.get("TB_TEST_PATIENTS", "60"))


@pytest.fixture(scope="session")
def demo_env(tmp_path_factory) -> dict[str, str]:
    """Environment pointing at a small demo store (built once per session with `build-demo`)."""
    reuse = os.environ.get("TB_TEST_REUSE_DIR")  # developer shortcut: an already built demo (store/, demo/)
    if reuse:
        return {"TB_STORE_DIR": f"{reuse}/store", "TB_DEMO_DIR": f"{reuse}/demo", "TB_MODELS_DIR": f"{reuse}/models"}
    base = tmp_path_factory.mktemp("demo")
    env = {"TB_STORE_DIR": str(base / "store"), "TB_DEMO_DIR": str(base / "demo"),
           "TB_MODELS_DIR": str(base / "models"),
           # the encoder has its own tests; the shared test store does not retrain it from scratch
           "TB_TRAIN_ENCODER_IF_MISSING": "0"}
    full = {**os.environ, **env}
    r = subprocess.run([sys.executable, "-m", "core", "build-demo", "--patients", str(DEMO_PATIENTS), "--seed", "11"],
                       cwd=ROOT, env=full, capture_output=True, text=True, timeout=2400)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return env


@pytest.fixture
def demo_store(demo_env, monkeypatch):
    """Point core at the demo store for the duration of a test; yields a read-only connection."""
    for k, v in demo_env.items():
        monkeypatch.setenv(k, v)
    from core.store import db

    con = db.connect_readonly()
    yield con
    con.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
