#!/usr/bin/env bash
# Install everything and start Loopgate on the embedded default (./loopgate.duckdb).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[app]'
exec loopgate serve "$@"
