#!/usr/bin/env bash
# npm test: the services the suites talk to (scripts/services.sh), then the suite on this machine's Node and on
# Node 24 (the embedded store needs node:sqlite, which Node 20 lacks). Arguments go to jest (a path, -t NAME).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh || exit 1
status=0
echo "== tests on Node $(node --version)"
node_modules/.bin/jest "$@" || status=1
if [ "$(node -p 'process.versions.node.split(".")[0]')" != 24 ]; then
	echo "== tests on Node 24"
	npx -y node@24 node_modules/.bin/jest "$@" || status=1
fi
exit $status
