#!/usr/bin/env bash
# Installs what classroom-gateway needs on a fresh Debian machine: system packages (ffmpeg for
# transcoding and tests, RTMP peers and reference servers for tests and benchmarks, Redis for the
# cluster directory's tests and bench) and the npm
# dependencies, which include the Node.js 24 runtime itself (the `node` package); then builds the
# native batch writer (common/native/write-many.c, with gcc: the servers run without it, at more CPU
# per player) and the browser classroom (web-client/dist, served by the edge).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ffmpeg rtmpdump python3-librtmp nginx libnginx-mod-rtmp chromium
  gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  tshark libxml2-utils iproute2 util-linux openssl systemd redis-server gcc libc6-dev)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
echo "setup: building the native batch writer and the web client (npm run build)"
npm run -s build
echo "setup: ready (runtime $(node_modules/.bin/node --version))"
