#!/usr/bin/env bash
# What distribution costs per compile, on one machine: a build host in a network namespace
# (veth link, 10.213.202.0/24, created here and removed on exit) running distccd, and
# hyperfine comparing, through the toolchainkit shim:
#   compile   one zstd source file: tool = "none" (compiled here) vs tool = "none" with
#             engine = "distcc" (preprocessed here, compiled on the namespace host)
#   hit       a ccache hit of the same file without [dist] vs with engine = "distcc"
#             (a hit must cost nothing more: it never reaches the engine)
# On a 2-core machine the "remote" host shares the CPUs, so this measures the engine's
# round trip (preprocess, send, receive, write), not a speed-up.
# Needs root, hyperfine, distcc, the pinned ccache (scripts/setup-tools.sh) and the zstd
# sources in target/bench-src. Usage: sudo bash benches/dist.sh [RUNS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${1:-20}"
TK="$ROOT/target/release/toolchainkit"
CCACHE="$ROOT/.venv-tools/bin/ccache"
CRATE="$ROOT/target/bench-src/zstd-sys-2.0.16+zstd.1.5.7.crate"
for t in hyperfine distccd ip; do command -v "$t" >/dev/null || { echo "dist.sh: $t missing" >&2; exit 1; }; done
[ -f "$CRATE" ] || { echo "dist.sh: run bash scripts/setup-tools.sh first" >&2; exit 1; }
(cd "$ROOT" && cargo build --release --quiet)
NS=tkb-1
WORK=""
# Armed before the first temporary file or link exists; copes with a partial setup.
cleanup() {
    [ -n "${DPID:-}" ] && kill -9 -- "-$DPID" 2>/dev/null || true
    ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    ip link del tkbv1 2>/dev/null || true
    [ -z "$WORK" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM
WORK="$(mktemp -d /tmp/tk-dist-bench.XXXXXX)"
cleanup_start() { ip netns del "$NS" 2>/dev/null || true; ip link del tkbv1 2>/dev/null || true; }
cleanup_start
ip netns add "$NS"
ip link add tkbv1 type veth peer name eth0 netns "$NS"
ip addr add 10.213.202.1/24 dev tkbv1
ip link set tkbv1 up
ip -n "$NS" addr add 10.213.202.2/24 dev eth0
ip -n "$NS" link set eth0 up
ip -n "$NS" link set lo up
setsid ip netns exec "$NS" distccd --no-detach --daemon --allow 10.213.202.0/24 --listen 10.213.202.2 \
    --log-stderr --log-level error -j 2 </dev/null >"$WORK/distccd.log" 2>&1 &
DPID=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/10.213.202.2/3632) 2>/dev/null && break; sleep 0.1; done

tar -xzf "$CRATE" -C "$WORK"
Z="$WORK/zstd-sys-2.0.16+zstd.1.5.7/zstd/lib"
SRC="$Z/compress/zstd_lazy.c"
mkdir -p "$WORK/none" "$WORK/dist" "$WORK/hit" "$WORK/hitdist"
HOSTS='hosts = ["10.213.202.2/2"]'
printf '[cache]\ntool = "none"\n' >"$WORK/none/.toolchainkit.toml"
printf '[cache]\ntool = "none"\n[dist]\nengine = "distcc"\n%s\n' "$HOSTS" >"$WORK/dist/.toolchainkit.toml"
printf '[cache]\ntool = "ccache"\ndir = "%s/cache"\n' "$WORK" >"$WORK/hit/.toolchainkit.toml"
printf '[cache]\ntool = "ccache"\ndir = "%s/cache"\n[dist]\nengine = "distcc"\n%s\n' "$WORK" "$HOSTS" >"$WORK/hitdist/.toolchainkit.toml"
export HOME="$WORK/home" XDG_STATE_HOME="$WORK/state" XDG_RUNTIME_DIR="$WORK/run" TOOLCHAINKIT_CCACHE_PATH="$CCACHE"
mkdir -p "$XDG_RUNTIME_DIR"
CMD=("$TK" /usr/bin/gcc -O2 -DNDEBUG -DZSTD_DISABLE_ASM "-I$Z" "-I$Z/common" -c "$SRC" -o out.o)
(cd "$WORK/hit" && "${CMD[@]}") # warm the cache: the hit rows are hits
# hyperfine -N splits a command into words as a POSIX shell would: `sh -c SCRIPT` with
# every path quoted (printf %q), so a checkout path with spaces works.
in_dir() { # DIR: the hyperfine command that runs CMD in DIR
    local script
    script="cd $(printf '%q' "$1") && $(printf '%q ' "${CMD[@]}")"
    printf 'sh -c %q' "$script"
}
hyperfine -N -w 2 -r "$RUNS" --export-json "$WORK/compile.json" \
    -n "local compile (tool = none)" "$(in_dir "$WORK/none")" \
    -n "remote compile (tool = none, engine = distcc)" "$(in_dir "$WORK/dist")"
hyperfine -N -w 5 -r "$((RUNS * 5))" --export-json "$WORK/hit.json" \
    -n "ccache hit, no [dist]" "$(in_dir "$WORK/hit")" \
    -n "ccache hit, engine = distcc" "$(in_dir "$WORK/hitdist")"
echo
echo "distccd served $(grep -c COMPILE_OK "$WORK/distccd.log" || true) compiles (log level error: only failures are logged)"
"$TK" stats --json 2>/dev/null | head -c 0 || true
(cd "$WORK/dist" && "$TK" stats | sed -n '/distribution/,$p')
