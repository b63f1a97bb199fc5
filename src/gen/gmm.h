/* K-class Gaussian mixtures and real data in the form the NTK equivalent kernels need
 * (docs/theory.md section 5; Gu, Du, Zhang, Xie, Pu, Qiu, Liao, "'Lossless' Compression of Deep
 * Neural Networks: A High-dimensional Neural Tangent Kernel Approach", NeurIPS 2022; the data
 * model is that of Couillet and Benaych-Georges 2016 and Liao and Couillet 2018).
 *
 *   Class a = 0 .. K-1 (THEORY's a = 1 .. K) has proportion pi_a and draws
 *       x = mu_a / sqrt(p) + omega,   omega ~ N(0, C_a / p),
 *   so that ||x|| = O(1) and means differ by O(1 / sqrt p) per sample: the regime where the
 *   kernel spectra carry the class structure without making it trivial.  Sampling is
 *   x = mu_a / sqrt(p) + L_a z / sqrt(p) with z ~ N(0, I_p) and C_a = L_a L_a^T; L_a is stored
 *   as a lower-triangular factor (the Cholesky factor when set from C_a), with fast paths for
 *   C_a = s_a I and C_a diagonal.
 *
 *   Sample order: samples are ORDERED BY CLASS (the n_0 samples of class 0 first, then class
 *   1, ...), drawn column by column from one stream.  Every kernel and every spectrum lrlab
 *   computes is equivariant under a permutation of the samples, so the order changes no
 *   result, while the block order makes J block-diagonal and kernel matrices readable as
 *   images.  A caller who needs another order permutes the columns and the labels together.
 *
 *   Class counts: n_a = round(pi_a n) made to sum to n by the largest-remainder rule
 *   (lr_gmm_counts).
 *
 * The statistics both the mixture and real data report (lr_class_stats) are those the
 * equivalent kernel is built from (src/ntk/equiv.h): the proportions, the means mu_a (as the
 * class mean times sqrt p), tr(C_a)/p and tr(C_a C_b)/p.  For the mixture they are the
 * population values; for real data they are plug-in estimates (see lr_real_normalise). */
#ifndef LR_GEN_GMM_H
#define LR_GEN_GMM_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "core/mat.h"

/* The proportions must sum to 1 within this absolute tolerance (they are then used as
 * given, divided by their sum). */
#define LR_GMM_PI_TOL 1e-9
/* The most classes a mixture may have (sampling keeps the counts on the stack). */
#define LR_GMM_MAX_CLASSES 1024

/* How the class covariances are stored. */
typedef enum {
    LR_GMM_COV_SCALED, /* C_a = scale[a] I */
    LR_GMM_COV_DIAG,   /* C_a = diag(diag[:, a]) */
    LR_GMM_COV_FACTOR  /* C_a = L_a L_a^T, L_a lower triangular (its upper part is ignored) */
} lr_gmm_cov_kind;

typedef struct lr_gmm {
    size_t p, K;
    lr_gmm_cov_kind cov;
    double *pi;     /* [K] class proportions */
    double *mu;     /* p x K, column a is mu_a: the class mean is mu_a / sqrt(p) */
    double *scale;  /* [K], LR_GMM_COV_SCALED only (else NULL) */
    double *diag;   /* p x K, LR_GMM_COV_DIAG only (else NULL) */
    double *factor; /* K blocks of p x p (block a at factor + a p^2), LR_GMM_COV_FACTOR only */
} lr_gmm;

/* A mixture with zero means, identity covariances and equal proportions 1/K; the caller
 * fills mu, pi and the covariance arrays, or applies a preset.  NULL (with the reason
 * recorded) if K or p is 0 or memory runs out. */
lr_gmm *lr_gmm_alloc(size_t p, size_t K, lr_gmm_cov_kind cov);
void lr_gmm_free(lr_gmm *g);

/* LR_GMM_COV_FACTOR: set C_a from a symmetric positive definite p x p matrix (lower triangle
 * read, not modified) through its Cholesky factor (dpotrf); LR_ESINGULAR if C is not
 * numerically positive definite (a semidefinite covariance is set by writing a lower-
 * triangular factor into g->factor directly). */
int lr_gmm_set_cov(lr_gmm *g, size_t a, lr_mat C);

/* docs/theory.md section 5's presets, for every covariance kind, with equal proportions:
 *   gu22:      mu_a = 8 e_{8a+1} (0-based a; THEORY's 8 e_{8(a-1)+1}), C_a = (1 + 8a/sqrt p) I
 *   gu22_mean: the same means, C_a = I             (classes differ only in their means)
 *   gu22_cov:  mu_a = 0, C_a = (1 + 8a/sqrt p) I   (classes differ only in their covariances)
 * The means need p >= 8(K-1)+1 (LR_EINVAL otherwise). */
typedef enum { LR_GMM_PRESET_GU22, LR_GMM_PRESET_GU22_MEAN, LR_GMM_PRESET_GU22_COV } lr_gmm_preset;
#define LR_GMM_GU22_MEAN 8.0  /* |mu_a| */
#define LR_GMM_GU22_STRIDE 8  /* mu_a sits on coordinate 8a */
#define LR_GMM_GU22_COV 8.0   /* C_a = (1 + 8a / sqrt p) I */
int lr_gmm_preset_parse(const char *name); /* -1 if unknown */
const char *lr_gmm_preset_name_at(size_t i); /* NULL past the end */
int lr_gmm_set_preset(lr_gmm *g, lr_gmm_preset which);

/* Class counts for n samples: n_a = floor(pi_a n), then the n - sum floor(pi_a n) remaining
 * samples go one each to the classes with the largest fractional parts pi_a n - floor(pi_a n)
 * (ties to the lower class index).  This is round(pi_a n) whenever those roundings sum to
 * n, and otherwise the closest integer vector to pi n that does.  pi as lr_gmm's. */
int lr_gmm_counts(const double *pi, size_t K, size_t n, size_t *counts);

/* X (p x n, columns = samples) and labels[n] (may be NULL), ordered by class (see the top),
 * counts from lr_gmm_counts.  Draws exactly p n standard Gaussians (ziggurat), column by
 * column, so a seed gives the same X for every covariance kind that represents the same
 * C_a.  Never allocates. */
int lr_gmm_sample(const lr_gmm *g, gsl_rng *r, lr_mat X, size_t *labels);

/* ---- the per-class statistics the equivalent kernel is built from ---- */

typedef struct lr_class_stats {
    size_t p, K;
    int plugin;    /* 0: a mixture's population values; 1: estimates from data */
    double *pi;    /* [K] proportions (n_a / n for data) */
    double *mu;    /* p x K: sqrt(p) times the class mean */
    double *trc;   /* [K] tr(C_a) / p, the class's mean squared distance to its mean */
    double *trcc;  /* K x K, column-major: tr(C_a C_b) / p */
} lr_class_stats;

lr_class_stats *lr_class_stats_alloc(size_t p, size_t K);
void lr_class_stats_free(lr_class_stats *s);

/* The mixture's population statistics: tr(C_a) and tr(C_a C_b) from the scale, the diagonal
 * or ||L_a||_F^2 and ||L_a^T L_b||_F^2 (a p x p scratch is allocated for the factor kind). */
int lr_gmm_class_stats(const lr_gmm *g, lr_class_stats *s);

/* ---- real data ---- */

/* counts[k] = the number of columns whose label is classes[k]; *n = their sum.  The classes
 * must be distinct (LR_EINVAL). */
int lr_real_select_count(const size_t *labels, size_t N, const size_t *classes, size_t K,
                         size_t *counts, size_t *n);

/* Real data D (p x N, columns = samples) with labels[N], restricted to the K classes listed
 * in `classes`, put in the mixture's form:
 *   X (p x n): the selected columns grouped by class in the order of `classes` (stable within
 *     a class), labels_out[n] = the position of the class in `classes` (0 .. K-1);
 *   centred by the GLOBAL mean of the selected columns (not per class: per-class centring
 *     would erase the class means, which are the signal), then divided by
 *     *scale = sqrt(mean_i ||x_i - mean||^2), so that the mean squared column norm is 1
 *     (docs/theory.md section 5: "real data normalised so the mean squared norm is 1").
 *   s (may be NULL): PLUG-IN estimates of the mixture's statistics from X itself, with
 *     w_i = x_i - m_a for i in class a and m_a the class mean:
 *       pi_a = n_a / n,  mu_a = sqrt(p) m_a,  trc_a = (1/n_a) sum_{i in a} ||w_i||^2,
 *       trcc_ab = p * mean over pairs i in a, j in b, i != j, of (w_i^T w_j)^2.
 *     For a != b, trcc_ab = tr(C^_a C^_b)/p with C^_a = p times the class's sample covariance
 *     (1/n_a normalisation).  For a = b the n_a terms i = j are left out: the equivalent
 *     kernel carries T_aa/p as the mean of (x_i^T x_j)^2 over pairs i != j, and the plain
 *     plug-in tr(C^_a^2)/p would add (trc_a)^2 p / n_a (the diagonal terms ||w_i||^4), which
 *     is of the same order as T_aa itself when n_a is of the order of p.  Each class needs
 *     n_a >= 2 (LR_EDATA).  The estimates are consistent, not exact: the equivalent kernel
 *     formed from them is a plug-in kernel.
 * A column block scratch of at most n_max x 256 doubles is allocated for trcc. */
int lr_real_normalise(lr_mat D, const size_t *labels, const size_t *classes, size_t K, lr_mat X,
                      size_t *labels_out, double *scale, lr_class_stats *s);

#endif
