"""sccache and ccache cache hits, measured round-robin: one run of every command per
round, so load that comes and goes on a shared machine falls on all of them alike
(hyperfine runs each command's runs back to back).

Commands, each a cache hit of the same small C file in a private world:
  floor                 /bin/true
  bare sccache          sccache /usr/bin/cc -c x.c -o x.o   (its own server, warm)
  bare ccache           ccache /usr/bin/cc -c x.c -o x.o
  toolchainkit native   toolchainkit /usr/bin/cc ... and the `cc` shim (tool = "sccache")
  toolchainkit process  the same with sccache_client = "process"

Usage: python3 benches/sccache_hits.py [ROUNDS]   (default 300; TK_BIN, TOOLCHAINKIT_TEST_TOOLS)
Prints medians, each minus the floor, and the ratios issue 10 sets targets for.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 300
TOOLS = os.environ.get("TOOLCHAINKIT_TEST_TOOLS", os.path.join(ROOT, ".venv-tools", "bin"))
TK = os.environ.get("TK_BIN", os.path.join(ROOT, "target", "release", "toolchainkit"))
SCCACHE = os.path.join(TOOLS, "sccache")
CCACHE = os.path.join(TOOLS, "ccache")
CC = "/usr/bin/cc"

work = tempfile.mkdtemp(prefix="tk-hits.")
env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOLCHAINKIT_", "CCACHE_", "SCCACHE_"))}
env.update(
    HOME=f"{work}/home", XDG_CONFIG_HOME=f"{work}/home/.config", XDG_STATE_HOME=f"{work}/home/.state",
    XDG_DATA_HOME=f"{work}/home/.data", XDG_RUNTIME_DIR=f"{work}/run", CCACHE_DIR=f"{work}/cache/ccache",
    SCCACHE_DIR=f"{work}/cache/sccache", SCCACHE_SERVER_UDS=f"{work}/run/direct.sock",
    TOOLCHAINKIT_SCCACHE_PATH=SCCACHE, PATH="/usr/local/bin:/usr/bin:/bin",
)
for d in ("home", "run", "cache/ccache", "cache/sccache", "proj", "shims"):
    os.makedirs(f"{work}/{d}", mode=0o700, exist_ok=True)
proj = f"{work}/proj"
with open(f"{proj}/.toolchainkit.toml", "w") as f:
    f.write('[cache]\ntool = "sccache"\ndir = "cache"\n')
with open(f"{proj}/x.c", "w") as f:
    f.write("int add(int a, int b) { return a + b; }\n")
os.symlink(TK, f"{work}/shims/cc")
C = ["-c", "x.c", "-o", "x.o"]
process_env = dict(env, TOOLCHAINKIT_SCCACHE_CLIENT="process")
commands = [
    ("floor (/bin/true)", ["/bin/true"], env),
    ("bare sccache", [SCCACHE, CC] + C, env),
    ("bare ccache", [CCACHE, CC] + C, env),
    ("toolchainkit, native client, launcher", [TK, CC] + C, env),
    ("toolchainkit, native client, masquerade", [f"{work}/shims/cc"] + C, env),
    ("toolchainkit, sccache client process, launcher", [TK, CC] + C, process_env),
]


def run(argv, e):
    t = time.perf_counter_ns()
    p = subprocess.run(argv, cwd=proj, env=e, stdin=subprocess.DEVNULL)
    dt = time.perf_counter_ns() - t
    if p.returncode != 0:
        sys.exit(f"{argv} failed")
    return dt / 1e6


try:
    subprocess.run([SCCACHE, "--start-server"], env=env, stdout=subprocess.DEVNULL, check=True)
    for _ in range(5):  # fill every cache, start toolchainkit's server, warm up
        for _, argv, e in commands:
            run(argv, e)
    times = {name: [] for name, _, _ in commands}
    for _ in range(ROUNDS):
        for name, argv, e in commands:
            times[name].append(run(argv, e))
    med = {k: statistics.median(v) for k, v in times.items()}
    floor = med["floor (/bin/true)"]
    stats = subprocess.run([TK, "stats", "--json"], cwd=proj, env=env, capture_output=True, text=True).stdout
    print(f"{ROUNDS} rounds, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; medians (ms)\n")
    print("| command | median ms | minus floor ms | floors |")
    print("|---|---:|---:|---:|")
    for name, _, _ in commands:
        print(f"| {name} | {med[name]:.3f} | {med[name] - floor:.3f} | {(med[name] - floor) / floor:.2f} |")
    bs, bc = med["bare sccache"], med["bare ccache"]
    print()
    for mode in ("launcher", "masquerade"):
        t = med[f"toolchainkit, native client, {mode}"]
        print(f"native {mode}: {t / bs:.2f} x a bare sccache hit (target <= 0.5), "
              f"{t / bc:.2f} x a bare ccache hit (target < 1)")
    print("\nthe shim's stats for these runs:", stats.strip()[:0] or "", end="")
    import json

    s = json.loads(stats)
    print(f"hits {s['hits']}, misses {s['misses']}, other {s['invocations'] - s['hits'] - s['misses']}")
finally:
    subprocess.run([SCCACHE, "--stop-server"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([TK, "server", "stop"], cwd=proj, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)
