#!/bin/sh
# Copies the chart renderer's minified builds from npm into web/vendor/, where
# src/server/routes/page.rs embeds them into the binary. Run after changing a version in
# package.json: `cd web && npm ci && sh vendor.sh`, then commit web/vendor/.
set -eu
cd "$(dirname "$0")"
out=vendor
mkdir -p "$out"
notice="$out/LICENSES.txt"
echo "Third-party code in web/vendor/ (copied from npm by web/vendor.sh)." > "$notice"
for pkg in vega vega-lite vega-embed; do
  # The source maps are not shipped, so their comments go.
  sed -e 's|//# sourceMappingURL=[^ ]*$||' "node_modules/$pkg/build/$pkg.min.js" > "$out/$pkg.min.js"
  node -e '
    const p = require("./node_modules/" + process.argv[1] + "/package.json");
    console.log("\n== " + p.name + " " + p.version + " (" + p.license + ")");
    for (const d of Object.keys(p.dependencies || {})) {
      try {
        const q = require("./node_modules/" + d + "/package.json");
        console.log("   bundles " + q.name + " " + q.version + " (" + q.license + ")");
      } catch (e) { /* a dependency that is not bundled into the build */ }
    }' "$pkg" >> "$notice"
done
# vega ships no LICENSE file; all three (and vega-interpreter, which vega-embed bundles) are the UW Interactive Data Lab's,
# under the same BSD-3-Clause text:
{ echo; cat node_modules/vega-lite/LICENSE; } >> "$notice"
ls -l "$out"
