#!/usr/bin/env bash
# A remote hit, same run, same server, same object: ccache through toolchainkit-storage
# (ccache's storage helper) against sccache, both with a Redis remote on 127.0.0.1, and
# ccache's own built-in Redis client for reference. Before every timed run the local cache
# is emptied (hyperfine --prepare, not timed), so every ccache hit is a remote hit; sccache
# with a remote has no local cache, so each of its hits is a remote hit anyway.
#
#   ccache + helper        ccache /usr/bin/cc ..., CCACHE_REMOTE_STORAGE naming the helper
#   ccache built-in        ccache /usr/bin/cc ..., CCACHE_REMOTE_STORAGE=redis://...
#   toolchainkit ccache    toolchainkit /usr/bin/cc ... with tool = "ccache" + the remote
#   sccache                sccache /usr/bin/cc ... (server started with the remote)
#   toolchainkit sccache   toolchainkit /usr/bin/cc ... with tool = "sccache" + the remote
#
# Also: the size of both binaries, and the shim's minor page faults and peak RSS on a
# local ccache hit (GNU time), to show that the helper's code stays out of the shim.
#
# Usage: bash benches/remote_hit.sh     (RUNS=40 WARMUP=3; TK_BIN=dir of the binaries)
# Needs hyperfine, redis-server, GNU time and the pinned tools (scripts/setup-tools.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-40}"
WARMUP="${WARMUP:-3}"
TOOLS="${TOOLCHAINKIT_TEST_TOOLS:-$ROOT/.venv-tools/bin}"
if [ -z "${TK_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q)
    TK_BIN="$ROOT/target/release"
fi
TK="$TK_BIN/toolchainkit"
HELPER="$TK_BIN/toolchainkit-storage"
for t in hyperfine redis-server; do
    command -v "$t" >/dev/null || { echo "remote_hit.sh: $t is missing" >&2; exit 1; }
done

W="$(mktemp -d)"
cleanup() {
    [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null || true
    SCCACHE_SERVER_UDS="$W/sc.sock" "$TOOLS/sccache" --stop-server >/dev/null 2>&1 || true
    CCACHE_REMOTE_STORAGE="$HELPER_URL" "$TOOLS/ccache" --stop-storage-helpers >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >"$W/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

mkdir -p "$W/p" "$W/run" && chmod 700 "$W/run"
export XDG_RUNTIME_DIR="$W/run" XDG_STATE_HOME="$W/state" XDG_CONFIG_HOME="$W/config" XDG_DATA_HOME="$W/data"
cd "$W/p"
python3 - <<'EOF'
with open("big.c", "w") as f:
    for i in range(400):
        f.write(f"int f{i}(int x) {{ int s = 0; for (int k = 0; k < x; k++) s += k * {i} ^ (s >> 3); return s; }}\n")
EOF
CC=/usr/bin/cc
COMPILE="$CC -O2 -c big.c -o big.o"

# The helper's entry, as toolchainkit writes it (`toolchainkit env` prints it).
printf '[cache]\ntool = "ccache"\ndir = "%s/tk-ccache"\n[cache.remote]\ntype = "redis"\nendpoint = "redis://127.0.0.1:%s"\ndb = 1\n' "$W" "$PORT" >"$W/ccache.toml"
printf '[cache]\ntool = "sccache"\ndir = "%s/tk-sccache"\n[cache.remote]\ntype = "redis"\nendpoint = "redis://127.0.0.1:%s"\ndb = 3\n' "$W" "$PORT" >"$W/sccache.toml"
HELPER_URL="$(TOOLCHAINKIT_CONFIG="$W/ccache.toml" "$TK" env --format json | python3 -c 'import json,sys; print(next(v["value"] for v in json.load(sys.stdin)["variables"] if v["name"] == "CCACHE_REMOTE_STORAGE"))')"
case "$HELPER_URL" in *"helper=$HELPER"*) ;; *) echo "remote_hit.sh: unexpected entry: $HELPER_URL" >&2; exit 1 ;; esac
export PATH="$TOOLS:$PATH"

# Fill the remote once per contender (each in its own database).
CCACHE_DIR="$W/c1" CCACHE_REMOTE_STORAGE="$HELPER_URL" "$TOOLS/ccache" $COMPILE
CCACHE_DIR="$W/c2" CCACHE_REMOTE_STORAGE="redis://127.0.0.1:$PORT/4" "$TOOLS/ccache" $COMPILE
TOOLCHAINKIT_CONFIG="$W/ccache.toml" "$TK" $COMPILE
SCCACHE_SERVER_UDS="$W/sc.sock" SCCACHE_REDIS_ENDPOINT="redis://127.0.0.1:$PORT" SCCACHE_REDIS_DB=5 \
    SCCACHE_DIR="$W/sc" "$TOOLS/sccache" --start-server >/dev/null
SCCACHE_SERVER_UDS="$W/sc.sock" "$TOOLS/sccache" $COMPILE
TOOLCHAINKIT_CONFIG="$W/sccache.toml" "$TK" $COMPILE

hyperfine -N --runs "$RUNS" --warmup "$WARMUP" --export-json "$W/hit.json" \
    -n "ccache + toolchainkit-storage" --prepare "rm -rf $W/c1" \
    "env CCACHE_DIR=$W/c1 CCACHE_REMOTE_STORAGE='$HELPER_URL' $TOOLS/ccache $COMPILE" \
    -n "ccache built-in redis" --prepare "rm -rf $W/c2" \
    "env CCACHE_DIR=$W/c2 CCACHE_REMOTE_STORAGE=redis://127.0.0.1:$PORT/4 $TOOLS/ccache $COMPILE" \
    -n "toolchainkit -> ccache + helper" --prepare "rm -rf $W/tk-ccache" \
    "env TOOLCHAINKIT_CONFIG=$W/ccache.toml $TK $COMPILE" \
    -n "sccache" --prepare true \
    "env SCCACHE_SERVER_UDS=$W/sc.sock $TOOLS/sccache $COMPILE" \
    -n "toolchainkit -> sccache" --prepare true \
    "env TOOLCHAINKIT_CONFIG=$W/sccache.toml $TK $COMPILE" >/dev/null
python3 - "$W/hit.json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["sccache"]["median"]
print("| remote hit (redis on 127.0.0.1) | median | mean ± σ | vs bare sccache |")
print("|---|---:|---:|---:|")
for name, x in r.items():
    print(f"| {name} | {x['median']*1000:.1f} ms | {x['mean']*1000:.1f} ± {x['stddev']*1000:.1f} ms | {x['median']/base:.2f} |")
EOF

# The shim itself: binary sizes, and a local ccache hit's page faults and peak RSS.
echo
echo "binary sizes: toolchainkit $(stat -c %s "$TK") bytes, toolchainkit-storage $(stat -c %s "$HELPER") bytes"
printf '[cache]\ntool = "ccache"\ndir = "%s/local"\n' "$W" >"$W/local.toml"
TOOLCHAINKIT_CONFIG="$W/local.toml" "$TK" $COMPILE
for _ in 1 2 3; do
    /usr/bin/time -f "local ccache hit through the shim: %R minor faults, %M KiB peak RSS (shim process tree)" \
        env TOOLCHAINKIT_CONFIG="$W/local.toml" "$TK" $COMPILE
done 2>&1 | tail -3
