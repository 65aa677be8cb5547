#!/usr/bin/env bash
# Regenerates the `tally_client` package from an OpenAPI document with openapi-python-client.
#
#   clients/python/regenerate.sh [DOCUMENT [OUT_DIR]]
#
# DOCUMENT is a URL (a running server's http://127.0.0.1:PORT/openapi.json) or a file (default:
# the committed dsl-spec/openapi.json, which is the served document of the default catalog).
# OUT_DIR defaults to clients/python/tally_client; `.ci/python-sdk.sh` regenerates into a
# temporary directory and fails if that differs from the committed package. Needs the pinned
# tools of requirements.txt (`python3 -m pip install -r clients/python/requirements.txt`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
doc="${1:-$here/../../dsl-spec/openapi.json}"
out="${2:-$here/tally_client}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ "$doc" == http://* || "$doc" == https://* ]]; then
  source=(--url "$doc")
else
  source=(--path "$doc")
fi
# --fail-on-warning: a document the generator only half understands is a failure here.
openapi-python-client generate "${source[@]}" --meta none --fail-on-warning \
  --config "$here/openapi-python-client.yaml" --output-path "$work/tally_client"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -r "$work/tally_client" "$out"
