#!/usr/bin/python3
"""Scaling study of lrlab's fast route (`make scaling`; configs/scaling.cfg).

Three sweeps, one thread (-j 1) so that a trial's time is not shared with another:
  1. time per trial against m (configs/scaling.cfg's m axis),
  2. time per trial against N0 = N1 (the same config with m fixed and N0 = N1 overridden),
  3. run time against the number of trials (the same config at one m).
Time per trial is the median over a point's trials of /timings unit_seconds (the wall
time of each whole trial: generation, streaming, factorisation, fits, measurement).
Fits least-squares slopes in log-log and draws them next to the slopes of the cost model
(results/scaling.{pdf,png}, data and fits in results/scaling.json).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def run(lrlab, cfg, overrides, out, env):
    subprocess.run([lrlab, "run", cfg, *overrides, "-o", out, "--force", "--quiet", "-j", "1"],
                   check=True, env=env, stderr=subprocess.DEVNULL)
    with h5py.File(out, "r") as f:
        t = f["trials"][()]
        tm = f["timings"][()]
        wall = float(f.attrs["wall_seconds"])
        core = f.attrs["blas_core"]
    return t, tm, wall, core.decode() if isinstance(core, bytes) else core


def per_point(t, tm, key):
    """Median unit_seconds per value of column `key` (one value per unit: first row)."""
    units = {}
    for i in range(len(t)):
        units[(int(t["point"][i]), int(t["trial"][i]))] = (float(t[key][i]), float(tm["unit_seconds"][i]))
    xs = sorted({v[0] for v in units.values()})
    return xs, [float(np.median([v[1] for v in units.values() if v[0] == x])) for x in xs]


def slope(x, y):
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    A = np.vstack([lx, np.ones_like(lx)]).T
    (b, a), res, *_ = np.linalg.lstsq(A, ly, rcond=None)
    n = len(x)
    se = np.sqrt(res[0] / (n - 2) / np.sum((lx - lx.mean()) ** 2)) if n > 2 and len(res) else float("nan")
    return float(b), float(a), float(se)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lrlab", default="./lrlab")
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--out", default="results/scaling", help="output stem")
    ap.add_argument("--n-values", default="64,96,128,192,256,384,512")
    ap.add_argument("--n-m", type=int, default=32768, help="m of the N0 = N1 sweep")
    ap.add_argument("--trial-values", default="2,4,8,16,32,64")
    ap.add_argument("--trial-m", type=int, default=16384)
    ap.add_argument("--keep-env", action="store_true")
    a = ap.parse_args()
    env = dict(os.environ)
    if not a.keep_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    cfg = os.path.join(a.srcdir, "configs", "scaling.cfg")
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lrlab-scaling-")
    h5 = os.path.join(tmp, "s.h5")
    res = {"load_average_at_start": os.getloadavg()}

    t, tm, _, core = run(a.lrlab, cfg, [], h5, env)
    ms, tms = per_point(t, tm, "m")
    res["openblas_core"] = core
    res["m"] = {"x": ms, "seconds_per_trial": tms, "N0": int(t["N0"][0]), "fit": slope(ms, tms),
                "fit_upper_half": slope(ms[len(ms) // 2:], tms[len(ms) // 2:]), "expected": 1.0}
    print(f"m sweep: slope {res['m']['fit'][0]:.3f} (all), {res['m']['fit_upper_half'][0]:.3f} (upper half)")

    ns, tns = [], []
    for n in [int(v) for v in a.n_values.split(",")]:
        t, tm, _, _ = run(a.lrlab, cfg, [f"problem.m={a.n_m}", f"problem.N0={n}", f"problem.N1={n}",
                                         "trials=4"], h5, env)
        ns.append(n)
        tns.append(float(np.median(tm["unit_seconds"])))
    res["n"] = {"x": ns, "seconds_per_trial": tns, "m": a.n_m, "fit": slope(ns, tns),
                "expected": "1 (m (N0 + N1) Gaussian draws), 2 (streaming, m N^2), 3 (N^3 "
                            "factorisations): the slope rises with N as each term takes over"}
    print(f"N sweep: slope {res['n']['fit'][0]:.3f}")

    ts, walls = [], []
    for nt in [int(v) for v in a.trial_values.split(",")]:
        _, _, wall, _ = run(a.lrlab, cfg, [f"problem.m={a.trial_m}", f"trials={nt}"], h5, env)
        ts.append(nt)
        walls.append(wall)
    res["trials"] = {"x": ts, "run_seconds": walls, "m": a.trial_m, "fit": slope(ts, walls), "expected": 1.0}
    print(f"trials sweep: slope {res['trials']['fit'][0]:.3f}")
    res["load_average_at_end"] = os.getloadavg()
    os.unlink(h5)
    os.rmdir(tmp)

    with open(a.out + ".json", "w") as f:
        json.dump(res, f, indent=1)
    # Data blocks for gnuplot: x, y, fitted y, expected-slope guide through the first point.
    dat = a.out + ".dat"
    with open(dat, "w") as f:
        for key, ycol, guides in (("m", "seconds_per_trial", (1.0,)), ("n", "seconds_per_trial", (1.0, 2.0, 3.0)),
                                  ("trials", "run_seconds", (1.0,))):
            d = res[key]
            b, c, _ = d["fit"]
            x0, y0 = d["x"][0], d[ycol][0]
            f.write(f"# {key}: x y fit " + " ".join(f"slope{g:g}" for g in guides) + "\n")
            for x, y in zip(d["x"], d[ycol]):
                g = " ".join(f"{y0 * (x / x0) ** s:.6g}" for s in guides)
                f.write(f"{x} {y:.6g} {np.exp(c) * x ** b:.6g} {g}\n")
            f.write("\n\n")
    gp = os.path.join(a.srcdir, "bench", "scaling.gp")
    for term, ext in (("pngcairo size 1500,480 font ',11'", "png"), ("pdfcairo size 15in,4.8in font ',11'", "pdf")):
        subprocess.run(["gnuplot", "-e", f"dat='{dat}'; out='{a.out}.{ext}'; term=\"{term}\"; "
                        f"sm={res['m']['fit'][0]:.3f}; sn={res['n']['fit'][0]:.3f}; st={res['trials']['fit'][0]:.3f}; "
                        f"nn={res['m']['N0']}; mn={a.n_m}; mt={a.trial_m}", gp], check=True)
    print(f"wrote {a.out}.json, {a.out}.png, {a.out}.pdf")


if __name__ == "__main__":
    main()
