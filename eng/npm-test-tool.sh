#!/usr/bin/env bash
# Installs an npm package the tests use (a local server, a contract file) under .test/node_modules, unless that version is there:
#   eng/npm-test-tool.sh NAME VERSION [NPM_INSTALL_OPTION...]
set -euo pipefail
cd "$(dirname "$0")/.."

name="$1"
version="$2"
shift 2
installed="$(node -p "require('./.test/node_modules/$name/package.json').version" 2>/dev/null || true)"
if [[ "$installed" != "$version" ]]; then
    echo "Installing: $name@$version (into .test/)"
    mkdir -p .test
    [[ -f .test/package.json ]] || echo '{ "name": "strata-test-tools", "private": true }' > .test/package.json
    npm install --prefix .test --no-audit --no-fund --loglevel=error "$@" "$name@$version" >/dev/null
fi
