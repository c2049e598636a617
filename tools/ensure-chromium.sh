#!/usr/bin/env bash
# Installs Debian's headless Chromium, which the HTML report test drives, unless `chromium`
# is already on the PATH. Used by `.ci/run` and by `cargo xtask test`.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium
