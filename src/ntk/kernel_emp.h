/* The empirical conjugate kernel of finite random networks (docs/theory.md section 5), the check
 * of the infinite-width limit of src/ntk/kernel_exact.h.  The maths is at the top of
 * kernel_emp.c. */
#ifndef LR_NTK_KERNEL_EMP_H
#define LR_NTK_KERNEL_EMP_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mat.h"
#include "ntk/act.h"

typedef enum {
    LR_NTK_WEIGHTS_GAUSS = 0, /* i.i.d. N(0, 1) */
    LR_NTK_WEIGHTS_TERNARY    /* 0 with probability eps, +-(1 - eps)^{-1/2} with (1 - eps) / 2 each */
} lr_ntk_weights;

typedef struct lr_ntk_emp_opts {
    lr_ntk_weights weights;
    double eps;     /* the ternary weights' probability of 0, in [0, 1) */
    size_t draws;   /* independent weight draws averaged (1 .. LR_RNG_MAX_TRIALS) */
    uint64_t seed;  /* draw t uses the stream lr_rng_seed_unit(seed, point, t) */
    uint64_t point; /* < LR_RNG_MAX_POINTS */
} lr_ntk_emp_opts;

/* w[0..count) <- i.i.d. weights of that kind from r, in order (zero mean, unit variance).
 * LR_EINVAL for an unknown kind or eps outside [0, 1). */
int lr_ntk_draw_weights(gsl_rng *r, lr_ntk_weights kind, double eps, double *w, size_t count);

typedef struct lr_ntk_emp_plan lr_ntk_emp_plan;

/* A plan for p inputs, n samples and L layers of widths d[0..L) (d_1 .. d_L); it owns the
 * weight matrix, two layer outputs and the generator.  NULL (reason recorded) on bad sizes or
 * failed allocation. */
lr_ntk_emp_plan *lr_ntk_emp_plan_alloc(size_t p, size_t n, size_t L, const size_t *d);
void lr_ntk_emp_plan_free(lr_ntk_emp_plan *plan);

/* CK (n x n) <- the mean over opts->draws weight draws of Sigma_L^T Sigma_L, with
 *   Sigma_0 = X (p x n),  Sigma_l = d_l^{-1/2} (sigma_l(W_l Sigma_{l-1}) - centre[l - 1]),
 * W_l (d_l x d_{l-1}) with i.i.d. entries of the chosen kind, acts[0..L) and centre[0..L) the
 * activations and their centring constants (lr_ntk_kernel_info's centre, so that the limit
 * is lr_ntk_kernel_exact's CK).  CK is symmetric.  No allocation. */
int lr_ntk_kernel_emp(lr_ntk_emp_plan *plan, lr_mat X, const lr_ntk_act *acts, const double *centre,
                      const lr_ntk_emp_opts *opts, lr_mat CK);

#endif
