/* Synthetic layers with a known ground truth (docs/theory.md section 3).
 *
 *   X~ (m x N0): i.i.d. N(0, 1); or rank q: X~ = A B / sqrt(q) with A, B Gaussian
 *        (entries of unit variance, as for the full-rank case); or a prescribed singular
 *        spectrum: X~ = U diag(s) V^T with Haar-random U, V.
 *   M* (N0 x N1) of rank r with prescribed singular values: U_r diag(s) V_r^T.
 *   Noise: Gaussian N(0, sigma^2); Rademacher +-sigma; Student t with df > 2 degrees of
 *        freedom scaled by sqrt((df - 2) / df) so that its variance is sigma^2.
 *
 * Haar-random orthonormal frames come from the QR factorisation of a Gaussian matrix
 * with the signs of R's diagonal moved into Q (Mezzadri 2007), so they are exactly Haar. */
#ifndef LR_GEN_GEN_H
#define LR_GEN_GEN_H

#include <gsl/gsl_rng.h>

#include "core/mat.h"

typedef enum {
    LR_NOISE_GAUSSIAN,
    LR_NOISE_RADEMACHER,
    LR_NOISE_STUDENT_T,
    LR_NOISE_ROW_CORRELATED /* Gaussian, AR(1) across rows: lr_gen_noise_rows */
} lr_noise_kind;

/* The kind named `name` ("gaussian", "rademacher", "student_t", "row_correlated"), -1 if
 * unknown; lr_noise_kind_name_at(i) is the i-th name, NULL past the end (likewise for the
 * x and tail kinds below). */
int lr_noise_kind_parse(const char *name);
const char *lr_noise_kind_name_at(size_t i);

/* Fill A with i.i.d. noise of standard deviation sigma (df used by Student t only). */
int lr_gen_noise(gsl_rng *r, lr_mat A, lr_noise_kind kind, double sigma, double df);

/* Scratch doubles needed by lr_gen_orthonormal for an n x k frame. */
size_t lr_gen_orthonormal_scratch(size_t n, size_t k);
/* Q (n x k, k <= n) Haar-distributed with orthonormal columns; scratch as sized above. */
int lr_gen_orthonormal(gsl_rng *r, lr_mat Q, double *scratch);

/* A (m x n) = U diag(s) V^T with Haar U (m x k), V (n x k), k = len(s) <= min(m, n).
 * Scratch: lr_gen_with_spectrum_scratch(m, n, k) doubles. */
size_t lr_gen_with_spectrum_scratch(size_t m, size_t n, size_t k);
int lr_gen_with_spectrum(gsl_rng *r, lr_mat A, const double *s, size_t k, double *scratch);

/* Geometric spectrum of length k from s_1 = top down to s_k = top / cond. */
void lr_spectrum_geometric(double *s, size_t k, double top, double cond);

typedef enum { LR_X_GAUSSIAN, LR_X_LOWRANK, LR_X_SPECTRUM } lr_x_kind;
int lr_x_kind_parse(const char *name);
const char *lr_x_kind_name_at(size_t i);

/* X~ of the given kind.  q is the rank for LR_X_LOWRANK and LR_X_SPECTRUM; cond the
 * condition number of the spectrum (s from sqrt(m) down to sqrt(m)/cond).  Scratch:
 * lr_gen_x_scratch(m, n0, q). */
size_t lr_gen_x_scratch(size_t m, size_t n0, size_t q);
int lr_gen_x(gsl_rng *r, lr_mat X, lr_x_kind kind, size_t q, double cond, double *scratch);

/* ---- issue 3: spectral tails, row-correlated noise, annihilated components ---- */

/* Row-correlated Gaussian noise: each column is a stationary AR(1) sequence down the rows,
 * g_1 = z_1, g_i = rho g_{i-1} + sqrt(1 - rho^2) z_i, times sigma, so every entry has
 * variance sigma^2 and rows i, j have correlation rho^|i-j| (the calibration samples are
 * not independent, as in consecutive tokens or overlapping image patches). */
int lr_gen_noise_rows(gsl_rng *r, lr_mat A, double sigma, double rho);

typedef enum { LR_TAIL_NONE, LR_TAIL_POWER, LR_TAIL_EXP, LR_TAIL_FLOOR, LR_TAIL_FILE } lr_tail_kind;
int lr_tail_kind_parse(const char *name);
const char *lr_tail_kind_name_at(size_t i);

/* Singular values of an approximately low-rank signal, s[0..n): a head of r values from
 * top down to top / cond (geometric, as lr_spectrum_geometric), then a tail
 *   s[r + i - 1] = level * top * g(i),  i = 1 .. n - r,
 * with g(1) = 1 and g(i) = i^-alpha (power), e^{-beta (i - 1)} (exp), 1 (floor), or the
 * shape of a measured spectrum v past its r-th value, g(i) = v[r + i - 1] / v[r] (file;
 * 0 beyond the end of v).  LR_TAIL_NONE gives zeros past r. */
int lr_spectrum_with_tail(double *s, size_t n, size_t r, double top, double cond,
                          lr_tail_kind kind, double alpha, double beta, double level,
                          const double *v, size_t nv);

/* N (n0 x n1): a Gaussian matrix projected onto the orthogonal complement of the columns
 * of Vx (n0 x q, orthonormal), i.e. with columns in ker X~ when Vx spans X~'s row space,
 * scaled to Frobenius norm `fro`.  Fails if the complement is empty (q = n0).  Scratch:
 * lr_gen_annihilated_scratch(n0, n1, q) doubles. */
size_t lr_gen_annihilated_scratch(size_t n0, size_t n1, size_t q);
int lr_gen_annihilated(gsl_rng *r, lr_mat N, lr_mat Vx, double fro, double *scratch);

/* ---- issue 12: layers of synthetic networks (ALDS) ---- */

/* W (n0 x n1) = U diag(s) V^T + noise G / (sqrt(n0) + sqrt(n1)): Haar U, V, a power-law
 * spectrum s_i = i^-decay (i = 1 .. min(n0, n1), so ||signal||_2 = 1) and a Gaussian G
 * scaled so that the noise's operator norm is close to `noise` (a Gaussian n0 x n1 matrix
 * has norm close to sqrt(n0) + sqrt(n1)): a layer whose spectrum decays as a power law
 * down to a noise floor.  Scratch: lr_gen_power_layer_scratch(n0, n1) doubles. */
size_t lr_gen_power_layer_scratch(size_t n0, size_t n1);
int lr_gen_power_layer(gsl_rng *r, lr_mat W, double decay, double noise, double *scratch);

#endif
