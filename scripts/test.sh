#!/usr/bin/env bash
# Install, then run the whole test suite (browser tests included). Benchmarks are not part of it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
