/* ALDS's per-layer kernel: truncated SVDs of channel groups, their error bounds, their
 * parameter count and their true operator-norm error (src/compress/grouped.c; docs/theory.md
 * section 4).  Liebenwein, Maalouf, Gal, Feldman, Rus, "Compressing Neural Networks:
 * Towards Determining the Optimal Layer-wise Decomposition", NeurIPS 2021.
 *
 * Orientation (lrlab's, docs/theory.md section 1): W is N0 x N1, inputs x outputs, column-major.
 * A conv layer's input index is (ch kh + h) kw + w, so input channel ch owns the contiguous
 * rows ch kh kw .. (ch + 1) kh kw - 1; a linear layer has c = N0 channels of one row each.
 * ALDS slices the c input channels into k equal contiguous groups (k divides c), i.e. W
 * into k blocks of rows = N0 / k rows:
 *     W = [W_1; ...; W_k],   W_i = rows (i-1) rows .. i rows - 1 of W, rows x N1.
 * (docs/theory.md's f x c kh kw matrix is W^T: its column blocks are our row blocks.)
 *
 * Rank j (0 <= j <= mn = min(rows, N1)) replaces each W_i by its best rank-j
 * approximation [W_i]_j.  With the thin SVD W_i = U_i diag(alpha_i) V_i^T,
 * alpha_{i,1} >= alpha_{i,2} >= ... >= alpha_{i,mn} >= 0, the factors are
 *     A_i = U_i[:, 1..j]                          rows x j, orthonormal columns (encoder),
 *     B_i = diag(alpha_{i,1..j}) V_i[:, 1..j]^T    j x N1 (decoder),
 * so the singular values go to the decoder, as in the authors' code (a k-group conv with
 * V^T, then a 1x1 conv with U S in their orientation).  Both are views of one SVD per
 * group: every j of one k is served by the same storage without copying (nested
 * truncations).  The result is an lr_compressed of kind GROUPED, axis LR_GROUP_INPUT.
 *
 * Objects and their lifetimes:
 *   p = lr_grouped_plan_alloc(max_n0, max_n1)     once per thread, for the largest layer;
 *   lr_alds_norm(p, W, &alpha1)                 ||W||_2, once per layer;
 *   lr_alds_spectra_compute(p, W, c, k, alpha1, vectors, &s)   once per (layer, k);
 *   lr_alds_bound(&s, j, ...), lr_alds_factors(p, &s, j, &out),
 *   lr_alds_error(p, &s, j, tol, max_iter, &info)              per j, no allocation.
 * The spectra s and the factors out are views of the plan's storage: valid until the next
 * lr_alds_spectra_compute (for s) or lr_alds_factors (for out) on the same plan.  Nothing
 * after lr_grouped_plan_alloc allocates. */
#ifndef LR_COMPRESS_GROUPED_H
#define LR_COMPRESS_GROUPED_H

#include <stddef.h>

#include "compress/compressed.h"
#include "core/mat.h"

typedef struct lr_grouped_plan lr_grouped_plan;

/* Workspace for every layer with N0 <= max_n0 and N1 <= max_n1 and every k: an SVD plan,
 * the groups' singular values and vectors, the factor views, the power iteration's
 * vectors and the dense reference's error matrix.  NULL on failure (reason recorded). */
lr_grouped_plan *lr_grouped_plan_alloc(size_t max_n0, size_t max_n1);
void lr_grouped_plan_free(lr_grouped_plan *p);

/* alpha_1 = ||W||_2, the top singular value of W (values only; W is not modified). */
int lr_alds_norm(lr_grouped_plan *p, lr_mat W, double *alpha1);

/* One layer split into k groups. */
typedef struct lr_alds_spectra {
    size_t n0, n1;       /* the layer's W */
    size_t c;            /* its input channels (N0 for a linear layer) */
    size_t k;            /* the number of groups, a divisor of c */
    size_t rows;         /* N0 / k, the rows of each group */
    size_t mn;           /* min(rows, N1): singular values per group; ranks j = 0 .. mn */
    double alpha1;       /* ||W||_2, as given */
    const double *alpha; /* k mn values: alpha[i mn + t] = alpha_{i+1,t+1}, descending in t */
    int vectors;         /* 1: U and SVT hold the factors (else their data are NULL) */
    lr_mat U;            /* N0 x mn: rows i rows .. (i+1) rows - 1 are U_{i+1} */
    lr_mat SVT;          /* k mn x N1: rows i mn .. (i+1) mn - 1 are diag(alpha_{i+1}) V_{i+1}^T */
    size_t svd_fallbacks; /* groups whose dgesdd failed and whose SVD dgesvd produced */
} lr_alds_spectra;

/* The SVD of every group of W (N0 x N1, not modified) for k groups of whole input channels
 * (c channels, c divides N0, k divides c), alpha1 = ||W||_2 from lr_alds_norm.
 * vectors = 0: singular values only (LAPACK jobz 'N'), enough for the bounds;
 * vectors = 1: also U_i and diag(alpha_i) V_i^T, for lr_alds_factors and lr_alds_error. */
int lr_alds_spectra_compute(lr_grouped_plan *p, lr_mat W, size_t c, size_t k, double alpha1, int vectors,
                            lr_alds_spectra *s);

/* The three bounds of docs/theory.md section 4 on eps = ||W^ - W||_2 / ||W||_2 at rank j, with
 * a = (alpha_{1,j+1}, ..., alpha_{k,j+1}) (0 beyond a group's rank, i.e. at j = mn):
 *     LR_ALDS_LOWER   max_i a_i / alpha_1             <= eps   (the authors' code's proxy)
 *     LR_ALDS_L2      (sum_i a_i^2)^{1/2} / alpha_1   >= eps
 *     LR_ALDS_SQRTK   sqrt(k) max_i a_i / alpha_1     >= the l2 bound (the published one)
 * All three equal sigma_{j+1}(W) / sigma_1(W) = eps at k = 1. */
typedef enum lr_alds_bound_kind { LR_ALDS_LOWER = 0, LR_ALDS_L2, LR_ALDS_SQRTK } lr_alds_bound_kind;
/* The bound from the spectra; NAN for j > mn (and 0/0 = NAN for W = 0). */
double lr_alds_bound(const lr_alds_spectra *s, size_t j, lr_alds_bound_kind which);
/* The same from the k values a_i and alpha_1 (what the bounds registry is given). */
double lr_alds_bound_of(lr_alds_bound_kind which, const double *alpha_next, size_t k, double alpha1);
/* alpha_next[i] = alpha_{i+1,j+1} for the k groups (0 at j = mn); j <= mn. */
void lr_alds_alpha_next(const lr_alds_spectra *s, size_t j, double *alpha_next);

/* Stored numbers of the decomposition: j (k N1 + N0) (k encoders of rows x j, k decoders
 * of j x N1), against N0 N1 dense.  The layer stays dense when that saves nothing:
 * lr_alds_stays_dense is 1 iff j (k N1 + N0) >= N0 N1. */
size_t lr_alds_params(size_t n0, size_t n1, size_t k, size_t j);
int lr_alds_stays_dense(size_t n0, size_t n1, size_t k, size_t j);

/* W^ at rank j (0 <= j <= mn) as a GROUPED, LR_GROUP_INPUT lr_compressed over views of the
 * spectra's factors (s from p, computed with vectors = 1): A_i = U_i[:, 1..j],
 * B_i = diag(alpha_{i,1..j}) V_i[:, 1..j]^T. */
int lr_alds_factors(lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, lr_compressed *out);

/* The true relative error eps = ||W^ - W||_2 / ||W||_2 at rank j, by power iteration on
 * E^T E = sum_i E_i^T E_i (N1 x N1, E = W^ - W never formed; grouped.c says how).
 * Stops when the estimated remaining relative increase of eps is at most tol (see
 * grouped.c: extrapolated from the last two increments of the Rayleigh quotient, or the
 * quotient stopped increasing) or after max_iter products with E^T E. */
typedef struct lr_alds_error_info {
    double eps;       /* the estimate: never above the true eps (a Rayleigh quotient), and never
                         below the lower bound (the start vector; up to rounding) */
    int iterations;   /* products with E^T E taken (0: eps was exact without iterating) */
    int converged;    /* 1 if the tolerance was met, 0 if max_iter was reached first */
    double remaining; /* estimated relative increase of eps still to come at the stop (0 when
                         the quotient stopped increasing or eps is exact, NAN if not estimable) */
} lr_alds_error_info;
/* Non-convergence is not an error: info->converged = 0 says so, and eps is the best
 * estimate so far (still between the lower bound and the true error); the caller records it.
 * eps is exactly 0 with 0 iterations at full rank (j = mn) or when every alpha_{i,j+1} = 0. */
int lr_alds_error(lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, double tol, int max_iter,
                  lr_alds_error_info *info);
/* The plain reference: the same power iteration (same start, same stopping rule, the same
 * exact 0 without a tail) on E = W - What formed explicitly (N0 x N1, in the plan) and
 * applied as E then E^T; What is any N0 x N1 matrix (the tests pass lr_compressed_to_dense
 * of lr_alds_factors). */
int lr_alds_error_dense(lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, lr_mat W, lr_mat What, double tol,
                        int max_iter, lr_alds_error_info *info);

#endif
