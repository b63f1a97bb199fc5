/* The compressed network of the NTK kind (docs/theory.md section 5; Gu, Du, Zhang, Xie, Pu, Qiu,
 * Liao, "'Lossless' Compression of Deep Neural Networks: A High-dimensional Neural Tangent
 * Kernel Approach", NeurIPS 2022): ternary weights, and piecewise-constant activations whose
 * key quantities match those of the original network layer by layer.
 *
 * Why matching key quantities is enough.  The equivalent kernels K~_CK and K~_NTK of
 * src/ntk/equiv.h depend on the activations only through E sigma', E sigma'', E (sigma_c^2)''
 * (the alpha recursion) and the scales tau_l (the identity term).  A hidden layer l of the
 * compressed network gets sigma_T(t) = a (1_{t < s1} + 1_{t > s2}), whose (a, s1, s2) solve
 *
 *   E[sigma_T'(~tau xi)]^2 = E[sigma'(tau xi)]^2,   E[sigma_T''(~tau xi)]^2 = E[sigma''(tau xi)]^2,
 *   E[(sigma_T,c^2)''(~tau xi)] = E[(sigma_c^2)''(tau xi)],
 *
 * with tau = tau_{l-1} of the original network and ~tau = ~tau_{l-1} of the compressed one
 * (its own scale: ~tau_0 = tau_0, ~tau_l^2 = Var sigma_T(~tau_{l-1} xi)).  Then every alpha
 * of the two networks agrees and their equivalent kernels differ by the identity only.  The
 * last layer gets the three-level sigma_Q(t) = b1 1_{t < r1} + b2 1_{t > r2}, whose four
 * parameters can also match the variance, Var sigma_Q(~tau_{L-1} xi) = tau_L^2, and with it
 * the overall scale.  When that fails (no solution within the tolerance), the last layer
 * falls back to sigma_T and the identity shift tau_L^2 - ~tau_L^2 is reported: it moves
 * every eigenvalue of the kernel by the same amount (docs/theory.md: "the overall scale tau_L may
 * not be matchable").
 *
 * Not every activation can be matched.  E (sigma_T,c^2)'' = (a - 2m) E sigma_T'' for sigma_T
 * (sigma_T^2 = a sigma_T; m its mean), so an activation with E sigma'' = 0 but E (sigma_c^2)''
 * != 0 (tanh, erf, sin: odd) has no exact sigma_T; the solver then returns the least-squares
 * best and says that it did not converge, with its residuals.  That is a result, not an
 * error: it is where the "lossless" argument stops.  (The least-squares iterate then runs
 * off towards a -> infinity with s1, s2 closing in, a narrow pulse whose residual keeps
 * falling, to about 1e-4 of the scale in 500 iterations, without a limit that is an
 * activation.)
 *
 * The solver (docs/theory.md: "solve robustly: eliminate a, start from a grid over
 * (u1, u2) in [-4, 4]^2, refine with a GSL multiroot or minimiser; random starts miss
 * solutions").  With u_k = s_k / ~tau: on each grid point u1 < u2, a is eliminated (the d1
 * equation, or d2 when phi(u2) = phi(u1)); for sigma_Q the two levels solve the 2 x 2 linear
 * system of the d1 and d2 equations for each choice of signs.  The best `starts` grid points
 * by residual norm are refined by GSL's nonlinear least squares (gsl_multifit_nlinear,
 * Levenberg-Marquardt with geodesic acceleration off, finite-difference Jacobian) over
 * (a, c, w) with u1 = c - e^w, u2 = c + e^w (so u1 < u2 always) for sigma_T and
 * (b1, b2, c, w) for sigma_Q.  Residuals are scaled by the original activation's own
 * scale S = sqrt(Var sigma(tau xi)) / tau: the d1 equation by S^2, d2 by (S / tau)^2, sq2 by
 * S^2 and the variance by (S tau)^2, so that a zero target (d2 of an odd activation) is
 * measured on the same footing as the others.
 *
 * Memory (docs/theory.md): 32 bits per weight dense against (1 - eps) bits per weight compressed,
 * one sign bit per non-zero weight ("plus signs": the positions of the zeros are not
 * counted there).  lrlab also reports what storing the positions costs with an ideal code,
 * the entropy H(eps) + (1 - eps) bits per weight (H the binary entropy), which is the
 * honest figure when the zero pattern is not regenerated from a seed. */
#ifndef LR_NTK_TERNARY_H
#define LR_NTK_TERNARY_H

#include <stddef.h>

#include "core/mat.h"
#include "ntk/act.h"
#include "ntk/keyq.h"
#include "ntk/ntk.h"

typedef struct lr_ntk_match_opts {
    double grid_lo, grid_hi; /* the grid of u = s / tau (default -4, 4) */
    size_t grid_n;           /* points per axis (default 81) */
    size_t starts;           /* grid points refined (default 8) */
    double tol;              /* largest scaled residual of a solution (default 1e-8: the finite-difference
                              * Jacobian stops the refinement near 1e-9) */
    size_t max_iter;         /* least-squares iterations per start (default 500) */
} lr_ntk_match_opts;

lr_ntk_match_opts lr_ntk_match_defaults(void);

/* Which equations a match solves. */
typedef enum { LR_NTK_MATCH_T = 3, LR_NTK_MATCH_Q = 4 } lr_ntk_match_kind;

typedef struct lr_ntk_match {
    lr_ntk_match_kind kind;
    lr_ntk_act act;    /* the fitted sigma_T(a, s1, s2) or sigma_Q(b1, b2, r1, r2) */
    lr_ntk_keyq got;   /* its key quantities at the compressed network's scale */
    double resid[4];   /* scaled residuals: d1^2, d2^2, sq2, var (var: 0 for sigma_T) */
    double resid_max;  /* the largest |resid| over the equations solved */
    int converged;     /* resid_max <= opts.tol */
    size_t iterations; /* least-squares iterations of the winning start */
} lr_ntk_match;

/* Fit sigma_T (kind T: d1^2, d2^2, sq2) or sigma_Q (kind Q: also var) at scale tau_c to the
 * key quantities target (of the original activation at its own scale; target->var > 0).
 * opts NULL: the defaults.  LR_EINVAL for bad arguments; a fit that does not reach opts.tol
 * is returned with converged = 0 (not an error). */
int lr_ntk_match_fit(lr_ntk_match_kind kind, const lr_ntk_keyq *target, double tau_c, const lr_ntk_match_opts *opts,
                 lr_ntk_match *out);

/* One layer of a compressed network. */
typedef struct lr_ntk_compressed_layer {
    lr_ntk_keyq target; /* the original activation's key quantities at tau_{l-1} */
    double tau_in;      /* tau_{l-1} */
    double taut_in;     /* ~tau_{l-1}, the compressed network's */
    lr_ntk_match m;     /* the fit (m.got: at ~tau_{l-1}) */
} lr_ntk_compressed_layer;

/* Compress a depth-L network with activations acts[0..L) and input scale tau0: layer l < L-1
 * gets sigma_T, the last layer sigma_Q (or sigma_T when sigma_Q does not converge and
 * sigma_T fits better; out[L-1].m.kind says which).  *shift = tau_L^2 - ~tau_L^2.  The
 * original key quantities come from lr_ntk_keyq_eval (qopts NULL: its defaults). */
int lr_ntk_compress_net(const lr_ntk_act *acts, size_t L, double tau0, const lr_ntk_match_opts *opts,
                        const lr_ntk_quad_opts *qopts, lr_ntk_compressed_layer *out, double *shift);

/* The ternary weights themselves: lr_ntk_draw_weights (src/ntk/kernel_emp.h). */

/* Bits to store nweights weights: dense float32, THEORY's ternary count (1 - eps), and the
 * entropy bound H(eps) + (1 - eps) with the positions (bits per weight times nweights). */
typedef struct lr_ntk_memory {
    double dense_bits, ternary_bits, entropy_bits;
} lr_ntk_memory;
lr_ntk_memory lr_ntk_memory_bits(double nweights, double eps);

#endif
