#!/usr/bin/env bash
# What `[cache] verify` costs on a warm cache: the zstd library's sources (from the
# zstd-sys crate in target/bench-src) built through toolchainkit + ccache, every compile a
# hit, with verify = 0, 0.01, 0.1 and 1.0: the warm build's wall time per hit and the
# checks counted. Builds are sequential; the warm builds run ROUNDS times over the files
# (1.0: once), so the small fractions sample enough hits.
# Usage: bash benches/verify.sh [FILES] (default 20 sources; ROUNDS=5). A run takes about
# three cold builds of FILES (3 minutes for the figures in docs/verify.md, a loaded machine).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CRATE="$ROOT/target/bench-src/zstd-sys-2.0.16+zstd.1.5.7.crate"
TK="${TK_BIN:-$ROOT/target/release/toolchainkit}"
CCACHE="${CCACHE:-$ROOT/.venv-tools/bin/ccache}"
N="${1:-20}"
ROUNDS="${ROUNDS:-5}"
[ -f "$CRATE" ] || { echo "verify.sh: run bash scripts/setup-tools.sh first" >&2; exit 1; }
[ -x "$TK" ] || { echo "verify.sh: build it first: cargo build --release" >&2; exit 1; }
WORK="$(mktemp -d /tmp/tk-verify-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
tar -xzf "$CRATE" -C "$WORK"
Z="$WORK/zstd-sys-2.0.16+zstd.1.5.7/zstd/lib"
mapfile -t SRCS < <(cd "$Z" && ls common/*.c compress/*.c decompress/*.c | head -n "$N")
export HOME="$WORK/home" XDG_STATE_HOME="$WORK/state" XDG_CONFIG_HOME="$WORK/config" \
    TOOLCHAINKIT_CCACHE_PATH="$CCACHE" TOOLCHAINKIT_NO_USER_CONFIG=1
printf '[cache]\ntool = "ccache"\ndir = "%s/cache"\n' "$WORK" >"$Z/.toolchainkit.toml"
build() {
    local t0 t1 r
    t0=$(date +%s%N)
    for r in $(seq "$1"); do
        for s in "${SRCS[@]}"; do
            (cd "$Z" && "$TK" gcc -O2 -DNDEBUG -DZSTD_DISABLE_ASM -I. -Icommon -c "$s" -o "${s%.c}.o")
        done
    done
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
cold=$(build 1)
n=${#SRCS[@]}
echo "files: $n; cold build (all misses): $cold ms, $((cold / n)) ms per compile"
printf '%-8s %6s %10s %12s %8s %10s\n' verify hits "build ms" "ms per hit" checked "+% of cold"
base=""
for v in 0 0.01 0.1 1.0; do
    rounds=$ROUNDS
    [ "$v" = 1.0 ] && rounds=1
    (cd "$Z" && "$TK" stats --zero >/dev/null)
    ms=$(TOOLCHAINKIT_VERIFY=$v build "$rounds")
    hits=$((n * rounds))
    checked=$(cd "$Z" && "$TK" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["verify"]["checked"])')
    per=$(python3 -c "print(f'{$ms / $hits:.1f}')")
    [ -n "$base" ] || base=$per
    extra=$(python3 -c "print(f'{($per - $base) * $n * 100 / $cold:.1f}')")
    printf '%-8s %6s %10s %12s %8s %10s\n' "$v" "$hits" "$ms" "$per" "$checked" "$extra"
done
