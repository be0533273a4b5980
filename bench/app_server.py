"""Serve the dashboard on loopback for benchmarks and browser tests (one place for both).

``serve`` runs the dashboard (``core.ui.serve``: streamlit run app.py) on a free 127.0.0.1 port and yields its URL;
``copy_store`` gives a private copy of the current evidence version (a fresh board store
is made by the app). Used by bench/load_sessions.py and tests/governance/served_app.py.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORDS = {"oncologist": "oncologist-demo", "viewer": "viewer-demo", "coordinator": "coordinator-demo",
             "admin": "admin-demo"}

# Starts streamlit with the root logger at DEBUG, so every core logger's output is captured.
_DEBUG_LAUNCHER = """
import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
from core.ui.serve import main
main(sys.argv[1:])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_store(src_env: dict[str, str], dest: Path) -> dict[str, str]:
    """A private copy of the current evidence version (no board store): env pointing at it."""
    src = Path(src_env["TB_STORE_DIR"])
    dest.mkdir(parents=True, exist_ok=True)
    version = (src / "CURRENT").read_text().strip()
    shutil.copyfile(src / version, dest / version)
    (dest / "CURRENT").write_text(version)
    return {**src_env, "TB_STORE_DIR": str(dest)}


@contextmanager
def serve(env: dict[str, str], log_path: Path | None = None, *, debug_logging: bool = False) -> Iterator[str]:
    """Run the dashboard (``core.ui.serve``: streamlit run app.py) on a free loopback port; yields the base URL.

    ``log_path`` receives the server's stdout and stderr; ``debug_logging`` sets the root
    logger and streamlit's own logger to DEBUG.
    """
    port = free_port()
    args = ["--server.headless", "true", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
            # no file watcher: an edited source file would show a "File change" prompt in the status widget
            "--server.fileWatcherType", "none"]
    if debug_logging:
        cmd = [sys.executable, "-c", _DEBUG_LAUNCHER, *args, "--logger.level", "debug",
               "--logger.messageFormat", "%(asctime)s %(levelname)s %(name)s: %(message)s"]
    else:
        cmd = [sys.executable, "-m", "core.ui.serve", *args]
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"streamlit did not start (exit code {proc.poll()})") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            out.close()
