#!/usr/bin/python3
"""The l_q kernels against the numpy a researcher would write (`make bench-lq`;
bench/README.md): SI_q and the l1 and l2 truncation errors at every k of many vectors.

numpy (the idiomatic version, vectorised over the vectors):
    a = |W|; SI = d^{1/q-1} a.sum(1) / ((a**q).sum(1))**(1/q)
    s = sorted magnitudes, decreasing; err1[:, k] = sum of s[:, k:], err2 = sqrt of the same of s**2
C: bench/lq_bench (src/compress/lq.h), one vector at a time, norms scaled by max |w|.
Both on the same Cauchy vectors (written once, not timed); the C results are compared with
numpy's (largest relative difference).  Timing: --runs processes of the C driver and as many
numpy evaluations, interleaved; each C process times --repeats passes and keeps its median;
the reported time of each side is the median over the runs.  No number here is a test.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_machine import machine_record  # noqa: E402


def numpy_kernels(W, q):
    d = W.shape[1]
    a = np.abs(W)
    si = d ** (1 / q - 1) * a.sum(axis=1) / (a ** q).sum(axis=1) ** (1 / q)
    s = -np.sort(-a, axis=1)
    zeros = np.zeros((W.shape[0], 1))
    e1 = np.hstack([np.cumsum(s[:, ::-1], axis=1)[:, ::-1], zeros])
    e2 = np.sqrt(np.hstack([np.cumsum((s * s)[:, ::-1], axis=1)[:, ::-1], zeros]))
    return si, e1, e2


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--driver", default="./bench/lq_bench")
    ap.add_argument("--vectors", type=int, default=20000)
    ap.add_argument("--d", type=int, nargs="+", default=[64, 512, 4096])
    ap.add_argument("--q", type=float, default=0.5)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    rng = np.random.default_rng(16)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in args.d:
            n = max(1, args.vectors * 64 // d)
            W = rng.standard_cauchy((n, d))
            inp, out = os.path.join(tmp, "w.f64"), os.path.join(tmp, "out.f64")
            W.astype(np.float64).tofile(inp)
            cmd = [args.driver, inp, str(n), str(d), str(args.q)]
            subprocess.run(cmd + ["1", out], check=True, stdout=subprocess.DEVNULL)
            got = np.fromfile(out)
            si_c, e1_c, e2_c = got[:n], got[n:n + n * (d + 1)].reshape(n, d + 1), got[n + n * (d + 1):].reshape(n, d + 1)
            si, e1, e2 = numpy_kernels(W, args.q)

            def rel(a, b):
                return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))
            # The tail sums' last entries are differences of large numbers in numpy's cumsum
            # from the top; compare where the tail is not below 1e-12 of the whole.
            mask = e1 > 1e-12 * e1[:, :1]
            dev = {"si": rel(si_c, si), "err1": rel(e1_c[mask], e1[mask]), "err2": rel(e2_c[mask], e2[mask])}
            c_times, np_times = [], []
            for _ in range(args.runs):
                r = subprocess.run(cmd + [str(args.repeats)], check=True, capture_output=True, text=True)
                c_times.append(statistics.median(float(x) for x in r.stdout.split()))
                t0 = time.perf_counter()
                numpy_kernels(W, args.q)
                np_times.append(time.perf_counter() - t0)
            row = {"d": d, "vectors": n, "c_seconds": statistics.median(c_times),
                   "numpy_seconds": statistics.median(np_times), "max_rel_dev": dev}
            row["speedup"] = row["numpy_seconds"] / row["c_seconds"]
            results.append(row)
            print(f"d = {d:5d}, {n:6d} vectors: C {row['c_seconds']:.4f} s, numpy {row['numpy_seconds']:.4f} s, "
                  f"numpy / C = {row['speedup']:.2f}; largest relative deviation SI {dev['si']:.1e}, "
                  f"err1 {dev['err1']:.1e}, err2 {dev['err2']:.1e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine_record(np.__version__, with_date=True), "q": args.q, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
