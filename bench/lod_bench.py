#!/usr/bin/python3
"""LoD's linear recovery training in lrlab against the PyTorch a researcher would write
(`make bench-lod`; bench/README.md).

The problem of configs/lod_isotropic.cfg at its shipped sizes (X 200 x 12 whitened exactly,
Y = X A^T with A 10 x 12 of singular values 2 * 0.7^(t-1), a factored layer U V^T at r = 5
plus a bias, PyTorch's nn.Linear-scale random start), trained by full-batch SGD (lr 0.5,
momentum 0.9) on the exact expected loss over the uniform rank distribution,
(1/r) sum_b mean((X U_b V_b^T + 1 c^T - Y)^2): PyTorch (float64, autograd, torch.optim.SGD)
and `lrlab run configs/lod_isotropic.cfg -j 1 trials=T` (its full-batch expected-gradient loop,
lr_lod_expected_grad).  Both run the same number of trials and steps on their own data; the
PyTorch side's final largest sine of a principal angle is printed as a sanity check.
Timing: --runs alternating runs of each side, medians reported; the ratio is lrlab / PyTorch
(below 1: lrlab faster).  No number here is a test.
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
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_machine import machine_record  # noqa: E402

D, M, N, R = 12, 10, 200, 5


def problem(rng):
    Z = rng.standard_normal((N, D))
    Z -= Z.mean(0)
    Q, _ = np.linalg.qr(Z)
    X = np.sqrt(N) * Q
    Ul, _ = np.linalg.qr(rng.standard_normal((M, M)))
    Ur, _ = np.linalg.qr(rng.standard_normal((D, D)))
    s = 2.0 * 0.7 ** np.arange(min(M, D))
    A = Ul[:, : len(s)] @ np.diag(s) @ Ur[:, : len(s)].T
    return X, X @ A.T, A


def sin_max(Q1, Q2):
    return np.linalg.norm(Q1 - Q2 @ (Q2.T @ Q1), 2)


def torch_trial(seed, steps):
    rng = np.random.default_rng(seed)
    X, Y, A = problem(rng)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    g = torch.Generator().manual_seed(seed)
    bound = (1.0 / (3 * D * R)) ** 0.25 * np.sqrt(3)  # factor variance sqrt(1/(3 n0 r))
    U = ((torch.rand(D, R, generator=g, dtype=torch.float64) * 2 - 1) * bound).requires_grad_()
    V = ((torch.rand(M, R, generator=g, dtype=torch.float64) * 2 - 1) * bound).requires_grad_()
    c = ((torch.rand(M, generator=g, dtype=torch.float64) * 2 - 1) / np.sqrt(D)).requires_grad_()
    opt = torch.optim.SGD([U, V, c], lr=0.5, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        H = Xt @ U
        loss = sum(torch.mean((H[:, :b] @ V[:, :b].T + c - Yt) ** 2) for b in range(1, R + 1)) / R
        loss.backward()
        opt.step()
    Ua, _, Vat = np.linalg.svd(A)
    Un, Vn = U.detach().numpy(), V.detach().numpy()
    worst = 0.0
    for b in range(1, R + 1):
        worst = max(worst, sin_max(np.linalg.qr(Vn[:, :b])[0], Ua[:, :b]), sin_max(np.linalg.qr(Un[:, :b])[0], Vat[:b].T))
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lrlab", required=True)
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(1)  # one thread each side: the problem is tiny
    cfg = os.path.join(a.srcdir, "configs", "lod_isotropic.cfg")
    t_c, t_py, worst = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(a.runs):
            out = os.path.join(tmp, "lod.h5")
            t0 = time.perf_counter()
            subprocess.run([a.lrlab, "run", cfg, "-o", out, "--quiet", "--force", "-j", "1", f"trials={a.trials}",
                            f"train.steps={a.steps}"], check=True, stdout=subprocess.DEVNULL)
            t_c.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            w = max(torch_trial(100 * run + t, a.steps) for t in range(a.trials))
            t_py.append(time.perf_counter() - t0)
            worst.append(w)
            print(f"run {run}: lrlab {t_c[-1]:.2f} s, PyTorch {t_py[-1]:.2f} s (its largest sine {w:.2e})", flush=True)
    mc, mp = statistics.median(t_c), statistics.median(t_py)
    print(f"{a.trials} trials x {a.steps} steps: lrlab {mc:.2f} s, PyTorch {mp:.2f} s, ratio lrlab/PyTorch {mc / mp:.3f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": dict(machine_record(np.__version__, with_date=True), torch=torch.__version__), "trials": a.trials, "steps": a.steps, "lrlab_s": t_c, "torch_s": t_py,
                       "median_lrlab_s": mc, "median_torch_s": mp, "ratio": mc / mp, "torch_max_sine": worst}, f, indent=1)


if __name__ == "__main__":
    main()
