#!/usr/bin/python3
"""The ALDS allocator benchmark (`make bench-alds`; bench/README.md): the C module
(src/compress/alds_alloc.c through bench/alds_bench) against the numpy allocator
(bench/alds_ref.py) on the same inputs, in the same run, and a check that both give the same
allocation.

Input sets (lrlab.alds_input files, bench/alds_bench.c describes the format):
  digits_mlp   the three linear layers of data/digits_mlp.h5 (W shapes read with h5py);
  fashion_cnn  the two convolutions and two linear layers of data/fashion_cnn.h5;
  resnet18     ResNet-18's layers with Gaussian weights of its shapes: conv1 (3 -> 64, 7x7)
               not compressible, then the 16 3x3 convolutions, the 3 1x1 downsampling
               convolutions and fc (512 -> 1000) compressible: 20 layers, c up to 512.
Every compressible layer allows the divisors of its input channels c up to --kcap; the table
of each k is the chosen criterion (--criterion, default proxy: max_i alpha_{i,j+1} / alpha_1)
from the singular values of its k channel groups, computed here with numpy (not timed); the
singular values at k = 1 feed the SVD-energy baseline.  The budgets are keep ratios of the
whole network (non-compressible layers included): floor(keep * total) - non-compressible.

Timing: --runs processes of each program per input set, interleaved (C, numpy, C, numpy,
...); each process times every (budget, method) --repeats times in-process, the span being
the allocator's setup (C: lr_alds_plan_alloc, which validates the tables; numpy: its lookup
tensor) + the method (+ lr_alds_plan_free); reading the input is not timed.  A run's time is
the median of its repeats; the reported time is the median over the runs.  No number here
is a test: `make check` never runs this.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_machine import blas_environment, machine_record  # noqa: E402

METHODS = ("alds", "global1", "uniform", "energy")
SAME_KEYS = ("objective", "params", "params_total", "budget_left", "k", "j", "dense", "err", "winner", "trace",
             "rho", "halvings", "seed_k", "j_common", "eta", "error")


def divisors(c, cap):
    return [d for d in range(1, min(c, cap) + 1) if c % d == 0]


def tables(W, c, kh, kw, ks, criterion):
    """Per allowed k: jmax and the criterion's table from the singular values of the k
    contiguous channel groups of the folded W (N1 x c kh kw); and W's singular values."""
    n1, n0 = W.shape
    op = None
    jm, errs = [], []
    for k in ks:
        g = W.reshape(n1, k, n0 // k).transpose(1, 0, 2)       # the k groups, N1 x (n0 / k) each
        a = np.linalg.svd(g, compute_uv=False)                    # k x rank_k, descending
        if k == 1:
            sv = a[0].copy()
            op = sv[0]
        r = a.shape[1]
        if criterion == "proxy":
            e = a.max(axis=0) / op
        elif criterion == "l2":
            e = np.sqrt((a ** 2).sum(axis=0)) / op
        else:
            e = np.sqrt(k) * a.max(axis=0) / op
        e = np.append(e, 0.0)                                     # err(k, rank_k) = 0
        # The tables must be non-increasing; LAPACK sorts each group's values, so the max,
        # the root sum of squares and their multiples are.
        assert np.all(np.diff(e) <= 0)
        jm.append(r)
        errs.append(e)
    return jm, errs, sv


def write_input(path, name, layers, keeps, opts, criterion, provenance):
    """layers: dicts name, n0, n1, compressible, and for compressible ones k, jmax, err, sv."""
    total = sum(y["n0"] * y["n1"] for y in layers)
    fixed = sum(y["n0"] * y["n1"] for y in layers if not y["compressible"])
    budgets = [int(np.floor(kp * total)) - fixed for kp in keeps]
    with h5py.File(path, "w") as f:
        f.attrs["provenance"] = provenance
        f.attrs["format"] = "lrlab.alds_input"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["name"] = name
        f.attrs["criterion"] = criterion
        f.attrs["nlayers"] = np.int64(len(layers))
        for k in ("jmin", "nseeds", "niter", "seed", "rho_lowerings"):
            f.attrs[k] = np.int64(opts[k])
        f.attrs["rho_start"] = float(opts["rho_start"])
        f.attrs["rho_step"] = float(opts["rho_step"])
        f.attrs["fixed_k"] = np.array(opts["fixed_k"], dtype=np.int64)
        f.create_dataset("budgets", data=np.array(budgets, dtype=np.int64))
        f.create_dataset("keep", data=np.array(keeps, dtype=np.float64))
        for l, y in enumerate(layers):
            g = f.create_group(f"layers/{l:03d}")
            g.attrs["name"] = y["name"]
            g.attrs["n0"] = np.int64(y["n0"])
            g.attrs["n1"] = np.int64(y["n1"])
            g.attrs["compressible"] = np.int64(1 if y["compressible"] else 0)
            if y["compressible"]:
                g.create_dataset("k", data=np.array(y["k"], dtype=np.int64))
                g.create_dataset("jmax", data=np.array(y["jmax"], dtype=np.int64))
                g.create_dataset("err", data=np.concatenate(y["err"]))
                g.create_dataset("sv", data=y["sv"])
    return budgets, total, fixed


def layer_entry(name, W, c, kh, kw, compressible, kcap, criterion):
    n1, n0 = W.shape
    y = {"name": name, "n0": n0, "n1": n1, "compressible": compressible, "c": c, "kh": kh, "kw": kw}
    if compressible:
        ks = divisors(c, kcap)
        y["k"] = ks
        y["jmax"], y["err"], y["sv"] = tables(W.astype(np.float64), c, kh, kw, ks, criterion)
    return y


def dump_layers(path, kcap, criterion):
    """The layers of a shipped lrlab.layers dump: W [N1, c kh kw]; c from the kernel."""
    out = []
    with h5py.File(path, "r") as f:
        for n in sorted(f["layers"]):
            g = f["layers"][n]
            W = g["W"][()]
            kh, kw = (int(x) for x in g.attrs["kernel"]) if "kernel" in g.attrs else (1, 1)
            c = W.shape[1] // (kh * kw)
            out.append(layer_entry(f"{n}:{g.attrs.get('module', n)}", W, c, kh, kw, True, kcap, criterion))
    return out


def resnet18_layers(kcap, criterion, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [("conv1", 3, 64, 7, False)]
    cin = 64
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            first_in = cin if block == 0 else cout
            shapes.append((f"layer{stage}.{block}.conv1", first_in, cout, 3, True))
            shapes.append((f"layer{stage}.{block}.conv2", cout, cout, 3, True))
            if block == 0 and stage > 1:
                shapes.append((f"layer{stage}.{block}.downsample", cin, cout, 1, True))
        cin = cout
    shapes.append(("fc", 512, 1000, 1, True))
    out = []
    for name, c, f, kk, comp in shapes:
        n0 = c * kk * kk
        W = rng.standard_normal((f, n0)) * np.sqrt(2.0 / n0)      # Kaiming-normal scale
        out.append(layer_entry(name, W, c, kk, kk, comp, kcap, criterion))
    assert sum(y["compressible"] for y in out) == 20
    return out


def read_layers_summary(f):
    """The layer list of an input file (shapes, k lists, jmax) without the tables."""
    out = []
    for l in range(int(f.attrs["nlayers"])):
        g = f[f"layers/{l:03d}"]
        y = {"name": g.attrs["name"], "n0": int(g.attrs["n0"]), "n1": int(g.attrs["n1"]),
             "compressible": bool(g.attrs["compressible"]), "c": None, "kh": None}
        if y["compressible"]:
            y["k"] = [int(x) for x in g["k"][()]]
            y["jmax"] = [int(x) for x in g["jmax"][()]]
        out.append(y)
    return out


def set_summary(res, name, layers, total, fixed, budgets, seconds, reused):
    entries = sum(sum(j + 1 for j in y["jmax"]) for y in layers if y["compressible"])
    res["sets"][name] = {
        "layers": [{"name": y["name"], "n0": y["n0"], "n1": y["n1"], "c": y.get("c"), "kh": y.get("kh"),
                    "compressible": y["compressible"], "k": y.get("k", [])} for y in layers],
        "params_total": total, "params_fixed": fixed, "budgets": budgets, "table_entries": entries,
        "table_build_seconds": seconds, "input_reused": reused}
    print(f"{name}: {len(layers)} layers ({sum(y['compressible'] for y in layers)} compressible), "
          f"{total} parameters, {entries} table entries; budgets {budgets}"
          f"{' (input reused)' if reused else f' (tables built in {seconds:.1f} s)'}", flush=True)


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"alds_bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return json.loads(p.stdout)


def compare(a, b):
    """The keys where the two programs' outputs differ, per budget and method."""
    diffs = []
    for ra, rb in zip(a["runs"], b["runs"]):
        if ra["budget"] != rb["budget"]:
            diffs.append((ra["budget"], "budget", ra["budget"], rb["budget"]))
        for m in METHODS:
            ma, mb = ra["methods"][m], rb["methods"][m]
            for k in SAME_KEYS:
                if (k in ma) != (k in mb):
                    diffs.append((ra["budget"], m, k, "missing on one side"))
                elif k in ma and k != "error" and ma[k] != mb[k]:
                    diffs.append((ra["budget"], m, k, f"{ma[k]} vs {mb[k]}"))
    if len(a["runs"]) != len(b["runs"]):
        diffs.append(("runs", len(a["runs"]), len(b["runs"])))
    return diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driver", default="./bench/alds_bench", help="the C program (bench/alds_bench)")
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--out", default="bench/alds_results.json")
    ap.add_argument("--runs", type=int, default=5, help="interleaved processes of each program per set")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per (budget, method) in each process")
    ap.add_argument("--kcap", type=int, default=64, help="largest allowed k (the divisors of c up to it)")
    ap.add_argument("--criterion", default="proxy", choices=("proxy", "l2", "sqrtk"))
    ap.add_argument("--keeps", default="0.05,0.1,0.2,0.3,0.5")
    ap.add_argument("--sets", default="digits_mlp,fashion_cnn,resnet18")
    ap.add_argument("--keep-inputs", default=None, help="directory to keep the input files in")
    a = ap.parse_args()
    if a.runs < 5 or a.repeats < 1:
        print("alds_bench: note: fewer than 5 runs is not the benchmark's protocol", file=sys.stderr)
    keeps = [float(x) for x in a.keeps.split(",")]
    opts = {"jmin": 1, "nseeds": 15, "niter": 4, "seed": 1, "rho_start": 0.5, "rho_step": 0.2,
            "rho_lowerings": 5, "fixed_k": [3, 5, 7, 9]}
    ref = os.path.join(a.srcdir, "bench", "alds_ref.py")
    work = a.keep_inputs or tempfile.mkdtemp(prefix="lrlab-alds-bench-")
    os.makedirs(work, exist_ok=True)
    res = {"machine": machine_record(np.__version__),
           "protocol": {"runs": a.runs, "repeats": a.repeats, "kcap": a.kcap, "criterion": a.criterion,
                        "keeps": keeps, "opts": opts,
                        "environment": blas_environment()},
           "sets": {}}
    inputs = {}
    for name in a.sets.split(","):
        t0 = time.perf_counter()
        path = os.path.join(work, f"{name}.h5")
        # What the input depends on: a kept input with the same provenance is reused.
        provenance = json.dumps({"set": name, "kcap": a.kcap, "criterion": a.criterion, "keeps": keeps,
                                 "opts": opts, "srcdir_data": name != "resnet18", "version": 1}, sort_keys=True)
        if a.keep_inputs and os.path.exists(path):
            with h5py.File(path, "r") as f:
                same = f.attrs.get("provenance") == provenance
                if same:
                    layers = read_layers_summary(f)
                    budgets = [int(x) for x in f["budgets"][()]]
            if same:
                inputs[name] = path
                total = sum(y["n0"] * y["n1"] for y in layers)
                fixed = sum(y["n0"] * y["n1"] for y in layers if not y["compressible"])
                set_summary(res, name, layers, total, fixed, budgets, time.perf_counter() - t0, reused=True)
                continue
        if name == "digits_mlp":
            layers = dump_layers(os.path.join(a.srcdir, "data", "digits_mlp.h5"), a.kcap, a.criterion)
        elif name == "fashion_cnn":
            layers = dump_layers(os.path.join(a.srcdir, "data", "fashion_cnn.h5"), a.kcap, a.criterion)
        elif name == "resnet18":
            layers = resnet18_layers(a.kcap, a.criterion)
        else:
            sys.exit(f"alds_bench: unknown set {name}")
        budgets, total, fixed = write_input(path, name, layers, keeps, opts, a.criterion, provenance)
        inputs[name] = path
        set_summary(res, name, layers, total, fixed, budgets, time.perf_counter() - t0, reused=False)

    outs = {name: {"c": [], "numpy": []} for name in inputs}
    for r in range(a.runs):
        for name, path in inputs.items():
            outs[name]["c"].append(run_json([a.driver, path, str(a.repeats)]))
            outs[name]["numpy"].append(run_json(["/usr/bin/python3", ref, path, "--repeats", str(a.repeats)]))
        print(f"run {r + 1}/{a.runs} done (load average {os.getloadavg()[0]:.2f})", flush=True)

    all_same = True
    ratios_alds = []
    for name in inputs:
        c_runs, n_runs = outs[name]["c"], outs[name]["numpy"]
        diffs = compare(c_runs[0], n_runs[0])
        # Each program agrees with itself across runs too (the timings aside).
        for x in c_runs[1:]:
            diffs += [("c run", d) for d in compare(c_runs[0], x)]
        for x in n_runs[1:]:
            diffs += [("numpy run", d) for d in compare(n_runs[0], x)]
        same = not diffs
        all_same &= same
        per = []
        for bi, b in enumerate(res["sets"][name]["budgets"]):
            row = {"budget": b, "keep": keeps[bi]}
            for m in METHODS:
                mc = c_runs[0]["runs"][bi]["methods"][m]
                if "error" in mc:
                    row[m] = {"error": mc["error"]}
                    continue
                tc = statistics.median(statistics.median(x["runs"][bi]["methods"][m]["seconds"]) for x in c_runs)
                tn = statistics.median(statistics.median(x["runs"][bi]["methods"][m]["seconds"]) for x in n_runs)
                row[m] = {"c_seconds_median": tc, "numpy_seconds_median": tn, "ratio": tn / tc,
                          "objective": mc["objective"], "params": mc["params"], "budget_left": mc["budget_left"]}
                if m == "alds":
                    row[m]["winner"] = mc["winner"]
                    row[m]["k"] = mc["k"]
                    row[m]["j"] = mc["j"]
                    ratios_alds.append(tn / tc)
                if m == "uniform":
                    row[m]["j_common"] = mc["j_common"]
                if m == "energy":
                    row[m]["eta"] = mc["eta"]
            per.append(row)
        res["sets"][name]["results"] = per
        res["sets"][name]["setup_seconds_median"] = {
            "c": statistics.median(statistics.median(x["plan_seconds"]) for x in c_runs),
            "numpy": statistics.median(statistics.median(x["plan_seconds"]) for x in n_runs)}
        res["sets"][name]["same_allocation"] = same
        res["sets"][name]["differences"] = [str(d) for d in diffs[:50]]
        ok = [r["alds"] for r in per if "ratio" in r["alds"]]
        if ok:
            res["sets"][name]["alds_summary"] = {
                "c_seconds_median_over_budgets": statistics.median(r["c_seconds_median"] for r in ok),
                "numpy_seconds_median_over_budgets": statistics.median(r["numpy_seconds_median"] for r in ok),
                "ratio_min": min(r["ratio"] for r in ok), "ratio_median": statistics.median(r["ratio"] for r in ok)}
    res["summary"] = {"same_allocation_everywhere": all_same,
                      "alds_ratio_min": min(ratios_alds) if ratios_alds else None,
                      "alds_ratio_median": statistics.median(ratios_alds) if ratios_alds else None,
                      "load_average_at_end": os.getloadavg()}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)

    print()
    print(f"machine: {res['machine']['cpu']}, {res['machine']['cores']} cores; criterion {a.criterion}, "
          f"k <= {a.kcap}; median of {a.runs} interleaved runs x median of {a.repeats} calls")
    print(f"{'set':12s} {'keep':>5s} {'budget':>9s} {'method':8s} {'C':>11s} {'numpy':>11s} {'ratio':>7s} "
          f"{'objective':>11s} {'params':>9s}")
    for name in inputs:
        for row in res["sets"][name]["results"]:
            for m in METHODS:
                x = row[m]
                if "error" in x:
                    print(f"{name:12s} {row['keep']:5.2f} {row['budget']:9d} {m:8s} refused: {x['error']}")
                    continue
                print(f"{name:12s} {row['keep']:5.2f} {row['budget']:9d} {m:8s} {x['c_seconds_median'] * 1e3:9.3f}ms "
                      f"{x['numpy_seconds_median'] * 1e3:9.3f}ms {x['ratio']:6.1f}x {x['objective']:11.5g} "
                      f"{x['params']:9d}")
        su = res["sets"][name]["setup_seconds_median"]
        print(f"{name:12s} setup alone (included above): C {su['c'] * 1e3:.3f}ms (lr_alds_plan_alloc + free), "
              f"numpy {su['numpy'] * 1e3:.3f}ms (lookup tensor)")
        print(f"{name:12s} same allocation (k, j, objective, trace, every method): "
              f"{'yes' if res['sets'][name]['same_allocation'] else 'NO'}")
    s = res["summary"]
    if s["alds_ratio_min"] is not None:
        print(f"ALDS numpy / C: min {s['alds_ratio_min']:.1f}x, median {s['alds_ratio_median']:.1f}x over "
              f"{len(ratios_alds)} (set, budget) pairs")
    print(f"wrote {a.out}")
    if not all_same:
        for name in inputs:
            for d in res["sets"][name]["differences"][:10]:
                print(f"  {name}: {d}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
