#!/usr/bin/env bash
# Builds the native batch writer (common/native/write-many.c) into build/native/write-many.node
# with gcc, against the Node-API headers of the runtime the project runs (the `node` package ships
# them). Run by scripts/setup.sh, `npm run build` and `npm start`; does nothing when the addon is
# newer than its source. Without a C compiler it says so and succeeds: the servers then write to
# one socket at a time, at more CPU per player (common/direct-write.ts). A compile error fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source=common/native/write-many.c
target=build/native/write-many.node
[ "$target" -nt "$source" ] && exit 0
if ! command -v gcc >/dev/null; then
  echo "build-native: no gcc, so no native batch writer ($target): media writes go one socket at a time (apt-get install gcc libc6-dev, then npm run build)" >&2
  exit 0
fi
node_api_h=$(find -L node_modules/node -path '*/include/node/node_api.h' -print -quit 2>/dev/null || true)
[ -n "$node_api_h" ] || { echo "build-native: no include/node/node_api.h in node_modules/node (run npm ci first)" >&2; exit 1; }
mkdir -p "$(dirname "$target")"
gcc -O2 -Wall -Wextra -Werror -shared -fPIC -I"$(dirname "$node_api_h")" -o "$target.tmp" "$source"
mv "$target.tmp" "$target"
echo "build-native: built $target"
