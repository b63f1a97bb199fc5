#!/usr/bin/python3
"""End-to-end test of tools/dump_torch.py (issue 14), run by tests/run_e2e.sh when Debian's
/usr/bin/python3 has torch, torchvision and h5py.  Prints PASS:/FAIL: lines for run_e2e.sh.

  - torchvision ResNet-18 and MobileNetV2 (random weights, 2 x 3 x 32 x 32 inputs) and a
    transformer block (nn.TransformerEncoderLayer, d_model 64, 4 heads, batch_first) and a
    small encoder (embedding, 2 encoder layers, a cross-attention with kdim = vdim = 32, an
    F.linear with a parameter of its own): the layers dumped are, in order, the linear and
    conv modules (and attention projections) the model calls, counted independently by
    torch.fx (ResNet, MobileNetV2), by counting hooks, and by hand from the architecture;
    lrlab's reader accepts every dump (tests/checkdump);
  - the transformer block's dumped X of each layer is what fed it: recomputed from the
    block's input through the attention and the norms from the dumped Y of the layer before;
    the block's output rebuilt from the dump equals PyTorch's fast-path output;
  - a GELU MLP dumped from the command line with labels (--data, a dataset of (x, y)) and a
    LayerNorm MLP (--inputs x.npy --labels y.npy): lrlab's forward pass (tests/checkdump
    --logits) gives PyTorch's argmax on every input and its logits to 1e-6, and
    `lrlab run configs/real_custom.cfg` runs the network stage with PyTorch's accuracy.

Usage: torch_dumps.py --lrlab LRLAB --checkdump CHECKDUMP --srcdir SRCDIR --work DIR"""
import argparse
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

T0 = time.time()
ARGS = None
FAILED = []


def ok(msg):
    print("PASS: " + msg, flush=True)


def bad(msg):
    FAILED.append(msg)
    print("FAIL: " + msg, flush=True)


def check(cond, msg):
    (ok if cond else bad)(msg)
    return cond


def run(cmd):
    """A command's stdout; a failure is reported with its stderr and returns None."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        bad("%s: exit %d: %s" % (" ".join(os.path.basename(c) for c in cmd[:2]), p.returncode, p.stderr.strip()[-600:]))
        return None
    return p.stdout


def checkdump(path, logits=False):
    """What lrlab's reader makes of the dump: layer lines, the summary, logits."""
    out = run([ARGS.checkdump] + (["--logits"] if logits else []) + [path])
    if out is None:
        return None
    res = {"layers": [], "logits": {}}
    for line in out.splitlines():
        w = line.split()
        if w[0] == "layer":
            res["layers"].append(dict(kind=w[2], module=w[3], groups=int(w[11]), resid=float(w[13])))
        elif w[0] == "dump":
            res["summary"] = dict(zip(w[2::2], w[3::2]))
        elif w[0] == "forward":
            res["forward"] = dict(zip(w[1::2], map(int, w[2::2])))
        elif w[0] == "logits":
            res["logits"][int(w[1])] = (int(w[2]), np.array([float(v) for v in w[3:]]))
    return res


def dump_in_process(argv):
    """tools/dump_torch.py's command line, run in this process (one torch import)."""
    import dump_torch
    try:
        dump_torch.main(argv)
        return True
    except SystemExit as e:
        bad("dump_torch %s: %s" % (" ".join(argv), e))
        return False


# ---- independent counts of the layers a model calls ----

def hook_count(model, x):
    """The linear and conv modules called in one forward pass, in call order, by forward
    pre-hooks; an nn.MultiheadAttention call counts its four projections (q, k, v, out),
    and F.linear calls with a parameter of the model outside those modules are counted by
    a wrapper of torch.nn.functional.linear."""
    names = {id(m): n for n, m in model.named_modules()}
    params = {p.data_ptr(): n for n, p in model.named_parameters()}
    calls, depth = [], [0]

    def pre(mod, inp):  # a forward pre-hook returns None, or it replaces the input
        calls.extend([names[id(mod)] + s for s in (".q_proj", ".k_proj", ".v_proj", ".out_proj")]
                     if isinstance(mod, nn.MultiheadAttention) else [names[id(mod)]])
        depth[0] += 1

    def post(mod, inp, out):
        depth[0] -= 1

    hs = []
    for n, m in model.named_modules():
        if isinstance(m, (nn.MultiheadAttention, nn.Linear, nn.Conv2d)) and not any(
                isinstance(p, nn.MultiheadAttention) and p.out_proj is m for p in model.modules()):
            hs += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    orig = F.linear

    def linear(inp, w, b=None):
        if depth[0] == 0 and w.data_ptr() in params:
            calls.append(params[w.data_ptr()])
        return orig(inp, w, b)
    F.linear = linear
    try:
        with torch.enable_grad():
            model(x)
    finally:
        F.linear = orig
        for h in hs:
            h.remove()
    return calls


def fx_count(model):
    """The Linear and Conv2d call_module nodes of torch.fx's trace, in graph order."""
    gm = torch.fx.symbolic_trace(model)
    mods = dict(gm.named_modules())
    return [n.target for n in gm.graph.nodes
            if n.op == "call_module" and isinstance(mods[n.target], (nn.Linear, nn.Conv2d))]


def dumped(path):
    with h5py.File(path, "r") as f:
        L = f["layers"]
        mods = [L[k].attrs["module"] for k in sorted(L)]
        groups = [int(L[k].attrs.get("groups", 1)) for k in sorted(L)]
        skipped = [(r["module"].decode(), r["type"].decode(), r["reason"].decode()) for r in f["skipped"][()]] \
            if "skipped" in f else []
        return mods, groups, skipped, f.attrs["network"]


def test_torchvision(name, expect, work):
    import torchvision.models as tvm
    path = os.path.join(work, name + ".h5")
    if not dump_in_process(["--model", "torchvision:" + name, "--input-shape", "2,3,32,32", "--max-rows", "64",
                            "--gzip", "1", "-o", path]):
        return
    torch.manual_seed(0)
    model = getattr(tvm, name)(weights=None).eval().double()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)).double()
    mods, groups, skipped, _ = dumped(path)
    byhook, byfx = hook_count(model, x), fx_count(model)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    nlin = sum(isinstance(m, nn.Linear) for m in model.modules())
    ndw = sum(c.groups > 1 and c.groups == c.in_channels == c.out_channels for c in convs)
    hand = expect["conv"] + expect["linear"]
    check(len(mods) == len(byhook) == len(byfx) == hand and mods == byhook == byfx and
          (len(convs), nlin, ndw) == (expect["conv"], expect["linear"], expect["depthwise"]),
          "%s: %d layers dumped = %d module calls counted by hooks = %d call_module nodes of torch.fx = %d by "
          "hand (%d conv2d of which %d depthwise, %d linear), same names in the same order" %
          (name, len(mods), len(byhook), len(byfx), hand, expect["conv"], expect["depthwise"], expect["linear"]))
    # Depthwise convs: one layer each with groups = C_in = C_out, W block-diagonal.
    check(sum(g > 1 for g in groups) == expect["depthwise"],
          "%s: %d layers with groups > 1 in the dump" % (name, sum(g > 1 for g in groups)))
    nbn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    check(sum(t == "BatchNorm2d" for _, t, _ in skipped) == nbn and all(r for _, _, r in skipped),
          "%s: /skipped lists its %d BatchNorm2d and %d parameterless modules, each with a reason" %
          (name, nbn, sum(t != "BatchNorm2d" for _, t, _ in skipped)))
    res = checkdump(path)
    if res:
        s = res["summary"]
        check(int(s["layers"]) == hand and int(s["grouped"]) == expect["depthwise"],
              "%s: lrlab's reader accepts the dump: %s layers (%s conv2d, %s grouped, %s linear), "
              "||Y - X W^T - b|| / ||Y|| <= %s (float32 storage)" %
              (name, s["layers"], s["conv2d"], s["grouped"], s["linear"], s["worst"]))


def rel(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def test_transformer(work):
    sys.path.insert(0, os.path.join(ARGS.srcdir, "tests"))
    import torch_models
    spec = os.path.join(ARGS.srcdir, "tests", "torch_models.py")
    xpath, path = os.path.join(work, "tx.pt"), os.path.join(work, "block.h5")
    x = torch.randn(4, 8, 64, generator=torch.Generator().manual_seed(3))
    torch.save(x, xpath)
    if not dump_in_process(["--model", spec + ":transformer_block", "--inputs", xpath, "--max-rows", "0", "-o", path]):
        return
    block = torch_models.transformer_block()
    # PyTorch's fast path bypasses the hooks in eval mode without autograd:
    seen = []
    h = block.linear1.register_forward_hook(lambda *a: seen.append(1))
    with torch.no_grad():
        fast = block(x)
    h.remove()
    calls = hook_count(block.double(), x.double())
    block.float()
    mods, _, skipped, _ = dumped(path)
    want = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "linear1", "linear2"]
    check(not seen and mods == calls == want,
          "transformer block: the fast path skips the hooks under no_grad (linear1 seen %d times); the dump has "
          "%d layers = %d counted by hooks = 6 by hand (q, k, v, out projections, linear1, linear2)" %
          (len(seen), len(mods), len(calls)))
    check(sorted(m for m, _, _ in skipped) == ["dropout", "dropout1", "dropout2", "norm1", "norm2"],
          "transformer block: /skipped: %s" % ", ".join("%s (%s)" % (m, t) for m, t, _ in skipped))
    # X of each layer is what fed it: rebuild the block from the dumped Y's.
    with h5py.File(path, "r") as f:
        g = {f["layers"][k].attrs["module"]: f["layers"][k] for k in f["layers"]}
        X = {m: torch.tensor(g[m]["X"][()], dtype=torch.float64) for m in want}
        Y = {m: torch.tensor(g[m]["Y"][()], dtype=torch.float64) for m in want}
    with torch.no_grad():
        rebuild_block(block, x, X, Y, fast, want)


def rebuild_block(block, x, X, Y, fast, want):
    xd = x.double()
    N, L, E, H = 4, 8, 64, 4
    seq = xd.transpose(0, 1).reshape(-1, E)  # F.multi_head_attention_forward's rows: l * N + n
    q, k, v = (Y["self_attn.%s_proj" % p].reshape(L, N * H, E // H).transpose(0, 1) for p in "qkv")
    att = torch.softmax(q @ k.transpose(1, 2) / (E // H) ** 0.5, -1) @ v  # [N H, L, d]
    att = att.transpose(0, 1).reshape(L * N, E)
    a_out = Y["self_attn.out_proj"].reshape(L, N, E).transpose(0, 1)
    x1 = F.layer_norm(xd + a_out, (E,), block.norm1.weight.double(), block.norm1.bias.double(), block.norm1.eps)
    hid = F.gelu(Y["linear1"])
    y = F.layer_norm(x1 + Y["linear2"].reshape(N, L, E), (E,), block.norm2.weight.double(),
                     block.norm2.bias.double(), block.norm2.eps)
    errs = [rel(X["self_attn.%s_proj" % p].numpy(), seq.numpy()) for p in "qkv"]
    errs += [rel(X["self_attn.out_proj"].numpy(), att.numpy()), rel(X["linear1"].numpy(), x1.reshape(-1, E).numpy()),
             rel(X["linear2"].numpy(), hid.numpy())]
    e_out = rel(y.numpy(), fast.double().numpy())
    check(max(errs[:3]) == 0 and max(errs) < 1e-6 and e_out < 1e-5,
          "transformer block: each dumped X is what fed its layer (q, k, v: the input exactly; out_proj, linear1, "
          "linear2 rebuilt from the dumped Y before them to %.1e); the block rebuilt from the dump = PyTorch's "
          "fast-path output to %.1e" % (max(errs), e_out))


def test_encoder(work):
    spec = os.path.join(ARGS.srcdir, "tests", "torch_models.py")
    import torch_models
    tpath, path = os.path.join(work, "tok.pt"), os.path.join(work, "encoder.h5")
    tok = torch.randint(0, 50, (3, 7), generator=torch.Generator().manual_seed(3))
    torch.save(tok, tpath)
    if not dump_in_process(["--model", spec + ":tiny_encoder", "--inputs", tpath, "--max-rows", "0", "-o", path]):
        return
    calls = hook_count(torch_models.tiny_encoder().double(), tok)
    mods, _, skipped, _ = dumped(path)
    sk = {m: r for m, _, r in skipped}
    check(mods == calls and len(mods) == 18 and "embed" in sk and "unused" in sk and "(model)" in sk and
          "memory" in sk["(model)"],
          "small encoder: %d layers dumped = %d counted = 18 by hand (2 x 6 in the encoder, 4 of the cross-attention "
          "with kdim 32, proj_w through F.linear, head); /skipped names embed (%s), unused (%s), the model's own "
          "memory" % (len(mods), len(calls), sk.get("embed", "-")[:28], sk.get("unused", "-")))
    res = checkdump(path)
    if res:
        check(int(res["summary"]["layers"]) == 18, "small encoder: lrlab's reader accepts the dump (worst residual %s)"
              % res["summary"]["worst"])


def test_mlp(name, work, cli):
    """An MLP dumped with labels: lrlab's forward pass and network stage against PyTorch."""
    spec = os.path.join(ARGS.srcdir, "tests", "torch_models.py")
    sys.path.insert(0, os.path.join(ARGS.srcdir, "tests"))
    import torch_models
    path = os.path.join(work, name + ".h5")
    data = torch_models.mlp_data()
    x = torch.stack([s[0] for s in data])
    y = torch.tensor([s[1] for s in data])
    if cli:  # from the command line, with the dataset callable
        tool = os.path.join(ARGS.srcdir, "tools", "dump_torch.py")
        if run(["/usr/bin/python3", tool, "--model", spec + ":" + name, "--data", spec + ":mlp_data",
                "--n-calib", "256", "--n-test", "512", "-o", path]) is None:
            return
    else:  # with files of inputs and labels
        np.save(os.path.join(work, "x.npy"), x.numpy())
        np.save(os.path.join(work, "y.npy"), y.numpy())
        if not dump_in_process(["--model", spec + ":" + name, "--inputs", os.path.join(work, "x.npy"), "--labels",
                                os.path.join(work, "y.npy"), "--n-calib", "256", "-o", path]):
            return
    model = getattr(torch_models, name)()
    with torch.no_grad():
        lg32 = model(x)
        lg64 = model.double()(x.double())
    model.float()
    acc_torch = float((lg32[256:].argmax(1) == y[256:]).double().mean())
    with h5py.File(path, "r") as f:
        posts = [f["layers"][k].attrs["post"] for k in sorted(f["layers"])]
        net, recorded = f.attrs["network"], float(f["inputs"].attrs["test_accuracy"])
    res = checkdump(path, logits=True)
    if not res:
        return
    lg = np.stack([res["logits"][i][1] for i in range(len(x))])
    am = np.array([res["logits"][i][0] for i in range(len(x))])
    e32, e64 = float(np.abs(lg - lg32.numpy()).max() / np.abs(lg32.numpy()).max()), rel(lg, lg64.numpy())
    check(net == "sequential" and (am == lg32.argmax(1).numpy()).all() and e32 < 1e-6,
          "%s (post %s): lrlab's forward pass gives PyTorch's float32 argmax on all %d inputs and its logits to "
          "%.1e (largest deviation over the largest logit; %.1e from PyTorch's float64 logits, relative Frobenius)"
          % (name, " | ".join(repr(p) for p in posts), len(x), e32, e64))
    out = os.path.join(work, name + "_run.h5")
    cfg = os.path.join(ARGS.srcdir, "configs", "real_custom.cfg")
    if run([ARGS.lrlab, "run", cfg, "-o", out, "--quiet", "--force", 'dump="%s"' % path, "layers.ranks=[1,2,4,8]",
            "network.budgets=[0.25,0.5,1.0]"]) is None:
        return
    with h5py.File(out, "r") as f:
        dense, note = float(f.attrs["accuracy_dense"]), f.attrs["network_note"]
        note = note.decode() if isinstance(note, bytes) else note
    tab = run([ARGS.lrlab, "export", out, "accuracy", "compressor", "param_ratio", "accuracy"])
    rows = []
    for line in (tab or "").splitlines()[1:]:
        c, r, a = line.split("\t")
        rows.append("%s at ratio %.3f: %.4f" % (c, float(r), float(a)))
    check(dense == acc_torch == recorded and len(rows) > 0 and "dense accuracy" in note,
          "%s: lrlab's network stage ran: dense accuracy %.6f = PyTorch's %.6f (%d of 512 test samples) = the "
          "recorded %.6f; e.g. %s" % (name, dense, acc_torch, round(acc_torch * 512), recorded,
                                      "; ".join(r for r in rows if r.startswith("dd_rank"))))


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    for a in ("--lrlab", "--checkdump", "--srcdir", "--work"):
        ap.add_argument(a, required=True)
    ARGS = ap.parse_args()
    os.makedirs(ARGS.work, exist_ok=True)
    sys.path.insert(0, os.path.join(ARGS.srcdir, "tools"))
    sys.path.insert(0, os.path.join(ARGS.srcdir, "tests"))
    torch.set_num_threads(1)
    tests = [("gelu_mlp", lambda: test_mlp("gelu_mlp", ARGS.work, cli=True)),
             ("ln_mlp", lambda: test_mlp("ln_mlp", ARGS.work, cli=False)),
             ("resnet18", lambda: test_torchvision("resnet18", dict(conv=20, linear=1, depthwise=0), ARGS.work)),
             ("mobilenet_v2", lambda: test_torchvision("mobilenet_v2", dict(conv=52, linear=1, depthwise=17),
                                                       ARGS.work)),
             ("transformer block", lambda: test_transformer(ARGS.work)),
             ("encoder", lambda: test_encoder(ARGS.work))]
    times = []
    for name, t in tests:
        t0, c0 = time.time(), time.process_time()
        try:
            t()
        except Exception as e:  # a crash of one test is its failure, not the others'
            bad("%s: %s: %s" % (name, type(e).__name__, e))
        times.append("%s %.1f s (%.1f s CPU)" % (name, time.time() - t0, time.process_time() - c0))
    print("torch_dumps: " + ", ".join(times))
    cpu = time.process_time()
    print("torch_dumps: %d failed, %.1f s (%.1f s of CPU in this process)" % (len(FAILED), time.time() - T0, cpu))


if __name__ == "__main__":
    main()
