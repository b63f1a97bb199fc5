/* Bivariate normal orthant probabilities: the closed-form kernels of the piecewise-constant
 * activations (sign, step, sigma_T, sigma_Q) are sums of them.  GSL has none.
 *
 * (X, Y) standard bivariate normal with correlation r in [-1, 1]; Q(x) = P(X > x).
 *   lr_ntk_bvn_upper   P(X > h, Y > k): Drezner and Wesolowsky's method as refined by Genz to
 *                      double precision (about 1e-15 absolute), a fixed Gauss-Legendre rule;
 *   lr_ntk_bvn_cdf     P(X < h, Y < k) = lr_ntk_bvn_upper(-h, -k, r);
 *   lr_ntk_bvn_cov     P(X > h, Y > k) - Q(h) Q(k), the covariance of the two indicators,
 *                      without the cancellation of the subtraction where |r| is small;
 *   lr_ntk_bvn_cov4    the four covariances of two thresholds in each variable and one r
 *                      (the closed-form kernels of sigma_T, sigma_Q): asin r and every
 *                      node's sin computed once, the exp over the four orthants 4-wide
 *                      (glibc's libmvec, AVX2, chosen at run time; lr_ntk_bvn_cov4_scalar
 *                      otherwise); equal to four lr_ntk_bvn_cov calls up to libmvec's
 *                      rounding (within 4 ulp per call, tests/test_ntk_kernel.c: 1e-15);
 *   lr_ntk_bvn_upper_ref  the plain reference: the one-dimensional integral over the
 *                      correlation (Plackett's identity) by GSL's adaptive quadrature.
 * The maths is at the top of bvn.c. */
#ifndef LR_NTK_BVN_H
#define LR_NTK_BVN_H

#include <gsl/gsl_integration.h>

double lr_ntk_bvn_upper(double h, double k, double r);
double lr_ntk_bvn_cdf(double h, double k, double r);
double lr_ntk_bvn_cov(double h, double k, double r);

/* out[2 a + b] = lr_ntk_bvn_cov(h[a], k[b], r) for a, b in {0, 1} (see above): the shared
 * nodes for |r| < 0.925 and finite thresholds, four lr_ntk_bvn_cov calls otherwise. */
void lr_ntk_bvn_cov4(const double h[2], const double k[2], double r, double out[4]);
/* The same with scalar libm exp and sin (what lr_ntk_bvn_cov4 runs without AVX2). */
void lr_ntk_bvn_cov4_scalar(const double h[2], const double k[2], double r, double out[4]);
/* 1 when this build and machine run the AVX2 paths (libmvec linked, the CPU has AVX2 and
 * FMA, and LR_NTK_NO_AVX2 is not set in the environment at start-up), else 0. */
int lr_ntk_simd_avx2(void);

/* The reference for P(X > h, Y > k), to GSL's tolerances epsabs, epsrel; ws: a GSL workspace
 * of at least limit intervals, or NULL (one is allocated and freed).  LR_EINVAL for r outside
 * [-1, 1] or NaN arguments, LR_ENUMERIC when GSL fails. */
int lr_ntk_bvn_upper_ref(double h, double k, double r, double epsabs, double epsrel, size_t limit,
                         gsl_integration_workspace *ws, double *out);

#endif
