#!/bin/sh
# build.sh SRC OUT NPM -- bundles weir-web's page into OUT.
#
# npm ci installs the exact packages of package-lock.json into OUT/npm
# (the build directory, never the source tree), only when the lock file
# changed; --prefer-offline takes them from npm's cache (~/.npm) when
# they are there, so a machine that built once builds again offline.
# esbuild then bundles src/app.js (with uPlot and the CSS) and
# src/login.js, minified, with no reference to any other origin.
set -eu
src=$1
out=$2
npm=$3
work=$out/npm
mkdir -p "$work"
if ! cmp -s "$src/package-lock.json" "$work/package-lock.json" ||
   [ ! -e "$work/node_modules/.bin/esbuild" ]; then
	cp "$src/package.json" "$src/package-lock.json" "$work/"
	(cd "$work" && "$npm" ci --no-audit --no-fund --prefer-offline --loglevel=error) || {
		echo "weir-web: npm ci failed: the packages of package-lock.json are" \
		     "neither reachable nor in npm's cache (see tools/weir-web/README.md, offline builds)" >&2
		rm -f "$work/package-lock.json"
		exit 1
	}
fi
NODE_PATH="$work/node_modules" "$work/node_modules/.bin/esbuild" "$src/src/app.js" "$src/src/login.js" \
	--bundle --minify --format=iife --target=es2020 --legal-comments=none \
	--outdir="$out" --log-level=warning
cp "$src/src/index.html" "$src/src/login.html" "$out/"
