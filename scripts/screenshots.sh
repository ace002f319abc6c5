#!/usr/bin/env bash
# Retake the README's screenshots: the browser tests drive the app and save them in docs/img.
set -euo pipefail
cd "$(dirname "$0")/.."
LOOPGATE_SHOTS=docs/img python3 -m pytest tests/browser -q -p no:cacheprovider "$@"
