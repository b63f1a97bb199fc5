/* Bivariate normal orthant probabilities: the closed-form kernels of the piecewise-constant
 * activations (sign, step, sigma_T, sigma_Q) are sums of them.  GSL has none.
 *
 * (X, Y) standard bivariate normal with correlation r in [-1, 1]; Q(x) = P(X > x).
 *   lr_ntk_bvn_upper   P(X > h, Y > k): Drezner and Wesolowsky's method as refined by Genz to
 *                      double precision (about 1e-15 absolute), a fixed Gauss-Legendre rule;
 *   lr_ntk_bvn_cdf     P(X < h, Y < k) = lr_ntk_bvn_upper(-h, -k, r);
 *   lr_ntk_bvn_cov     P(X > h, Y > k) - Q(h) Q(k), the covariance of the two indicators,
 *                      without the cancellation of the subtraction where |r| is small;
 *   lr_ntk_bvn_upper_ref  the plain reference: the one-dimensional integral over the
 *                      correlation (Plackett's identity) by GSL's adaptive quadrature.
 * The maths is at the top of bvn.c. */
#ifndef LR_NTK_BVN_H
#define LR_NTK_BVN_H

#include <gsl/gsl_integration.h>

double lr_ntk_bvn_upper(double h, double k, double r);
double lr_ntk_bvn_cdf(double h, double k, double r);
double lr_ntk_bvn_cov(double h, double k, double r);

/* The reference for P(X > h, Y > k), to GSL's tolerances epsabs, epsrel; ws: a GSL workspace
 * of at least limit intervals, or NULL (one is allocated and freed).  LR_EINVAL for r outside
 * [-1, 1] or NaN arguments, LR_ENUMERIC when GSL fails. */
int lr_ntk_bvn_upper_ref(double h, double k, double r, double epsabs, double epsrel, size_t limit,
                         gsl_integration_workspace *ws, double *out);

#endif
