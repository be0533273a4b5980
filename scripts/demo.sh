#!/usr/bin/env bash
# Install, build the synthetic demo store if absent, then serve the dashboard on :8501.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! .venv/bin/python -m core status >/dev/null 2>&1; then
  .venv/bin/python -m core build-demo
fi
# (core.ui.serve = streamlit run app.py, with Streamlit's legacy pages/ folder mode off: deep links work)
exec .venv/bin/python -m core.ui.serve --server.headless true --server.port "${PORT:-8501}"
