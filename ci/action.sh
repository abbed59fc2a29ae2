#!/usr/bin/env bash
# The steps of the toolchainkit GitHub Action (action.yml), one phase per call:
#   setup   toolchainkit and the cache tool installed, shims on PATH, the cache key
#   start   after the cache is restored: `ci start` (variables, zeroed counters, mark)
#   finish  after the build: job summary and timeline, trim, gates
# Inputs arrive as INPUT_* variables (action.yml maps them); the runner's files are
# GITHUB_ENV, GITHUB_PATH, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.
set -euo pipefail

phase=${1:?usage: action.sh setup|start|finish}
tk_root="${RUNNER_TEMP:?RUNNER_TEMP is not set}/toolchainkit"
cache_dir="${INPUT_CACHE_DIR:-}"
[ -n "$cache_dir" ] || cache_dir="$RUNNER_TEMP/toolchainkit-cache"

case "$phase" in
setup)
    if ! command -v toolchainkit >/dev/null 2>&1; then
        # Build it from the action's own checkout.
        cargo install --locked --quiet --root "$tk_root" --path "${GITHUB_ACTION_PATH:?}"
        echo "$tk_root/bin" >>"$GITHUB_PATH"
        export PATH="$tk_root/bin:$PATH"
    fi
    # A job over its own repository: its project file's remote and commands apply
    # (toolchainkit trust; docs/security.md).
    echo "TOOLCHAINKIT_TRUSTED_DIRS=${TOOLCHAINKIT_TRUSTED_DIRS:-${GITHUB_WORKSPACE:?}}" >>"$GITHUB_ENV"
    tool="${INPUT_TOOL:-auto}"
    case "$tool" in
    auto) ;;
    ccache | sccache)
        echo "TOOLCHAINKIT_TOOL=$tool" >>"$GITHUB_ENV"
        export TOOLCHAINKIT_TOOL="$tool"
        if ! command -v "$tool" >/dev/null 2>&1 && ! toolchainkit tool list 2>/dev/null | grep -q "^$tool *managed: /"; then
            toolchainkit tool install "$tool"
        fi
        ;;
    *)
        echo "toolchainkit: error: input tool must be auto, ccache or sccache, not \`$tool\`" >&2
        exit 2
        ;;
    esac
    toolchainkit shims install "$tk_root/shims" --force >/dev/null
    echo "$tk_root/shims" >>"$GITHUB_PATH"
    key=$(toolchainkit ci key)
    branch="${GITHUB_HEAD_REF:-${GITHUB_REF_NAME:-local}}"
    {
        echo "key=$key"
        echo "save-key=$key-$branch-${GITHUB_RUN_ID:-0}-${GITHUB_RUN_ATTEMPT:-1}"
        echo "cache-dir=$cache_dir"
        echo "restore-keys<<TOOLCHAINKIT_EOF"
        toolchainkit ci key --restore-keys
        echo "TOOLCHAINKIT_EOF"
    } >>"$GITHUB_OUTPUT"
    ;;
start)
    toolchainkit ci start --cache-dir "$cache_dir"
    ;;
finish)
    if [ "${INPUT_SUMMARY:-true}" = "true" ]; then
        toolchainkit ci summary --timeline "$RUNNER_TEMP/toolchainkit-report"
    fi
    if [ "${INPUT_TRIM:-true}" = "true" ]; then
        trim=(cache trim --unused-since-mark)
        [ -z "${INPUT_MAX_SIZE:-}" ] || trim+=(--max-size "$INPUT_MAX_SIZE")
        toolchainkit "${trim[@]}"
    fi
    gate=(stats --since-mark)
    [ -z "${INPUT_REQUIRE_HIT_RATE:-}" ] || gate+=(--require-hit-rate "$INPUT_REQUIRE_HIT_RATE")
    [ "${INPUT_FAIL_ON_MISS:-false}" != "true" ] || gate+=(--fail-on-miss)
    toolchainkit "${gate[@]}"
    ;;
*)
    echo "toolchainkit: error: unknown phase \`$phase\` (setup, start or finish)" >&2
    exit 2
    ;;
esac
