"""Serve the dashboard: ``streamlit run app.py`` with Streamlit's legacy ``pages/`` mode off.

Usage: python -m core.ui.serve [streamlit options, e.g. --server.port 8501]

app.py registers every page with ``st.navigation``. Streamlit still treats a ``pages/``
folder next to the main script as a multipage app of its own (MPA v1): each run first builds
a navigation from the folder's file names, and a deep link opened in a new session
(``/present?meeting=...``) finds no file-named page, so the browser shows "Page not found"
over the sign-in form. Turning that mode off before the first session makes app.py's own
navigation the only one. (With plain ``streamlit run app.py`` Streamlit turns it off itself at
the first ``st.navigation`` call, too late for the first session of the server.)
"""
from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"


def disable_pages_folder_mode() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def main(argv: list[str]) -> None:
    """``streamlit run app.py ARGV`` in this process, pages/ folder mode off."""
    disable_pages_folder_mode()
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", "run", str(APP), *argv]
    streamlit_main()


if __name__ == "__main__":
    main(sys.argv[1:])
