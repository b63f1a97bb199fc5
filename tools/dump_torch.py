#!/usr/bin/python3
"""Dump the nn.Linear and nn.Conv2d layers of a PyTorch model in lrlab's layer-dump format.

The format (lrlab.layers, version 1) is described in data/README.md.  In short: one group
/layers/NNN per layer call in forward order, holding W [N1, N0] (PyTorch's weight layout,
conv weights flattened to [C_out, C_in*kh*kw]), optional b [N1], the layer's inputs X [m, N0]
(conv inputs as im2col rows, torch.nn.functional.unfold order) and its pre-activations
Y [m, N1]; optionally /inputs with the raw inputs and labels, so that a plain sequential
network can be evaluated end to end by lrlab.

The layers are captured with forward hooks, so any model works (ResNets, transformers'
nn.Linear, ...).  When the model is an nn.Sequential (possibly nested) of Linear, Conv2d,
ReLU, LeakyReLU, Tanh, Sigmoid, GELU (both forms), MaxPool2d, AvgPool2d, Flatten and Dropout
modules, the operations between layers are written too (attribute `post` of each layer, root attribute network = "sequential") and
lrlab's C forward pass can evaluate the whole network; otherwise network = "layers" and
lrlab analyses the layers one by one.

Command line (a torchvision model with random weights on random inputs, for example):

    /usr/bin/python3 tools/dump_torch.py --model torchvision:resnet18 \
        --input-shape 4,3,64,64 --seed 0 --max-rows 2048 -o /tmp/resnet18.h5

or a model of your own: --model path/to/file.py:factory (factory() returns the model) with
--inputs tensor.pt (a saved tensor).  As a library: dump_model(model, inputs, path, ...).
"""
import argparse
import importlib.util
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "lrlab.layers"
VERSION = 1
_PASS_THROUGH = (nn.Dropout,)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(int(x) for x in v)


def _flatten_sequential(model):
    """The leaf modules of a (nested) nn.Sequential in order, or None if it is not one."""
    if not isinstance(model, nn.Sequential):
        return None
    out = []
    for m in model.children():
        if isinstance(m, nn.Sequential):
            sub = _flatten_sequential(m)
            if sub is None:
                return None
            out.extend(sub)
        else:
            out.append(m)
    return out


def _post_op(m):
    """lrlab's spelling of a module between two layers, or None if unsupported.

    The activations are the registry of src/nn/activation.h; LeakyReLU's negative slope is
    written with repr(), which round-trips the double exactly through C's strtod."""
    if isinstance(m, nn.ReLU):
        return "relu"
    if isinstance(m, nn.LeakyReLU):
        return "leaky_relu(%r)" % float(m.negative_slope)
    if isinstance(m, nn.Tanh):
        return "tanh"
    if isinstance(m, nn.Sigmoid):
        return "sigmoid"
    if isinstance(m, nn.GELU):
        return {"none": "gelu", "tanh": "gelu_tanh"}.get(getattr(m, "approximate", "none"))
    if isinstance(m, nn.Flatten):
        return "flatten" if m.start_dim == 1 and m.end_dim == -1 else None
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        k, s, p = _pair(m.kernel_size), _pair(m.stride if m.stride is not None else m.kernel_size), _pair(m.padding)
        if k[0] != k[1] or s[0] != s[1] or p != (0, 0):
            return None
        if isinstance(m, nn.MaxPool2d) and (_pair(m.dilation) != (1, 1) or m.ceil_mode):
            return None
        if isinstance(m, nn.AvgPool2d) and m.ceil_mode:
            return None
        kind = "maxpool2d" if isinstance(m, nn.MaxPool2d) else "avgpool2d"
        return "%s(%d,%d)" % (kind, k[0], s[0])
    if isinstance(m, _PASS_THROUGH):
        return ""
    return None


def describe_sequential(model):
    """For a plain sequential network: the post ops of each Linear/Conv2d, else None."""
    leaves = _flatten_sequential(model)
    if leaves is None:
        return None
    posts, pre = [], []
    for m in leaves:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            posts.append([])
            continue
        op = _post_op(m)
        if op is None:
            return None
        if op == "":
            continue
        (posts[-1] if posts else pre).append(op)
    # Before the first layer only a flatten is allowed (the C pass keeps inputs flat).
    if any(op != "flatten" for op in pre) or not posts:
        return None
    return [",".join(p) for p in posts]


def _subsample(nrows, max_rows, rng):
    if max_rows <= 0 or nrows <= max_rows:
        return None
    return np.sort(rng.choice(nrows, size=max_rows, replace=False))


def dump_model(model, inputs, path, *, max_rows=4096, seed=0, dtype="float32",
               compute_double=True, save_inputs=False, labels=None, extra_inputs=None,
               extra_labels=None, test_accuracy=None, attrs=None, compression=True):
    """Run `model` on `inputs` and write every Linear/Conv2d call to `path`.

    max_rows: keep at most this many rows of X/Y per layer (deterministic subsample drawn
    with numpy's default_rng(seed + layer index); the kept row indices go to `rows`).
    compute_double: run the model in float64 for the dump, so that the stored Y equals
    X W^T + b up to the rounding of the stored dtype.
    save_inputs: write /inputs/x (the calibration inputs, then extra_inputs, e.g. a test
    set), /inputs/labels and n_calib = len(inputs).
    """
    model = model.eval()
    if compute_double:
        model = model.double()
        inputs = inputs.double()
        if extra_inputs is not None:
            extra_inputs = extra_inputs.double()
    store = np.float32 if dtype == "float32" else np.float64
    records, seen = [], set()

    def hook(mod, inp, out):
        if id(mod) in seen:
            print("dump_torch: %s called again; only its first call is dumped" % names[id(mod)],
                  file=sys.stderr)
            return
        seen.add(id(mod))
        x = inp[0].detach()
        rec = {"module": names[id(mod)], "W": mod.weight.detach().reshape(mod.weight.shape[0], -1)}
        rec["b"] = None if mod.bias is None else mod.bias.detach()
        if isinstance(mod, nn.Linear):
            rec["kind"] = "linear"
            rec["X"] = x.reshape(-1, x.shape[-1])
            rec["Y"] = out.detach().reshape(-1, out.shape[-1])
        else:
            k, s, p, d = _pair(mod.kernel_size), _pair(mod.stride), _pair(mod.padding), _pair(mod.dilation)
            cols = F.unfold(x, k, dilation=d, padding=p, stride=s)  # [n, C*kh*kw, L]
            rec.update(kind="conv2d", kernel=k, stride=s, padding=p, dilation=d,
                       in_shape=tuple(x.shape[1:]), out_shape=tuple(out.shape[1:]))
            rec["X"] = cols.transpose(1, 2).reshape(-1, cols.shape[1])
            rec["Y"] = out.detach().permute(0, 2, 3, 1).reshape(-1, out.shape[1])
        records.append(rec)

    names, handles = {}, []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            if mod.groups != 1 or mod.padding_mode != "zeros" or isinstance(mod.padding, str):
                print("dump_torch: skipping %s (grouped, non-zero padding mode or string padding "
                      "is not supported)" % name, file=sys.stderr)
                continue
        elif not isinstance(mod, nn.Linear):
            continue
        names[id(mod)] = name
        handles.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        model(inputs)
    for h in handles:
        h.remove()
    if not records:
        raise SystemExit("dump_torch: the model called no nn.Linear or nn.Conv2d layer")

    posts = describe_sequential(model)
    if posts is not None and len(posts) != len(records):
        posts = None
    kw = dict(compression="gzip", compression_opts=6, shuffle=True) if compression else {}
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = np.int64(VERSION)
        f.attrs["nlayers"] = np.int64(len(records))
        f.attrs["network"] = "sequential" if posts is not None else "layers"
        f.attrs["producer"] = "tools/dump_torch.py (torch %s)" % torch.__version__
        f.attrs["compute_dtype"] = "float64" if compute_double else str(inputs.dtype).replace("torch.", "")
        for key, val in (attrs or {}).items():
            f.attrs[key] = val
        layers = f.create_group("layers")
        for i, rec in enumerate(records):
            g = layers.create_group("%03d" % i)
            g.attrs["kind"] = rec["kind"]
            g.attrs["module"] = rec["module"]
            g.attrs["index"] = np.int64(i)
            if rec["kind"] == "conv2d":
                for key in ("kernel", "stride", "padding", "dilation", "in_shape", "out_shape"):
                    g.attrs[key] = np.asarray(rec[key], dtype=np.int64)
            if posts is not None:
                g.attrs["post"] = posts[i]
            g.create_dataset("W", data=rec["W"].cpu().numpy().astype(store), **kw)
            if rec["b"] is not None:
                g.create_dataset("b", data=rec["b"].cpu().numpy().astype(store), **kw)
            X, Y = rec["X"].cpu().numpy(), rec["Y"].cpu().numpy()
            rows = _subsample(X.shape[0], max_rows, np.random.default_rng(seed + i))
            if rows is not None:
                X, Y = X[rows], Y[rows]
                g.create_dataset("rows", data=rows.astype(np.int64))
            g.attrs["rows_total"] = np.int64(rec["X"].shape[0])
            chunk = (min(X.shape[0], 256), X.shape[1])
            g.create_dataset("X", data=X.astype(store), chunks=chunk, **kw)
            g.create_dataset("Y", data=Y.astype(store), chunks=(chunk[0], Y.shape[1]), **kw)
        if save_inputs:
            x = inputs if extra_inputs is None else torch.cat([inputs, extra_inputs])
            gi = f.create_group("inputs")
            gi.create_dataset("x", data=x.cpu().numpy().astype(store), **kw)
            gi.attrs["n_calib"] = np.int64(inputs.shape[0])
            if labels is not None:
                lab = labels if extra_labels is None else torch.cat([labels, extra_labels])
                gi.create_dataset("labels", data=lab.cpu().numpy().astype(np.int64), **kw)
            if test_accuracy is not None:
                gi.attrs["test_accuracy"] = float(test_accuracy)
    return len(records)


def _load_model(spec, seed):
    if spec.startswith("torchvision:"):
        import torchvision.models as tvm
        torch.manual_seed(seed)
        return getattr(tvm, spec.split(":", 1)[1])(weights=None)
    path, _, factory = spec.partition(":")
    sp = importlib.util.spec_from_file_location("lrlab_user_model", path)
    mod = importlib.util.module_from_spec(sp)
    sp.loader.exec_module(mod)
    torch.manual_seed(seed)
    return getattr(mod, factory or "model")()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True,
                    help="torchvision:NAME (random weights) or FILE.py:FACTORY")
    ap.add_argument("--inputs", help="a tensor saved with torch.save (default: random normal)")
    ap.add_argument("--input-shape", help="shape of the random inputs, e.g. 4,3,64,64")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-rows", type=int, default=4096)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--save-inputs", action="store_true")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    model = _load_model(a.model, a.seed)
    if a.inputs:
        x = torch.load(a.inputs)
    elif a.input_shape:
        g = torch.Generator().manual_seed(a.seed)
        x = torch.randn(*[int(s) for s in a.input_shape.split(",")], generator=g)
    else:
        raise SystemExit("dump_torch: give --inputs or --input-shape")
    n = dump_model(model, x, a.output, max_rows=a.max_rows, seed=a.seed, dtype=a.dtype,
                   save_inputs=a.save_inputs,
                   attrs={"model": a.model, "inputs": a.inputs or "randn(%s), seed %d" % (a.input_shape, a.seed)})
    print("dump_torch: %d layers -> %s" % (n, a.output))


if __name__ == "__main__":
    main()
