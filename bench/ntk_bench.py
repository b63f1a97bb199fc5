#!/usr/bin/python3
"""The exact-kernel benchmark (`make bench-ntk`; bench/README.md): lr_ntk_kernel_exact (the
exact infinite-width CK and NTK of src/ntk/kernel_exact.c, through bench/ntk_bench) against
the numpy implementation of the same kernels (bench/ntk_ref.py) on the same inputs, in the
same run, with a check that both compute the same numbers.

Inputs (lrlab.ntk_input files, bench/ntk_bench.c describes the format; not timed): for each
n in --sizes, p = n / 2 features, two balanced classes x = (+-mu + C_a^{1/2} z) / sqrt(p)
with ||mu|| = 2, C_1 = I, C_2 = (1 + 4 / sqrt(p)) I (a Gaussian mixture of THEORY's
normalisation), seed --seed; tau0 = the root mean squared column norm of X.  The network:
--depth layers of one activation, for each of --activations; method auto (the C side's
closed forms where it has one, Mehler's series otherwise: relu and sigma_T closed, tanh
Mehler with the default 128 terms, which ntk_ref.py matches).

Timing: --runs processes of each program per (n, activation), interleaved (C, numpy, C,
numpy, ...).  A C process allocates the plan once (timed alone) and calls the kernels
--c-repeats times; a numpy process calls its kernels --numpy-repeats times.  Reported:
C "cold" = plan + first call (a fresh process, page faults of the plan's buffers included),
C "warm" = the median call (the plan reused), numpy = the median call, each the median over
the processes; the ratio numpy / C for both; and the Gram matrix (X^T X, the same OpenBLAS
dsyrk on both sides: numpy's X @ X.T is a syrk) timed apart, so that the layers' share is
known; and the recursion alone (the O(n^2 L) layers from the same Gram, computed outside the
timer: lr_ntk_kernel_exact_gram and ntk_ref.py's recursion), timed directly on both sides,
each required to give its whole call's kernels bit for bit.  Reading and writing files are
not timed.

Same numbers: every output's CK and NTK against the first numpy process's, max |C - numpy|
/ max |numpy| (NaN NTKs must be NaN on both sides); tau and the centring constants too.  The
script exits with status 1 if any deviation exceeds --tol (1e-10).  No number here is a test:
`make check` never runs this.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_machine import blas_environment, machine_record  # noqa: E402

DEFAULT_ACTS = ["relu", "tanh", "sigma_T(1,-0.5,1.2)"]


def make_input(path, n, act, depth, seed, order, zmax, panel, nodes):
    p = n // 2
    rng = np.random.default_rng([seed, n])
    mu = rng.standard_normal(p)
    mu *= 2.0 / np.linalg.norm(mu)
    y = np.repeat([1.0, -1.0], [n - n // 2, n // 2])
    scale = np.where(y > 0, 1.0, np.sqrt(1 + 4 / np.sqrt(p)))
    X = (y[:, None] * mu[None, :] + scale[:, None] * rng.standard_normal((n, p))) / np.sqrt(p)
    tau0 = float(np.sqrt((X * X).sum(axis=1).mean()))
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=X)                     # sample j = row j (column j of THEORY's X)
        f.attrs["format"] = "lrlab.ntk_input"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["activations"] = ";".join([act] * depth)
        f.attrs["tau0"] = tau0
        f.attrs["method"] = "auto"
        f.attrs["mehler_order"] = np.int64(order)
        f.attrs["z_max"] = float(zmax)
        f.attrs["panel"] = float(panel)
        f.attrs["gl_nodes"] = np.int64(nodes)
        f.attrs["seed"] = np.int64(seed)
    return p, tau0


def run_json(cmd, env):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"ntk_bench.py: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["process_wall_seconds"] = wall
    return out


def read_out(path):
    with h5py.File(path, "r") as f:
        return (f["CK"][()], f["NTK"][()], np.array(f.attrs["tau"]), np.array(f.attrs["centre"]))


def deviation(a, b):
    """max |a - b| / max |b|; NaN matrices must be NaN in the same entries (then 0)."""
    na, nb = np.isnan(a), np.isnan(b)
    if na.any() or nb.any():
        if not np.array_equal(na, nb):
            return float("inf")
        if nb.all():
            return 0.0
        a, b = a[~nb], b[~nb]
    return float(np.abs(a - b).max() / np.abs(b).max())


def med(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driver", default="./bench/ntk_bench", help="the C program (bench/ntk_bench)")
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--out", default="bench/ntk_results.json")
    ap.add_argument("--sizes", default="1000,2000,4000")
    ap.add_argument("--activations", nargs="+", default=DEFAULT_ACTS)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3, help="interleaved processes of each program per case")
    ap.add_argument("--c-repeats", type=int, default=3, help="kernel calls per C process (one plan)")
    ap.add_argument("--numpy-repeats", type=int, default=1, help="kernel calls per numpy process")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--tol", type=float, default=1e-10)
    ap.add_argument("--keep-inputs", default=None, help="directory to keep the input files in")
    a = ap.parse_args()
    if a.runs < 3:
        print("ntk_bench.py: note: fewer than 3 runs is not the benchmark's protocol", file=sys.stderr)
    order, zmax, panel, nodes = 128, 14.0, 1.0, 16           # lr_ntk_kernel_defaults()
    sizes = [int(x) for x in a.sizes.split(",")]
    ref = os.path.join(a.srcdir, "bench", "ntk_ref.py")
    work = a.keep_inputs or tempfile.mkdtemp(prefix="lrlab-ntk-bench-")
    os.makedirs(work, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="lrlab-ntk-out-")
    env = dict(os.environ)                                   # OPENBLAS_CORETYPE etc. kept as they are
    res = {"machine": machine_record(np.__version__, with_date=True),
           "protocol": {"runs": a.runs, "c_repeats": a.c_repeats, "numpy_repeats": a.numpy_repeats,
                        "depth": a.depth, "seed": a.seed, "tol": a.tol, "p": "n / 2", "method": "auto",
                        "mehler": {"order": order, "z_max": zmax, "panel": panel, "gl_nodes": nodes},
                        "environment": blas_environment()},
           "cases": []}

    cases = []
    for n in sizes:
        for act in a.activations:
            tag = f"n{n}_{act.split('(')[0]}"
            path = os.path.join(work, f"{tag}.h5")
            p, tau0 = make_input(path, n, act, a.depth, a.seed, order, zmax, panel, nodes)
            cases.append({"n": n, "p": p, "activation": act, "tau0": tau0, "input": path, "tag": tag,
                          "c": [], "numpy": [], "dev": [], "load": []})
    print(f"{len(cases)} cases, {a.runs} interleaved runs each; inputs in {work}", flush=True)

    ok = True
    try:
        for c in cases:
            first = None
            for r in range(a.runs):
                c["load"].append(os.getloadavg()[0])
                co, no = os.path.join(scratch, "c.h5"), os.path.join(scratch, "np.h5")
                xc = run_json([a.driver, c["input"], co, str(a.c_repeats)], env)
                xn = run_json(["/usr/bin/python3", ref, c["input"], no, "--repeats", str(a.numpy_repeats)], env)
                C, N = read_out(co), read_out(no)
                if first is None:
                    first = N
                d = {"ck": deviation(C[0], first[0]), "ntk": deviation(C[1], first[1]),
                     "tau": deviation(C[2], first[2]), "centre": float(np.abs(C[3] - first[3]).max()),
                     "numpy_self_ck": deviation(N[0], first[0]), "numpy_self_ntk": deviation(N[1], first[1])}
                c["c"].append(xc)
                c["numpy"].append(xn)
                c["dev"].append(d)
                print(f"{c['tag']:>16s} run {r + 1}/{a.runs}: C cold {xc['plan_seconds'] + xc['first_call_seconds']:.3f} s "
                      f"warm {xc['call_seconds_median']:.3f} s, numpy {xn['call_seconds_median']:.3f} s; "
                      f"dev CK {d['ck']:.1e} NTK {d['ntk']:.1e} (load {c['load'][-1]:.2f})", flush=True)
                del C, N
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not a.keep_inputs:
            shutil.rmtree(work, ignore_errors=True)

    for c in cases:
        cold = med([x["plan_seconds"] + x["first_call_seconds"] for x in c["c"]])
        warm = med([x["call_seconds_median"] for x in c["c"]])
        tn = med([x["call_seconds_median"] for x in c["numpy"]])
        gc = med([x["gram_seconds_median"] for x in c["c"]])
        gn = med([x["gram_seconds_median"] for x in c["numpy"]])
        rc = med([x["recursion_seconds_median"] for x in c["c"]])
        rn = med([x["recursion_seconds_median"] for x in c["numpy"]])
        rec_same = all(x["recursion_bitwise_equal"] for x in c["c"] + c["numpy"])
        ok &= rec_same
        devmax = max(max(d["ck"], d["ntk"], d["tau"], d["numpy_self_ck"], d["numpy_self_ntk"]) for d in c["dev"])
        ok &= devmax <= a.tol
        x0 = c["c"][0]
        row = {"n": c["n"], "p": c["p"], "activation": c["activation"], "depth": a.depth, "tau0": c["tau0"],
               "method": x0["method"], "dmethod": x0["dmethod"], "ntk_defined": bool(x0["ntk_defined"]),
               "trunc_max": x0["trunc_max"], "blas_core_c": x0["blas_core"],
               "blas_numpy": c["numpy"][0].get("blas"),
               "c_cold_seconds_median": cold, "c_warm_seconds_median": warm, "numpy_seconds_median": tn,
               "ratio_cold": tn / cold, "ratio_warm": tn / warm,
               "c_plan_seconds_median": med([x["plan_seconds"] for x in c["c"]]),
               "c_gram_seconds_median": gc, "numpy_gram_seconds_median": gn,
               "c_layers_warm_seconds": warm - gc, "numpy_layers_seconds": tn - gn,
               "ratio_layers_warm": (tn - gn) / (warm - gc) if warm > gc else None,
               "c_recursion_seconds_median": rc, "numpy_recursion_seconds_median": rn, "ratio_recursion": rn / rc,
               "recursion_bitwise_equal": rec_same,
               "max_rel_deviation": devmax, "deviations": c["dev"], "load_average": c["load"],
               "c_runs": c["c"], "numpy_runs": c["numpy"]}
        res["cases"].append(row)
    res["summary"] = {"all_within_tol": bool(ok), "load_average_at_end": os.getloadavg(),
                      "max_rel_deviation": max(r["max_rel_deviation"] for r in res["cases"])}
    big = [r for r in res["cases"] if r["n"] == max(sizes)]
    res["summary"]["ratio_cold_at_largest_n"] = {r["activation"]: r["ratio_cold"] for r in big}
    res["summary"]["ratio_warm_at_largest_n"] = {r["activation"]: r["ratio_warm"] for r in big}
    res["summary"]["ratio_recursion_at_largest_n"] = {r["activation"]: r["ratio_recursion"] for r in big}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)

    m = res["machine"]
    print()
    print(f"machine: {m['cpu']}, {m['cores']} cores; C BLAS core {res['cases'][0]['blas_core_c']}, numpy BLAS "
          f"{(res['cases'][0]['blas_numpy'] or [{}])[0].get('architecture')}; OPENBLAS_CORETYPE="
          f"{res['protocol']['environment']['OPENBLAS_CORETYPE']}; depth {a.depth}, p = n/2; "
          f"median of {a.runs} interleaved processes")
    print(f"{'n':>5s} {'activation':20s} {'method':7s} {'C cold':>9s} {'C warm':>9s} {'numpy':>9s} "
          f"{'ratio':>6s} {'warm':>6s} {'gram C':>8s} {'gram np':>8s} {'layers':>7s} {'rec C':>8s} {'rec np':>8s} "
          f"{'rec':>6s} {'max dev':>8s}")
    for r in res["cases"]:
        lw = f"{r['ratio_layers_warm']:6.1f}x" if r["ratio_layers_warm"] else "    n/a"
        print(f"{r['n']:5d} {r['activation']:20s} {r['method'].split(';')[0]:7s} {r['c_cold_seconds_median']:8.3f}s "
              f"{r['c_warm_seconds_median']:8.3f}s {r['numpy_seconds_median']:8.3f}s {r['ratio_cold']:5.1f}x "
              f"{r['ratio_warm']:5.1f}x {r['c_gram_seconds_median']:7.3f}s {r['numpy_gram_seconds_median']:7.3f}s "
              f"{lw} {r['c_recursion_seconds_median']:7.3f}s {r['numpy_recursion_seconds_median']:7.3f}s "
              f"{r['ratio_recursion']:5.1f}x {r['max_rel_deviation']:8.1e}")
    print(f"ratio = numpy / C cold (plan + first call), warm = numpy / C median call; layers = the same "
          f"without the Gram matrix (warm, a difference of two times); rec = the recursion alone, timed directly on both sides "
          f"from the same Gram (numpy / C); load average {res['machine']['load_average_at_start'][0]:.2f} "
          f"at the start, {res['summary']['load_average_at_end'][0]:.2f} at the end")
    print(f"same numbers (max deviation <= {a.tol:g}): {'yes' if ok else 'NO'}; wrote {a.out}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
