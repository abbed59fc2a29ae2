#!/usr/bin/env bash
# What the miss records cost on a real build: zstd (sources from the `zstd-sys` crate, as
# in compare.sh) built cold with CMake + Ninja -j2 through toolchainkit as the launcher,
# for ccache and for sccache. Every miss's record holds the wall time of its compile and
# of its bookkeeping (the compiler's memoised identity, the source and the depfile's
# headers hashed, the previous record read and compared); the write of the record itself
# is measured by `cargo bench --bench hotpath -- explain/save_record`. Prints, per tool,
# the number of records, the summed compile and bookkeeping times and their ratio.
#
# Usage: bash benches/explain_cost.sh   (TK_BIN=path to benchmark another binary,
#        EXPLAIN_TOOLS="ccache" for one tool)
# Needs cmake, ninja, gcc, python3 and the pinned ccache and sccache.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${TOOLCHAINKIT_TEST_TOOLS:-$ROOT/.venv-tools/bin}"
ZSTD_CRATE_VERSION="2.0.16+zstd.1.5.7"
crate="$ROOT/target/bench-src/zstd-sys-$ZSTD_CRATE_VERSION.crate"
[ -f "$crate" ] || { echo "explain_cost.sh: run benches/compare.sh once to fetch $crate" >&2; exit 1; }
if [ -z "${TK_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    TK_BIN="$ROOT/target/release/toolchainkit"
fi
WORK="$(mktemp -d /tmp/tk-explain-cost.XXXXXX)"
cleanup() {
    (cd "$WORK/p-sccache" 2>/dev/null && "$TK_BIN" server stop >/dev/null 2>&1) || true
    rm -rf "$WORK"
}
trap cleanup EXIT
while IFS='=' read -r name _; do
    case "$name" in TOOLCHAINKIT_* | CCACHE_* | SCCACHE_*) unset "$name" ;; esac
done < <(env)
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_STATE_HOME="$WORK/home/.state"
export XDG_CACHE_HOME="$WORK/home/.cache" XDG_RUNTIME_DIR="$WORK/run"
export TOOLCHAINKIT_CCACHE_PATH="$TOOLS/ccache" TOOLCHAINKIT_SCCACHE_PATH="$TOOLS/sccache"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
tar -xzf "$crate" -C "$WORK"
ZSTD="$WORK/zstd-sys-$ZSTD_CRATE_VERSION/zstd"
for tool in ${EXPLAIN_TOOLS:-ccache sccache}; do
    p="$WORK/p-$tool"
    mkdir -p "$p"
    printf '[cache]\ntool = "%s"\ndir = "cache"\n' "$tool" >"$p/.toolchainkit.toml"
    cat >"$p/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(zstd_bench C)
file(GLOB SRC $ZSTD/lib/common/*.c $ZSTD/lib/compress/*.c $ZSTD/lib/decompress/*.c $ZSTD/lib/dictBuilder/*.c)
add_library(zstd STATIC \${SRC})
target_compile_definitions(zstd PRIVATE ZSTD_DISABLE_ASM ZSTD_MULTITHREAD=0)
target_include_directories(zstd PRIVATE $ZSTD/lib $ZSTD/lib/common)
EOF
    (cd "$p" && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
        -DCMAKE_C_COMPILER=/usr/bin/cc -DCMAKE_C_COMPILER_LAUNCHER="$TK_BIN" >/dev/null &&
        ninja -C build -j2 >/dev/null)
    (cd "$p" && "$TK_BIN" explain --json) | python3 -c '
import json, sys
tool = sys.argv[1]
r = json.load(sys.stdin)
c = sum(x["compile_ms"] for x in r)
b = sum(x["bookkeeping_ms"] for x in r)
ratios = sorted((x["bookkeeping_ms"] / x["compile_ms"], x) for x in r)
med = ratios[len(ratios) // 2][0]
w, wx = ratios[-1]
wo, wb, wc = wx["output"], wx["bookkeeping_ms"], wx["compile_ms"]
print(f"{tool}: {len(r)} misses, compiles {c:.0f} ms, bookkeeping {b:.1f} ms "
      f"({b / len(r):.2f} ms each), {100 * b / c:.2f} % of the compile time; per file: median "
      f"{100 * med:.2f} %, worst {100 * w:.2f} % ({wo}: {wb:.2f} of {wc:.1f} ms)")
' "$tool"
done
