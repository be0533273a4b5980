#!/usr/bin/env bash
# Install, build the synthetic demo store if absent, then serve the dashboard on :8501.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! .venv/bin/python -m core status >/dev/null 2>&1; then
  .venv/bin/python -m core build-demo
fi
exec .venv/bin/streamlit run app.py --server.headless true --server.port "${PORT:-8501}"
