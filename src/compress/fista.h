/* Accelerated proximal gradient for nuclear-norm penalised problems
 *
 *   minimise  F(C) = f(C) + lambda ||C||_*,   f convex with an L-Lipschitz gradient,
 *
 * shared by the convex compressors (dd_nuc, relu_cvx).  The proximal step is singular
 * value thresholding, prox_{lambda/L ||.||_*}(V) = SVT_{lambda/L}(V).  Three schemes:
 *   FISTA   (Beck & Teboulle, SIAM J. Imaging Sci. 2009): extrapolation with the
 *           t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2 sequence, O(1/k^2);
 *   MFISTA  (Beck & Teboulle, IEEE Trans. Image Proc. 2009): the monotone variant; the
 *           iterate only moves when the objective does not increase, so F(x_k) is
 *           non-increasing (the extrapolation still uses the prox point z_k);
 *   ISTA    plain proximal gradient, the reference the accelerated paths are tested against.
 * Stopping: the relative step ||z_k - y_k||_F <= tol * ||z_k||_F (the proximal-gradient
 * mapping, scaled so the test does not depend on the problem's units), or, in MFISTA, a
 * plain proximal-gradient step rejected right after a restart (F is then optimal to
 * rounding).  A duality-gap callback, when given, reports the gap at the returned
 * iterate (it is not the stopping test: a gap from the scaled residual decreases only
 * like the square root of the objective error).  No hidden tolerance: tol and max_iter
 * come from the caller (config keys compress.tol, compress.max_iter). */
#ifndef LR_COMPRESS_FISTA_H
#define LR_COMPRESS_FISTA_H

#include "core/linalg.h"
#include "core/mat.h"

typedef struct lr_fista_smooth {
    /* f(C) into *f and, when grad.data is not NULL, its gradient into grad. */
    int (*eval)(void *ctx, lr_mat C, double *f, lr_mat grad);
    /* Optional: a duality gap at C (F = F(C) given), reported for the returned iterate. */
    int (*gap)(void *ctx, lr_mat C, double F, double *gap);
    void *ctx;
    double L; /* Lipschitz constant of the gradient: the step is 1 / L */
} lr_fista_smooth;

typedef enum { LR_FISTA, LR_FISTA_MONOTONE, LR_ISTA } lr_fista_scheme;

typedef struct lr_fista_opts {
    double lambda, tol;
    int max_iter;
    lr_fista_scheme scheme;
} lr_fista_opts;

typedef struct lr_fista_out {
    int iterations, converged;
    size_t rank;      /* rank of the returned iterate (exact: it is an SVT output or the start) */
    double objective; /* F at the returned iterate */
    double gap;       /* duality gap at the returned iterate, or the last relative step without a gap callback */
} lr_fista_out;

/* Doubles of scratch for a rows x cols problem. */
size_t lr_fista_scratch(size_t rows, size_t cols);

/* C holds the start on entry and the solution on return.  `trace`, when not NULL, gets
 * F(x_k) after each iteration k (max_iter values).  Returns LR_ENUMERIC if the objective
 * becomes non-finite. */
int lr_fista_nuclear(const lr_fista_smooth *f, const lr_fista_opts *o, lr_mat C, lr_svd_plan *svd,
                     double *scratch, lr_fista_out *out, double *trace, int *svd_fallback);

/* SVT_tau(A) into Out (A destroyed; U, s, VT scratch of min(r, c) columns/rows); returns
 * the rank kept and the nuclear norm of the result. */
int lr_svt(lr_svd_plan *svd, lr_mat A, double tau, lr_mat Out, lr_mat U, double *s, lr_mat VT,
           size_t *rank, double *nuclear, int *svd_fallback);

#endif
