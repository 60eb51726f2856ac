#!/usr/bin/env bash
# Builds the DocC documentation of the WireCodec library (the catalog
# Sources/WireCodec/WireCodec.docc: landing page and getting-started articles) with
# swift-docc-plugin, warnings as errors. Run by Tests/Scripts/test-all.sh; about two minutes
# after a build (the plugin's snippet-extract tool and the symbol graph).
# The archive: .build/plugins/Swift-DocC/outputs/WireCodec.doccarchive
#   (browse it with `swift package --disable-sandbox preview-documentation --target WireCodec`).
set -euo pipefail
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! swift package generate-documentation --target WireCodec --warnings-as-errors >"$log" 2>&1; then
    cat "$log" >&2
    echo "docs: generate-documentation failed" >&2
    exit 1
fi
if grep -E 'warning:|error:' "$log" | grep -v '/.build/' | grep -q .; then
    grep -E 'warning:|error:' "$log" >&2
    echo "docs: DocC printed warnings" >&2
    exit 1
fi
echo "docs: WireCodec.doccarchive built without warnings ($(grep -c '' "$log") lines of output)"
