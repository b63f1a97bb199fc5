/* relu_cvx: recovery of low-rank pre-activations from ReLU observations by a convex
 * relaxation (ZS25 Theorem 3; THEORY.md sections 2 and 3).
 *
 * Observations Y+ = rho(Z* + G), rho(x) = max(x, 0), Z* = X~ M* of rank <= r, G i.i.d.
 * N(0, sigma^2).  The estimate lives in range(X~): Z = U_q C, C (q x N1), and
 *   C^ = argmin_C  sum_ij l(Y+_ij, (U_q C)_ij) + lambda ||C||_*,
 * with one of two convex per-entry losses:
 *   relu_cvx     censored Gaussian (the negative log-likelihood of a Tobit model):
 *                (y - z)^2 / (2 sigma^2) if y > 0,  -log Phi(-z / sigma) if y = 0;
 *   relu_cvx_sq  ReLU-consistent squared: (y - z)^2 / 2 if y > 0,  rho(z)^2 / 2 if y = 0
 *                (zero loss for any z <= 0 where the unit was off).
 * Both are convex in z.  Their curvature is at most 1/sigma^2 (censored: d^2/dz^2 of
 * -log Phi(-z/sigma) is h(h - a)/sigma^2 in (0, 1/sigma^2), h the normal hazard at
 * a = z/sigma) and 1 (squared); U_q has orthonormal columns, so the gradient in C is
 * Lipschitz with the same constant and the step is sigma^2, resp. 1.  Solved by
 * accelerated proximal gradient (fista.c, monotone by default) with SVT prox steps.
 * The derivative of -log Phi(-a) is the hazard phi(a) / Q(a) (the inverse Mills ratio
 * of -a): computed with erfc where that is accurate and with Mills' continued fraction
 * where erfc underflows, so large z / sigma never produce 0/0.
 *
 * lambda = lambda_factor * (compress.lambda, or automatically 2 sigma (sqrt q + sqrt N1 + t)
 * for the squared loss and the same divided by sigma^2 for the censored loss, whose
 * gradient at the truth is the squared loss's divided by sigma^2 on the observed
 * entries).  This choice is lrlab's (the analogue of dd_svt's), not ZS25's.
 * The weights: M^ = X~^+ U_q C^ = Vx diag(1/sx) C^; the rank follows from lambda. */
#include <math.h>

#include "compress.h"
#include "compress/convex.h"
#include "core/error.h"

#define MILLS_SWITCH 5.0
#define MILLS_TERMS 40

/* Mills' ratio R(a) = Q(a) / phi(a) for a >= MILLS_SWITCH by the continued fraction
 * 1 / (a + 1 / (a + 2 / (a + 3 / ...))), evaluated backwards; 40 terms give full double
 * precision from a = 5 on. */
static double mills(double a)
{
    double t = a;
    for (int k = MILLS_TERMS; k >= 1; k--) t = a + (double)k / t;
    return 1.0 / t;
}

double lr_neglog_q(double a)
{
    if (a < MILLS_SWITCH) return -log(0.5 * erfc(a / M_SQRT2));
    return 0.5 * a * a + 0.5 * log(2.0 * M_PI) - log(mills(a));
}

double lr_normal_hazard(double a)
{
    if (a < MILLS_SWITCH) {
        double q = 0.5 * erfc(a / M_SQRT2);
        return exp(-0.5 * a * a) / sqrt(2.0 * M_PI) / q;
    }
    return 1.0 / mills(a);
}

double lr_relu_loss_entry(lr_relu_loss kind, double y, double z, double sigma, double *dz)
{
    if (kind == LR_RELU_LOSS_CENSORED) {
        if (y > 0) {
            double d = z - y, s2 = sigma * sigma;
            *dz = d / s2;
            return 0.5 * d * d / s2;
        }
        double a = z / sigma;
        *dz = lr_normal_hazard(a) / sigma;
        return lr_neglog_q(a);
    }
    if (y > 0) {
        *dz = z - y;
        return 0.5 * (z - y) * (z - y);
    }
    *dz = z > 0 ? z : 0.0;
    return z > 0 ? 0.5 * z * z : 0.0;
}

typedef struct relu_ctx {
    lr_relu_loss kind;
    lr_mat U, Y, Z, D;
    double sigma;
} relu_ctx;

static int relu_eval(void *p, lr_mat C, double *f, lr_mat grad)
{
    relu_ctx *c = p;
    LR_TRY(lr_gemm('N', 'N', 1.0, c->U, C, 0.0, c->Z));
    double sum = 0.0;
    for (size_t j = 0; j < c->Z.cols; j++)
        for (size_t i = 0; i < c->Z.rows; i++) {
            double d;
            sum += lr_relu_loss_entry(c->kind, LR_AT(c->Y, i, j), LR_AT(c->Z, i, j), c->sigma, &d);
            LR_AT(c->D, i, j) = d;
        }
    *f = sum;
    if (grad.data) LR_TRY(lr_gemm('T', 'N', 1.0, c->U, c->D, 0.0, grad));
    return LR_OK;
}

static size_t relu_scratch(size_t m, size_t n0, size_t n1)
{
    size_t q = m < n0 ? m : n0, mn = q < n1 ? q : n1;
    return 2 * lr_arena_need(m, n1) + lr_arena_need(q, n1) + lr_arena_need(lr_fista_scratch(q, n1), 1) +
           lr_arena_need(q, mn) + lr_arena_need(mn, n1) + lr_arena_need(mn, 1) + lr_arena_need(q, mn);
}

static int relu_fit(lr_relu_loss kind, const lr_layer *L, const lr_compress_opts *opts, size_t nranks,
                    lr_factors *out, lr_compress_ws *ws, lr_fit_info *info)
{
    size_t m = L->Y.rows, q = L->q, n1 = L->Y.cols, mn = q < n1 ? q : n1;
    double sigma = opts->sigma;
    if (!(sigma > 0.0) || !isfinite(sigma))
        LR_ERRORF(LR_EINVAL, "relu_cvx: needs the noise level sigma > 0, got %g", sigma);
    if (q == 0) LR_ERROR(LR_EINVAL, "relu_cvx: X~ is zero");
    double lam = isnan(opts->lambda) ? lr_lambda_auto(sigma, q, n1, opts->t) : opts->lambda;
    if (isnan(opts->lambda) && kind == LR_RELU_LOSS_CENSORED) lam /= sigma * sigma;
    lam *= isnan(opts->lambda_factor) ? 1.0 : opts->lambda_factor;
    if (!(lam >= 0.0) || !isfinite(lam)) LR_ERRORF(LR_EINVAL, "relu_cvx: lambda = %g", lam);
    info->lambda = lam;
    lr_arena_reset(&ws->arena);
    lr_arena *a = &ws->arena;
    relu_ctx ctx = {kind, lr_mat_view(L->Ux, 0, 0, m, q), L->Y, lr_arena_mat(a, m, n1), lr_arena_mat(a, m, n1), sigma};
    lr_mat C = lr_arena_mat(a, q, n1);
    double *fs = lr_arena_vec(a, lr_fista_scratch(q, n1));
    lr_mat Uc = lr_arena_mat(a, q, mn), VcT = lr_arena_mat(a, mn, n1), T = lr_arena_mat(a, q, mn);
    double *sc = lr_arena_vec(a, mn);
    if (!sc) LR_ERROR(LR_EINVAL, "relu_cvx: workspace too small");
    lr_mat_set_zero(C);
    lr_fista_smooth f = {relu_eval, NULL, &ctx, kind == LR_RELU_LOSS_CENSORED ? 1.0 / (sigma * sigma) : 1.0};
    lr_fista_opts o = {lam, opts->tol, opts->max_iter, opts->monotone ? LR_FISTA_MONOTONE : LR_FISTA};
    lr_fista_out fo;
    LR_TRY(lr_fista_nuclear(&f, &o, C, ws->svd, fs, &fo, NULL, &info->svd_fallback));
    info->iterations = fo.iterations;
    info->gap = fo.gap;
    info->converged = fo.converged;
    info->route = kind == LR_RELU_LOSS_CENSORED ? 1 : 2;
    LR_TRY(lr_svd(ws->svd, C, sc, Uc, VcT, &info->svd_fallback));
    size_t k = fo.rank < mn ? fo.rank : mn;
    /* A = Vx diag(1/sx) Uc_k diag(sc_k), B = Vc_k^T. */
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < q; i++) LR_AT(T, i, j) = LR_AT(Uc, i, j) * sc[j] / L->sx[i];
    return lr_factors_from_range(L, T, VcT, k, out, nranks);
}

static int relu_cvx_fit(const lr_layer *L, const lr_compress_opts *opts, const size_t *ranks, size_t nranks,
                        lr_factors *out, lr_compress_ws *ws, lr_fit_info *info)
{
    (void)ranks;
    return relu_fit(LR_RELU_LOSS_CENSORED, L, opts, nranks, out, ws, info);
}

static int relu_cvx_sq_fit(const lr_layer *L, const lr_compress_opts *opts, const size_t *ranks, size_t nranks,
                           lr_factors *out, lr_compress_ws *ws, lr_fit_info *info)
{
    (void)ranks;
    return relu_fit(LR_RELU_LOSS_SQUARED, L, opts, nranks, out, ws, info);
}

const lr_compressor lr_compressor_relu_cvx = {
    .name = "relu_cvx",
    .description = "ReLU convex relaxation, censored-Gaussian loss + lambda ||C||_*, Z = U_q C, by FISTA (rank-adaptive)",
    .data_driven = 1,
    .scratch = relu_scratch,
    .fit = relu_cvx_fit,
    .rank_adaptive = 1,
    .roles = LR_ROLE_THEORY,
};
const lr_compressor lr_compressor_relu_cvx_sq = {
    .name = "relu_cvx_sq",
    .description = "ReLU convex relaxation, ReLU-consistent squared loss + lambda ||C||_*, Z = U_q C, by FISTA (rank-adaptive)",
    .data_driven = 1,
    .scratch = relu_scratch,
    .fit = relu_cvx_sq_fit,
    .rank_adaptive = 1,
    .roles = LR_ROLE_THEORY,
};
