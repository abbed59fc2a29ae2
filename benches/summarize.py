"""Summarise the hyperfine JSON files written by benches/compare.sh.

Prints Markdown tables (medians, ratios toolchainkit/direct, added time in floors) and
writes one JSON document with the same figures and every raw median. Inputs come from
the environment compare.sh exports; see that script.
"""

import datetime
import json
import os
import statistics
import sys

WORK = os.environ["WORK"]
NCOMPILES = int(os.environ.get("NCOMPILES", "0"))
JOBS = 2


def load(name):
    path = os.path.join(WORK, "raw", name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return [r["median"] * 1000.0 for r in json.load(f)["results"]]


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shown(path):
    """A binary's path relative to the repository, or its last components."""
    if not path:
        return ""
    rel = os.path.relpath(path, ROOT)
    return rel if not rel.startswith("..") else os.path.join("...", *path.split(os.sep)[-3:])


raw = {}
for fn in sorted(os.listdir(os.path.join(WORK, "raw"))):
    if fn.endswith(".json"):
        raw[fn[:-5]] = load(fn[:-5])

# Every per-invocation group starts with /bin/true: the floor of that group.
floors = [v[0] for k, v in raw.items() if k.startswith(("hit_", "fallback", "scale_")) and "conc" not in k]
floor = statistics.median(floors)

rows = []


def pair(label, group, direct_idx, tk_idx, target_floors):
    v = raw.get(group)
    if not v or len(v) <= tk_idx:
        return
    f, d, t = v[0], v[direct_idx], v[tk_idx]
    added = t - d
    rows.append(
        {
            "scenario": label,
            "floor_ms": round(f, 3),
            "direct_ms": round(d, 3),
            "toolchainkit_ms": round(t, 3),
            "ratio": round(t / d, 3),
            "added_ms": round(added, 3),
            "added_floors": round(added / f, 2),
            "target_floors": target_floors,
            "met": None if target_floors is None else added / f <= target_floors,
        }
    )


pair("hit, ccache, launcher", "hit_ccache", 1, 2, 1.25)
pair("hit, ccache, masquerade", "hit_ccache", 1, 3, 1.25)
pair("hit, sccache, launcher (native client)", "hit_sccache", 1, 2, 1.25)
pair("hit, sccache, masquerade (native client)", "hit_sccache", 1, 3, 1.25)
pair("hit, sccache, launcher (sccache client process)", "hit_sccache_process", 1, 2, 1.25)
pair("hit, sccache, masquerade (sccache client process)", "hit_sccache_process", 1, 3, 1.25)
pair("fallback (tool = none), launcher", "fallback", 1, 2, 1.25)
pair("fallback (tool = none), masquerade", "fallback", 1, 3, 1.25)
ALT = bool(os.environ.get("TK_ALT"))
ALT_LABEL = os.environ.get("TK_ALT_LABEL") or "second binary"
for label, group in (("hit, ccache", "hit_ccache"), ("hit, sccache", "hit_sccache"),
                     ("fallback (tool = none)", "fallback")):
    if ALT:
        pair(f"{label}, launcher, {ALT_LABEL}", group, 1, 4, 1.25)
        pair(f"{label}, masquerade, {ALT_LABEL}", group, 1, 5, 1.25)
    first_ref = 6 if ALT else 4
    pair(f"{label}: reference, a minimal C wrapper that execs", group, 1, first_ref, None)
    pair(f"{label}: reference, a minimal C wrapper that spawns and waits", group, 1, first_ref + 1, None)

# issue 10's targets for a sccache hit through toolchainkit (native client), same group:
# at most half a bare `sccache` hit, and below a bare ccache hit.
sccache_targets = []
v = raw.get("hit_sccache")
if v and len(v) >= 5:
    f, bare_sccache, bare_ccache = v[0], v[1], v[-1]
    for label, idx in (("launcher", 2), ("masquerade", 3)):
        t = v[idx]
        sccache_targets.append(
            {
                "mode": label,
                "floor_ms": round(f, 3),
                "toolchainkit_ms": round(t, 3),
                "bare_sccache_ms": round(bare_sccache, 3),
                "bare_ccache_ms": round(bare_ccache, 3),
                "vs_bare_sccache": round(t / bare_sccache, 3),
                "vs_bare_ccache": round(t / bare_ccache, 3),
                "met": t <= bare_sccache / 2 and t < bare_ccache,
            }
        )

project = []
for kind in ("warm", "cold"):
    for tool, direct_name in (("ccache", "ccache"), ("sccache", "sccache"), ("none", "bare cc")):
        if (kind, tool) == ("warm", "none"):
            continue  # without a cache every build compiles everything: the cold build
        v = raw.get(f"{kind}_{tool}")
        if not v or len(v) < 2:
            continue
        d, t = v[0], v[1]
        per_compile = (t - d) * JOBS / NCOMPILES if NCOMPILES else None
        row = {
            "build": f"{kind}, {'tool = none' if tool == 'none' else tool}",
            "runs": len(v) and int(os.environ["COLD_RUNS" if kind == "cold" else "BUILD_RUNS"]),
            "direct": direct_name,
            "direct_ms": round(d, 1),
            "toolchainkit_ms": round(t, 1),
            "ratio": round(t / d, 3),
            "added_ms_per_compile": round(per_compile, 3) if per_compile is not None else None,
            "added_floors_per_compile": round(per_compile / floor, 2) if per_compile is not None else None,
        }
        if kind == "warm":
            row["target"] = "<= 1.25 floors per compile"
            row["met"] = per_compile is not None and per_compile / floor <= 1.25
        elif tool == "none":
            row["target"] = "<= 2% slower"
            row["met"] = t / d <= 1.02
        project.append(row)

scaling = {}
depth = [raw.get("scale_depth"), raw.get("scale_depth10"), raw.get("scale_depth40")]
if all(depth):
    base = depth[0][1]  # the do-nothing compiler, called directly
    scaling["depth"] = [
        {"levels": lv, "ms": round(v, 3), "added_ms": round(v - base, 3)}
        for lv, v in ((0, depth[0][2]), (10, depth[1][1]), (40, depth[2][1]))
    ]
    scaling["path"] = [
        {"entries": n, "ms": round(raw[f"scale_path{n}"][1], 3), "added_ms": round(raw[f"scale_path{n}"][1] - base, 3)}
        for n in (5, 50)
        if raw.get(f"scale_path{n}")
    ]
    scaling["trace"] = [
        {"trace_mb": mb, "ms": round(raw[f"scale_trace{mb}mb"][1], 3), "added_ms": round(raw[f"scale_trace{mb}mb"][1] - base, 3)}
        for mb in (0, 8, 48)
        if raw.get(f"scale_trace{mb}mb")
    ]
conc = []
for line in os.environ.get("CONC_CHECK_S", "").splitlines():
    if not line.strip():
        continue
    k, expected, counted, size0, size1 = (int(x) for x in line.split())
    v = raw.get(f"scale_conc{k}")
    if not v:
        continue
    conc.append(
        {
            "concurrent": k,
            "burst_direct_ms": round(v[0], 3),
            "burst_toolchainkit_ms": round(v[1], 3),
            "added_ms_per_invocation": round((v[1] - v[0]) / k, 3),
            "invocations_expected": expected,
            "invocations_counted": counted,
            "stats_file_bytes_before": size0,
            "stats_file_bytes_after": size1,
        }
    )
if conc:
    one = conc[0]["added_ms_per_invocation"]
    for c in conc:
        c["ratio_to_1"] = round(c["added_ms_per_invocation"] / one, 2) if one > 0 else None
    scaling["concurrency"] = conc

memory = {
    "shim_peak_rss_kib": int(os.environ.get("RSS_SHIM", "0") or 0),
    "true_peak_rss_kib": int(os.environ.get("RSS_TRUE", "0") or 0),
    "target_kib": 4096,
}
memory["met"] = 0 < memory["shim_peak_rss_kib"] <= memory["target_kib"]

doc = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "cpus": int(os.environ.get("MACHINE_CPUS", "0")),
    "kernel": os.environ.get("KERNEL", ""),
    "versions": os.environ.get("VERSIONS", ""),
    "binary": shown(os.environ.get("TK", "")),
    "second_binary": shown(os.environ.get("TK_ALT", "")),
    "runs": {"per_invocation": int(os.environ["RUNS"]), "warmup": int(os.environ["WARMUP"]),
             "warm_builds": int(os.environ["BUILD_RUNS"]), "cold_builds": int(os.environ["COLD_RUNS"])},
    "floor_ms": round(floor, 3),
    "project_compiles": NCOMPILES,
    "per_invocation": rows,
    "sccache_hit_targets": sccache_targets,
    "project": project,
    "scaling": scaling,
    "memory": memory,
    "raw_medians_ms": {k: [round(x, 3) for x in v] for k, v in raw.items() if v},
}
with open(os.environ["OUT"], "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")

p = print
p(f"\n{doc['date']}, {doc['cpus']} cores; medians of one run; floor (/bin/true launch) = {floor:.3f} ms\n")
p("| per invocation | direct ms | toolchainkit ms | ratio | added ms | added floors (target) |")
p("|---|---:|---:|---:|---:|---:|")
for r in rows:
    target = "" if r["target_floors"] is None else f" (≤ {r['target_floors']}){'' if r['met'] else ' **missed**'}"
    p(f"| {r['scenario']} | {r['direct_ms']:.3f} | {r['toolchainkit_ms']:.3f} | {r['ratio']:.2f} | "
      f"{r['added_ms']:.3f} | {r['added_floors']:.2f}{target} |")
if sccache_targets:
    p("\n| sccache hit through toolchainkit (native client) | floor ms | toolchainkit ms | bare sccache ms | bare ccache ms | vs bare sccache (target ≤ 0.5) | vs bare ccache (target < 1) |")
    p("|---|---:|---:|---:|---:|---:|---:|")
    for r in sccache_targets:
        p(f"| {r['mode']} | {r['floor_ms']:.3f} | {r['toolchainkit_ms']:.3f} | {r['bare_sccache_ms']:.3f} | "
          f"{r['bare_ccache_ms']:.3f} | {r['vs_bare_sccache']:.2f} | {r['vs_bare_ccache']:.2f}{'' if r['met'] else ' **missed**'} |")
if project:
    p(f"\n| zstd ({NCOMPILES} C files, CMake + Ninja -j{JOBS}) | direct | direct ms | toolchainkit ms | ratio | added per compile (floors) |")
    p("|---|---|---:|---:|---:|---:|")
    for r in project:
        target = f" (target {r['target']}{'' if r.get('met') else ', **missed**'})" if "target" in r else ""
        p(f"| {r['build']} | {r['direct']} | {r['direct_ms']:.0f} | {r['toolchainkit_ms']:.0f} | {r['ratio']:.3f} | "
          f"{r['added_ms_per_compile']:.3f} ms ({r['added_floors_per_compile']:.2f}){target} |")
if scaling:
    p("\n| scaling (do-nothing compiler, tool = none) | toolchainkit ms | added ms |")
    p("|---|---:|---:|")
    for d in scaling.get("depth", []):
        p(f"| cwd {d['levels']} levels below the project file | {d['ms']:.3f} | {d['added_ms']:.3f} |")
    for d in scaling.get("path", []):
        p(f"| masquerade, PATH of {d['entries']} entries | {d['ms']:.3f} | {d['added_ms']:.3f} |")
    for d in scaling.get("trace", []):
        p(f"| trace on, trace file {d['trace_mb']} MiB | {d['ms']:.3f} | {d['added_ms']:.3f} |")
    if conc:
        p("\n| concurrent invocations | added ms per invocation | vs 1 | counted / expected | stats file bytes before → after |")
        p("|---:|---:|---:|---|---|")
        for c in conc:
            p(f"| {c['concurrent']} | {c['added_ms_per_invocation']:.3f} | {c['ratio_to_1']} | "
              f"{c['invocations_counted']} / {c['invocations_expected']} | "
              f"{c['stats_file_bytes_before']} → {c['stats_file_bytes_after']} |")
p(f"\nshim peak RSS: {memory['shim_peak_rss_kib']} KiB (target ≤ 4096; /bin/true: {memory['true_peak_rss_kib']} KiB)")
p(f"JSON: {os.environ['OUT']}", file=sys.stderr)
