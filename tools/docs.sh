#!/usr/bin/env bash
# Build the documentation site offline from the notebooks into SITE_DIR (default _docs/site; open its index.html from
# disk, or serve the folder): the README as home page, the tour, the workshop, every numbered notebook with the outputs
# it keeps, and an API page per module. Needs the dev extra (mkdocs, mkdocs-jupyter, mkdocstrings[python]).
# Usage: bash tools/docs.sh [SITE_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
site="$(realpath -m "${1:-_docs/site}")"
config="$("$PY" tools/docs_pages.py "$site.src" "$site")"
NO_MKDOCS_2_WARNING=1 "$PY" -m mkdocs build --strict --quiet --config-file "$config"
echo "documentation: $site/index.html"
