/* The exact infinite-width conjugate kernel (CK) and neural tangent kernel (NTK) of a depth-L
 * fully connected network on a data matrix X (p x n, one sample per column), docs/theory.md
 * section 5; the maths and the methods are at the top of kernel_exact.c.
 *
 * Methods (per layer, for the kernel of sigma_c and for the kernel of sigma'):
 *   LR_NTK_KERNEL_CLOSED     closed forms: relu, leaky_relu, abs (arc-cosine kernels), linear,
 *                            quad, erf, sin, cos, and for the CK sign, step, sigma_T, sigma_Q
 *                            (bivariate normal orthant probabilities, src/ntk/bvn.h);
 *   LR_NTK_KERNEL_MEHLER     the general fast method: Mehler's formula on a table of Hermite
 *                            coefficients, O(n^2 D), with a truncation-error bound;
 *   LR_NTK_KERNEL_REFERENCE  the plain reference: a two-dimensional product rule per entry;
 *   LR_NTK_KERNEL_AUTO       the closed form where there is one, else Mehler.
 *
 * The NTK does not exist when some layer's sigma' holds a Dirac mass (sign, step, sigma_T,
 * sigma_Q: E sigma'(u)^2 is infinite on the diagonal).  Then lr_ntk_kernel_exact still
 * computes the CK, returns LR_OK, clears info->ntk_defined, names the layer in
 * info->ntk_undefined_layer and fills the NTK with NaN, so that a caller who records it
 * anyway records no number; lr_ntk_kernel_layer asked for such a derivative kernel returns
 * LR_EINVAL. */
#ifndef LR_NTK_KERNEL_EXACT_H
#define LR_NTK_KERNEL_EXACT_H

#include <stddef.h>

#include "core/mat.h"
#include "ntk/act.h"
#include "ntk/keyq.h"
#include "ntk/ntk.h"

typedef enum {
    LR_NTK_KERNEL_AUTO = 0,
    LR_NTK_KERNEL_CLOSED,
    LR_NTK_KERNEL_MEHLER,
    LR_NTK_KERNEL_REFERENCE
} lr_ntk_kernel_method;

/* "auto", "closed", "mehler", "reference" (NULL for another value). */
const char *lr_ntk_kernel_method_name(lr_ntk_kernel_method m);

/* Every tolerance and size of the methods; fixed when the plan is made. */
typedef struct lr_ntk_kernel_opts {
    /* Mehler: Hermite coefficients of orders 0 .. mehler_order - 1 per sample, each by a
     * composite Gauss-Legendre rule for the normal weight on [-z_max, z_max], cut at the
     * activation's kinks, panels at most `panel` wide with gl_nodes nodes each. */
    size_t mehler_order;
    double z_max;
    double panel;
    size_t gl_nodes;
    /* The reference: the same kind of rule in each of the two variables. */
    double ref_z_max;
    double ref_panel;
    size_t ref_gl_nodes;
    /* The key quantities (centring constants, scales) of activations without closed forms. */
    lr_ntk_quad_opts quad;
} lr_ntk_kernel_opts;

/* Defaults: order 128; z_max 14, panels of 1 with 16 nodes (the neglected Gaussian mass of
 * |z| > 14 is below 1e-40, and by Cramer's bound |He_k(z)| e^{-z^2/4} / sqrt(k!) <= 1.09 it
 * bounds every coefficient's truncation the same way); the reference: z_max 10, panels of 1
 * with 10 nodes in each variable (refined by the integrand's scale, and graded where the inner
 * integral steps); quad: lr_ntk_quad_defaults(). */
#define LR_NTK_KERNEL_ORDER 128
#define LR_NTK_KERNEL_Z_MAX 14.0
#define LR_NTK_KERNEL_PANEL 1.0
#define LR_NTK_KERNEL_GL_NODES 16
#define LR_NTK_KERNEL_REF_Z_MAX 10.0
#define LR_NTK_KERNEL_REF_PANEL 1.0
#define LR_NTK_KERNEL_REF_GL_NODES 10
lr_ntk_kernel_opts lr_ntk_kernel_defaults(void);

#define LR_NTK_MAX_LAYERS 32

/* What lr_ntk_kernel_exact did, layer by layer (index l - 1 for layer l). */
typedef struct lr_ntk_kernel_info {
    size_t layers;
    double tau[LR_NTK_MAX_LAYERS + 1];   /* tau_0 (given) .. tau_L */
    lr_ntk_keyq keyq[LR_NTK_MAX_LAYERS]; /* sigma_l's key quantities at tau_{l-1} */
    double centre[LR_NTK_MAX_LAYERS];    /* c_l = E sigma_l(tau_{l-1} xi) */
    /* the methods K_CK,l and K'_CK,l used (AUTO resolved; dmethod AUTO: K' not computed) */
    lr_ntk_kernel_method method[LR_NTK_MAX_LAYERS], dmethod[LR_NTK_MAX_LAYERS];
    /* Mehler's truncation bounds of K_CK,l and K'_CK,l (0 for the other methods), and the
     * largest of them */
    double trunc_ck[LR_NTK_MAX_LAYERS], trunc_dk[LR_NTK_MAX_LAYERS], trunc_max;
    int ntk_defined;            /* 0: some sigma_l' holds a Dirac mass (NTK asked for or not) */
    size_t ntk_undefined_layer; /* the first such l, 0 if none */
} lr_ntk_kernel_info;

typedef struct lr_ntk_kernel_plan lr_ntk_kernel_plan;

/* A plan for n samples and up to L layers (L <= LR_NTK_MAX_LAYERS); opts NULL: the defaults.
 * It owns every buffer the calls use (four n x n matrices, the n x D table, per-thread rules
 * for omp_get_max_threads() threads, GSL's integration workspace); the calls allocate
 * nothing.  NULL (with the reason recorded) on bad options or failed allocation. */
lr_ntk_kernel_plan *lr_ntk_kernel_plan_alloc(size_t n, size_t L, const lr_ntk_kernel_opts *opts);
void lr_ntk_kernel_plan_free(lr_ntk_kernel_plan *plan);

/* The kernels of layers 1..L of the network with activations acts[0..L), centred with
 * c_l = E sigma_l(tau_{l-1} xi), tau_0 given (the population scale of the data, e.g. the
 * root mean squared column norm of X for data normalised as THEORY's mixtures) and
 * tau_l^2 = Var sigma_l(tau_{l-1} xi):
 *   K_CK,0 = X^T X,  [K_CK,l]_ij = E[sigma_c(u) sigma_c(v)],  [K'_CK,l]_ij = E[sigma'(u) sigma'(v)],
 *   (u, v) ~ N(0, [[K_ii, K_ij], [K_ij, K_jj]]) from K = K_CK,l-1,
 *   K_NTK,0 = K_CK,0,  K_NTK,l = K_CK,l + K_NTK,l-1 o K'_CK,l.
 * CK (n x n) receives K_CK,L; NTK (n x n, or data NULL: not computed) K_NTK,L.  Both are
 * exactly symmetric.  info (may be NULL) receives the per-layer record.  LR_EINVAL for
 * mismatched shapes or bad arguments (also CLOSED for an activation without one), LR_ENUMERIC
 * from the key quantities' quadrature. */
int lr_ntk_kernel_exact(lr_ntk_kernel_plan *plan, lr_mat X, const lr_ntk_act *acts, size_t L, double tau0,
                        lr_ntk_kernel_method method, lr_mat CK, lr_mat NTK, lr_ntk_kernel_info *info);
/* The same from a given K_CK,0 (n x n symmetric; its lower triangle and diagonal are read):
 * the O(n^2 L) recursion alone, lr_ntk_kernel_exact's call after its Gram X^T X, so that the
 * two parts can be timed apart (bench/ntk_bench.c) or a Gram computed elsewhere reused. */
int lr_ntk_kernel_exact_gram(lr_ntk_kernel_plan *plan, lr_mat K0, const lr_ntk_act *acts, size_t L, double tau0,
                             lr_ntk_kernel_method method, lr_mat CK, lr_mat NTK, lr_ntk_kernel_info *info);

/* One layer: Kout_ij = E[f(u) f(v)], (u, v) from Kin as above, f = sigma - shift (deriv 0) or
 * f = sigma' - shift (deriv 1).  Kin's lower triangle and diagonal are read; Kout (not Kin)
 * is written whole.  *trunc (may be NULL) receives Mehler's truncation bound (0 for the other
 * methods).  LR_EINVAL for deriv 1 of an activation whose sigma' holds a Dirac mass. */
int lr_ntk_kernel_layer(lr_ntk_kernel_plan *plan, const lr_ntk_act *a, int deriv, double shift, lr_mat Kin,
                        lr_mat Kout, lr_ntk_kernel_method method, double *trunc);

/* Whether the closed forms cover sigma's kernel (deriv 0) or sigma''s (deriv 1). */
int lr_ntk_kernel_has_closed(const lr_ntk_act *a, int deriv);

#endif
