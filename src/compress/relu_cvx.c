/* relu_cvx: recovery of low-rank pre-activations from ReLU observations by a convex
 * relaxation (ZS25 Theorem 3; docs/theory.md sections 2 and 3).
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

typedef struct relu_mats {
    lr_mat Z, D, C, Uc, VcT, T;
    double *fs, *sc;
} relu_mats;

/* The carve-up of one execute (m x n1 problem, q = rank of X~); plan_alloc sizes the arena
 * by running it without one at q = min(m, N0). */
static size_t relu_carve(lr_arena *a, size_t m, size_t q, size_t n1, relu_mats *w)
{
    size_t mn = q < n1 ? q : n1, need = 0;
    w->Z = lr_carve_mat(a, &need, m, n1);
    w->D = lr_carve_mat(a, &need, m, n1);
    w->C = lr_carve_mat(a, &need, q, n1);
    w->fs = lr_carve_vec(a, &need, lr_fista_scratch(q, n1));
    w->Uc = lr_carve_mat(a, &need, q, mn);
    w->VcT = lr_carve_mat(a, &need, mn, n1);
    w->T = lr_carve_mat(a, &need, q, mn);
    w->sc = lr_carve_vec(a, &need, mn);
    return need;
}

static lr_compressor_plan *relu_plan_alloc(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg)
{
    size_t q = max->m < max->n0 ? max->m : max->n0;
    relu_mats w;
    size_t need = relu_carve(NULL, max->m, q, max->n1, &w);
    lr_compressor_plan *p =
        lr_compressor_plan_new(c, max, cfg, need, q ? q : 1, max->n1 ? max->n1 : 1, sizeof(lr_convex_params), 0);
    if (p) lr_convex_plan_params(p, cfg);
    return p;
}

static int relu_fit(lr_relu_loss kind, lr_compressor_plan *p, size_t point, const lr_layer *L, size_t nranks,
                    lr_compressed *out, lr_fit_info *info)
{
    const lr_convex_params *o = lr_compressor_params(p, point);
    size_t m = L->Y.rows, q = L->q, n1 = L->Y.cols, mn = q < n1 ? q : n1;
    double sigma = L->sigma;
    if (!(sigma > 0.0) || !isfinite(sigma))
        LR_ERRORF(LR_EINVAL, "relu_cvx: needs the noise level sigma > 0, got %g", sigma);
    if (q == 0) LR_ERROR(LR_EINVAL, "relu_cvx: X~ is zero");
    if (q > p->max.m || q > p->max.n0) LR_ERRORF(LR_EINVAL, "relu_cvx: rank %zu of X~ exceeds the plan", q);
    /* The censored loss is in units of 1/sigma^2: so is its automatic lambda. */
    double automatic = lr_lambda_auto(sigma, q, n1, o->t);
    if (kind == LR_RELU_LOSS_CENSORED) automatic /= sigma * sigma;
    double lam;
    LR_TRY(lr_convex_lambda(o, automatic, "relu_cvx", "", &lam));
    info->lambda = lam;
    lr_arena_reset(&p->arena);
    relu_mats w;
    relu_carve(&p->arena, m, q, n1, &w);
    relu_ctx ctx = {kind, lr_mat_view(L->Ux, 0, 0, m, q), L->Y, w.Z, w.D, sigma};
    lr_mat C = w.C, Uc = w.Uc, VcT = w.VcT, T = w.T;
    double *fs = w.fs, *sc = w.sc;
    if (!sc) LR_ERROR(LR_EINVAL, "relu_cvx: workspace too small (a sizing bug)");
    lr_mat_set_zero(C);
    lr_fista_smooth f = {relu_eval, NULL, &ctx, kind == LR_RELU_LOSS_CENSORED ? 1.0 / (sigma * sigma) : 1.0};
    lr_fista_opts fopt = {lam, o->tol, o->max_iter, o->monotone ? LR_FISTA_MONOTONE : LR_FISTA};
    lr_fista_out fo;
    LR_TRY(lr_fista_nuclear(&f, &fopt, C, p->svd, fs, &fo, NULL, &info->svd_fallback));
    info->iterations = fo.iterations;
    info->gap = fo.gap;
    info->converged = fo.converged;
    info->route = kind == LR_RELU_LOSS_CENSORED ? 1 : 2;
    LR_TRY(lr_svd(p->svd, C, sc, Uc, VcT, &info->svd_fallback));
    size_t k = fo.rank < mn ? fo.rank : mn;
    /* A = Vx diag(1/sx) Uc_k diag(sc_k), B = Vc_k^T. */
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < q; i++) LR_AT(T, i, j) = LR_AT(Uc, i, j) * sc[j] / L->sx[i];
    return lr_factors_from_range(L, T, VcT, k, out, nranks);
}

static int relu_cvx_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                            size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    (void)ranks, (void)rng;
    return relu_fit(LR_RELU_LOSS_CENSORED, p, point, L, nranks, out, info);
}

static int relu_cvx_sq_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                               size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    (void)ranks, (void)rng;
    return relu_fit(LR_RELU_LOSS_SQUARED, p, point, L, nranks, out, info);
}

const lr_compressor lr_compressor_relu_cvx = {
    .name = "relu_cvx",
    .description = "ReLU convex relaxation, censored-Gaussian loss + lambda ||C||_*, Z = U_q C, by FISTA (rank-adaptive)",
    .data_driven = 1,
    .keys = lr_convex_keys,
    .plan_alloc = relu_plan_alloc,
    .execute = relu_cvx_execute,
    .plan_free = lr_compressor_plan_release,
    .rank_adaptive = 1,
    .needs_noise_level = 1, /* the likelihood of Y+ = rho(Z + G) is in sigma */
    .roles = LR_ROLE_THEORY,
};
const lr_compressor lr_compressor_relu_cvx_sq = {
    .name = "relu_cvx_sq",
    .description = "ReLU convex relaxation, ReLU-consistent squared loss + lambda ||C||_*, Z = U_q C, by FISTA (rank-adaptive)",
    .data_driven = 1,
    .keys = lr_convex_keys,
    .plan_alloc = relu_plan_alloc,
    .execute = relu_cvx_sq_execute,
    .plan_free = lr_compressor_plan_release,
    .rank_adaptive = 1,
    .needs_noise_level = 1, /* the likelihood of Y+ = rho(Z + G) is in sigma */
    .roles = LR_ROLE_THEORY,
};
