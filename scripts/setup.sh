#!/usr/bin/env bash
# setup.sh -- install every Debian 12 package weir needs to build, run and
# test. Idempotent and quiet: packages already present are not touched, and
# apt-get runs only when something is missing. Extra packages a component
# needs are listed one per line in scripts/packages.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

pkgs=(
  build-essential meson ninja-build pkg-config clang
  libdpdk-dev dpdk libndpi-dev libndpi-bin liburcu-dev libhiredis-dev libjemalloc-dev
  libpcap-dev uthash-dev libnuma-dev libbsd-dev libc-ares-dev
  redis-server redis-tools
  tshark python3-scapy softflowd pmacct nfdump
  libmicrohttpd-dev libcurl4-openssl-dev
)
if [ -f "$here/packages.txt" ]; then
  while read -r p; do
    p=${p%%#*}; p=${p// /}
    [ -n "$p" ] && pkgs+=("$p")
  done < "$here/packages.txt"
fi

# npm: Debian's package, unless a node install already brings its own npm
# (NodeSource's nodejs ships npm and conflicts with Debian's)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "setup: installing ${#missing[@]} package(s): ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture: answer no, quietly
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
