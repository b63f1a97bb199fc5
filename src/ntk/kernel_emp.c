/* The empirical CK of finite random networks (docs/theory.md section 5; Gu et al., NeurIPS 2022,
 * whose network this is).
 *
 *   Sigma_0 = X (p x n, d_0 = p),
 *   Sigma_l = d_l^{-1/2} sigma_c,l(W_l Sigma_{l-1}),  sigma_c,l = sigma_l - c_l,  l = 1..L,
 *   CK_emp = Sigma_L^T Sigma_L,
 * with W_l in R^{d_l x d_{l-1}} i.i.d. of zero mean and unit variance: Gaussian, or the
 * compressed network's ternary weights, 0 with probability eps and +-(1 - eps)^{-1/2}
 * otherwise.  Column i of W_l Sigma_{l-1} has i.i.d. entries of variance
 * ||Sigma_{l-1} e_i||^2 = [Sigma_{l-1}^T Sigma_{l-1}]_ii, and Sigma_l^T Sigma_l is the average over
 * the d_l rows of sigma_c(u_k) sigma_c(v_k): as the widths grow it tends to the exact
 * K_CK,L of src/ntk/kernel_exact.c (K_CK,0 = X^T X), with fluctuations of order d^{-1/2}
 * (tests/test_ntk_kernel.c measures the relative spectral error at widths 256 .. 4096).
 *
 * The scaling.  docs/theory.md writes Sigma_l = d_l^{-1/2} sigma(d_{l-1}^{-1/2} W_l Sigma_{l-1}).
 * Taken literally that normalises twice: Sigma_{l-1} already carries d_{l-1}^{-1/2}, its
 * columns have norms of order one, and the extra d_{l-1}^{-1/2} would send the
 * pre-activations to zero as the widths grow, so that the network would converge to no
 * kernel of the recursion with K_CK,0 = X^T X.  This file uses the scaling that does converge
 * to THEORY's kernels: d_l^{-1/2} on the outputs only, unit-variance weights, Sigma_0 = X
 * itself (whose columns THEORY's mixtures normalise to norms of order one).
 *
 * Reproducibility: draw t's weights come from the stream (seed, point, t) of
 * src/core/rng.h, layer after layer, each W_l filled in column-major order; the BLAS products
 * (dgemm for W_l Sigma_{l-1}, dsyrk for Sigma_L^T Sigma_L) and the element-wise passes (OpenMP
 * over columns, one column per thread) then give the same numbers for any thread count with
 * OpenBLAS's OpenMP build (checked bitwise by the tests). */
#include "kernel_emp.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"

struct lr_ntk_emp_plan {
    size_t p, n, L, *d;
    double *W, *S[2];
    gsl_rng *rng;
};

int lr_ntk_draw_weights(gsl_rng *r, lr_ntk_weights kind, double eps, double *w, size_t count)
{
    switch (kind) {
    case LR_NTK_WEIGHTS_GAUSS:
        /* GSL's ziggurat: exact N(0, 1), the fastest of its Gaussian samplers */
        for (size_t i = 0; i < count; i++) w[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
        return LR_OK;
    case LR_NTK_WEIGHTS_TERNARY: {
        if (!(eps >= 0 && eps < 1)) LR_ERRORF(LR_EINVAL, "ternary weights: eps = %g (in [0, 1))", eps);
        /* one uniform per weight: [0, eps) -> 0, then two halves -> +s and -s */
        double s = 1.0 / sqrt(1.0 - eps), half = eps + 0.5 * (1.0 - eps);
        for (size_t i = 0; i < count; i++) {
            double u = gsl_rng_uniform(r);
            w[i] = u < eps ? 0.0 : (u < half ? s : -s);
        }
        return LR_OK;
    }
    }
    LR_ERRORF(LR_EINVAL, "unknown weight kind %d", (int)kind);
}

void lr_ntk_emp_plan_free(lr_ntk_emp_plan *P)
{
    if (!P) return;
    if (P->rng) gsl_rng_free(P->rng);
    lr_free(P->W), lr_free(P->S[0]), lr_free(P->S[1]), lr_free(P->d);
    lr_free(P);
}

lr_ntk_emp_plan *lr_ntk_emp_plan_alloc(size_t p, size_t n, size_t L, const size_t *d)
{
    if (p == 0 || n == 0 || L == 0 || !d) LR_ERROR_NULL(LR_EINVAL, "lr_ntk_emp_plan_alloc: p = %zu, n = %zu, L = %zu", p, n, L);
    size_t wmax = 0, smax = 0, prev = p;
    for (size_t l = 0; l < L; l++) {
        if (d[l] == 0) LR_ERROR_NULL(LR_EINVAL, "lr_ntk_emp_plan_alloc: width d_%zu = 0", l + 1);
        if (d[l] > ((size_t)-1 / 8) / prev || d[l] > ((size_t)-1 / 8) / n)
            LR_ERROR_NULL(LR_EINVAL, "lr_ntk_emp_plan_alloc: layer %zu is too large", l + 1);
        wmax = d[l] * prev > wmax ? d[l] * prev : wmax;
        smax = d[l] * n > smax ? d[l] * n : smax;
        prev = d[l];
    }
    lr_ntk_emp_plan *P = lr_calloc(1, sizeof *P);
    if (!P) LR_ERROR_NULL(LR_ENOMEM, "cannot allocate the empirical-kernel plan");
    P->p = p, P->n = n, P->L = L;
    P->d = lr_malloc(L * sizeof *P->d);
    P->W = lr_malloc(wmax * sizeof(double));
    P->S[0] = lr_malloc(smax * sizeof(double));
    P->S[1] = lr_malloc(smax * sizeof(double));
    P->rng = P->d && P->W && P->S[0] && P->S[1] ? lr_rng_alloc() : NULL;
    if (!P->rng) {
        lr_ntk_emp_plan_free(P);
        LR_ERROR_NULL(LR_ENOMEM, "cannot allocate the empirical-kernel plan's workspace (%zu + 2 x %zu doubles)", wmax,
                      smax);
    }
    memcpy(P->d, d, L * sizeof *d);
    return P;
}

int lr_ntk_kernel_emp(lr_ntk_emp_plan *P, lr_mat X, const lr_ntk_act *acts, const double *centre,
                      const lr_ntk_emp_opts *o, lr_mat CK)
{
    static const char who[] = "lr_ntk_kernel_emp";
    if (!P || !o || !acts || !centre) LR_ERRORF(LR_EINVAL, "%s: NULL argument", who);
    size_t n = P->n, L = P->L;
    if (!X.data || X.rows != P->p || X.cols != n || X.ld < X.rows)
        LR_ERRORF(LR_EINVAL, "%s: X is %zux%zu, the plan is for %zux%zu", who, X.rows, X.cols, P->p, n);
    if (!CK.data || CK.rows != n || CK.cols != n || CK.ld < n)
        LR_ERRORF(LR_EINVAL, "%s: CK is %zux%zu, not %zux%zu", who, CK.rows, CK.cols, n, n);
    if (o->draws == 0 || o->draws > LR_RNG_MAX_TRIALS || o->point >= LR_RNG_MAX_POINTS)
        LR_ERRORF(LR_EINVAL, "%s: draws = %zu (1 .. %lu), point = %llu (< %lu)", who, o->draws, LR_RNG_MAX_TRIALS,
                  (unsigned long long)o->point, LR_RNG_MAX_POINTS);
    if (o->weights != LR_NTK_WEIGHTS_GAUSS && o->weights != LR_NTK_WEIGHTS_TERNARY)
        LR_ERRORF(LR_EINVAL, "%s: unknown weight kind %d", who, (int)o->weights);
    if (o->weights == LR_NTK_WEIGHTS_TERNARY && !(o->eps >= 0 && o->eps < 1))
        LR_ERRORF(LR_EINVAL, "%s: ternary eps = %g (in [0, 1))", who, o->eps);
    for (size_t l = 0; l < L; l++) {
        if (!lr_ntk_act_get(acts[l].id)) LR_ERRORF(LR_EINVAL, "%s: layer %zu: unknown activation", who, l + 1);
        if (!isfinite(centre[l])) LR_ERRORF(LR_EINVAL, "%s: layer %zu: centre %g", who, l + 1, centre[l]);
    }
    double inv = 1.0 / (double)o->draws;
    for (size_t t = 0; t < o->draws; t++) {
        lr_rng_seed_unit(P->rng, o->seed, o->point, t);
        lr_mat S = X;
        size_t din = P->p;
        for (size_t l = 0; l < L; l++) {
            size_t dl = P->d[l];
            LR_TRY(lr_ntk_draw_weights(P->rng, o->weights, o->eps, P->W, dl * din));
            lr_mat W = lr_mat_wrap(P->W, dl, din), Z = lr_mat_wrap(P->S[l % 2], dl, n);
            LR_TRY(lr_gemm('N', 'N', 1.0, W, S, 0.0, Z));
            /* Sigma_l = d_l^{-1/2} (sigma(Z) - c_l), column by column */
            double scale = 1.0 / sqrt((double)dl), c = centre[l];
            const lr_ntk_act *a = &acts[l];
            long nn = (long)n;
            int st = LR_OK;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) reduction(| : st)
#endif
            for (long jj = 0; jj < nn; jj++) st |= lr_ntk_act_map(a, 0, 1.0, c, scale, Z.data + (size_t)jj * dl, dl);
            if (st) LR_ERRORF(LR_EINVAL, "%s: layer %zu: the activation failed", who, l + 1);
            S = Z, din = dl;
        }
        LR_TRY(lr_syrk('T', inv, S, t ? 1.0 : 0.0, CK));
    }
    lr_mat_symmetrize(CK);
    return LR_OK;
}
