#!/usr/bin/python3
"""Dump the linear and conv2d layers of a PyTorch model in lrlab's layer-dump format.

The format (lrlab.layers, version 1) is described in data/README.md.  In short: one group
/layers/NNN per layer call in forward order, holding W [N1, N0] (PyTorch's weight layout,
conv weights flattened to [C_out, C_in*kh*kw]), optional b [N1], the layer's inputs X [m, N0]
(conv inputs as im2col rows, torch.nn.functional.unfold order) and its pre-activations
Y [m, N1]; optionally /inputs with the raw inputs and labels, so that a plain sequential
network can be evaluated end to end by lrlab; and /skipped, the modules that were not dumped
and why.

What is captured, in the order the model calls it:
  - every nn.Linear and nn.Conv2d call (forward hooks), grouped and depthwise convs included
    (one layer with a block-diagonal W, attribute groups; data/README.md says why);
  - the projections inside nn.MultiheadAttention, which never call nn.Linear.forward: its
    F.multi_head_attention_forward calls F.linear with in_proj_weight (or q/k/v_proj_weight)
    and out_proj.weight.  F.linear is wrapped while the model runs, so X is what really fed
    each projection; the packed in_proj_weight [3E, E] becomes three layers NAME.q_proj,
    NAME.k_proj, NAME.v_proj (one per projection: that is how they are compressed, as the
    separate q/k/v nn.Linear of most transformer code, and a cross-attention's q has
    another input than its k and v), and NAME.out_proj;
  - F.linear / F.conv2d calls made directly with a parameter of the model by a module of
    the user's own (named after that parameter).
nn.TransformerEncoderLayer and nn.MultiheadAttention have fused fast paths
(torch._transformer_encoder_layer_fwd, torch._native_multi_head_attention) that bypass
every hook.  On Debian's torch 1.13.1 there is no switch for them (torch.backends.mha
appears in later versions, and is used when present); they are taken only when autograd is
off or no argument requires a gradient, so the model runs with grad enabled and an input
that requires one.  A check after the run refuses a dump in which a transformer layer ran
without its projections being seen.

Every captured layer is checked before it is written: Y = X W^T + b in float64 against what
the model computed (relative Frobenius residual at most 1e-10 in float64, 1e-4 in float32),
and an attention's out_proj output against the attention module's own output.

When the model is an nn.Sequential (possibly nested) of Linear, Conv2d, ReLU, LeakyReLU,
Tanh, Sigmoid, GELU (both forms), LayerNorm (over the whole sample), MaxPool2d, AvgPool2d,
Flatten, Dropout and Identity modules, the operations between layers are written too
(attribute `post` of each layer, root attribute network = "sequential") and lrlab's C
forward pass can evaluate the whole network; otherwise network = "layers" (the root
attribute not_sequential_because says why) and lrlab analyses the layers one by one.

Command line (a torchvision model with random weights on random inputs, for example):

    /usr/bin/python3 tools/dump_torch.py --model torchvision:resnet18 \\
        --input-shape 4,3,64,64 --seed 0 --max-rows 2048 -o /tmp/resnet18.h5

or a model of your own, --model path/to/file.py:factory (factory() returns the model),
with inputs and labels for lrlab's network stages:

    /usr/bin/python3 tools/dump_torch.py --model mlp.py:build --inputs x.pt --labels y.npy \\
        --n-calib 512 -o mlp.h5           # the first 512 calibrate, the rest are the test set
    /usr/bin/python3 tools/dump_torch.py --model mlp.py:build --data mlp.py:dataset \\
        --n-calib 512 --n-test 1000 -o mlp.h5

As a library: dump_model(model, inputs, path, ...).
"""
import argparse
import copy
import importlib.util
import sys
from collections import OrderedDict

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "lrlab.layers"
VERSION = 1
MAX_POST = 8  # LR_DUMP_MAX_POST of src/io/dump.h
_PASS_THROUGH = (nn.Dropout, nn.Identity)
# The relative residual ||Y - X W^T - b||_F / ||Y||_F a captured layer may have.
CHECK_RTOL = {torch.float64: 1e-10, torch.float32: 1e-4}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(int(x) for x in v)


# ---- the sequential description (lrlab's post ops) ----

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


def _post_op(m, ln_shapes):
    """(lrlab's spelling of a module between two layers, its parameters) or (None, why).

    The activations are the registry of src/nn/activation.h; LeakyReLU's negative slope and
    LayerNorm's eps are written with repr(), which round-trips the double exactly through
    C's strtod.  A LayerNorm must normalise the whole sample (lrlab's layernorm op);
    ln_shapes holds the per-sample input shape each LayerNorm was called with."""
    if isinstance(m, nn.ReLU):
        return "relu", None
    if isinstance(m, nn.LeakyReLU):
        return "leaky_relu(%r)" % float(m.negative_slope), None
    if isinstance(m, nn.Tanh):
        return "tanh", None
    if isinstance(m, nn.Sigmoid):
        return "sigmoid", None
    if isinstance(m, nn.GELU):
        op = {"none": "gelu", "tanh": "gelu_tanh"}.get(getattr(m, "approximate", "none"))
        return (op, None) if op else (None, "GELU(approximate=%r)" % m.approximate)
    if isinstance(m, nn.LayerNorm):
        shape = ln_shapes.get(id(m))
        if shape is None or tuple(m.normalized_shape) != tuple(shape):
            return None, ("LayerNorm%s normalises part of its %s input, lrlab's layernorm the whole "
                          "sample" % (tuple(m.normalized_shape), shape))
        params = {}
        if m.elementwise_affine and m.weight is not None:
            params["weight"] = m.weight.detach().reshape(-1)
        if getattr(m, "bias", None) is not None:
            params["bias"] = m.bias.detach().reshape(-1)
        return "layernorm(%r)" % float(m.eps), params
    if isinstance(m, nn.Flatten):
        if m.start_dim == 1 and m.end_dim == -1:
            return "flatten", None
        return None, "Flatten(%d, %d) is not flatten(1, -1)" % (m.start_dim, m.end_dim)
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        k, s, p = _pair(m.kernel_size), _pair(m.stride if m.stride is not None else m.kernel_size), _pair(m.padding)
        why = None
        if k[0] != k[1] or s[0] != s[1] or p != (0, 0) or m.ceil_mode:
            why = "%s: only square windows and strides, no padding, no ceil_mode" % type(m).__name__
        elif isinstance(m, nn.MaxPool2d) and _pair(m.dilation) != (1, 1):
            why = "MaxPool2d with dilation"
        if why:
            return None, why
        kind = "maxpool2d" if isinstance(m, nn.MaxPool2d) else "avgpool2d"
        return "%s(%d,%d)" % (kind, k[0], s[0]), None
    if isinstance(m, _PASS_THROUGH):
        return "", None
    return None, "%s is not an op lrlab's forward pass runs" % type(m).__name__


def leading_flatten(model):
    """Whether a sequential network starts with an nn.Flatten (before its first layer)."""
    for m in _flatten_sequential(model) or []:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            return False
        if isinstance(m, nn.Flatten):
            return True
    return False


def describe_sequential(model, ln_shapes=None, prepadded=()):
    """For a plain sequential network: (the post ops of each Linear/Conv2d, None), each a list
    of (op text, parameters or None); else (None, why not)."""
    leaves = _flatten_sequential(model)
    if leaves is None:
        return None, "the model is not an nn.Sequential"
    posts, pre = [], []
    for m in leaves:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            if id(m) in prepadded:
                return None, "a conv whose padding is not symmetric zeros (its input was padded first)"
            posts.append([])
            continue
        op, params = _post_op(m, ln_shapes or {})
        if op is None:
            return None, params
        if op == "":
            continue
        (posts[-1] if posts else pre).append((op, params))
    # Before the first layer only a flatten is allowed: the format has no ops before the
    # first layer, so dump_model stores the inputs flattened (see leading_flatten).
    if any(op != "flatten" for op, _ in pre):
        return None, "an op before the first layer (%s) other than flatten" % ",".join(op for op, _ in pre)
    if not posts:
        return None, "no layer"
    if any(len(p) > MAX_POST for p in posts):
        return None, "more than %d ops between two layers" % MAX_POST
    return posts, None


# ---- capture ----

def _subsample(nrows, max_rows, rng):
    if max_rows <= 0 or nrows <= max_rows:
        return None
    return np.sort(rng.choice(nrows, size=max_rows, replace=False))


def _rows_of(w, base):
    """(r0, r1) when w is rows r0..r1-1 of base (a view of it, as chunk/split make), else None."""
    if base is None or w.dim() != base.dim() or w.shape[1:] != base.shape[1:] or w.stride() != base.stride():
        return None
    delta = w.data_ptr() - base.data_ptr()
    step = base.element_size() * base.stride(0)
    if delta < 0 or delta % step:
        return None
    r0 = delta // step
    if r0 + w.shape[0] > base.shape[0]:
        return None
    return r0, r0 + w.shape[0]


class _Capture:
    """Hooks and the F.linear / F.conv2d wrappers of one forward pass: the layer records in
    call order, what was seen of every module, and the checks."""

    def __init__(self, model, max_rows, seed):
        self.model, self.max_rows, self.seed = model, max_rows, seed
        self.names = {id(m): n for n, m in model.named_modules()}
        self.param_names = {}
        for n, p in model.named_parameters():
            self.param_names[(p.data_ptr(), tuple(p.shape))] = n
        self.records = []
        self.calls = {}         # id(module) -> forward calls
        self.dumped = set()     # id(module) of modules dumped (first call)
        self.used_params = set()  # data_ptr of the parameters a record used
        self.ln_shapes = {}     # id(LayerNorm) -> per-sample input shape
        self.prepadded = set()  # id(Conv2d) whose input was padded before im2col
        self.unsupported = {}   # id(module) -> why it was not dumped
        self.depth = 0          # > 0 inside a hooked nn.Linear / nn.Conv2d forward
        self.mha = []           # the nn.MultiheadAttention calls running (a stack)
        self.foreign = 0        # F.linear / F.conv2d calls with a weight not of the model
        self.mha_unmatched = 0  # F.linear calls inside an attention with an unknown weight
        self.worst = 0.0

    # -- records --
    def _add(self, rec, X, Y):
        """Check Y = X W^T + b on all rows, keep a subsample of rows, append."""
        i = len(self.records)
        W, b = rec["W"], rec["b"]
        Xd, Yd, Wd = X.detach().double(), Y.detach().double(), W.detach().double()
        R = Yd - Xd @ Wd.T - (0 if b is None else b.detach().double())
        ny = float(torch.linalg.norm(Yd))
        resid = float(torch.linalg.norm(R)) / ny if ny > 0 else float(torch.linalg.norm(R))
        tol = CHECK_RTOL.get(X.dtype, 1e-4)
        if not resid <= tol:
            raise SystemExit("dump_torch: %s: the captured X, W, b do not reproduce what the model computed: "
                             "||Y - X W^T - b|| / ||Y|| = %.3g > %.3g" % (rec["module"], resid, tol))
        self.worst = max(self.worst, resid)
        rows = _subsample(X.shape[0], self.max_rows, np.random.default_rng(self.seed + i))
        rec["rows_total"] = X.shape[0]
        rec["rows"] = rows
        if rows is not None:
            idx = torch.from_numpy(rows)
            X, Y = X[idx], Y[idx]
        rec["X"], rec["Y"] = X.detach().clone(), Y.detach().clone()
        rec["resid"] = resid
        self.records.append(rec)
        self.used_params.add(W.data_ptr())
        if b is not None:
            self.used_params.add(b.data_ptr())

    def _linear(self, name, x, w, b, out, source=None):
        rec = {"module": name, "kind": "linear", "W": w.detach(), "b": None if b is None else b.detach()}
        if source:
            rec["source"] = source
        self._add(rec, x.reshape(-1, x.shape[-1]), out.reshape(-1, out.shape[-1]))

    def _conv(self, name, x, w, b, stride, padding, dilation, groups, out, source=None):
        """A conv2d call as im2col rows; padding is a pair of ints, or a string or the module's
        padding mode, handled by padding the input first (the layer then says so)."""
        k = (w.shape[2], w.shape[3])
        s, d = _pair(stride), _pair(dilation)
        rec = {"module": name, "kind": "conv2d", "b": None if b is None else b.detach()}
        if isinstance(padding, str):
            if padding == "valid":
                padding = (0, 0)
            else:  # "same": PyTorch pads d (k - 1) in total, the odd one at the end
                tot = [d[a] * (k[a] - 1) for a in range(2)]
                if tot[0] % 2 or tot[1] % 2:
                    x = F.pad(x, [tot[1] // 2, tot[1] - tot[1] // 2, tot[0] // 2, tot[0] - tot[0] // 2])
                    padding = (0, 0)
                    rec["prepadded"] = "padding='same' with an even kernel"
                else:
                    padding = (tot[0] // 2, tot[1] // 2)
        p = _pair(padding)
        c_in, c_out = x.shape[1], w.shape[0]
        # A grouped conv as one layer: W [C_out, C_in kh kw] with each group's block on the
        # diagonal (output channels of group g read only input channels of group g).
        wf = w.detach().reshape(c_out, -1)
        if groups > 1:
            full = torch.zeros(c_out, c_in * k[0] * k[1], dtype=w.dtype)
            co, ci = c_out // groups, (c_in // groups) * k[0] * k[1]
            for g in range(groups):
                full[g * co:(g + 1) * co, g * ci:(g + 1) * ci] = wf[g * co:(g + 1) * co]
            wf = full
            rec["groups"] = groups
        cols = F.unfold(x.detach(), k, dilation=d, padding=p, stride=s)  # [n, C*kh*kw, L]
        rec.update(W=wf, kernel=k, stride=s, padding=p, dilation=d, in_shape=tuple(x.shape[1:]),
                   out_shape=tuple(out.shape[1:]))
        if source:
            rec["source"] = source
        X = cols.transpose(1, 2).reshape(-1, cols.shape[1])
        Y = out.detach().permute(0, 2, 3, 1).reshape(-1, out.shape[1])
        self._add(rec, X, Y)
        # The record's W is a new tensor for a grouped conv: the parameter it came from is used.
        self.used_params.add(w.data_ptr())

    # -- module hooks --
    def pre_count(self, mod, inp):
        self.calls[id(mod)] = self.calls.get(id(mod), 0) + 1

    def pre_layer(self, mod, inp):
        self.pre_count(mod, inp)
        self.depth += 1

    def _first_call(self, mod):
        if id(mod) in self.dumped:
            print("dump_torch: %s called again; only its first call is dumped" % self.names[id(mod)],
                  file=sys.stderr)
            return False
        self.dumped.add(id(mod))
        return True

    def post_linear(self, mod, inp, out):
        self.depth -= 1
        if self._first_call(mod):
            self._linear(self.names[id(mod)], inp[0], mod.weight, mod.bias, out)

    def post_conv(self, mod, inp, out):
        self.depth -= 1
        if not self._first_call(mod):
            return
        x, padding = inp[0], mod.padding
        if mod.padding_mode != "zeros":
            x = F.pad(x, mod._reversed_padding_repeated_twice, mode=mod.padding_mode)
            padding = (0, 0)
        n0 = len(self.records)
        self._conv(self.names[id(mod)], x, mod.weight, mod.bias, mod.stride, padding, mod.dilation, mod.groups, out)
        rec = self.records[n0]
        if mod.padding_mode != "zeros":
            rec["prepadded"] = "padding_mode=%r" % mod.padding_mode
        if "prepadded" in rec:
            self.prepadded.add(id(mod))

    def post_layernorm(self, mod, inp, out):
        self.ln_shapes.setdefault(id(mod), tuple(inp[0].shape[1:]))

    def pre_mha(self, mod, inp):
        self.pre_count(mod, inp)
        first = id(mod) not in self.dumped
        if not first:
            print("dump_torch: %s called again; only its first call is dumped" % self.names[id(mod)],
                  file=sys.stderr)
        self.mha.append({"mod": mod, "first": first, "parts": [], "out": None})

    def post_mha(self, mod, inp, out):
        st = self.mha.pop()
        if not st["first"]:
            return
        self.dumped.add(id(mod))
        name = self.names[id(mod)]
        parts = [p for p in st["parts"]]
        if sorted(parts) != ["k", "out", "q", "v"]:
            raise SystemExit("dump_torch: %s: saw the projections %s of nn.MultiheadAttention, not q, k, v and "
                             "out: its fused fast path ran, or this torch computes attention another way" %
                             (name, parts or "none"))
        # The out_proj output captured is what the module returned.
        o = out[0]
        if mod.batch_first and o.dim() == 3:
            o = o.transpose(0, 1)
        if not torch.equal(o.reshape(-1, mod.embed_dim), st["out"].reshape(-1, mod.embed_dim)):
            raise SystemExit("dump_torch: %s: the captured out_proj output is not the attention's output" % name)

    # -- the functional wrappers --
    def on_linear(self, x, w, b, out):
        if self.depth > 0:
            return  # inside an nn.Linear: its hook records it
        if self.mha:
            st = self.mha[-1]
            if not st["first"]:
                return
            mod, name = st["mod"], self.names[id(st["mod"])]
            E = mod.embed_dim
            if _rows_of(w, mod.out_proj.weight) == (0, E):
                st["parts"].append("out")
                st["out"] = out.detach()
                self._linear(name + ".out_proj", x, w, b, out,
                             source="nn.MultiheadAttention out_proj (called through F.linear)")
                self.used_params.add(mod.out_proj.weight.data_ptr())
                return
            packed = _rows_of(w, mod.in_proj_weight)
            bases = [(part, getattr(mod, part + "_proj_weight", None)) for part in "qkv"]
            for part, base in bases:
                if base is not None and _rows_of(w, base) == (0, base.shape[0]):
                    st["parts"].append(part)
                    self._linear("%s.%s_proj" % (name, part), x, w, b, out,
                                 source="nn.MultiheadAttention %s_proj_weight" % part)
                    return
            if packed is None:
                self.mha_unmatched += 1
                return
            r0, r1 = packed
            for j, part in enumerate("qkv"):
                s, e = max(r0, j * E), min(r1, (j + 1) * E)
                if s >= e:
                    continue
                if (s, e) != (j * E, (j + 1) * E):
                    self.mha_unmatched += 1
                    return
                st["parts"].append(part)
                self._linear("%s.%s_proj" % (name, part), x, w[s - r0:e - r0],
                             None if b is None else b[s - r0:e - r0], out[..., s - r0:e - r0],
                             source="nn.MultiheadAttention in_proj_weight rows %d:%d" % (s, e))
            self.used_params.add(mod.in_proj_weight.data_ptr())
            if mod.in_proj_bias is not None:
                self.used_params.add(mod.in_proj_bias.data_ptr())
            return
        pname = self.param_names.get((w.data_ptr(), tuple(w.shape)))
        if pname is None:
            self.foreign += 1
            return
        self._linear(pname, x, w, b, out, source="F.linear with the parameter %s" % pname)

    def on_conv2d(self, x, w, b, stride, padding, dilation, groups, out):
        if self.depth > 0:
            return
        pname = self.param_names.get((w.data_ptr(), tuple(w.shape)))
        if pname is None or self.mha:
            self.foreign += 1
            return
        self._conv(pname, x, w, b, stride, padding, dilation, groups, out,
                   source="F.conv2d with the parameter %s" % pname)


def _fastpath_off():
    """Switch the fused attention fast paths off where torch has a switch (torch >= 2.1);
    returns the function that restores them."""
    mha = getattr(torch.backends, "mha", None)
    if mha is not None and hasattr(mha, "set_fastpath_enabled"):
        prev = mha.get_fastpath_enabled()
        mha.set_fastpath_enabled(False)
        return lambda: mha.set_fastpath_enabled(prev)
    return lambda: None


def capture_layers(model, inputs, *, max_rows=4096, seed=0):
    """Run model(inputs) once and capture its layers: a _Capture (records in call order)."""
    cap = _Capture(model, max_rows, seed)
    handles = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.MultiheadAttention):
            handles.append(mod.register_forward_pre_hook(cap.pre_mha))
            handles.append(mod.register_forward_hook(cap.post_mha))
        elif isinstance(mod, nn.Linear):  # an attention's out_proj too, in case it is called
            handles.append(mod.register_forward_pre_hook(cap.pre_layer))
            handles.append(mod.register_forward_hook(cap.post_linear))
        elif isinstance(mod, nn.Conv2d):
            handles.append(mod.register_forward_pre_hook(cap.pre_layer))
            handles.append(mod.register_forward_hook(cap.post_conv))
        else:
            handles.append(mod.register_forward_pre_hook(cap.pre_count))
            if isinstance(mod, nn.LayerNorm):
                handles.append(mod.register_forward_hook(cap.post_layernorm))
    orig_linear, orig_conv2d = F.linear, F.conv2d

    def linear(input, weight, bias=None):
        out = orig_linear(input, weight, bias)
        cap.on_linear(input, weight, bias, out)
        return out

    def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        out = orig_conv2d(input, weight, bias, stride, padding, dilation, groups)
        cap.on_conv2d(input, weight, bias, stride, padding, dilation, groups, out)
        return out

    restore = _fastpath_off()
    F.linear, F.conv2d = linear, conv2d
    try:
        # Autograd on, and an input that needs a gradient: the fused transformer fast paths
        # are then never taken (torch 1.13's condition); the clone keeps in-place ops legal.
        with torch.enable_grad():
            x = inputs.detach()
            if x.is_floating_point():
                x = x.requires_grad_(True).clone()
            model(x)
    finally:
        F.linear, F.conv2d = orig_linear, orig_conv2d
        restore()
        for h in handles:
            h.remove()
    # A transformer layer that ran while its attention did not: a fast path bypassed us.
    for name, mod in model.named_modules():
        if isinstance(mod, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)):
            if cap.calls.get(id(mod), 0) > cap.calls.get(id(mod.self_attn), 0):
                raise SystemExit("dump_torch: %s ran its fused fast path (its self_attn was not called): its "
                                 "layers cannot be captured on this torch" % name)
    return cap


# ---- what was not dumped ----

_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
_OTHER_CONVS = (nn.Conv1d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _reason(mod, nparams):
    if isinstance(mod, (nn.Embedding, nn.EmbeddingBag)):
        return "a table lookup of integer indices, not a linear map of its input's values"
    if isinstance(mod, nn.modules.batchnorm._NormBase):
        return ("normalisation: a per-channel affine, not a matrix (in eval mode it folds into the layer "
                "before it)")
    if isinstance(mod, _NORMS):
        return ("normalisation: a per-feature affine of the normalised input, not a matrix (lrlab runs a "
                "LayerNorm only as a sequential network's post op layernorm)")
    if isinstance(mod, _OTHER_CONVS):
        return "%s: lrlab's format has linear and conv2d layers only" % type(mod).__name__
    if isinstance(mod, nn.RNNBase):
        return "recurrent: its weights are applied inside a fused kernel, not through F.linear"
    if nparams:
        return "holds parameters but is not a linear or conv2d layer"
    return "no weights: an op between layers, which lrlab does not run (network = layers)"


def find_skipped(model, cap, described=()):
    """One row per module that was neither dumped nor described by a post op, and per
    dumped module with calls or parameters left out: dicts of module, type, params (the
    parameters concerned), calls, reason."""
    out_projs = {id(m.out_proj): m for m in model.modules() if isinstance(m, nn.MultiheadAttention)}
    rows = []
    for name, mod in model.named_modules():
        own = list(mod.named_parameters(recurse=False))
        unused = [(n, p) for n, p in own if p.data_ptr() not in cap.used_params]
        is_leaf = next(mod.children(), None) is None
        calls = cap.calls.get(id(mod), 0)
        row = dict(module=name or "(model)", type=type(mod).__name__,
                   params=sum(p.numel() for p in mod.parameters()), calls=calls)
        owner = out_projs.get(id(mod))
        if owner is not None:
            # An attention's out_proj is called through F.linear, never as a module.
            if id(owner) in cap.dumped:
                continue
            row["calls"] = calls = cap.calls.get(id(owner), 0)
        if id(mod) in cap.dumped:
            if calls > 1:
                rows.append(dict(row, reason="called %d times: only its first call is dumped" % calls))
            if unused:  # e.g. an attention's bias_k, bias_v
                rows.append(dict(row, params=sum(p.numel() for _, p in unused),
                                 reason="its parameters %s are used outside its projections" %
                                        ", ".join(n for n, _ in unused)))
            continue
        if id(mod) in described:
            continue
        if own and not unused:
            continue  # its parameters fed the F.linear / F.conv2d layers dumped
        if not is_leaf and not unused:
            continue  # a container: its children have their own rows
        if calls == 0:
            rows.append(dict(row, reason="never called in the forward pass"))
        elif is_leaf:
            rows.append(dict(row, reason=_reason(mod, row["params"])))
        else:
            rows.append(dict(row, params=sum(p.numel() for _, p in unused),
                             reason="its own parameters %s are used outside any linear or conv2d layer" %
                                    ", ".join(n for n, _ in unused)))
    if cap.foreign:
        rows.append(dict(module="(functional)", type="F.linear/F.conv2d", params=0, calls=cap.foreign,
                         reason="calls whose weight is no parameter of the model (computed, or a buffer)"))
    if cap.mha_unmatched:
        rows.append(dict(module="(attention)", type="F.linear", params=0, calls=cap.mha_unmatched,
                         reason="calls inside nn.MultiheadAttention with a weight that is none of its projections"))
    return rows


def print_skipped(rows, out=sys.stderr):
    """The skipped modules as a table, rows of one type and reason merged."""
    if not rows:
        print("dump_torch: nothing skipped: every module is a dumped layer or a post op", file=out)
        return
    groups = OrderedDict()
    for r in rows:
        groups.setdefault((r["type"], r["reason"]), []).append(r)
    print("dump_torch: %d modules not dumped (also in the file's /skipped):" % len(rows), file=out)
    print("  %-5s %-22s %-10s %-40s %s" % ("count", "type", "params", "modules", "why"), file=out)
    for (typ, why), rs in groups.items():
        names = ", ".join(r["module"] for r in rs[:3]) + (", ..." if len(rs) > 3 else "")
        print("  %-5d %-22s %-10d %-40s %s" % (len(rs), typ, sum(r["params"] for r in rs), names, why), file=out)


# ---- writing ----

def _row_chunks(A, most):
    """HDF5 chunks of whole rows of the 2-D array A: at most `most` rows and 1 MiB."""
    rows = max(1, min(A.shape[0], most, (1 << 20) // max(1, A.shape[1] * A.itemsize)))
    return (rows, A.shape[1])


def _accuracy(model, x, y, batch=256):
    """PyTorch's own test accuracy of the model as given (its dtype, eval mode, no grad)."""
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i:i + batch])
            if out.dim() != 2:
                return None
            correct += int((out.argmax(1) == y[i:i + batch]).sum())
    return correct / len(x)


def dump_model(model, inputs, path, *, max_rows=4096, seed=0, dtype="float32",
               compute_double=True, save_inputs=False, labels=None, extra_inputs=None,
               extra_labels=None, test_accuracy=None, attrs=None, compression=True, gzip_level=6,
               verbose=True):
    """Run `model` on `inputs` and write every linear and conv2d layer it calls to `path`.

    max_rows: keep at most this many rows of X/Y per layer (deterministic subsample drawn
    with numpy's default_rng(seed + layer index); the kept row indices go to `rows`).
    compute_double: run a float64 copy of the model for the dump, so that the stored Y
    equals X W^T + b up to the rounding of the stored dtype (the model is not changed).
    save_inputs: write /inputs/x (the calibration inputs, then extra_inputs, e.g. a test
    set), /inputs/labels and n_calib = len(inputs).  test_accuracy: recorded as given; when
    None and extra_labels are given, PyTorch's own accuracy of `model` on extra_inputs.
    compression: gzip (level gzip_level) and shuffle every dataset.
    Returns the number of layers written.
    """
    model = model.eval()
    if test_accuracy is None and extra_inputs is not None and extra_labels is not None:
        test_accuracy = _accuracy(model, extra_inputs, extra_labels)
    run = model
    if compute_double:
        # Real-valued inputs follow the model to float64; integer ones (token indices) stay.
        run = copy.deepcopy(model).double()
        if inputs.is_floating_point():
            inputs = inputs.double()
        if extra_inputs is not None and extra_inputs.is_floating_point():
            extra_inputs = extra_inputs.double()
    store = np.float32 if dtype == "float32" else np.float64
    cap = capture_layers(run, inputs, max_rows=max_rows, seed=seed)
    records = cap.records
    if not records:
        raise SystemExit("dump_torch: the model called no linear or conv2d layer")

    posts, why = describe_sequential(run, cap.ln_shapes, cap.prepadded)
    if posts is not None and len(posts) != len(records):
        posts, why = None, "%d layer calls for %d layers of the nn.Sequential" % (len(records), len(posts))
    described = set()
    if posts is not None:
        described = {id(m) for m in _flatten_sequential(run) if not isinstance(m, (nn.Linear, nn.Conv2d))}
    skipped = find_skipped(run, cap, described)
    kw = dict(compression="gzip", compression_opts=gzip_level, shuffle=True) if compression and gzip_level else {}
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = np.int64(VERSION)
        f.attrs["nlayers"] = np.int64(len(records))
        f.attrs["network"] = "sequential" if posts is not None else "layers"
        f.attrs["producer"] = "tools/dump_torch.py (torch %s)" % torch.__version__
        f.attrs["compute_dtype"] = "float64" if compute_double else str(inputs.dtype).replace("torch.", "")
        if posts is None:
            f.attrs["not_sequential_because"] = why
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
                if rec.get("groups", 1) > 1:
                    g.attrs["groups"] = np.int64(rec["groups"])
            for key in ("source", "prepadded"):
                if key in rec:
                    g.attrs[key] = rec[key]
            if posts is not None:
                g.attrs["post"] = ",".join(op for op, _ in posts[i])
                for p, (op, params) in enumerate(posts[i]):
                    for which, v in (params or {}).items():
                        g.create_dataset("post%d_%s" % (p, which), data=v.cpu().numpy().astype(store), **kw)
            g.create_dataset("W", data=rec["W"].cpu().numpy().astype(store), **kw)
            if rec["b"] is not None:
                g.create_dataset("b", data=rec["b"].cpu().numpy().astype(store), **kw)
            X, Y = rec["X"].cpu().numpy(), rec["Y"].cpu().numpy()
            if rec["rows"] is not None:
                g.create_dataset("rows", data=rec["rows"].astype(np.int64))
            g.attrs["rows_total"] = np.int64(rec["rows_total"])
            # Chunks of whole rows, as lrlab reads them, at most 256 rows and 1 MiB (HDF5's
            # default chunk cache: a larger chunk is decompressed again for every block).
            X, Y = X.astype(store), Y.astype(store)
            chunk = _row_chunks(X, 256)
            g.create_dataset("X", data=X, chunks=chunk, **kw)
            g.create_dataset("Y", data=Y, chunks=(chunk[0], Y.shape[1]), **kw)
        if save_inputs:
            x = inputs if extra_inputs is None else torch.cat([inputs, extra_inputs])
            gi = f.create_group("inputs")
            if posts is not None and leading_flatten(run) and x.dim() > 2:
                # The network's first op is a flatten, which the format cannot hold before
                # the first layer: the inputs are stored as that layer receives them.
                gi.attrs["flattened_from"] = np.asarray(x.shape[1:], dtype=np.int64)
                x = x.reshape(x.shape[0], -1)
            gi.create_dataset("x", data=x.detach().cpu().numpy().astype(store), **kw)
            gi.attrs["n_calib"] = np.int64(inputs.shape[0])
            if labels is not None:
                lab = labels if extra_labels is None else torch.cat([labels, extra_labels])
                gi.create_dataset("labels", data=lab.cpu().numpy().astype(np.int64), **kw)
            if test_accuracy is not None:
                gi.attrs["test_accuracy"] = float(test_accuracy)
        if skipped:
            st = h5py.string_dtype("utf-8")
            dt = np.dtype([("module", st), ("type", st), ("params", np.int64), ("calls", np.int64),
                           ("reason", st)])
            tab = np.array([(r["module"], r["type"], r["params"], r["calls"], r["reason"]) for r in skipped],
                           dtype=dt)
            ds = f.create_dataset("skipped", data=tab)
            ds.attrs["description"] = ("modules of the model that are neither a dumped layer nor a post op, "
                                       "one row each, with the reason")
    if verbose:
        kinds = {}
        for r in records:
            key = "attention projection" if r.get("source", "").startswith("nn.MultiheadAttention") else (
                "grouped conv2d" if r.get("groups", 1) > 1 else r["kind"])
            kinds[key] = kinds.get(key, 0) + 1
        print("dump_torch: %d layers (%s); Y = X W^T + b to %.2g at worst; network = %s%s" % (
            len(records), ", ".join("%d %s" % (v, k) for k, v in kinds.items()), cap.worst,
            "sequential" if posts is not None else "layers", "" if posts is not None else " (%s)" % why),
            file=sys.stderr)
        print_skipped(skipped)
    return len(records)


# ---- the command line ----

def _load_model(spec, seed):
    if spec.startswith("torchvision:"):
        import torchvision.models as tvm
        torch.manual_seed(seed)
        return getattr(tvm, spec.split(":", 1)[1])(weights=None)
    path, _, factory = spec.partition(":")
    mod = _import(path)
    torch.manual_seed(seed)
    return getattr(mod, factory or "model")()


def _import(path):
    sp = importlib.util.spec_from_file_location("lrlab_user_module", path)
    mod = importlib.util.module_from_spec(sp)
    sp.loader.exec_module(mod)
    return mod


def _load_tensor(path, what):
    """A tensor saved with torch.save (.pt, .pth) or numpy (.npy)."""
    if path.endswith(".npy"):
        t = torch.from_numpy(np.load(path))
    else:
        t = torch.load(path)
    if not torch.is_tensor(t):
        raise SystemExit("dump_torch: %s (%s) holds a %s, not a tensor" % (path, what, type(t).__name__))
    return t


def _as_labels(y, n, what):
    """Integer class indices [n]."""
    y = torch.as_tensor(y)
    if y.dim() != 1 or y.shape[0] != n:
        raise SystemExit("dump_torch: %s: %d labels of shape %s for %d inputs (labels are class indices [n])"
                         % (what, y.numel(), tuple(y.shape), n))
    if y.is_floating_point():
        if not torch.equal(y, y.round()):
            raise SystemExit("dump_torch: %s: labels must be integer class indices" % what)
    y = y.long()
    if (y < 0).any():
        raise SystemExit("dump_torch: %s: a negative label" % what)
    return y


def _load_data(spec, n):
    """(x, y) of the first n samples of a dataset: torchvision:NAME:ROOT (its test split, as
    tensors, from ROOT, never downloaded) or FILE.py:FUNC, FUNC() returning a tuple of
    tensors (x, y), a Dataset, or an iterable of (x, y) samples or batches."""
    if spec.startswith("torchvision:"):
        parts = spec.split(":", 2)
        if len(parts) != 3:
            raise SystemExit("dump_torch: --data torchvision:NAME:ROOT (e.g. torchvision:FashionMNIST:/data)")
        import torchvision
        obj = getattr(torchvision.datasets, parts[1])(parts[2], train=False, download=False,
                                                      transform=torchvision.transforms.ToTensor())
    else:
        path, _, fn = spec.partition(":")
        obj = getattr(_import(path), fn or "data")()
    if isinstance(obj, tuple) and len(obj) == 2 and torch.is_tensor(obj[0]):
        x, y = obj
        return x[:n], torch.as_tensor(y)[:n]
    xs, ys, got = [], [], 0
    for item in obj:
        x, y = item[0], item[1]
        y = torch.as_tensor(y)
        if y.dim() == 0:  # one sample
            x, y = torch.as_tensor(x).unsqueeze(0), y.reshape(1)
        xs.append(torch.as_tensor(x))
        ys.append(y)
        got += len(ys[-1])
        if got >= n:
            break
    if not xs:
        raise SystemExit("dump_torch: --data %s yielded nothing" % spec)
    return torch.cat(xs)[:n], torch.cat(ys)[:n]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True,
                    help="torchvision:NAME (random weights) or FILE.py:FACTORY")
    ap.add_argument("--inputs", help="inputs saved with torch.save (.pt) or numpy (.npy); default: random normal")
    ap.add_argument("--input-shape", help="shape of the random inputs, e.g. 4,3,64,64")
    ap.add_argument("--labels", help="the class indices of --inputs (.pt or .npy, [n] integers)")
    ap.add_argument("--data", help="a dataset yielding (x, y): FILE.py:FUNC or torchvision:NAME:ROOT (test split)")
    ap.add_argument("--n-calib", type=int,
                    help="the first N samples calibrate (the layers' X and Y); the rest are the test set")
    ap.add_argument("--n-test", type=int, default=1000, help="with --data: test samples after the calibration ones")
    ap.add_argument("--test-inputs", help="test inputs (.pt or .npy), after all of --inputs")
    ap.add_argument("--test-labels", help="their class indices")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-rows", type=int, default=4096)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--save-inputs", action="store_true", help="write /inputs (implied by labels)")
    ap.add_argument("--gzip", type=int, default=6, choices=range(10), metavar="LEVEL",
                    help="gzip level of the datasets (0: uncompressed; default 6)")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    model = _load_model(a.model, a.seed)
    y = xt = yt = None
    if a.data:
        if a.inputs or a.labels or a.input_shape:
            raise SystemExit("dump_torch: give --data or --inputs/--input-shape, not both")
        if a.n_calib is None:
            raise SystemExit("dump_torch: --data needs --n-calib (the calibration samples; --n-test follow)")
        x, y = _load_data(a.data, a.n_calib + a.n_test)
        source = "%s (first %d samples)" % (a.data, len(x))
    elif a.inputs:
        x = _load_tensor(a.inputs, "inputs")
        source = a.inputs
    elif a.input_shape:
        g = torch.Generator().manual_seed(a.seed)
        x = torch.randn(*[int(s) for s in a.input_shape.split(",")], generator=g)
        source = "randn(%s), seed %d" % (a.input_shape, a.seed)
    else:
        raise SystemExit("dump_torch: give --inputs, --input-shape or --data")
    if a.labels:
        y = _load_tensor(a.labels, "labels")
    if y is not None:
        y = _as_labels(y, len(x), a.labels or a.data)
    if a.test_inputs:
        xt = _load_tensor(a.test_inputs, "test inputs")
        if a.test_labels:
            yt = _as_labels(_load_tensor(a.test_labels, "test labels"), len(xt), a.test_labels)
        if y is None or yt is None:
            raise SystemExit("dump_torch: --test-inputs needs --test-labels and labels of the calibration inputs")
    if a.n_calib is not None:
        if not 0 < a.n_calib <= len(x):
            raise SystemExit("dump_torch: --n-calib %d of %d samples" % (a.n_calib, len(x)))
        if xt is not None:
            raise SystemExit("dump_torch: give --n-calib or --test-inputs, not both")
        if a.n_calib < len(x):
            xt, x = x[a.n_calib:], x[:a.n_calib]
            if y is not None:
                yt, y = y[a.n_calib:], y[:a.n_calib]
    save = a.save_inputs or y is not None
    if y is not None and xt is None:
        print("dump_torch: warning: labels but no test samples (--n-calib or --test-inputs): lrlab's network "
              "stages need test samples", file=sys.stderr)
    if xt is not None and yt is None:
        print("dump_torch: warning: test samples without labels: lrlab's network stages need labels",
              file=sys.stderr)
    attrs = {"model": a.model, "inputs": source}
    n = dump_model(model, x, a.output, max_rows=a.max_rows, seed=a.seed, dtype=a.dtype, save_inputs=save,
                   labels=y, extra_inputs=xt, extra_labels=yt, attrs=attrs, gzip_level=a.gzip)
    acc = ""
    if save and yt is not None:
        with h5py.File(a.output, "r") as f:
            if "test_accuracy" in f["inputs"].attrs:
                acc = ", PyTorch's test accuracy %.6f on %d samples" % (f["inputs"].attrs["test_accuracy"], len(xt))
    print("dump_torch: %d layers -> %s%s" % (n, a.output, acc))


if __name__ == "__main__":
    main()
