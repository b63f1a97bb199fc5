/* Equivalent kernels of the NTK "lossless" compression kind (docs/theory.md section 5; Gu, Du,
 * Zhang, Xie, Pu, Qiu, Liao, "'Lossless' Compression of Deep Neural Networks: A
 * High-dimensional Neural Tangent Kernel Approach", NeurIPS 2022, its CK and NTK
 * equivalence theorems).
 *
 * For data from a K-class mixture (src/gen/gmm.h) the conjugate kernel and the neural
 * tangent kernel of a deep, wide, fully connected network are, in spectral norm and as n, p
 * grow at a fixed ratio, close to
 *   K~_CK,l  = alpha_{l,1} X^T X + V A_l V^T + s_l I,
 *   K~_NTK,l = beta_{l,1}  X^T X + V B_l V^T + s'_l I,
 * with V = [J / sqrt p, psi] (n x (K+1)) and the (K+1) x (K+1) blocks
 *   A_l = [ alpha_{l,2} t t^T + alpha_{l,3} T    alpha_{l,2} t ]
 *         [ alpha_{l,2} t^T                      alpha_{l,2}   ]
 * (B_l: the same with beta's).  This file computes the scalars (lr_ntk_recursion), the data
 * statistics J, t, T, psi, tau_0 (lr_ntk_data), the kernels (lr_ntk_equiv_kernel) and the
 * spectral comparisons (lr_ntk_rel_err, lr_ntk_top_eig, lr_ntk_eig_align).
 *
 * The identity coefficient.  docs/theory.md (and the paper) print
 *   s_l = tau_l^2 - tau_0^2 alpha_{l,1} - tau_0^4 alpha_{l,3}     (NTK: kappa_l^2, beta's).
 * A second-order expansion of the kernel in the small quantities (||x_i||^2 - tau_0^2,
 * x_i^T x_j) gives instead, for the diagonal of K~ to match the kernel's diagonal
 * [K_CK,l]_ii -> tau_l^2 (respectively kappa_l^2),
 *   s_l = tau_l^2 - tau_0^2 alpha_{l,1}:
 * the diagonal of V A_l V^T is O(1/p), so nothing else on the diagonal is of order 1, and a
 * diagonal mismatch of alpha_{l,3} tau_0^4 is a spectral-norm error of at least that much
 * (El Karoui 2010, Theorem 2.1, has the same identity term f(tau) - f(0) - tau f'(0) for
 * inner-product kernels: the second-order term's diagonal is not subtracted).  Measured
 * offline against the arc-cosine kernels of one to three centred-ReLU layers (zero means,
 * C = I, n = p = 256 .. 2048), THEORY's rule leaves a relative error of 0.08 to 0.18 that
 * does not shrink with p, the matched rule one that does (0.009 to 0.05 at p = 2048);
 * tests/test_ntk_equiv.c checks the same on the quadratic activation, whose kernels are
 * polynomials of X^T X.  Both rules are offered (lr_ntk_diag); THEORY's is the contract
 * and the default, LR_NTK_DIAG_MATCHED the one the expansion supports.
 *
 * The norm convention.  docs/theory.md takes tau_0^2 = tr(C^o)/p, t_a = tr(C_a^o)/sqrt p,
 * psi_i = ||omega_i||^2 - tr(C_a)/p, all of which leave out the means' share
 * ||mu_a||^2 / p of ||x_i||^2: negligible as p -> infinity, but the preset's ||mu_a|| = 8
 * makes it 64/p, as large as t_a / sqrt p up to p ~ 10^3.  LR_NTK_NORMS_WITH_MEANS puts it
 * back: tau_0^2 = sum_a pi_a (tr C_a + ||mu_a||^2)/p = E ||x||^2, t_a from
 * (tr C_a + ||mu_a||^2)/p and psi_i = ||x_i||^2 - (tr C_a + ||mu_a||^2)/p, so that
 * t_a / sqrt p + psi_i = ||x_i||^2 - tau_0^2 exactly; on real data normalised as
 * lr_real_normalise does, this tau_0^2 is 1.  (lrlab's own convention.  Measured offline
 * against the arc-cosine kernels on the gu22 preset, K = 2, n = p = 256 .. 2048, one to
 * three centred-ReLU layers, matched diagonal: it lowers the relative error by a factor of
 * 1.2 to 6, more at larger p and in deeper layers; at p = 2048, layer 3, CK: 0.108 -> 0.018.) */
#ifndef LR_NTK_EQUIV_H
#define LR_NTK_EQUIV_H

#include <stddef.h>

#include "core/lanczos.h"
#include "core/mat.h"
#include "gen/gmm.h"
#include "ntk/ntk.h"

/* ---- (a) the alpha / beta / tau / kappa recursions ---- */

/* The scalars of layer l (l = 0 is the input). */
typedef struct lr_ntk_coef {
    double tau;      /* tau_l: the scale of layer l's output, tau_l^2 = Var sigma_l(tau_{l-1} xi) */
    double alpha[4]; /* alpha_{l,1..4} (alpha[0] is alpha_{l,1}) */
    double beta[3];  /* beta_{l,1..3} */
    double kappa2;   /* kappa_l^2 (+INFINITY when some E sigma'^2 is) */
} lr_ntk_coef;

/* The key quantities of layer l must have been taken at tau_{l-1}: |keyq.tau - tau_{l-1}|
 * <= tau_rtol tau_{l-1}, or the recursion refuses (LR_EINVAL). */
#define LR_NTK_TAU_RTOL 1e-12

/* Layer 0: tau_0, alpha_0 = (1, 0, 0, 1), beta_0 = (1, 0, 0), kappa_0^2 = tau_0^2. */
int lr_ntk_coef_init(double tau0, lr_ntk_coef *c0);
/* One step, exactly docs/theory.md section 5's (E at tau_{l-1} xi: d1 = E sigma', d2 = E sigma'',
 * sq2 = E (sigma_c^2)'', var = Var sigma, d1sq = E sigma'^2):
 *   alpha_{l,1} = d1^2 alpha_{l-1,1}
 *   alpha_{l,2} = d1^2 alpha_{l-1,2} + d2^2 alpha_{l-1,4}^2 / 4
 *   alpha_{l,3} = d1^2 alpha_{l-1,3} + d2^2 alpha_{l-1,1}^2 / 2
 *   alpha_{l,4} = alpha_{l-1,4} sq2 / 2
 *   beta_{l,1}  = alpha_{l,1} + d1^2 beta_{l-1,1}
 *   beta_{l,2}  = alpha_{l,2} + d1^2 beta_{l-1,2}
 *   beta_{l,3}  = alpha_{l,3} + d1^2 beta_{l-1,3} + d2^2 alpha_{l-1,1} beta_{l-1,1}
 *   tau_l^2 = var,  kappa_l^2 = var + kappa_{l-1}^2 d1sq. */
int lr_ntk_coef_step(const lr_ntk_coef *prev, const lr_ntk_keyq *kq, double tau_rtol, lr_ntk_coef *next);
/* coef[0 .. L] from tau_0 and kq[0 .. L-1] (kq[l-1] is layer l's, taken at tau_{l-1}). */
int lr_ntk_recursion(double tau0, const lr_ntk_keyq *kq, size_t L, double tau_rtol, lr_ntk_coef *coef);

/* The key quantities of layer `layer` (1 .. L) at scale tau; returns a status. */
typedef int lr_ntk_keyq_fn(void *ctx, size_t layer, double tau, lr_ntk_keyq *out);
/* The recursion run forward: for l = 1 .. L, fn(ctx, l, tau_{l-1}, &kq[l-1]) and one step.
 * kq may be NULL (the quantities are then not kept); coef has L + 1 entries.  The
 * callback's status is returned as it is. */
int lr_ntk_recursion_run(double tau0, size_t L, lr_ntk_keyq_fn *fn, void *ctx, double tau_rtol,
                         lr_ntk_keyq *kq, lr_ntk_coef *coef);

/* ---- (b) the data statistics ---- */

typedef enum {
    LR_NTK_NORMS_THEORY,    /* docs/theory.md: tau_0^2 = tr C^o / p, t_a = tr C_a^o / sqrt p, psi from omega */
    LR_NTK_NORMS_WITH_MEANS /* the same with ||mu_a||^2 / p added to tr C_a / p (see the top) */
} lr_ntk_norms;

typedef struct lr_ntk_data {
    size_t n, p, K;
    lr_ntk_norms norms;
    size_t *labels;    /* [n] copied: class of sample i, defines J_ia = [labels_i == a] */
    double *t;         /* [K] t_a = sqrt(p) (e_a - tau0sq), e_a = tr(C_a)/p (+ ||mu_a||^2/p) */
    double *T;         /* K x K: T_ab = tr(C_a C_b) / p */
    double *psi;       /* [n] psi_i = ||x_i - mu_a/sqrt p||^2 - tr(C_a)/p, or ||x_i||^2 - e_a */
    double tau0sq;     /* sum_a pi_a e_a: tr(C^o)/p (THEORY) or E||x||^2 (WITH_MEANS) */
    double tau0sq_emp; /* (1/n) sum_i ||x_i||^2, the empirical mean squared norm */
} lr_ntk_data;

lr_ntk_data *lr_ntk_data_alloc(size_t n, size_t K);
void lr_ntk_data_free(lr_ntk_data *d);
/* From class statistics (population: lr_gmm_class_stats; plug-in: lr_real_normalise), the
 * data X (p x n) and its labels.  psi is the population psi for a mixture and the plug-in
 * psi for real data: whichever s holds. */
int lr_ntk_data_fill(lr_ntk_data *d, const lr_class_stats *s, lr_mat X, const size_t *labels,
                     lr_ntk_norms norms);
/* J (n x K) = the class indicator, J_ia = 1 if labels_i = a. */
int lr_ntk_indicator(const size_t *labels, size_t n, size_t K, lr_mat J);

/* ---- (c) the equivalent kernels ---- */

typedef enum { LR_NTK_KIND_CK, LR_NTK_KIND_NTK } lr_ntk_kind;
typedef enum {
    LR_NTK_DIAG_THEORY, /* s_l = tau_l^2 - tau_0^2 alpha_{l,1} - tau_0^4 alpha_{l,3}: docs/theory.md as printed */
    LR_NTK_DIAG_MATCHED /* s_l = tau_l^2 - tau_0^2 alpha_{l,1}: diag K~ = diag K to leading order */
} lr_ntk_diag;

/* The four scalars of K~ = lin X^T X + V [[q2 t t^T + q3 T, q2 t], [q2 t^T, q2]] V^T + shift I
 * at layer `layer` of coef[0 .. layer]: (alpha_{l,1}, alpha_{l,2}, alpha_{l,3}) for the CK,
 * the beta's for the NTK; tau_0 is coef[0].tau.  LR_ENUMERIC for the NTK when kappa_l^2 is
 * not finite (an activation with E sigma'^2 = infinity has no NTK diagonal). */
int lr_ntk_equiv_scalars(const lr_ntk_coef *coef, size_t layer, lr_ntk_kind kind, lr_ntk_diag diag,
                         double *lin, double *q2, double *q3, double *shift);

/* Workspace for kernels of up to max_n samples and max_K classes: V, V A, A. */
typedef struct lr_ntk_equiv_plan lr_ntk_equiv_plan;
lr_ntk_equiv_plan *lr_ntk_equiv_plan_alloc(size_t max_n, size_t max_K);
void lr_ntk_equiv_plan_free(lr_ntk_equiv_plan *p);

/* Kt (n x n, full, symmetric) = K~ of layer `layer`, from X (p x n) and d (filled from the
 * same X): lin X^T X by dsyrk, V A V^T by one dgemm (W = V A) and one dsyr2k
 * ((W V^T + V W^T) / 2), the shift on the diagonal, then the lower triangle copied up.
 * Never allocates. */
int lr_ntk_equiv_kernel(lr_ntk_equiv_plan *p, const lr_ntk_coef *coef, size_t layer, lr_ntk_kind kind,
                        lr_ntk_diag diag, lr_mat X, const lr_ntk_data *d, lr_mat Kt);
/* The plain reference: every entry by its defining sums, no BLAS (tests). */
int lr_ntk_equiv_kernel_ref(const lr_ntk_coef *coef, size_t layer, lr_ntk_kind kind, lr_ntk_diag diag,
                            lr_mat X, const lr_ntk_data *d, lr_mat Kt);

/* ---- (d) spectral comparisons of symmetric n x n matrices (lower triangles read) ----
 *
 * How they compute (lr_ntk_spec_plan_set).  LR_NTK_SPEC_LANCZOS: Lanczos processes with
 * full reorthogonalization (src/core/lanczos.h), ||A||_2 by a single-vector process, the
 * top m eigenpairs by a block process of block size m, O(n^2 N) for N Lanczos vectors
 * instead of the O(n^3) tridiagonal reduction of a dense driver.  Each stops when its
 * residual bound is at most tol relative to ||A||_2, within at most max_steps vectors; when
 * it does not (or its small Ritz solver fails), dsyevr computes the result instead and the
 * plan counts a fallback (lr_ntk_spec_plan_info), which the caller writes to its results.
 * LR_NTK_SPEC_DSYEVR: the plain reference, every result from LAPACK's dsyevr.
 * LR_NTK_SPEC_AUTO, the default: Lanczos where it is the faster (n >= LR_NTK_SPEC_AUTO_NORM_N
 * for a norm, n >= LR_NTK_SPEC_AUTO_TOP_N for a top-m set), dsyevr directly below (counted
 * as direct, not as a fallback).  On every method a top-m set with 2 m > n goes to dsyevr
 * directly: the Krylov space would be most of the space. */
typedef enum {
    LR_NTK_SPEC_AUTO,    /* the default: Lanczos on large matrices, dsyevr on small ones */
    LR_NTK_SPEC_LANCZOS, /* Lanczos at every size, dsyevr as the recorded fallback */
    LR_NTK_SPEC_DSYEVR   /* the plain reference: dsyevr for everything */
} lr_ntk_spec_method;

/* The defaults: relative tolerance of the stop rules, and the most Lanczos vectors. */
#define LR_NTK_SPEC_TOL LR_LANCZOS_TOL
#define LR_NTK_SPEC_MAX_STEPS LR_LANCZOS_MAX_STEPS
/* LR_NTK_SPEC_AUTO's crossovers, measured with BLAS on one thread (bench/spec_bench.c,
 * bench/README.md): below them dsyevr is as fast as Lanczos or faster. */
#define LR_NTK_SPEC_AUTO_NORM_N 256
#define LR_NTK_SPEC_AUTO_TOP_N 1024

/* Workspace for n <= max_n and m <= max_m eigenvectors: an n x n copy (the inputs are left
 * untouched), the eigenvalues, two n x m frames, the LAPACK workspace and the Lanczos
 * basis (n x (min(max_steps, n) + m)).  Made with the defaults: LR_NTK_SPEC_AUTO,
 * LR_NTK_SPEC_TOL, LR_NTK_SPEC_MAX_STEPS. */
typedef struct lr_ntk_spec_plan lr_ntk_spec_plan;
lr_ntk_spec_plan *lr_ntk_spec_plan_alloc(size_t max_n, size_t max_m);
void lr_ntk_spec_plan_free(lr_ntk_spec_plan *p);
/* The method, the tolerance (in (0, 1)) and the most Lanczos vectors (>= 1) of the calls
 * that follow.  A max_steps above what the plan holds reallocates its basis (LR_ENOMEM
 * leaves the plan as it was); not for hot loops.  The counters are kept. */
int lr_ntk_spec_plan_set(lr_ntk_spec_plan *p, lr_ntk_spec_method method, double tol, size_t max_steps);

/* What the plan did since it was made (or last reset): one problem per norm (lr_ntk_rel_err
 * solves two) and one per top-m set (lr_ntk_eig_align solves two). */
typedef struct lr_ntk_spec_info {
    lr_ntk_spec_method method; /* the settings, to write next to the results */
    double tol;
    size_t max_steps;
    size_t calls;      /* spectral problems solved */
    size_t lanczos;    /* ... by a converged Lanczos process */
    size_t fallbacks;  /* ... by dsyevr because Lanczos did not converge within max_steps */
    size_t direct;     /* ... by dsyevr directly (the reference method, or AUTO on a small n) */
    size_t steps;      /* Lanczos vectors over all Lanczos runs, converged or not */
    size_t steps_max;  /* the most in one run */
    double bound_max;  /* the largest final relative bound of a converged run (<= tol) */
    size_t last_steps; /* the last problem's Lanczos vectors (0 if it went to dsyevr directly) */
    int last_fallback; /* 1 if the last problem fell back */
} lr_ntk_spec_info;
void lr_ntk_spec_plan_info(const lr_ntk_spec_plan *p, lr_ntk_spec_info *info);
size_t lr_ntk_spec_plan_fallbacks(const lr_ntk_spec_plan *p);
void lr_ntk_spec_plan_reset_info(lr_ntk_spec_plan *p);

/* ||A||_2 = max(|lambda_max|, |lambda_min|).  Lanczos: from the two extreme Ritz values (A
 * itself is read, not copied).  dsyevr (the reference and the fallback): from all
 * eigenvalues without vectors (the tridiagonal reduction dominates and is the same for two
 * eigenvalues as for all of them; two index-range calls would reduce twice).  LR_ECONV when
 * LAPACK reports info > 0 on the dense path; LR_ENUMERIC for NaN or Inf entries. */
int lr_ntk_norm2(lr_ntk_spec_plan *p, lr_mat A, double *norm);
/* ||K - Kt||_2 / ||K||_2 in *rel (and the two norms, either pointer may be NULL); LR_EINVAL
 * when ||K||_2 = 0. */
int lr_ntk_rel_err(lr_ntk_spec_plan *p, lr_mat K, lr_mat Kt, double *rel, double *err, double *normK);
/* The m largest eigenvalues w[m] (descending) and, if U has storage, their eigenvectors (n x m):
 * a block Lanczos process of block size m on a full copy of A (multiplicities up to m are
 * found), or dsyevr with an index range (the reference and the fallback), itself falling back
 * to dsyevd when it returns too few pairs. */
/* How many top-eigenpair calls of the plan fell back from dsyevr to dsyevd (too few pairs). */
size_t lr_ntk_spec_dsyevd_fallbacks(const lr_ntk_spec_plan *p);
int lr_ntk_top_eig(lr_ntk_spec_plan *p, lr_mat A, size_t m, double *w, lr_mat U);
/* The top-m eigenpairs of K and Kt, w[m] and wt[m] (either may be NULL), align[i] =
 * |<u_i, u~_i>| (may be NULL; meaningful only where eigenvalue i is isolated) and
 * *subspace = ||U^T U~||_F^2 / m in [0, 1], the alignment of the two top-m subspaces, which
 * does not depend on the basis chosen within clusters of equal eigenvalues. */
int lr_ntk_eig_align(lr_ntk_spec_plan *p, lr_mat K, lr_mat Kt, size_t m, double *w, double *wt, double *align,
                     double *subspace);

#endif
