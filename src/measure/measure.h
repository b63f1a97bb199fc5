/* Measurement: the errors of a compressed layer, measured the same way for every
 * compressor (a compressor never measures itself).
 *
 * For a layer problem L (X~ m x N0, W N0 x N1, Y m x N1) and factors M = A B:
 *   err_layer = ||X~ (A B - W)||_F   the compressed layer's response against the layer's,
 *   err_y     = ||X~ A B - Y||_F     against the observed pre-activations,
 *   err_w     = ||A B - W||_F        against the weights.
 * lr_measure_layer is the plain reference: it forms W - A B, then X~ (W - A B), and
 * X~ A B - Y from them.
 *
 * lr_measure_rank_errors fits one compressor and measures it at every rank of an
 * ascending list.  Fast path, for nested compressors (the factors at rank k are the
 * leading k columns / rows of the factors at any larger rank): one fit at the largest
 * rank, then the three residuals are updated one rank-one term at a time,
 *   E_j = E_{j-1} - (X~ a_j) b_j^T,  Ey_j = Ey_{j-1} - (X~ a_j) b_j^T,  Ew_j = Ew_{j-1} - a_j b_j^T,
 * so every rank costs O(m N1) instead of a refit and an O(m k N1) product.  The plain
 * path refits at each rank and calls lr_measure_layer (other compressors, and the tests'
 * reference: force_plain).  tests/test_real.c checks that both agree. */
#ifndef LR_MEASURE_MEASURE_H
#define LR_MEASURE_MEASURE_H

#include <gsl/gsl_rng.h>

#include "compress/compress.h"

int lr_measure_layer(const lr_layer *L, lr_mat A, lr_mat B, double *err_layer, double *err_y, double *err_w);

/* Fit plan's compressor to L at sweep point `point` and measure it at ranks[0..nranks)
 * (ascending): err_layer, err_y, err_w and the rank produced kout per rank; *route and
 * *fallback or-ed over the fits.  rng: the compressor's own stream (randomised ones). */
int lr_measure_rank_errors(const lr_layer *L, lr_compressor_plan *plan, size_t point, const size_t *ranks,
                           size_t nranks, int force_plain, gsl_rng *rng, double *err_layer, double *err_y,
                           double *err_w, size_t *kout, int *route, int *fallback);

/* The errors of factors A (N0 x k), B (k x N1) against a known truth (the recovery
 * experiment's synthetic layers), through (X~ A) B: m x k work instead of m x N0 x N1.
 *   err_fro    = ||X~ A B - Z*||_F, or with ReLU observations ||rho(X~ A B) - rho(Z*)||_F
 *                (Theorem 3 measures after the activation); err_pre the former always,
 *   err_layer  = ||X~ A B - X~ W||_F,   err_weight = ||A B - M*||_F,
 *   err_heldout_rel = ||X_t A B - Z_t||_F / ||Z_t||_F on held-out rows (NaN: none). */
typedef struct lr_truth {
    lr_mat X, Zs, XW, Ms; /* X~ (m x N0), Z* = X~ M*, X~ W (m x N1), M* (N0 x N1) */
    lr_mat Xt, Zt;        /* held-out rows and their truth (0 rows: none) */
    double zt_norm;       /* ||Z_t||_F */
    int relu;
} lr_truth;
typedef struct lr_truth_errors {
    double err_fro, err_pre, err_layer, err_weight, err_heldout_rel;
} lr_truth_errors;
/* E (max(m, m_t) x N1), XA (max(m, m_t) x >= k) and Mh (N0 x N1): the caller's scratch. */
int lr_measure_truth(const lr_truth *t, lr_mat A, lr_mat B, lr_mat E, lr_mat XA, lr_mat Mh, lr_truth_errors *out);

#endif
