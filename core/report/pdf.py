"""HTML -> PDF with headless Chromium, and plotly figures -> embedded PNG (kaleido)."""
from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import plotly.graph_objects as go

logger = logging.getLogger(__name__)

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    raise FileNotFoundError("Chromium not found: install it with `apt-get install -y chromium` (scripts/setup.sh does)")


def figure_png_tag(fig: go.Figure, *, width: int = 900, height: int = 400, alt: str = "figure") -> str:
    """A static <img> of the figure (kaleido renders with the system Chromium)."""
    png = fig.to_image(format="png", width=width, height=height, scale=1)
    return f"<img alt='{alt}' style='max-width:100%' src='data:image/png;base64,{base64.b64encode(png).decode()}'/>"


def html_to_pdf(html: str, out: Path, *, timeout_s: int = 120) -> Path:
    """Print an HTML document to PDF with headless Chromium; returns the PDF path."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "doc.html"
        src.write_text(html, encoding="utf-8")
        cmd = [chromium_path(), *CHROMIUM_FLAGS, f"--user-data-dir={d}/profile", "--no-pdf-header-footer",
               f"--print-to-pdf={out}", src.as_uri()]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if r.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"Chromium could not print the PDF (exit {r.returncode})")
    return out
