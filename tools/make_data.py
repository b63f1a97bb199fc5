#!/usr/bin/python3
"""Regenerate lrlab's shipped layer dumps (data/*.h5), deterministically.

  data/digits_mlp.h5      MLP 64-256-128-10 trained on scikit-learn's digits (8x8 images)
  data/fashion_cnn.h5     conv(1->8,3x3) relu maxpool2 conv(8->8,3x3) relu maxpool2
                          flatten linear(392->512) relu linear(512->10), Fashion-MNIST

Each file holds the layers (tools/dump_torch.py's format, data/README.md) computed on a
set of calibration images taken from the training set, and /inputs with those images
followed by held-out test images and all labels, so that lrlab can evaluate the network.

Determinism: torch.manual_seed, one thread, torch.use_deterministic_algorithms(True),
fixed numpy permutations.  Needs Debian's python3-torch, python3-sklearn, python3-h5py
and dataset-fashion-mnist (files in /usr/share/datasets/fashion-mnist).

    /usr/bin/python3 tools/make_data.py [--only digits|fashion] [--out data]
"""
import argparse
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dump_torch import dump_model  # noqa: E402

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def set_deterministic(seed):
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def train(model, x, y, epochs, batch, lr, seed):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    lossf = nn.CrossEntropyLoss()
    model.train()
    for ep in range(epochs):
        perm = torch.randperm(x.shape[0], generator=g)
        total = 0.0
        for i in range(0, x.shape[0], batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = lossf(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += float(loss) * idx.numel()
        print("  epoch %d: training loss %.4f" % (ep + 1, total / x.shape[0]), file=sys.stderr)
    model.eval()
    return model


def accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def make_digits(out):
    from sklearn.datasets import load_digits
    set_deterministic(0)
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = torch.tensor(np.random.default_rng(0).permutation(len(y)))
    test, tr = perm[:500], perm[500:]
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    train(model, x[tr], y[tr], epochs=60, batch=64, lr=1e-3, seed=1)
    acc = accuracy(model, x[test], y[test])
    print("digits: test accuracy %.4f on %d samples" % (acc, len(test)), file=sys.stderr)
    calib = tr  # the whole training split: 1297 rows (5x the 257 inputs of fc2)
    path = os.path.join(out, "digits_mlp.h5")
    dump_model(model, x[calib], path, max_rows=4096, seed=0, save_inputs=True,
               labels=y[calib], extra_inputs=x[test], extra_labels=y[test], test_accuracy=acc,
               attrs={"model": "MLP 64-256-128-10 (ReLU)",
                      "dataset": "scikit-learn digits (UCI Optical Recognition of Handwritten "
                                 "Digits), pixels / 16",
                      "training": "1297 samples, Adam lr 1e-3, 60 epochs, batch 64, seed 0/1",
                      "calibration": "the 1297 training samples",
                      "test_samples": np.int64(len(test)),
                      "test_accuracy": acc,
                      "generator": "tools/make_data.py"})
    return path, acc


def _idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def make_fashion(out, n_test):
    set_deterministic(0)
    xtr = torch.tensor(_idx(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz")) / 255.0,
                       dtype=torch.float32).unsqueeze(1)
    ytr = torch.tensor(_idx(os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    xte = torch.tensor(_idx(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz")) / 255.0,
                       dtype=torch.float32).unsqueeze(1)
    yte = torch.tensor(_idx(os.path.join(FASHION_DIR, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(392, 512), nn.ReLU(), nn.Linear(512, 10))
    train(model, xtr, ytr, epochs=4, batch=128, lr=1e-3, seed=1)
    acc_full = accuracy(model, xte, yte)
    test = torch.tensor(np.sort(np.random.default_rng(0).permutation(len(yte))[:n_test]))
    acc = accuracy(model, xte[test], yte[test])
    calib = torch.tensor(np.sort(np.random.default_rng(1).permutation(len(ytr))[:512]))
    print("fashion: test accuracy %.4f (full test set %.4f)" % (acc, acc_full), file=sys.stderr)
    path = os.path.join(out, "fashion_cnn.h5")
    dump_model(model, xtr[calib], path, max_rows=4096, seed=0, save_inputs=True,
               labels=ytr[calib], extra_inputs=xte[test], extra_labels=yte[test],
               test_accuracy=acc,
               attrs={"model": "conv(1->8,3x3,pad 1) relu maxpool2 conv(8->8,3x3,pad 1) relu "
                               "maxpool2 flatten linear(392->512) relu linear(512->10)",
                      "dataset": "Fashion-MNIST (Zalando Research), pixels / 255",
                      "training": "60000 training images, Adam lr 1e-3, 4 epochs, batch 128, "
                                  "seed 0/1",
                      "calibration": "512 training images (rng seed 1)",
                      "test_samples": np.int64(len(test)),
                      "test_accuracy": acc,
                      "test_accuracy_full": acc_full,
                      "generator": "tools/make_data.py"})
    return path, acc


def main():
    ap = argparse.ArgumentParser(description="regenerate lrlab's data/*.h5")
    ap.add_argument("--only", choices=["digits", "fashion"])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data"))
    ap.add_argument("--fashion-test", type=int, default=2000, help="test images stored")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.only in (None, "digits"):
        p, acc = make_digits(a.out)
        print("%s: test accuracy %.4f, %.2f MB" % (p, acc, os.path.getsize(p) / 1e6))
    if a.only in (None, "fashion"):
        p, acc = make_fashion(a.out, a.fashion_test)
        print("%s: test accuracy %.4f, %.2f MB" % (p, acc, os.path.getsize(p) / 1e6))


if __name__ == "__main__":
    main()
