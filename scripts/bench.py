#!/usr/bin/env python3
"""rgov benchmark: medians measured in one run on this machine. Usage: scripts/bench.py [--quick]

Builds release binaries, then times (wall clock, median of N runs):
  1. the first tick on 1,000 simulated missions (minimal-solo-mode, dry-run)
  2. an idle tick on the same state (nothing new to do)
  3. `rgov show MISSION` and `rgov export --task MISSION` for a mission with 50 notices
  4. an idle tick with 100,000 old receipts and 100,000 finished (acked) notices in the state
Numbers drift between runs and machines; compare within one run."""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
quick = "--quick" in sys.argv
runs = 3 if quick else 5
old_items = 10_000 if quick else 100_000
subprocess.run(["swift", "build", "-c", "release"], cwd=root, check=True, stdout=subprocess.DEVNULL)
bin_dir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=root, check=True,
                         capture_output=True, text=True).stdout.strip()
rgov = os.path.join(bin_dir, "rgov")
work = tempfile.mkdtemp(prefix="rgov-bench-")

def run(args, state):
    t = time.perf_counter()
    p = subprocess.run([rgov] + args + ["--state", state], capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"rgov {' '.join(args)} failed: {p.stderr}{p.stdout}")
    return elapsed, p.stdout

def median(args, state, n=runs):
    return statistics.median(run(args, state)[0] for _ in range(n))

results = {}
state = os.path.join(work, "sim")
run(["simulate", "--missions", "1000", "--seed", "7", "--now", "2026-11-20T12:00:00Z"], state)
results["first tick, 1000 missions (s)"], out = run(["tick", "--now", "2026-11-20T12:00:00Z", "--json"], state)
findings = json.loads(out)["stages"][0]["report"]["findings"]
results["findings on 1000 missions"] = findings
results["idle tick, same state (s, median)"] = median(["tick", "--now", "2026-11-20T12:00:00Z"], state)

# A mission with 50 notices: one condition held for 50 minutes with a 1-minute repeat interval.
state50 = os.path.join(work, "fifty")
os.makedirs(os.path.join(state50, "missions"))
shutil.copy(os.path.join(root, "examples/missions/crm-overdue-02.json"), os.path.join(state50, "missions"))
profile = open(os.path.join(root, "profiles/standard-team-mode.yaml")).read()
profile = profile.replace("repeat_interval_ms: 14400000", "repeat_interval_ms: 60000")
profile_path = os.path.join(work, "repeat.yaml")
open(profile_path, "w").write(profile.replace("      completion-evidence/unverified-completion:\n        required_strength: at_least_one",
    "      completion-evidence/unverified-completion:\n        required_strength: at_least_one\n      stuck-state/stage-timeout:\n        stage_timeout_ms: 86400000"))
count, minute = 0, 0
while count < 50:
    stamp = f"2026-11-20T{12 + minute // 60:02d}:{minute % 60:02d}:00Z"
    run(["tick", "--profile", profile_path, "--now", stamp], state50)
    count = len(run(["ls", "--mission", "crm-overdue-02", "--json"], state50)[1].splitlines())
    minute += 1
results["notices of the mission"] = count
results["rgov show MISSION (s, median)"] = median(["show", "crm-overdue-02"], state50)
results["rgov export --task MISSION (s, median)"] = statistics.median(
    run(["export", "--task", "crm-overdue-02", "--out", os.path.join(work, f"out{i}"), "--profile", profile_path], state50)[0]
    for i in range(runs))

# History: many old receipts and finished notices must not slow an idle tick.
old = os.path.join(state, "operator-notify-bridge-receipts", "2025-01-01")
acked = os.path.join(state, "operator-notify-queue", "acked", "2025-01-01")
os.makedirs(old, exist_ok=True)
os.makedirs(acked, exist_ok=True)
for i in range(old_items):
    with open(os.path.join(old, f"rcp-old-{i:07d}.a1.json"), "w") as f:
        f.write("{}")
    with open(os.path.join(acked, f"ntc-old-{i:07d}.json"), "w") as f:
        f.write("{}")
results[f"idle tick with {old_items} old receipts + {old_items} acked notices (s, median)"] = median(
    ["tick", "--now", "2026-11-20T12:00:00Z"], state)
shutil.rmtree(work)
for k, v in results.items():
    print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
