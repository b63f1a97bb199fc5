#!/usr/bin/python3
"""The exact infinite-width CK and NTK of a depth-L fully connected network in numpy: the
reference bench/ntk_bench.py times against lr_ntk_kernel_exact (src/ntk/kernel_exact.c).

usage: ntk_ref.py INPUT.h5 OUTPUT.h5 [--repeats R]

The input is an lrlab.ntk_input file (bench/ntk_bench.c describes it); the output holds /CK
and /NTK (n x n) and the attributes tau and centre, as the C driver writes them.  One JSON
line with the timings goes to stdout.

The maths (docs/theory.md section 5), as a researcher writes it with whole-matrix numpy:
  K_CK,0 = X^T X;  K_NTK,0 = K_CK,0;
  layer l: s_i = sqrt(K_ii), rho_ij = K_ij / (s_i s_j) (clipped to [-1, 1], 1 on the diagonal),
    K_CK,l = E[sigma_c(u) sigma_c(v)], K'_l = E[sigma'(u) sigma'(v)], (u, v) with variances
    K_ii, K_jj and covariance K_ij, sigma_c = sigma - c_l, c_l = E sigma(tau_{l-1} xi),
    tau_l^2 = Var sigma(tau_{l-1} xi);  K_NTK,l = K_CK,l + K_NTK,l-1 * K'_l.
Per activation:
  relu      Cho and Saul's arc-cosine kernels, theta = arccos(rho):
              E[relu(u) relu(v)] = s_i s_j (sin theta + (pi - theta) cos theta) / (2 pi),
              E[relu(u)] = s_i / sqrt(2 pi), so K_CK = E[relu relu] - c (m_i + m_j) + c^2;
              K' = (pi - theta) / (2 pi); c = tau / sqrt(2 pi), tau'^2 = tau^2 (1/2 - 1/(2 pi)).
  erf       Williams' closed forms: E[erf erf] = (2/pi) arcsin(2 K_ij / sqrt((1 + 2K_ii)(1 + 2K_jj))),
              E[erf' erf'] = (4/pi) / sqrt((1 + 2K_ii)(1 + 2K_jj) - 4 K_ij^2); c = 0.
  tanh, sigmoid (no closed form): Mehler's formula, E[f(z1) g(rho z1 + sqrt(1-rho^2) z2)]
              = sum_k rho^k a_k(f) a_k(g) with a_k(f) = E[f(z) He_k(z)] / sqrt(k!), truncated
              at k < D, by Horner's rule on whole matrices; the diagonal (rho = 1) is E f^2.
              The coefficients by numpy.polynomial.hermite_e.hermevander on a composite
              Gauss-Legendre rule (numpy.polynomial.legendre.leggauss) for the normal weight on
              [-z_max, z_max].  This matches the C side's method exactly: the same order D,
              the same rule (nodes, panels), the same diagonal; c and tau by the same rule
              (the C side uses GSL's adaptive quadrature for these: they agree to 1e-13, and
              for these odd-symmetric activations c does not move with tau).
  sigma_T(a, s1, s2) = a (1_{t<s1} + 1_{t>s2}): sigma = L + h1 1_{t>t1} + h2 1_{t>t2} with
              L = a, h = (-a, a), and Cov = sum_{a,b} h_a h_b [P(u > t_a, v > t_b) - Q(t_a/s_i) Q(t_b/s_j)],
              the bivariate orthant probability by Owen's T function (scipy.special.owens_t):
              P(X < h, Y < k; r) = (Phi(h) + Phi(k))/2 - T(h, (k - r h)/(h sqrt(1-r^2)))
              - T(k, (h - r k)/(k sqrt(1-r^2))) - beta, beta = 1/2 when h k < 0 (thresholds
              t != 0 only); the diagonal P(X > h, X > k) = Q(max(h, k)).  The NTK does not
              exist (sigma_T' is a sum of Dirac masses): NaN, as the C side.
"""
import argparse
import json
import math
import statistics
import sys
import time

import h5py
import numpy as np
from numpy.polynomial import hermite_e, legendre
from scipy import special

SQ2PI = math.sqrt(2 * math.pi)


def parse_act(spec):
    spec = spec.strip()
    if "(" in spec:
        name, rest = spec.split("(", 1)
        params = [float(x) for x in rest.rstrip(")").split(",") if x.strip()]
    else:
        name, params = spec, []
    name = name.strip()
    if name == "sigma_T":
        params = params + [1.0, -1.0, 1.0][len(params):]
        if params[1] == 0 or params[2] == 0:
            sys.exit("ntk_ref.py: sigma_T with a threshold at 0 is not supported (Owen's T form)")
    elif name not in ("relu", "tanh", "sigmoid", "erf"):
        sys.exit(f"ntk_ref.py: unsupported activation {spec!r}")
    return name, params


def normal_rule(zmax, panel, G):
    """The composite Gauss-Legendre rule for E f(xi), xi ~ N(0, 1), on [-zmax, zmax]:
    ceil(2 zmax / panel) equal panels, G nodes each; weights include phi."""
    x, w = legendre.leggauss(G)
    m = max(1, math.ceil(2 * zmax / panel))
    h = 2 * zmax / m
    lo = -zmax + h * np.arange(m)
    z = (lo[:, None] + 0.5 * h * (1 + x[None, :])).ravel()
    wz = (0.5 * h * w[None, :] * np.ones((m, 1))).ravel() * np.exp(-0.5 * z * z) / SQ2PI
    return z, wz


def smooth_fn(name, deriv):
    if name == "tanh":
        return (lambda t: 1 - np.tanh(t) ** 2) if deriv else np.tanh
    if name == "sigmoid":
        return (lambda t: 1 / ((1 + np.exp(-t)) * (1 + np.exp(t)))) if deriv else special.expit
    raise ValueError(name)


class Mehler:
    def __init__(self, D, zmax, panel, G):
        self.D = D
        self.z, self.w = normal_rule(zmax, panel, G)
        # h_k = He_k / sqrt(k!), orthonormal for the normal weight
        self.H = hermite_e.hermevander(self.z, D - 1) / np.sqrt(np.cumprod(np.r_[1.0, np.arange(1, D)]))

    def kernel(self, f, shift, s, rho):
        """K_ij = sum_{k<D} rho_ij^k a_ik a_jk with a_ik = E[(f(s_i z) - shift) h_k(z)], the
        diagonal E (f(s_i z) - shift)^2."""
        F = f(np.outer(self.z, s)) - shift                  # Q x n
        WF = self.w[:, None] * F
        A = WF.T @ self.H                                   # n x D
        K = np.multiply.outer(A[:, -1], A[:, -1])
        tmp = np.empty_like(K)
        for k in range(self.D - 2, -1, -1):                 # Horner in rho
            K *= rho
            np.multiply.outer(A[:, k], A[:, k], out=tmp)
            K += tmp
        np.fill_diagonal(K, (WF * F).sum(axis=0))
        return K

    def moments(self, f, tau):
        v = f(tau * self.z)
        m = self.w @ v
        return m, self.w @ (v - m) ** 2


def upper_orthant(h, k, r):
    """P(X > h, Y > k) for a standard bivariate normal with correlation r (|r| < 1, h, k != 0),
    elementwise, by Owen's T: P(X > h, Y > k) = P(-X < -h, -Y < -k)."""
    a, b = -h, -k
    sq = np.sqrt((1 - r) * (1 + r))
    p = 0.5 * (special.ndtr(a) + special.ndtr(b)) - special.owens_t(a, (b - r * a) / (a * sq)) \
        - special.owens_t(b, (a - r * b) / (b * sq))
    return p - 0.5 * (a * b < 0)


def layer(name, params, K, tau, mehler):
    """One layer: (K_CK, K' or None, c, tau_next)."""
    s = np.sqrt(np.diag(K))
    ss = np.outer(s, s)
    rho = np.clip(K / ss, -1, 1)
    np.fill_diagonal(rho, 1.0)
    if name == "relu":
        c = tau / SQ2PI
        theta = np.arccos(rho)
        m = s / SQ2PI
        Kc = ss * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi) \
            - c * np.add.outer(m, m) + c * c
        Kd = (np.pi - theta) / (2 * np.pi)
        return Kc, Kd, c, tau * math.sqrt(0.5 - 0.5 / np.pi)
    if name == "erf":
        d = 1 + 2 * np.diag(K)
        P = np.outer(d, d)
        Kc = (2 / np.pi) * np.arcsin(2 * K / np.sqrt(P))
        Kd = (4 / np.pi) / np.sqrt(P - 4 * K * K)
        return Kc, Kd, 0.0, math.sqrt((2 / np.pi) * math.asin(2 * tau * tau / (1 + 2 * tau * tau)))
    if name in ("tanh", "sigmoid"):
        c, var = mehler.moments(smooth_fn(name, 0), tau)
        Kc = mehler.kernel(smooth_fn(name, 0), c, s, rho)
        Kd = mehler.kernel(smooth_fn(name, 1), 0.0, s, rho)
        return Kc, Kd, c, math.sqrt(var)
    if name == "sigma_T":
        a, t1, t2 = params
        Lv, h, t = a, (-a, a), (t1, t2)
        Phi = special.ndtr                                  # Q(x) = Phi(-x)
        u1, u2 = t1 / tau, t2 / tau
        c = Lv + h[0] * Phi(-u1) + h[1] * Phi(-u2)
        PL, PM, PR = Phi(u1), Phi(u2) - Phi(u1), Phi(-u2)
        var = PL * PM * a * a + PM * PR * a * a           # the three-point law a, 0, a
        mean = Lv + h[0] * Phi(-t1 / s) + h[1] * Phi(-t2 / s) - c
        Kc = np.outer(mean, mean)
        for ia in range(2):
            for ib in range(2):
                with np.errstate(divide="ignore", invalid="ignore"):   # the diagonal, r = 1
                    cov = upper_orthant((t[ia] / s)[:, None], (t[ib] / s)[None, :], rho)
                np.fill_diagonal(cov, Phi(-max(t[ia], t[ib]) / s))
                cov -= np.outer(Phi(-t[ia] / s), Phi(-t[ib] / s))
                Kc += h[ia] * h[ib] * cov
        return Kc, None, c, math.sqrt(var)
    raise ValueError(name)


def kernels(X, acts, tau0, mehler, clock):
    K = X @ X.T                                             # samples are rows: X^T X of THEORY
    clock.append(time.perf_counter())                       # the Gram's end, for the split
    return recursion(K, acts, tau0, mehler)


def recursion(K, acts, tau0, mehler):
    """The layers from K_CK,0 = K (the O(n^2 L) part, timed alone as well)."""
    NTK = K.copy()
    tau, taus, centres = tau0, [tau0], []
    for name, params in acts:
        Kc, Kd, c, tau = layer(name, params, K, tau, mehler)
        NTK = None if (NTK is None or Kd is None) else Kc + NTK * Kd
        K = Kc
        taus.append(tau)
        centres.append(c)
    return K, NTK, taus, centres


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    with h5py.File(a.input, "r") as f:
        if f.attrs["format"] != "lrlab.ntk_input" or int(f.attrs["format_version"]) != 1:
            sys.exit("ntk_ref.py: not an lrlab.ntk_input file, version 1")
        X = f["X"][()]
        acts = [parse_act(x) for x in str(f.attrs["activations"]).split(";")]
        tau0 = float(f.attrs["tau0"])
        if f.attrs["method"] != "auto":
            sys.exit("ntk_ref.py: only method auto (closed forms where the C side has them, else Mehler)")
        D, G = int(f.attrs["mehler_order"]), int(f.attrs["gl_nodes"])
        zmax, panel = float(f.attrs["z_max"]), float(f.attrs["panel"])
    secs, grams = [], []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        mehler = Mehler(D, zmax, panel, G)                  # the rule and H: the plan's part
        clock = [t0]
        CK, NTK, taus, centres = kernels(X, acts, tau0, mehler, clock)
        secs.append(time.perf_counter() - t0)
        grams.append(clock[1] - t0)
    # the recursion alone from the same Gram (computed outside the timer; the rule is the plan's)
    K0 = X @ X.T
    recs = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        CK2, NTK2, _, _ = recursion(K0, acts, tau0, mehler)
        recs.append(time.perf_counter() - t0)
    rec_same = bool(np.array_equal(CK2, CK) and (NTK is None or np.array_equal(NTK2, NTK)))
    del CK2, NTK2, K0
    n = X.shape[0]
    with h5py.File(a.output, "w") as f:
        f.create_dataset("CK", data=CK)
        f.create_dataset("NTK", data=NTK if NTK is not None else np.full((n, n), np.nan))
        f.attrs["tau"] = np.array(taus)
        f.attrs["centre"] = np.array(centres)
        f.attrs["ntk_defined"] = float(NTK is not None)
    out = {"program": "ntk_ref.py", "n": n, "p": X.shape[1], "layers": len(acts), "repeats": a.repeats,
           "numpy": np.__version__, "call_seconds": secs, "first_call_seconds": secs[0],
           "call_seconds_median": statistics.median(secs),
           "gram_seconds": grams, "gram_seconds_median": statistics.median(grams),
           "recursion_seconds": recs, "recursion_seconds_median": statistics.median(recs),
           "recursion_bitwise_equal": rec_same}
    try:
        from threadpoolctl import threadpool_info
        out["blas"] = [{k: x.get(k) for k in ("internal_api", "version", "num_threads", "architecture",
                                               "threading_layer")} for x in threadpool_info()]
    except ImportError:
        pass
    print(json.dumps(out))


if __name__ == "__main__":
    main()
