#!/usr/bin/python3
"""lrlab's benchmark (`make bench`): lrlab against an idiomatic numpy script on the same
machine in the same run, the machine's DGEMM rate, peak memory, and agreement on shared
instances.  See bench/README.md for what each number means.

Each timed command runs in a child process; its wall time is measured here and its peak
resident memory comes from the kernel's rusage of that child (os.wait4).  By default the
benchmark removes OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the environment of its own
commands, so OpenBLAS picks the kernel for this CPU (--keep-env keeps them), and it
reports which kernel each program ran.
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

COMPARE = ("err_fro", "err_rel", "err_weight", "err_layer", "err_layer_rel", "z_norm", "pg_op",
           "thm1a", "thm1b", "thm1c", "thm1d")


def write_layer_dump(path, m, n0, n1, seed=1):
    """A one-layer dump (data/README.md, lrlab.layers version 1) with m rows: W of rank 32
    plus a small full-rank part, Gaussian inputs X, Y = X W^T + b; float32, written a block
    of rows at a time, so writing it needs little memory however large m is."""
    import h5py
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n1, 32)) @ rng.standard_normal((32, n0)) / 32 + 0.01 * rng.standard_normal((n1, n0))
    W = W.astype(np.float32)
    b = (0.1 * rng.standard_normal(n1)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "lrlab.layers"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["nlayers"] = np.int64(1)
        f.attrs["network"] = "layers"
        f.attrs["producer"] = "bench/bench.py"
        g = f.create_group("layers").create_group("000")
        g.attrs["kind"] = "linear"
        g.attrs["module"] = "fc"
        g.attrs["index"] = np.int64(0)
        g.attrs["rows_total"] = np.int64(m)
        g.create_dataset("W", data=W)
        g.create_dataset("b", data=b)
        X = g.create_dataset("X", (m, n0), np.float32, chunks=(256, n0))
        Y = g.create_dataset("Y", (m, n1), np.float32, chunks=(256, n1))
        for i in range(0, m, 8192):
            x = rng.standard_normal((min(8192, m - i), n0)).astype(np.float32)
            X[i:i + len(x)] = x
            Y[i:i + len(x)] = (x.astype(np.float64) @ W.T.astype(np.float64) + b).astype(np.float32)


def run_measured(cmd, env, stdout=subprocess.DEVNULL):
    """Wall time, peak RSS (KiB) and stderr of one command.  The peak RSS comes from GNU
    time (/usr/bin/time -f %M), which execs the command from its own small process: the
    rusage of a child forked directly from this Python process would count the pages it
    inherited from Python (~50 MiB) before exec."""
    err = tempfile.TemporaryFile()
    rss_file = tempfile.NamedTemporaryFile(prefix="lrlab-bench-rss-", delete=False)
    rss_file.close()
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *cmd], env=env,
                       stdout=stdout, stderr=err)
    wall = time.perf_counter() - t0
    err.seek(0)
    text = err.read().decode(errors="replace")
    with open(rss_file.name) as f:
        lines = [x for x in f.read().split() if x.isdigit()]
    os.unlink(rss_file.name)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{text}")
    return wall, int(lines[-1]) if lines else -1, text, load


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mib": mem, "kernel": platform.release(),
            "python": platform.python_version(), "numpy": np.__version__,
            "load_average_at_start": os.getloadavg()}


def h5attrs(path):
    import h5py
    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def trials_rows(path):
    import h5py
    with h5py.File(path, "r") as f:
        t = f["trials"][()]
        comps = [c.decode() if isinstance(c, bytes) else c for c in t["compressor"]]
        return t, comps


def compare_shared(lr_h5, np_json):
    """Largest relative difference of every compared column over rows matched by
    (point, trial, compressor, k_target); NaN must match NaN."""
    t, comps = trials_rows(lr_h5)
    with open(np_json) as f:
        ref = json.load(f)["rows"]
    index = {(r["point"], r["trial"], r["compressor"], r["k_target"]): r for r in ref}
    worst = {c: 0.0 for c in COMPARE}
    nan_mismatch = 0
    matched = 0
    for i in range(len(t)):
        key = (int(t["point"][i]), int(t["trial"][i]), comps[i], int(t["k_target"][i]))
        r = index.get(key)
        if r is None:
            continue
        matched += 1
        for c in COMPARE:
            a, b = float(t[c][i]), float(r[c])
            if np.isnan(a) or np.isnan(b):
                nan_mismatch += np.isnan(a) != np.isnan(b)
                continue
            d = abs(a - b) / max(abs(a), abs(b), 1e-300)
            worst[c] = max(worst[c], d)
    return {"rows_matched": matched, "rows_lrlab": len(t), "rows_numpy": len(ref),
            "nan_pattern_mismatches": int(nan_mismatch), "max_rel_diff": worst,
            "max_rel_diff_all": max(worst.values())}


def parse_profile(text):
    out = {}
    m = re.search(r"stream phase: ([\d.]+) GFLOP in ([\d.]+) thread-s = ([\d.]+) GFLOP/s", text)
    if m:
        out = {"stream_gflop": float(m.group(1)), "stream_thread_seconds": float(m.group(2)),
               "stream_gflops_per_thread": float(m.group(3))}
    phases = re.findall(r"^\s{2}(.+?)\s+([\d.]+) s\s+([\d.]+)%$", text, re.M)
    if phases:
        out["phases_thread_seconds"] = {name.strip(): float(s) for name, s, _ in phases}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lrlab", default="./lrlab")
    ap.add_argument("--dgemm", default="./bench/dgemm_rate")
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--out", default="bench/results.json")
    ap.add_argument("--config", default=None, help="default: SRCDIR/configs/bench.cfg")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each program (median reported)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--shared-trials", type=int, default=2,
                    help="trials per point saved for the shared-instance check")
    ap.add_argument("--memory-m", default="4096,16384,65536",
                    help="m values of the peak-memory-vs-m check (one trial each, -j 1)")
    ap.add_argument("--dump-memory-m", default="4096,16384,65536,131072",
                    help="row counts of the one-layer dumps streamed by real_layers for the memory check")
    ap.add_argument("--keep-env", action="store_true",
                    help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the benchmark's commands")
    ap.add_argument("--baseline", default=None,
                    help="another lrlab binary (e.g. a build of an earlier commit) timed on the same "
                         "workload in the same run, interleaved with this one")
    ap.add_argument("overrides", nargs="*", help="config overrides passed to lrlab (key=value)")
    a = ap.parse_args()
    cfg = a.config or os.path.join(a.srcdir, "configs", "bench.cfg")
    ref = os.path.join(a.srcdir, "bench", "ref_numpy.py")
    env = dict(os.environ)
    if not a.keep_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    env["OMP_NUM_THREADS"] = str(a.threads)
    env["OPENBLAS_NUM_THREADS"] = str(a.threads)
    work = tempfile.mkdtemp(prefix="lrlab-bench-")
    res = {"machine": machine(), "config": cfg, "overrides": a.overrides, "repeats": a.repeats,
           "threads": a.threads,
           "environment": {k: env.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
    try:
        # 1. DGEMM rate.
        out = subprocess.run([a.dgemm], env=env, check=True, capture_output=True, text=True).stdout
        res["dgemm"] = json.loads(out)
        print(f"DGEMM ({res['dgemm']['openblas_core']}): {res['dgemm']['gflops_1thread']:.1f} GFLOP/s "
              f"on 1 thread, {res['dgemm']['gflops_all']:.1f} on {res['dgemm']['cores']} cores", flush=True)

        # 2-3. lrlab and numpy on the workload, interleaved (lrlab, numpy, lrlab, ...) so
        # that a change of load on the machine hits both alike; numpy draws its own instances.
        lr, npr, bl = [], [], []
        h5 = os.path.join(work, "bench.h5")
        npj = os.path.join(work, "np.json")
        for i in range(a.repeats):
            e = dict(env, LRLAB_PROFILE="1")
            wall, rss, err, load = run_measured([a.lrlab, "run", cfg, *a.overrides, "-o", h5, "--force",
                                                 "--quiet", "-j", str(a.threads)], e)
            prof = parse_profile(err)
            lr.append({"wall_seconds": wall, "peak_rss_kib": rss, "load_average_before": load, **prof})
            print(f"lrlab run {i + 1}: {wall:.2f} s, peak RSS {rss / 1024:.0f} MiB, stream phase "
                  f"{prof.get('stream_gflops_per_thread', float('nan')):.1f} GFLOP/s per thread "
                  f"(load average before {load:.2f})", flush=True)
            if i == 0:
                at = h5attrs(h5)
                t, _ = trials_rows(h5)
                ntrials = int(at["trials"]) * int(at["points"])
                routes = np.bincount(np.asarray(t["route"], dtype=int), minlength=3).tolist()
                # The workload's parameters, read back from lrlab's own /trials table.
                m, n0, n1, r = (int(t[c][0]) for c in ("m", "N0", "N1", "r"))
                ntr = int(at["trials"])
                pts = np.asarray(t["point"], dtype=int)
                sigmas = [repr(float(t["sigma"][np.argmax(pts == p)])) for p in range(int(at["points"]))]
                ranks = [int(t["k_target"][np.argmax(np.asarray(t["rank_index"]) == k)])
                         for k in range(int(np.max(t["rank_index"])) + 1)]
                np_args = ["--m", str(m), "--n0", str(n0), "--n1", str(n1), "--r", str(r), "--trials",
                           str(ntr), "--sigmas", ",".join(sigmas), "--ranks", ",".join(map(str, ranks))]
            if a.baseline:
                bh5 = os.path.join(work, "baseline.h5")
                wall, rss, _, load = run_measured([a.baseline, "run", cfg, *a.overrides, "-o", bh5, "--force",
                                                   "--quiet", "-j", str(a.threads)], env)
                bl.append({"wall_seconds": wall, "peak_rss_kib": rss, "load_average_before": load})
                print(f"baseline run {i + 1}: {wall:.2f} s, peak RSS {rss / 1024:.0f} MiB (load average "
                      f"before {load:.2f})", flush=True)
            wall, rss, _, load = run_measured(["/usr/bin/python3", ref, *np_args, "--out", npj], env)
            with open(npj) as f:
                inner = json.load(f)
            npr.append({"wall_seconds": wall, "peak_rss_kib": rss, "load_average_before": load,
                        "inner_wall_seconds": inner["wall_seconds"]})
            print(f"numpy run {i + 1}: {wall:.2f} s, peak RSS {rss / 1024:.0f} MiB (load average before "
                  f"{load:.2f})", flush=True)
        res["lrlab"] = {"runs": lr, "trials": ntrials, "rows": len(t),
                        "openblas_core": at.get("blas_core"), "openblas_config": at.get("blas_config"),
                        "route_counts_rows": {"svd": routes[0], "gram": routes[1], "gram_fallback": routes[2]}}
        res["numpy"] = {"runs": npr, "trials": inner["trials"], "blas": inner["blas"], "args": np_args}
        if a.baseline:
            res["baseline"] = {"binary": a.baseline, "runs": bl}

        # 4. Shared instances.
        inst, sh5, shj = (os.path.join(work, x) for x in ("inst.h5", "shared.h5", "shared.json"))
        subprocess.run([a.lrlab, "run", cfg, *a.overrides, f"trials={a.shared_trials}", "-o", sh5,
                        "--force", "--quiet", "-j", str(a.threads), "--save-instances", inst],
                       env=env, check=True)
        subprocess.run(["/usr/bin/python3", ref, "--instances", inst, "--out", shj], env=env, check=True)
        res["shared_instances"] = compare_shared(sh5, shj)
        res["shared_instances"]["instances_file_mib"] = os.path.getsize(inst) / 2**20
        os.unlink(inst)

        # 5. Peak memory against m (one trial, one thread, one sigma).
        mem = []
        # Baseline: the process with its libraries (OpenBLAS, HDF5, GSL, libgomp) and a tiny problem.
        _, base, _, _ = run_measured([a.lrlab, "run", cfg, *a.overrides, "problem.m=64", "problem.N0=8",
                                   "problem.N1=8", "problem.r=2", "compress.rank_offsets=[0]",
                                   "problem.block_rows=64", "trials=1", "problem.noise.sigma=0.01",
                                   "-o", os.path.join(work, "mem.h5"), "--force", "--quiet", "-j", "1"], env)
        res["baseline_rss_kib"] = base
        print(f"memory: baseline (a tiny problem) {base / 1024:.0f} MiB", flush=True)
        for mm in [int(x) for x in a.memory_m.split(",") if x]:
            wall, rss, _, load = run_measured([a.lrlab, "run", cfg, *a.overrides, f"problem.m={mm}", "trials=1",
                                         "problem.noise.sigma=0.01", "-o", os.path.join(work, "mem.h5"),
                                         "--force", "--quiet", "-j", "1"], env)
            x_mib = mm * n0 * 8 / 2**20
            mem.append({"m": mm, "peak_rss_kib": rss, "above_baseline_mib": (rss - base) / 1024,
                        "largest_matrix_mib": max(x_mib, mm * n1 * 8 / 2**20), "wall_seconds": wall})
            print(f"memory: m = {mm}: peak RSS {rss / 1024:.0f} MiB, {(rss - base) / 1024:.0f} MiB above "
                  f"baseline (X~ is {x_mib:.0f} MiB)", flush=True)
        res["memory_vs_m"] = mem

        # 6. Peak memory against m when the activations are streamed from a layer dump
        # (experiment real_layers, one 512 x 512 layer, svd_w and dd_rank at k = 16, 32, 64).
        dcfg = os.path.join(work, "dump.cfg")
        with open(dcfg, "w") as f:
            f.write('experiment = "real_layers";\nname = "memory against m";\ndump = "dump.h5";\n'
                    'layers = { ranks = [16, 32, 64]; };\ncompress = { methods = ["svd_w", "dd_rank"]; };\n')
        dmem = []
        for mm in [int(x) for x in a.dump_memory_m.split(",") if x]:
            dpath = os.path.join(work, "dump.h5")
            write_layer_dump(dpath, mm, 512, 512)
            wall, rss, _, _ = run_measured([a.lrlab, "run", dcfg, f"dump={dpath}", "-o",
                                            os.path.join(work, "dump_out.h5"), "--force", "--quiet",
                                            "-j", "1"], env)
            x_mib = mm * 512 * 8 / 2**20
            dmem.append({"m": mm, "peak_rss_kib": rss, "x_mib_in_memory_as_double": x_mib,
                         "dump_file_mib": os.path.getsize(dpath) / 2**20, "wall_seconds": wall})
            print(f"memory (dump streamed): m = {mm}: peak RSS {rss / 1024:.0f} MiB; X as doubles would be "
                  f"{x_mib:.0f} MiB", flush=True)
            os.unlink(dpath)
        res["memory_vs_m_dump"] = dmem
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # Summary.
    lw = statistics.median(x["wall_seconds"] for x in res["lrlab"]["runs"])
    nw = statistics.median(x["wall_seconds"] for x in res["numpy"]["runs"])
    sg = statistics.median(x.get("stream_gflops_per_thread", float("nan")) for x in res["lrlab"]["runs"])
    largest = m * max(n0, n1) * 8 / 2**20
    s = {
        "lrlab_wall_seconds_median": lw, "numpy_wall_seconds_median": nw, "speedup": nw / lw,
        "lrlab_trials_per_second": res["lrlab"]["trials"] / lw,
        "numpy_trials_per_second": res["numpy"]["trials"] / nw,
        "lrlab_stream_gflops_per_thread_median": sg,
        "dgemm_gflops_1thread": res["dgemm"]["gflops_1thread"],
        "stream_fraction_of_dgemm": sg / res["dgemm"]["gflops_1thread"],
        "lrlab_peak_rss_mib_median": statistics.median(x["peak_rss_kib"] for x in res["lrlab"]["runs"]) / 1024,
        "numpy_peak_rss_mib_median": statistics.median(x["peak_rss_kib"] for x in res["numpy"]["runs"]) / 1024,
        "largest_matrix_mib": largest,
        "lrlab_peak_rss_above_baseline_mib_median":
            statistics.median(x["peak_rss_kib"] for x in res["lrlab"]["runs"]) / 1024 - res["baseline_rss_kib"] / 1024,
        "shared_max_rel_diff": res["shared_instances"]["max_rel_diff_all"],
        "load_average_at_end": os.getloadavg(),
    }
    if a.baseline:
        bw = statistics.median(x["wall_seconds"] for x in res["baseline"]["runs"])
        # Paired by repeat (each pair ran back to back), so a change of load hits both alike.
        ratios = [x["wall_seconds"] / y["wall_seconds"] for x, y in zip(res["lrlab"]["runs"], res["baseline"]["runs"])]
        s["baseline_wall_seconds_median"] = bw
        s["lrlab_over_baseline_median_of_ratios"] = statistics.median(ratios)
        s["lrlab_over_baseline_ratios"] = ratios
    res["summary"] = s
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1, default=float)
    core_np = "?"
    for tp in res["numpy"]["blas"].get("threadpools", []):
        if tp.get("internal_api") == "openblas":
            core_np = tp.get("architecture")
    print()
    print(f"machine: {res['machine']['cpu']}, {res['machine']['cores']} cores; load average at start "
          f"{res['machine']['load_average_at_start'][0]:.2f}, at end {s['load_average_at_end'][0]:.2f}")
    print(f"OpenBLAS kernel: lrlab {res['lrlab']['openblas_core']}, numpy {core_np}, "
          f"dgemm_rate {res['dgemm']['openblas_core']}")
    print(f"workload: {res['lrlab']['trials']} trials, {res['lrlab']['rows']} /trials rows; "
          f"median of {a.repeats} runs each, {a.threads} threads")
    print(f"  lrlab  {lw:8.2f} s  {s['lrlab_trials_per_second']:7.2f} trials/s  peak RSS {s['lrlab_peak_rss_mib_median']:6.0f} MiB")
    print(f"  numpy  {nw:8.2f} s  {s['numpy_trials_per_second']:7.2f} trials/s  peak RSS {s['numpy_peak_rss_mib_median']:6.0f} MiB")
    print(f"  speedup (numpy / lrlab): {s['speedup']:.1f}x")
    if a.baseline:
        print(f"  baseline {s['baseline_wall_seconds_median']:6.2f} s ({a.baseline}); this lrlab / baseline, "
              f"median of paired ratios: {s['lrlab_over_baseline_median_of_ratios']:.3f} "
              f"({', '.join(f'{r:.3f}' for r in s['lrlab_over_baseline_ratios'])})")
    print(f"  lrlab stream phase {sg:.1f} GFLOP/s per thread = {100 * s['stream_fraction_of_dgemm']:.0f}% "
          f"of 1-thread DGEMM ({res['dgemm']['gflops_1thread']:.1f} GFLOP/s)")
    print(f"  largest matrix (X~) {largest:.0f} MiB; lrlab peak RSS / largest = "
          f"{s['lrlab_peak_rss_mib_median'] / largest:.2f}; above the {res['baseline_rss_kib'] / 1024:.0f} MiB "
          f"baseline: {s['lrlab_peak_rss_above_baseline_mib_median']:.0f} MiB = "
          f"{s['lrlab_peak_rss_above_baseline_mib_median'] / largest:.2f} x largest ({a.threads} threads)")
    for x in res["memory_vs_m"]:
        print(f"  1 thread, m = {x['m']:6d}: {x['above_baseline_mib']:6.0f} MiB above baseline; X~ is "
              f"{x['largest_matrix_mib']:.0f} MiB")
    for x in res["memory_vs_m_dump"]:
        print(f"  dump streamed, m = {x['m']:6d}: peak RSS {x['peak_rss_kib'] / 1024:6.0f} MiB; X as doubles "
              f"{x['x_mib_in_memory_as_double']:.0f} MiB")
    print(f"  shared instances: {res['shared_instances']['rows_matched']} rows, max relative difference "
          f"{s['shared_max_rel_diff']:.2e}, NaN-pattern mismatches {res['shared_instances']['nan_pattern_mismatches']}")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
