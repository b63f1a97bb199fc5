#!/usr/bin/python3
"""bench/train_bench.py: lrlab's training engine (`lrlab train`, src/nn/train.h) against the
same model in PyTorch on this machine's CPU, in the same run.

  accuracy  the same MLP, optimiser, initialisation scheme (nn.Linear's), batch size,
            epochs and data-order semantics (a fresh seeded shuffle per epoch, the last
            batch shorter) on digits (data/digits_mlp.h5's /inputs) and Fashion-MNIST;
            several seeds each; test accuracy mean and sd for both.  The seeds are not
            the same random numbers (lrlab draws from GSL, PyTorch from its own
            generator): what is compared is the distribution over seeds.
  epoch     the wall time of one training epoch of the Fashion-MNIST MLP (784-256-128-10,
            Adam, batch 128) in lrlab (float64) and PyTorch (float64 and float32), the
            runs interleaved, median of --repeats; the ratio lrlab / PyTorch float64.

Both get the same thread count (--threads: OMP_NUM_THREADS and OPENBLAS_NUM_THREADS for
lrlab, torch.set_num_threads for PyTorch).  Writes JSON (--out) and prints a summary.

  /usr/bin/python3 bench/train_bench.py --lrlab ./lrlab --srcdir . [--mode accuracy|epoch|both]
"""
import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_machine import machine_record  # noqa: E402

FASHION = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(which, srcdir, n_train=0):
    if which == "digits":
        with h5py.File(os.path.join(srcdir, "data", "digits_mlp.h5"), "r") as f:
            x = f["inputs/x"][()].astype(np.float64).reshape(f["inputs/x"].shape[0], -1)
            y = f["inputs/labels"][()].astype(np.int64)
            nc = int(f["inputs"].attrs["n_calib"])
        return x[:nc], y[:nc], x[nc:], y[nc:]
    xtr = idx(os.path.join(FASHION, "train-images-idx3-ubyte.gz")).reshape(-1, 784) / 255.0
    ytr = idx(os.path.join(FASHION, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xte = idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784) / 255.0
    yte = idx(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    if n_train:
        xtr, ytr = xtr[:n_train], ytr[:n_train]
    return xtr, ytr, xte, yte


def torch_train(data, hidden, epochs, batch, lr, seed, dtype, time_epochs=False):
    """PyTorch's side: nn.Sequential of Linear + ReLU, default init, Adam, a seeded
    randperm per epoch; returns (test accuracy, per-epoch seconds)."""
    xtr, ytr, xte, yte = data
    torch.manual_seed(seed)
    dims = [xtr.shape[1]] + hidden + [int(max(ytr.max(), yte.max())) + 1]
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    X = torch.tensor(xtr, dtype=dtype)
    Y = torch.tensor(ytr)
    g = torch.Generator().manual_seed(seed)
    secs = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(X.shape[0], generator=g)
        for s in range(0, X.shape[0], batch):
            i = perm[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[i]), Y[i])
            loss.backward()
            opt.step()
        secs.append(time.perf_counter() - t0)
    with torch.no_grad():
        pred = model(torch.tensor(xte, dtype=dtype)).argmax(1).numpy()
    return float((pred == yte).mean()), secs


EPOCH_RE = re.compile(r"^epoch (\d+): loss \S+, test accuracy (\S+), (\S+) s", re.M)


def lrlab_train(args, config, overrides):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "t.h5")
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
        p = subprocess.run([args.lrlab, "train", os.path.join(args.srcdir, config), "-o", out, "--force"] + overrides,
                           env=env, cwd=args.srcdir, capture_output=True, text=True)
        if p.returncode:
            sys.exit("lrlab train failed: " + p.stderr)
    ep = EPOCH_RE.findall(p.stdout)
    return float(ep[-1][1]), [float(e[2]) for e in ep]


def mean_sd(v):
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def accuracy(args):
    res = {}
    settings = {
        "digits": dict(config="configs/train/digits_mlp.cfg", hidden=[256, 128], epochs=args.digits_epochs, batch=64),
        "fashion": dict(config="configs/train/fashion_mlp.cfg", hidden=[256, 128], epochs=args.fashion_epochs,
                        batch=128),
    }
    for name, st in settings.items():
        data = load(name, args.srcdir)
        acc_l, acc_t = [], []
        for seed in range(1, args.seeds + 1):
            ov = ["seed=%d" % seed, "train.epochs=%d" % st["epochs"], "train.batch=%d" % st["batch"],
                  "dump.calib_rows=64"]
            a, _ = lrlab_train(args, st["config"], ov)
            acc_l.append(a)
            t, _ = torch_train(data, st["hidden"], st["epochs"], st["batch"], 1e-3, seed, torch.float64)
            acc_t.append(t)
            print("%s seed %d: lrlab %.4f, PyTorch %.4f" % (name, seed, a, t), flush=True)
        ml, sl = mean_sd(acc_l)
        mt, stt = mean_sd(acc_t)
        res[name] = dict(epochs=st["epochs"], batch=st["batch"], seeds=args.seeds, lrlab=acc_l, torch=acc_t,
                         lrlab_mean=ml, lrlab_sd=sl, torch_mean=mt, torch_sd=stt, diff_pp=100 * (ml - mt))
        print("%s: lrlab %.2f +- %.2f %%, PyTorch %.2f +- %.2f %% (float64), difference %+.2f pp" %
              (name, 100 * ml, 100 * sl, 100 * mt, 100 * stt, 100 * (ml - mt)), flush=True)
    return res


def epoch(args):
    data = load("fashion", args.srcdir)
    t_l, t_64, t_32 = [], [], []
    for r in range(args.repeats):
        _, s = lrlab_train(args, "configs/train/fashion_mlp.cfg",
                           ["seed=%d" % (r + 1), "train.epochs=1", "train.batch=128", "dump.calib_rows=64"])
        t_l.append(s[0])
        t_64.append(torch_train(data, [256, 128], 1, 128, 1e-3, r + 1, torch.float64)[1][0])
        t_32.append(torch_train(data, [256, 128], 1, 128, 1e-3, r + 1, torch.float32)[1][0])
        print("repeat %d: lrlab %.3f s, PyTorch float64 %.3f s, float32 %.3f s" % (r + 1, t_l[-1], t_64[-1], t_32[-1]),
              flush=True)
    ml, m64, m32 = statistics.median(t_l), statistics.median(t_64), statistics.median(t_32)
    print("one Fashion-MNIST epoch (784-256-128-10, Adam, batch 128, %d thread(s)), median of %d: lrlab %.3f s, "
          "PyTorch float64 %.3f s (ratio %.2f), float32 %.3f s (ratio %.2f)" %
          (args.threads, args.repeats, ml, m64, ml / m64, m32, ml / m32))
    return dict(lrlab=t_l, torch64=t_64, torch32=t_32, median_lrlab=ml, median_torch64=m64, median_torch32=m32,
                ratio64=ml / m64, ratio32=ml / m32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lrlab", default="./lrlab")
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--mode", default="both", choices=["accuracy", "epoch", "both"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--digits-epochs", type=int, default=60)
    ap.add_argument("--fashion-epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="bench/train_results.json")
    args = ap.parse_args()
    args.lrlab = os.path.abspath(args.lrlab)
    args.srcdir = os.path.abspath(args.srcdir)
    torch.set_num_threads(args.threads)
    out = dict(machine=machine_record(np.__version__), torch=torch.__version__, threads=args.threads)
    if args.mode in ("accuracy", "both"):
        out["accuracy"] = accuracy(args)
    if args.mode in ("epoch", "both"):
        out["epoch"] = epoch(args)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
