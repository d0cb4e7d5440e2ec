#!/usr/bin/env bash
# Validate docs/asyncapi.yaml with the official AsyncAPI parser, and check it is not stale.
# Needs node >= 18 and npm (a documented requirement of the test set-up). The parser is installed
# once into .run/asyncapi (a cache dir, git-ignored), so the second run is fast and offline.
set -euo pipefail
cd "$(dirname "$0")/.."
DOC=${1:-docs/asyncapi.yaml}
PY=${PYTHON:-.venv/bin/python}
CACHE=${ASYNCAPI_CACHE:-$PWD/.run/asyncapi}
command -v node >/dev/null || { echo "validate_asyncapi: node not found: install nodejs (>= 18) and npm" >&2; exit 2; }
command -v npm >/dev/null || { echo "validate_asyncapi: npm not found: install npm" >&2; exit 2; }
if [ ! -f "$CACHE/node_modules/@asyncapi/parser/package.json" ]; then
  mkdir -p "$CACHE"
  [ -f "$CACHE/package.json" ] || echo '{"name":"asyncapi-cache","private":true}' > "$CACHE/package.json"
  (cd "$CACHE" && npm install --no-audit --no-fund --silent '@asyncapi/parser@^3' >&2)
fi
if [ "$DOC" = docs/asyncapi.yaml ]; then
  "$PY" -m tools.gen_asyncapi --check
fi
ASYNCAPI_CACHE="$CACHE" node tools/validate_asyncapi.mjs "$DOC"
