#!/usr/bin/env bash
# Whole-process comparison of toolchainkit with the cache tools called directly, measured
# side by side in one run with hyperfine (warm caches, private cache and state dirs):
#
#   floor       the launch of an empty process (/bin/true): the cost of any wrapper
#   hit         a cache hit of a small C file: ccache/sccache as a CMake-style launcher
#               (`ccache /usr/bin/cc ...`) vs `toolchainkit /usr/bin/cc ...` (launcher) and
#               a toolchainkit `cc` shim first in PATH (masquerade); sccache hits through
#               the native client (the default) and, in their own group, through the
#               sccache client process (`sccache_client = "process"`); the sccache group
#               also times a bare ccache hit, the fastest local hit to compare with
#   fallback    bare `/usr/bin/cc` vs toolchainkit with tool = "none"
#   reference   in the hit and fallback groups, two minimal static C wrappers
#               (benches/ref/): one that execs the next program, one that spawns it
#               and waits: what the thinnest wrapper of either design costs
#   project     the zstd C library (sources from the `zstd-sys` crate on crates.io) built
#               with CMake + Ninja -j2: warm rebuild (clean, cache full) and cold build,
#               tool as launcher directly vs through toolchainkit; bare vs tool = "none"
#   scaling     per-invocation cost vs directory depth, PATH length, trace file size and
#               1/8/64 concurrent invocations (with a check that no count is lost and
#               that the stats file does not grow)
#   memory      peak RSS of the shim process (GNU time)
#
# Prints a table of medians, ratios toolchainkit/direct and the added time per invocation
# in floors, and writes everything as JSON (default benches/results/latest.json).
#
# Usage: bash benches/compare.sh [--quick]
#   RUNS=50 WARMUP=5       hyperfine runs for the per-invocation benchmarks
#   BUILD_RUNS=10 COLD_RUNS=3   runs for the project's warm rebuilds and cold builds
#   TK_BIN=path            benchmark this toolchainkit binary (default: cargo build --release)
#   TK_ALT=path            a second toolchainkit binary (e.g. the dynamically linked build,
#                          TOOLCHAINKIT_LINK=dynamic cargo build --release --target-dir
#                          target/dynamic) measured beside the first in the
#                          per-invocation groups; TK_ALT_LABEL names its rows
#                          (default "second binary")
#   OUT=file.json          where the JSON goes
#   SKIP_PROJECT=1         leave out the zstd builds
# Needs hyperfine, cmake, ninja, gcc, python3, curl, GNU time, and the pinned ccache and
# sccache (`bash scripts/setup-tools.sh`). Not run by CI: timings need a quiet machine.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-50}"
WARMUP="${WARMUP:-5}"
BUILD_RUNS="${BUILD_RUNS:-10}"
COLD_RUNS="${COLD_RUNS:-3}"
if [ "${1:-}" = "--quick" ]; then
    RUNS=10 WARMUP=2 BUILD_RUNS=3 COLD_RUNS=1
fi
OUT="${OUT:-$ROOT/benches/results/latest.json}"
TOOLS="${TOOLCHAINKIT_TEST_TOOLS:-$ROOT/.venv-tools/bin}"
ZSTD_CRATE_VERSION="2.0.16+zstd.1.5.7"
ZSTD_CRATE_SHA256="91e19ebc2adc8f83e43039e79776e3fda8ca919132d68a1fed6a5faca2683748"

die() { echo "compare.sh: $*" >&2; exit 1; }
for t in hyperfine cmake ninja python3 curl; do
    command -v "$t" >/dev/null || die "$t is missing (bash scripts/setup-tools.sh installs it)"
done
[ -x /usr/bin/time ] || die "GNU time is missing (apt-get install time)"
[ -x "$TOOLS/ccache" ] && [ -x "$TOOLS/sccache" ] || die "no ccache/sccache in $TOOLS: run bash scripts/setup-tools.sh"
CCACHE="$TOOLS/ccache"
SCCACHE="$TOOLS/sccache"
CC=/usr/bin/cc

if [ -z "${TK_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    TK_BIN="$ROOT/target/release/toolchainkit"
fi
TK="$(cd "$(dirname "$TK_BIN")" && pwd)/$(basename "$TK_BIN")"
ALT=()
if [ -n "${TK_ALT:-}" ]; then
    TK_ALT="$(cd "$(dirname "$TK_ALT")" && pwd)/$(basename "$TK_ALT")"
fi
# hyperfine runs each command without a shell (-N) and splits it into words as a POSIX
# shell would: every path goes into a command string quoted, so paths with spaces work.
q() { printf '%q' "$1"; }
Q_TK="$(q "$TK")" Q_CCACHE="$(q "$CCACHE")" Q_SCCACHE="$(q "$SCCACHE")"

# sccache servers started for this run are found by their socket under $WORK; the
# cleanup is armed before the first temporary file exists and copes with a partial setup.
WORK=""
our_servers() { [ -f "$WORK/our-servers.sh" ] && sh "$WORK/our-servers.sh"; }
cleanup() {
    [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
    SCCACHE_SERVER_UDS="$WORK/run/direct-sccache.sock" "$SCCACHE" --stop-server >/dev/null 2>&1 || true
    for d in "$WORK"/sccache "$WORK"/project-sccache; do
        [ -d "$d" ] && (cd "$d" && "$TK" server stop >/dev/null 2>&1 || true)
    done
    local p
    for p in $(our_servers); do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- private environment --------------------------------------------------------------
WORK="$(mktemp -d /tmp/tk-compare.XXXXXX)"
while IFS='=' read -r name _; do
    case "$name" in TOOLCHAINKIT_* | CCACHE_* | SCCACHE_*) unset "$name" ;; esac
done < <(env)
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_STATE_HOME="$WORK/home/.state"
export XDG_DATA_HOME="$WORK/home/.data" XDG_RUNTIME_DIR="$WORK/run"
export CCACHE_DIR="$WORK/cache/ccache" SCCACHE_DIR="$WORK/cache/sccache"
export SCCACHE_SERVER_UDS="$WORK/run/direct-sccache.sock" # the directly called sccache's server
export TOOLCHAINKIT_CCACHE_PATH="$CCACHE" TOOLCHAINKIT_SCCACHE_PATH="$SCCACHE"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$CCACHE_DIR" "$SCCACHE_DIR" "$WORK/raw"
chmod 700 "$XDG_RUNTIME_DIR"
PLAIN_PATH="/usr/local/bin:/usr/bin:/bin"
SHIMS="$WORK/shims"
mkdir -p "$SHIMS" && ln -s "$TK" "$SHIMS/cc"
if [ -n "${TK_ALT:-}" ]; then
    mkdir -p "$WORK/alt-shims" && ln -s "$TK_ALT" "$WORK/alt-shims/cc"
    ALT=("$(q "$TK_ALT") $CC -c x.c -o x.o" "$(q "$WORK/alt-shims/cc") -c x.c -o x.o")
fi
export PATH="$SHIMS:$PLAIN_PATH"

# sccache servers started for this run: processes of the sccache binary whose socket is
# under $WORK (every process of this run has that variable; only servers are sccache).
SCCACHE_REAL="$(readlink -f "$SCCACHE")"
cat >"$WORK/our-servers.sh" <<EOF
#!/bin/sh
for d in /proc/[0-9]*; do
    [ "\$(readlink "\$d/exe" 2>/dev/null)" = "$SCCACHE_REAL" ] || continue
    tr '\\0' '\\n' <"\$d/environ" 2>/dev/null | grep -q "^SCCACHE_SERVER_UDS=$WORK/" && echo "\${d#/proc/}"
done
true
EOF

project() { # DIR TOOL: a directory whose .toolchainkit.toml selects TOOL
    mkdir -p "$1"
    printf '[cache]\ntool = "%s"\n' "$2" >"$1/.toolchainkit.toml"
    printf 'int add(int a, int b) { return a + b; }\n' >"$1/x.c"
}
project "$WORK/ccache" ccache
project "$WORK/sccache" sccache
project "$WORK/none" none

HF=(hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS")
bench() { # NAME DIR CMD...: hyperfine in DIR with the floor first, JSON to raw/NAME.json
    local name="$1" dir="$2"
    shift 2
    echo "== $name" >&2
    (cd "$dir" && "${HF[@]}" --export-json "$WORK/raw/$name.json" /bin/true "$@" >/dev/null)
}

# --- cache hits and the fallback ----------------------------------------------------------
C=(-c x.c -o x.o)
"$SCCACHE" --start-server >/dev/null 2>&1 || die "cannot start sccache"
for d in ccache sccache none; do # fill the caches (a miss, then hits)
    (cd "$WORK/$d" && "$TK" $CC "${C[@]}" && "$SHIMS/cc" "${C[@]}")
done
(cd "$WORK/ccache" && "$CCACHE" $CC "${C[@]}")
(cd "$WORK/sccache" && "$SCCACHE" $CC "${C[@]}")
# The last two commands of each group are references, minimal static C wrappers
# (benches/ref/): one that only execs the next program, the cheapest any wrapper can be,
# and one that spawns it and waits, the cheapest a wrapper that sees the result can be.
REF_EXEC="$WORK/ref-exec" REF_SPAWN="$WORK/ref-spawn"
for r in exec spawn; do
    /usr/bin/cc -O2 -static -o "$WORK/ref-$r" "$ROOT/benches/ref/$r.c" 2>/dev/null ||
        /usr/bin/cc -O2 -o "$WORK/ref-$r" "$ROOT/benches/ref/$r.c" || die "cannot build benches/ref/$r.c"
done
refs() { echo "$(q "$REF_EXEC") $*"; echo "$(q "$REF_SPAWN") $*"; }
Q_SHIM="$(q "$SHIMS/cc")"
mapfile -t R_CCACHE < <(refs "$Q_CCACHE $CC ${C[*]}")
mapfile -t R_SCCACHE < <(refs "$Q_SCCACHE $CC ${C[*]}")
mapfile -t R_NONE < <(refs "$CC ${C[*]}")
bench hit_ccache "$WORK/ccache" "$Q_CCACHE $CC ${C[*]}" "$Q_TK $CC ${C[*]}" "$Q_SHIM ${C[*]}" "${ALT[@]}" "${R_CCACHE[@]}"
bench hit_sccache "$WORK/sccache" "$Q_SCCACHE $CC ${C[*]}" "$Q_TK $CC ${C[*]}" "$Q_SHIM ${C[*]}" "${ALT[@]}" "${R_SCCACHE[@]}" "$Q_CCACHE $CC ${C[*]}"
TOOLCHAINKIT_SCCACHE_CLIENT=process bench hit_sccache_process "$WORK/sccache" "$Q_SCCACHE $CC ${C[*]}" "$Q_TK $CC ${C[*]}" "$Q_SHIM ${C[*]}"
bench fallback "$WORK/none" "$CC ${C[*]}" "$Q_TK $CC ${C[*]}" "$Q_SHIM ${C[*]}" "${ALT[@]}" "${R_NONE[@]}"

# --- scaling ------------------------------------------------------------------------------
# A compiler that does nothing (a copy of /bin/true named cc) isolates the shim's own cost.
FAKE="$WORK/fake"
mkdir -p "$FAKE" && cp /bin/true "$FAKE/cc"
Q_FAKE="$(q "$FAKE/cc")"
SCALE="$WORK/scale"
project "$SCALE" none
deep="$SCALE"
for i in $(seq 1 40); do deep="$deep/d$i"; done
mkdir -p "$deep" && cp "$SCALE/x.c" "$deep/"
mid="$SCALE/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10"
cp "$SCALE/x.c" "$mid/"
# --- peak memory of the shim --------------------------------------------------------------
# GNU time reports max(own, waited-for children) RSS, so the compiler here is the
# do-nothing copy of /bin/true: the figure is the shim's own peak.
rss() { # DIR CMD...: max RSS in KiB
    (cd "$1" && shift && /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1)
}
RSS_SHIM="$(rss "$SCALE" "$TK" "$FAKE/cc" -c x.c)"
RSS_TRUE="$(rss "$SCALE" "$FAKE/cc" -c x.c)"

bench scale_depth "$SCALE" "$Q_FAKE -c x.c" "$Q_TK $Q_FAKE -c x.c"
bench scale_depth10 "$mid" "$Q_TK $Q_FAKE -c x.c"
bench scale_depth40 "$deep" "$Q_TK $Q_FAKE -c x.c"

path_with() { # N: shims, N-2 empty dirs, the fake compiler's dir
    local p="$SHIMS" i
    for i in $(seq 1 "$(($1 - 2))"); do mkdir -p "$WORK/empty/$i" && p="$p:$WORK/empty/$i"; done
    echo "$p:$FAKE:$PLAIN_PATH"
}
for n in 5 50; do
    PATH="$(path_with $n)" bench "scale_path$n" "$SCALE" "$Q_SHIM -c x.c"
done

TRACED="$WORK/traced"
project "$TRACED" none
printf '[stats]\nfile = "stats.json"\ntrace = true\n' >>"$TRACED/.toolchainkit.toml"
for mb in 0 8 48; do
    head -c $((mb * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$TRACED/stats.trace.jsonl"
    bench "scale_trace${mb}mb" "$TRACED" "$Q_TK $Q_FAKE -c x.c"
done

CONC="$WORK/conc"
project "$CONC" none
printf '[stats]\nfile = "stats.json"\n' >>"$CONC/.toolchainkit.toml"
cat >"$WORK/burst.sh" <<EOF
#!/bin/sh
# burst.sh K CMD...: K concurrent invocations of CMD, then wait for all
k=\$1; shift
i=0
while [ \$i -lt \$k ]; do "\$@" & i=\$((i + 1)); done
wait
EOF
chmod +x "$WORK/burst.sh"
CONC_CHECK=()
for k in 1 8 64; do
    rm -f "$CONC"/stats.json*
    (cd "$CONC" && "$TK" "$FAKE/cc" -c x.c) # creates the stats file: one invocation
    size0="$(stat -c %s "$CONC/stats.json")"
    (cd "$CONC" && "${HF[@]}" --export-json "$WORK/raw/scale_conc$k.json" \
        "$(q "$WORK/burst.sh") $k $Q_FAKE -c x.c" "$(q "$WORK/burst.sh") $k $Q_TK $Q_FAKE -c x.c" >/dev/null)
    counted="$(cd "$CONC" && "$TK" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["invocations"])')"
    expected=$((1 + k * (WARMUP + RUNS)))
    size1="$(stat -c %s "$CONC/stats.json")"
    CONC_CHECK+=("$k $expected $counted $size0 $size1")
done

# --- a real project: zstd from the zstd-sys crate, CMake + Ninja -j2 --------------------
NCOMPILES=0
if [ -z "${SKIP_PROJECT:-}" ]; then
    SRC_CACHE="$ROOT/target/bench-src"
    crate="$SRC_CACHE/zstd-sys-$ZSTD_CRATE_VERSION.crate"
    if [ ! -f "$crate" ]; then
        mkdir -p "$SRC_CACHE"
        url="https://static.crates.io/crates/zstd-sys/zstd-sys-$ZSTD_CRATE_VERSION.crate"
        curl -fsSL -o "$crate.part" "https://crates.io/api/v1/crates/zstd-sys/$ZSTD_CRATE_VERSION/download" 2>/dev/null ||
            curl -fsSL -o "$crate.part" "$url" || die "cannot download zstd-sys $ZSTD_CRATE_VERSION"
        echo "$ZSTD_CRATE_SHA256  $crate.part" | sha256sum -c --quiet - || die "zstd-sys checksum mismatch"
        mv "$crate.part" "$crate"
    fi
    tar -xzf "$crate" -C "$WORK"
    ZSTD="$WORK/zstd-sys-$ZSTD_CRATE_VERSION/zstd"
    cat >"$WORK/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(zstd_bench C)
file(GLOB SRC $ZSTD/lib/common/*.c $ZSTD/lib/compress/*.c $ZSTD/lib/decompress/*.c $ZSTD/lib/dictBuilder/*.c)
add_library(zstd STATIC \${SRC})
target_compile_definitions(zstd PRIVATE ZSTD_DISABLE_ASM ZSTD_MULTITHREAD=0)
target_include_directories(zstd PRIVATE $ZSTD/lib $ZSTD/lib/common)
EOF
    NCOMPILES="$(ls "$ZSTD"/lib/{common,compress,decompress,dictBuilder}/*.c | wc -l)"
    configure() { # BUILD_DIR PROJECT_DIR [LAUNCHER]
        mkdir -p "$2"
        (cd "$2" && cmake -S "$WORK" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
            -DCMAKE_C_COMPILER=$CC ${3:+"-DCMAKE_C_COMPILER_LAUNCHER=$3"} >/dev/null)
    }
    project "$WORK/project-ccache" ccache
    project "$WORK/project-sccache" sccache
    project "$WORK/project-none" none
    configure "$WORK/project-none/b-bare" "$WORK/project-none"
    configure "$WORK/project-none/b-tk" "$WORK/project-none" "$TK"
    configure "$WORK/project-ccache/b-direct" "$WORK/project-ccache" "$CCACHE"
    configure "$WORK/project-ccache/b-tk" "$WORK/project-ccache" "$TK"
    configure "$WORK/project-sccache/b-direct" "$WORK/project-sccache" "$SCCACHE"
    configure "$WORK/project-sccache/b-tk" "$WORK/project-sccache" "$TK"
    build_bench() { # NAME RUNS WARMUP PREPARE(sh) BUILD_DIR...
        local name="$1" runs="$2" warm="$3" prep="$4" cmds=() b
        shift 4
        for b in "$@"; do cmds+=("ninja -C $(q "$b") -j2"); done
        echo "== $name" >&2
        # The build runs in the project dir so toolchainkit finds its .toolchainkit.toml
        # through the build directory's parent.
        hyperfine -N --style none --runs "$runs" --warmup "$warm" --prepare "$prep" \
            --export-json "$WORK/raw/$name.json" "${cmds[@]}" >/dev/null
    }
    cat >"$WORK/clean.sh" <<EOF
#!/bin/sh
for b in "$WORK"/project-*/b-*; do ninja -C "\$b" -t clean >/dev/null; done
EOF
    cat >"$WORK/wipe.sh" <<EOF
#!/bin/sh
# clean outputs, empty both caches, stop the sccache servers (the next compile restarts them)
sh "$WORK/clean.sh"
"$CCACHE" -C >/dev/null
"$SCCACHE" --stop-server >/dev/null 2>&1
(cd "$WORK/project-sccache" && "$TK" server stop >/dev/null 2>&1)
for p in \$(sh "$WORK/our-servers.sh"); do kill "\$p" 2>/dev/null; done # any that did not stop
rm -rf "$SCCACHE_DIR"
true
EOF
    clean_all="sh $(q "$WORK/clean.sh")"
    # Warm rebuilds: clean outputs, caches full (the warm-up run fills them).
    build_bench warm_ccache "$BUILD_RUNS" 1 "$clean_all" "$WORK/project-ccache/b-direct" "$WORK/project-ccache/b-tk"
    build_bench warm_sccache "$BUILD_RUNS" 1 "$clean_all" "$WORK/project-sccache/b-direct" "$WORK/project-sccache/b-tk"
    # Cold builds: clean outputs and empty caches before every run.
    wipe="sh $(q "$WORK/wipe.sh")"
    # Without a cache every build compiles everything: tool = none is measured cold only.
    build_bench cold_none "$COLD_RUNS" 0 "$clean_all" "$WORK/project-none/b-bare" "$WORK/project-none/b-tk"
    build_bench cold_ccache "$COLD_RUNS" 0 "$wipe" "$WORK/project-ccache/b-direct" "$WORK/project-ccache/b-tk"
    build_bench cold_sccache "$COLD_RUNS" 0 "$wipe" "$WORK/project-sccache/b-direct" "$WORK/project-sccache/b-tk"
fi

# --- summary ------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
export TK_ALT="${TK_ALT:-}" TK_ALT_LABEL="${TK_ALT_LABEL:-}"
export WORK OUT NCOMPILES RUNS WARMUP BUILD_RUNS COLD_RUNS TK RSS_SHIM RSS_TRUE
export CONC_CHECK_S="$(printf '%s\n' "${CONC_CHECK[@]}")"
export MACHINE_CPUS="$(nproc)" KERNEL="$(uname -r)"
export VERSIONS="$("$CCACHE" --version | head -1); $("$SCCACHE" --version | head -1); $(cc --version | head -1); $(hyperfine --version)"
python3 "$ROOT/benches/summarize.py"
