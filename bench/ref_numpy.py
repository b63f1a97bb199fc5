#!/usr/bin/python3
"""The benchmark workload written the way a researcher would write it in numpy.

ZS25 Theorem 1 (docs/theory.md section 3): Y = X~ M* + G, rank M* = r, Z* = X~ M*.
  svd_w    M = [W]_k, W = X~^+ Y                      (np.linalg.svd of W)
  dd_rank  X~ M = [P Y]_k, M = X~^+ [P Y]_k           (np.linalg.svd of the m x N1 matrix P Y)
Per trial and target rank: err_fro = ||X~ M - Z*||_F, err_rel, err_weight = ||M - M*||_F,
err_layer = ||X~ M - X~ W||_F, ||P G||_op (np.linalg.norm(., 2)), and the Theorem 1 bounds
thm1a..thm1d exactly as lrlab defines them (bounds NaN where they do not apply).

Either it draws its own instances (numpy's generator; same sizes and distributions as
lrlab's, not the same numbers) or it loads the instances lrlab saved with
`lrlab run ... --save-instances FILE` (--instances FILE) and recomputes every trial on
exactly the same matrices.  Vectorised: every matrix operation is one numpy call; Python
loops only over trials, compressors and ranks.

Writes a JSON file: wall time, peak RSS, the numpy/BLAS configuration and one record per
trial x compressor x rank.
"""
import argparse
import json
import math
import resource
import sys
import time

import numpy as np

BOUNDS = ("thm1a", "thm1b", "thm1c", "thm1d")


def truth(rng, n0, n1, r, scale=1.0, cond=1.0):
    """M* = U diag(s) V^T with Haar frames (QR of Gaussians, signs fixed) and a geometric
    spectrum from scale down to scale / cond."""
    def haar(n, k):
        q, rr = np.linalg.qr(rng.standard_normal((n, k)))
        return q * np.sign(np.diag(rr))
    s = scale * cond ** (-np.arange(r) / max(r - 1, 1))
    return (haar(n0, r) * s) @ haar(n1, r).T


def one_trial(X, M, G, W_given, r, sigma, ranks, C, t, rtol, iid=True):
    """All rows of one trial.  W_given: the layer lrlab saved (None: compute X~^+ Y)."""
    m, n0 = X.shape
    n1 = M.shape[1]
    Z = X @ M
    Y = Z + G
    U, sx, Vt = np.linalg.svd(X, full_matrices=False)
    if rtol <= 0:
        rtol = max(m, n0) * np.finfo(float).eps
    q = int(np.sum(sx > rtol * sx[0]))
    Uq = U[:, :q]
    PY = Uq @ (Uq.T @ Y)
    PG = Uq @ (Uq.T @ G)
    pg_op = np.linalg.norm(PG, 2)
    Xpinv = (Vt[:q].T / sx[:q]) @ Uq.T
    W = Xpinv @ Y if W_given is None else W_given
    smin = sx[n0 - 1] if (m >= n0 and q == n0) else 0.0
    XW = X @ W
    z_norm = np.linalg.norm(Z)
    xw_norm = np.linalg.norm(XW)

    Up, sp, Vpt = np.linalg.svd(PY, full_matrices=False)   # dd_rank: [P Y]_k for every k
    Uw, sw, Vwt = np.linalg.svd(W, full_matrices=False)    # svd_w:   [W]_k for every k
    rows = []
    for comp in ("svd_w", "dd_rank"):
        for ri, k_target in enumerate(ranks):
            if comp == "svd_w":
                k = min(k_target, min(n0, n1))
                Mh = (Uw[:, :k] * sw[:k]) @ Vwt[:k]
            else:
                k = min(k_target, q, n1)
                Mh = Xpinv @ ((Up[:, :k] * sp[:k]) @ Vpt[:k])
            XM = X @ Mh
            err = np.linalg.norm(XM - Z)
            errw = np.linalg.norm(Mh - M)
            err_layer = np.linalg.norm(XM - XW)
            applies = 1.0 if k_target >= r else math.nan
            b = {
                "thm1a": applies * C * math.sqrt(k_target + r) * pg_op,
                "thm1b": (applies * C * math.sqrt(k_target + r) * sigma * (math.sqrt(q) + math.sqrt(n1) + t)
                          if iid else math.nan),
                "thm1c": (sigma * math.sqrt(r * (q + n1 - r))
                          if (k_target == r and iid and q + n1 >= r) else math.nan),
                "thm1d": err / smin if (smin > 0 and q >= n0) else math.nan,
            }
            row = {"compressor": comp, "rank_index": ri, "k_target": int(k_target), "k": int(k),
                   "q": q, "err_fro": err, "err_rel": err / z_norm, "err_weight": errw,
                   "err_layer": err_layer, "err_layer_rel": err_layer / xw_norm,
                   "z_norm": z_norm, "pg_op": pg_op}
            row.update(b)
            rows.append(row)
    return rows


def blas_info():
    info = {"numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info
        info["threadpools"] = threadpool_info()
    except ImportError:
        # Without threadpoolctl: ask the OpenBLAS numpy links through ctypes.
        import ctypes
        import ctypes.util
        import glob
        import os
        libs = []
        for path in glob.glob(os.path.join(os.path.dirname(np.__file__), "core", "*.so")):
            libs.append(path)
        try:
            with open("/proc/self/maps") as f:
                maps = {line.split()[-1] for line in f if "openblas" in line and line.split()[-1].startswith("/")}
            for lib in sorted(maps):
                h = ctypes.CDLL(lib)
                h.openblas_get_corename.restype = ctypes.c_char_p
                h.openblas_get_config.restype = ctypes.c_char_p
                info["openblas_lib"] = lib
                info["openblas_core"] = h.openblas_get_corename().decode()
                info["openblas_config"] = h.openblas_get_config().decode()
                info["openblas_threads"] = h.openblas_get_num_threads()
                break
        except OSError:
            pass
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", help="load lrlab's --save-instances file instead of drawing")
    ap.add_argument("--m", type=int, default=4096)
    ap.add_argument("--n0", type=int, default=512)
    ap.add_argument("--n1", type=int, default=512)
    ap.add_argument("--r", type=int, default=32)
    ap.add_argument("--sigmas", default="geom:1e-4:1e-1:8", help="geom:lo:hi:n or a comma list")
    ap.add_argument("--ranks", default="16,32,64")
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--C", type=float, default=2.0)
    ap.add_argument("--t", type=float, default=2.0)
    ap.add_argument("--rank-rtol", type=float, default=0.0)
    ap.add_argument("--out", required=True, help="JSON output")
    a = ap.parse_args()

    t0 = time.perf_counter()
    rows = []
    if a.instances:
        import h5py
        with h5py.File(a.instances, "r") as f:
            for pname in sorted(k for k in f if k.startswith("p")):
                for tname in sorted(f[pname]):
                    g = f[pname][tname]
                    at = g.attrs
                    X, M, G, W = (g[n][()] for n in ("X", "M", "G", "W"))
                    model = at["model"]
                    model = model.decode() if isinstance(model, bytes) else str(model)
                    if model != "preact":
                        sys.exit("ref_numpy.py: only model preact is implemented")
                    rs = one_trial(X, M, G, W, int(at["r"]), float(at["sigma"]),
                                   [int(k) for k in np.atleast_1d(at["ranks"])], float(at["C"]),
                                   float(at["t"]), float(at["rank_rtol"]), bool(at["iid_noise"]))
                    for row in rs:
                        row.update(point=int(at["point"]), trial=int(at["trial"]), sigma=float(at["sigma"]))
                    rows += rs
    else:
        if a.sigmas.startswith("geom:"):
            _, lo, hi, n = a.sigmas.split(":")
            sigmas = np.geomspace(float(lo), float(hi), int(n))
        else:
            sigmas = np.array([float(s) for s in a.sigmas.split(",")])
        ranks = [int(k) for k in a.ranks.split(",")]
        for p, sigma in enumerate(sigmas):
            for tr in range(a.trials):
                rng = np.random.default_rng([a.seed, p, tr])
                M = truth(rng, a.n0, a.n1, a.r)
                X = rng.standard_normal((a.m, a.n0))
                G = sigma * rng.standard_normal((a.m, a.n1))
                rs = one_trial(X, M, G, None, a.r, sigma, ranks, a.C, a.t, a.rank_rtol)
                for row in rs:
                    row.update(point=p, trial=tr, sigma=float(sigma))
                rows += rs
    wall = time.perf_counter() - t0
    out = {"wall_seconds": wall,
           "trials": len({(r["point"], r["trial"]) for r in rows}),
           "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           "blas": blas_info(), "rows": rows}
    with open(a.out, "w") as f:
        json.dump(out, f, default=float, allow_nan=True)
    print(f"ref_numpy.py: {out['trials']} trials in {wall:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
