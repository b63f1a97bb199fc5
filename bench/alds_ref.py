#!/usr/bin/python3
"""The ALDS allocator in numpy: the reference bench/alds_bench.py times against the C module
(src/compress/alds_alloc.c), and the script a researcher would write from docs/theory.md section 4.

It implements the same allocator with the same rules (src/compress/alds_alloc.h states them):
  global step   the minimal feasible level over np.unique of the tabulated errors (and 0),
                by bisection; at a level each layer takes the smallest j >= jmin with
                err <= level, counted as torchprune does ((errors > level).sum()) on a
                lookup tensor padded with -inf; dense when that is no cheaper;
  local step    per layer, all allowed k at once: j' = floor(b / (k N1 + N0) + rho), clamped
                to jmax, raised to jmin when affordable, else that k is out; smallest error,
                ties to the smallest k (np.argmin);
  alternation   15 seeds (allowed k nearest 3, 5, 7, 9, ties to the larger; then uniform
                draws with GSL's gsl_rng_uniform_int on MT19937, reproduced here bit for
                bit), halving infeasible seeds, 4 iterations, a rejected proposal lowers rho;
  baselines     uniform rank, SVD energy (residual energy tables, the same search), the
                global step at k = 1.
Both sides read the lrlab.alds_input HDF5 file (bench/alds_bench.c describes it) and print
the same JSON, so that the driver can check that the allocations are identical.

usage: alds_ref.py INPUT.h5 [--repeats R] [--out FILE]
"""
import argparse
import json
import sys
import time

import h5py
import numpy as np


class GslMt19937:
    """GSL's gsl_rng_mt19937 with gsl_rng_set(seed) and gsl_rng_uniform_int(r, n).

    numpy's MT19937 with its legacy seeding is the same generator (Matsumoto and Nishimura's
    init_genrand); GSL maps seed 0 to 4357.  uniform_int is GSL's rejection rule:
    k = raw / (0xffffffff // n), redrawn while k >= n."""

    def __init__(self, seed):
        self.bg = np.random.MT19937(0)
        self.bg._legacy_seeding(4357 if seed == 0 else seed)

    def uniform_int(self, n):
        scale = 0xFFFFFFFF // n
        while True:
            k = int(self.bg.random_raw()) // scale
            if k < n:
                return k


# GSL's first output for seed 4357 (gsl_rng_set(r, 0)): a self-check of the reproduction.
assert int(GslMt19937(0).bg.random_raw()) == 4293858116


def read_input(path):
    """The problem, the options and the budgets of an lrlab.alds_input file."""
    with h5py.File(path, "r") as f:
        a = f.attrs
        fmt = a["format"]
        if (fmt.decode() if isinstance(fmt, bytes) else fmt) != "lrlab.alds_input" or int(a["format_version"]) != 1:
            sys.exit(f"alds_ref: {path} is not an lrlab.alds_input version 1 file")
        opts = {"jmin": int(a["jmin"]), "nseeds": int(a["nseeds"]), "niter": int(a["niter"]),
                "seed": int(a["seed"]), "rho_start": float(a["rho_start"]), "rho_step": float(a["rho_step"]),
                "rho_lowerings": int(a["rho_lowerings"]), "fixed_k": [int(x) for x in np.atleast_1d(a["fixed_k"])]}
        layers = []
        for l in range(int(a["nlayers"])):
            g = f[f"layers/{l:03d}"]
            y = {"n0": int(g.attrs["n0"]), "n1": int(g.attrs["n1"]), "compressible": bool(g.attrs["compressible"])}
            if y["compressible"]:
                y["k"] = g["k"][()].astype(np.int64)
                y["jmax"] = g["jmax"][()].astype(np.int64)
                e = g["err"][()]
                off = np.concatenate(([0], np.cumsum(y["jmax"] + 1)))
                y["err"] = [e[off[i]:off[i + 1]] for i in range(len(y["k"]))]
                y["sv"] = g["sv"][()] if "sv" in g else None
            layers.append(y)
        budgets = [int(b) for b in f["budgets"][()]]
    return layers, opts, budgets


class Alds:
    """The allocator on one problem: the lookup tensor is built once per call site, as the
    C plan is."""

    def __init__(self, layers, opts):
        self.layers, self.o = layers, opts
        self.comp = [l for l, y in enumerate(layers) if y["compressible"]]
        cl = [layers[l] for l in self.comp]
        self.nc = len(cl)
        self.nk = np.array([len(y["k"]) for y in cl])
        nkmax = self.nk.max()
        J = max(int(y["jmax"].max()) for y in cl)
        # torchprune's _rel_error_lookup: [layer, k index, j], padded with -inf (never > level).
        self.T = np.full((self.nc, nkmax, J + 1), -np.inf)
        self.K = np.ones((self.nc, nkmax), dtype=np.int64)
        self.JM = np.zeros((self.nc, nkmax), dtype=np.int64)
        for c, y in enumerate(cl):
            for i, t in enumerate(y["err"]):
                self.T[c, i, :len(t)] = t
            self.K[c, :len(y["k"])] = y["k"]
            self.JM[c, :len(y["k"])] = y["jmax"]
        self.n0 = np.array([y["n0"] for y in cl], dtype=np.int64)
        self.n1 = np.array([y["n1"] for y in cl], dtype=np.int64)
        self.dense = self.n0 * self.n1
        self.fixed = sum(y["n0"] * y["n1"] for y in layers if not y["compressible"])
        self.rows = np.arange(self.nc)

    # ---- the global step ----

    def _search(self, E, jmax, cj, budget):
        """The minimal feasible level over the tables E (rows padded with -inf) and the j of
        every row there; None if even the smallest allocation exceeds the budget."""
        jmin = self.o["jmin"]
        tail = E[:, jmin:]

        def alloc(level):
            j = jmin + (tail > level).sum(axis=1)
            dense = (j > jmax) | (j * cj >= self.dense)
            return j, dense, np.where(dense, self.dense, j * cj)

        levels = np.unique(np.concatenate(([0.0], tail[np.isfinite(tail)])))
        if alloc(levels[-1])[2].sum() > budget:
            return None
        lo, hi = 0, len(levels) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if alloc(levels[mid])[2].sum() <= budget:
                hi = mid
            else:
                lo = mid + 1
        return (levels[hi],) + alloc(levels[hi])

    def _result(self, kidx, j, dense, cost):
        """Per-layer allocation (all layers) from the compressible layers' j at k-indices kidx."""
        err = np.where(dense, 0.0, self.T[self.rows, kidx, np.minimum(j, self.T.shape[2] - 1)])
        n = len(self.layers)
        r = {"k": [1] * n, "j": [0] * n, "dense": [1] * n,
             "err": [0.0] * n, "params": [y["n0"] * y["n1"] for y in self.layers]}
        kv = self.K[self.rows, kidx]
        for c, l in enumerate(self.comp):
            r["k"][l], r["dense"][l] = int(kv[c]), int(dense[c])
            r["j"][l] = 0 if dense[c] else int(j[c])
            r["err"][l], r["params"][l] = float(err[c]), int(cost[c])
        r["objective"] = float(err.max())
        r["params_c"] = int(cost.sum())
        return r

    def global_step(self, kidx, budget):
        E = self.T[self.rows, kidx]
        jmax = self.JM[self.rows, kidx]
        cj = self.K[self.rows, kidx] * self.n1 + self.n0
        s = self._search(E, jmax, cj, budget)
        if s is None:
            return None
        return self._result(kidx, *s[1:])

    def min_budget(self):
        jmin = self.o["jmin"]
        return int(np.minimum(jmin * (self.n1 + self.n0), self.dense).sum())

    def _check_budget(self, budget):
        reach = self.min_budget()
        if budget < reach:
            raise ValueError(f"budget {budget} is below the smallest reachable budget {reach}")

    # ---- the local step and the alternation ----

    def nearest(self, c, target):
        """Index of layer c's allowed k nearest target, ties to the larger k."""
        d = np.abs(self.K[c, :self.nk[c]] - target)
        return self.nk[c] - 1 - int(np.argmin(d[::-1]))

    def local_step(self, kidx, params, rho):
        jmin = self.o["jmin"]
        knew = kidx.copy()
        for c in range(self.nc):
            nk = self.nk[c]
            b = params[c]
            cj = self.K[c, :nk] * self.n1[c] + self.n0[c]
            x = np.floor(b / cj + rho)
            low = x < jmin
            ok = ~low | (jmin * cj <= b)
            j = np.where(low, jmin, np.minimum(x, self.JM[c, :nk])).astype(np.int64)
            e = np.where(j * cj >= self.dense[c], 0.0, self.T[c, np.arange(nk), j])
            e = np.where(ok, e, np.inf)
            if ok.any():
                knew[c] = int(np.argmin(e))
        return knew

    def run(self, budget):
        self._check_budget(budget)
        o = self.o
        rng = GslMt19937(o["seed"])
        nt = o["niter"] + 1
        out = {"trace": [], "rho": [], "halvings": [], "seed_k": []}
        best = None
        for s in range(o["nseeds"]):
            if s < len(o["fixed_k"]):
                kidx = np.array([self.nearest(c, o["fixed_k"][s]) for c in range(self.nc)])
            else:
                kidx = np.array([rng.uniform_int(int(self.nk[c])) for c in range(self.nc)])
            halvings = 0
            while (cur := self.global_step(kidx, budget)) is None:
                half = self.K[self.rows, kidx] // 2
                if (half < 1).all():
                    raise RuntimeError("k = 1 everywhere is infeasible")
                kidx = np.array([self.nearest(c, half[c]) for c in range(self.nc)])
                halvings += 1
            seed_k = [1] * len(self.layers)
            for c, l in enumerate(self.comp):
                seed_k[l] = int(self.K[c, kidx[c]])
            f, rho, lowered, stopped = cur["objective"], o["rho_start"], 0, False
            trace, rhos = [f], [rho]
            for t in range(1, nt):
                while not stopped:
                    params = np.array([cur["params"][l] for l in self.comp])
                    kp = self.local_step(kidx, params, rho)
                    if np.array_equal(kp, kidx):
                        stopped = True      # a fixed point
                        break
                    prop = self.global_step(kp, budget)
                    if prop is not None and prop["objective"] <= f:
                        cur, kidx, f = prop, kp, prop["objective"]
                        break
                    if lowered == o["rho_lowerings"]:
                        stopped = True
                        break
                    rho = rho - o["rho_step"]
                    lowered += 1
                trace.append(f)
                rhos.append(rho)
            out["trace"].append(trace)
            out["rho"].append(rhos)
            out["halvings"].append(halvings)
            out["seed_k"].append(seed_k)
            if best is None or f < best["objective"]:
                best, out["winner"] = cur, s
        best.update({k: v for k, v in out.items()})
        return best

    # ---- baselines ----

    def uniform(self, budget):
        self._check_budget(budget)
        jmin = self.o["jmin"]
        jmax = self.JM[:, 0]
        cj = self.n1 + self.n0
        js = np.arange(jmin, int(jmax.max()) + 1)
        jj = np.minimum(js[:, None], jmax[None, :])
        cost = np.minimum(jj * cj, self.dense).sum(axis=1)
        jc = int(js[cost <= budget].max())
        j = np.minimum(jc, jmax)
        dense = j * cj >= self.dense
        r = self._result(np.zeros(self.nc, dtype=np.int64), j, dense, np.where(dense, self.dense, j * cj))
        r["j_common"] = jc
        return r

    def svd_energy(self, budget):
        self._check_budget(budget)
        R = np.full((self.nc, self.T.shape[2]), -np.inf)
        for c, l in enumerate(self.comp):
            s = self.layers[l]["sv"]
            tail = np.cumsum((s ** 2)[::-1])[::-1]
            r = np.append(tail, 0.0)
            R[c, :len(r)] = r / tail[0] if len(s) and tail[0] > 0 else 0.0
        cj = self.n1 + self.n0
        level, j, dense, cost = self._search(R, self.JM[:, 0], cj, budget)
        r = self._result(np.zeros(self.nc, dtype=np.int64), j, dense, cost)
        r["eta"] = float(1.0 - level)
        return r


def method(name, layers, opts, budget):
    a = Alds(layers, opts)
    if name == "alds":
        return a.run(budget)
    if name == "global1":
        a._check_budget(budget)
        return a.global_step(np.zeros(a.nc, dtype=np.int64), budget)
    if name == "uniform":
        return a.uniform(budget)
    return a.svd_energy(budget)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None, help="JSON output (default: stdout)")
    a = ap.parse_args()
    layers, opts, budgets = read_input(a.input)
    # The setup alone (the lookup tensor), which every timed call below includes.
    prep = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        Alds(layers, opts)
        prep.append(time.perf_counter() - t0)
    runs = []
    for b in budgets:
        ms = {}
        for name in ("alds", "global1", "uniform", "energy"):
            times, r = [], None
            try:
                for _ in range(a.repeats):
                    t0 = time.perf_counter()
                    r = method(name, layers, opts, b)
                    times.append(time.perf_counter() - t0)
            except ValueError as e:
                ms[name] = {"error": str(e)}
                continue
            fixed = sum(y["n0"] * y["n1"] for y in layers if not y["compressible"])
            m = {"objective": r["objective"], "params": r["params_c"], "params_total": r["params_c"] + fixed,
                 "budget_left": b - r["params_c"], "k": r["k"], "j": r["j"], "dense": r["dense"], "err": r["err"]}
            for key in ("winner", "trace", "rho", "halvings", "seed_k", "j_common", "eta"):
                if key in r:
                    m[key] = r[key]
            m["seconds"] = times
            ms[name] = m
        runs.append({"budget": b, "methods": ms})
    doc = {"program": "alds_ref.py", "nlayers": len(layers), "repeats": a.repeats, "plan_seconds": prep,
           "runs": runs}
    text = json.dumps(doc)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
