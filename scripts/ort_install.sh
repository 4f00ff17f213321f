#!/bin/sh
# Installs onnxruntime-node, the peer wafer's outputs and speed are checked against, into
# bench/node_modules (the version pinned in bench/package.json and its lock file), and Node.js
# itself from Debian if it is missing. Called by bench/bench.sh (required: it fails without
# it) and by `make test` with --optional (the tests that compare with onnxruntime run when it
# is installed and skip with a message when it cannot be: no network, no npm registry).
#
# Usage: sh scripts/ort_install.sh [--optional]      exit 0 installed (or optional), 2 failed
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
OPTIONAL=0
[ "${1:-}" = "--optional" ] && OPTIONAL=1

fail() {
    if [ "$OPTIONAL" -eq 1 ]; then
        echo "wafer: $* — the checks against onnxruntime will be skipped" >&2
        exit 0
    fi
    echo "wafer: $*" >&2
    exit 2
}

[ -d "$HERE/bench/node_modules/onnxruntime-node" ] && command -v node >/dev/null 2>&1 && exit 0
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "wafer: installing Node.js (nodejs, npm) from Debian" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null; } ||
        fail "Node.js could not be installed (apt-get install nodejs npm)"
fi
echo "wafer: installing onnxruntime-node into bench/node_modules (npm)" >&2
LOG=$(mktemp)
(cd "$HERE/bench" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >"$LOG" 2>&1) || {
    cat "$LOG" >&2
    rm -f "$LOG"
    fail "npm install of onnxruntime-node failed"
}
rm -f "$LOG"
node -e "require('$HERE/bench/node_modules/onnxruntime-node')" 2>/dev/null ||
    fail "onnxruntime-node was installed but does not load"
exit 0
