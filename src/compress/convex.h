/* Pieces of the convex compressors that tests reach directly: the reference solver of
 * dd_nuc in the full weight space, and the ReLU losses of relu_cvx. */
#ifndef LR_COMPRESS_CONVEX_H
#define LR_COMPRESS_CONVEX_H

#include "compress/compress.h"
#include "compress/fista.h"

/* The parameters of the convex compressors (dd_svt, dd_nuc, relu_cvx, relu_cvx_sq) at one
 * sweep point, read from their keys (lr_convex_keys) by lr_convex_plan_params. */
typedef struct lr_convex_params {
    double lambda;        /* compress.lambda; NAN: the compressor's automatic choice */
    double lambda_factor; /* compress.lambda_factor */
    double t;             /* bounds.t: deviation parameter of the automatic lambda */
    double tol;           /* compress.tol */
    int max_iter;         /* compress.max_iter */
    int monotone;         /* compress.monotone */
} lr_convex_params;

/* compress.lambda, compress.lambda_factor, bounds.t, compress.tol, compress.max_iter,
 * compress.monotone, with the defaults the recovery experiment has always used. */
extern const lr_key lr_convex_keys[];
/* Fill p's parameter blocks (lr_convex_params, one per point) from cfg (defaults without). */
void lr_convex_plan_params(lr_compressor_plan *p, const lr_config *cfg);
/* The lambda a convex compressor uses: lambda_factor * (compress.lambda, or `automatic`
 * when it is not given), refused unless finite and >= 0 (message "WHO: lambda = x" and
 * `hint`, e.g. why the automatic one failed). */
int lr_convex_lambda(const lr_convex_params *o, double automatic, const char *who, const char *hint,
                     double *lam);

/* dd_nuc's problem solved the plain way, over all of M (N0 x N1):
 *   min_M 1/2 ||Y - X M||_F^2 + lambda ||M||_*,  step 1 / ||X||_op^2,
 * the reference for the reduced solver of the compressor.  M holds the start and gets
 * the solution; scratch: lr_dd_nuc_reference_scratch doubles. */
size_t lr_dd_nuc_reference_scratch(size_t m, size_t n0, size_t n1);
int lr_dd_nuc_reference(lr_mat X, lr_mat Y, double lambda, const lr_fista_opts *o, lr_mat M,
                        lr_svd_plan *svd, double *scratch, lr_fista_out *out);

typedef enum { LR_RELU_LOSS_CENSORED, LR_RELU_LOSS_SQUARED } lr_relu_loss;

/* Per-entry ReLU losses (docs/theory.md section 2, relu_cvx) and their derivative in z:
 *   censored Gaussian:   (y - z)^2 / (2 sigma^2) if y > 0,   -log Phi(-z / sigma) if y = 0;
 *   ReLU-consistent sq.: (y - z)^2 / 2 if y > 0,             rho(z)^2 / 2 if y = 0. */
double lr_relu_loss_entry(lr_relu_loss kind, double y, double z, double sigma, double *dz);

/* -log Phi(-a) = -log Q(a) and the normal hazard h(a) = phi(a) / Q(a), its derivative,
 * stable for all a: erfc below a = 5, a continued fraction for Mills' ratio above (where
 * erfc underflows).  GSL's gsl_sf_log_erfc and gsl_sf_hazard are the reference. */
double lr_neglog_q(double a);
double lr_normal_hazard(double a);

#endif
