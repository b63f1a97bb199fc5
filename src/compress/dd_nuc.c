/* dd_nuc: data-driven convex estimator, nuclear norm on the weights (ZS25; docs/theory.md
 * section 2, Theorem 2(c)).
 *
 *   M^ = argmin_M 1/2 ||Y - X~ M||_F^2 + lambda ||M||_*.
 *
 * Reduction (why the solver works on a q x N1 matrix): write M = Vx C + M_perp with M_perp
 * in ker X~.  The loss sees only Vx C, and ||Vx C||_* = ||C||_* <= ||M||_*, since removing
 * the ker X~ part is a contraction.  So the minimiser is M^ = Vx C^ with
 *   C^ = argmin_C 1/2 ||B - S C||_F^2 + lambda ||C||_*,   B = U_q^T Y,  S = diag(sx),
 * (the constant 1/2 ||(I - P) Y||_F^2 dropped).  It is solved by FISTA (fista.c; monotone
 * variant by default) with step 1 / ||X~||_op^2 = 1 / sx_1^2 and an SVT prox step.  The
 * stopping rule is the duality gap: the dual of the reduced problem is
 *   max_Theta <B, Theta> - 1/2 ||Theta||^2  s.t.  ||S Theta||_op <= lambda,
 * and the residual R = B - S C scaled into the feasible set, Theta = R min(1, lambda /
 * ||S R||_op), certifies F(C) - F(C^) <= gap.  The plain solver over all of M is
 * lr_dd_nuc_reference, tested against this one.
 *
 * When X~ has orthonormal columns (S = I) the problem is the prox of the nuclear norm at
 * B and C^ = SVT_lambda(B): dd_nuc and dd_svt coincide.
 *
 * lambda = lambda_factor * (compress.lambda, or automatically 2 ||X~||_op sigma (sqrt q +
 * sqrt N1 + t), twice a high-probability bound on ||X~^T G||_op <= ||X~||_op ||P G||_op,
 * which is what Theorem 2(c) needs). */
#include <math.h>

#include "compress.h"
#include "compress/convex.h"
#include "core/error.h"

typedef struct nuc_ctx {
    lr_mat B, R;
    const double *s;
    double lambda;
    lr_svd_plan *svd;
    double *sv;
} nuc_ctx;

static int nuc_eval(void *p, lr_mat C, double *f, lr_mat grad)
{
    nuc_ctx *c = p;
    double ss = 0.0;
    for (size_t j = 0; j < C.cols; j++)
        for (size_t i = 0; i < C.rows; i++) {
            double r = c->s[i] * LR_AT(C, i, j) - LR_AT(c->B, i, j);
            ss += r * r;
            if (grad.data) LR_AT(grad, i, j) = c->s[i] * r;
        }
    *f = 0.5 * ss;
    return LR_OK;
}

static int nuc_gap(void *p, lr_mat C, double F, double *gap)
{
    nuc_ctx *c = p;
    double rr = 0.0, br = 0.0;
    for (size_t j = 0; j < C.cols; j++)
        for (size_t i = 0; i < C.rows; i++) {
            double r = LR_AT(c->B, i, j) - c->s[i] * LR_AT(C, i, j);
            LR_AT(c->R, i, j) = c->s[i] * r;
            rr += r * r;
            br += LR_AT(c->B, i, j) * r;
        }
    double op = 0.0;
    int fb = 0;
    LR_TRY(lr_norm_op(c->svd, c->R, c->sv, &op, &fb));
    double a = op > c->lambda ? c->lambda / op : 1.0;
    double dual = a * br - 0.5 * a * a * rr;
    *gap = F - dual;
    if (*gap < 0) *gap = 0; /* rounding: the gap of an optimum may come out as -eps */
    return LR_OK;
}

typedef struct dd_nuc_mats {
    lr_mat B, R, C, Uc, VcT, T;
    double *fs, *sc, *sv;
} dd_nuc_mats;

/* The carve-up of one execute; plan_alloc sizes the arena by running it without one. */
static size_t dd_nuc_carve(lr_arena *a, size_t q, size_t n1, dd_nuc_mats *w)
{
    size_t mn = q < n1 ? q : n1, need = 0;
    w->B = lr_carve_mat(a, &need, q, n1);
    w->R = lr_carve_mat(a, &need, q, n1);
    w->C = lr_carve_mat(a, &need, q, n1);
    w->fs = lr_carve_vec(a, &need, lr_fista_scratch(q, n1));
    w->Uc = lr_carve_mat(a, &need, q, mn);
    w->VcT = lr_carve_mat(a, &need, mn, n1);
    w->T = lr_carve_mat(a, &need, q, mn);
    w->sc = lr_carve_vec(a, &need, mn > q ? mn : q);
    w->sv = lr_carve_vec(a, &need, mn > q ? mn : q);
    return need;
}

static lr_compressor_plan *dd_nuc_plan_alloc(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg)
{
    size_t q = max->m < max->n0 ? max->m : max->n0;
    dd_nuc_mats w;
    size_t need = dd_nuc_carve(NULL, q, max->n1, &w);
    lr_compressor_plan *p =
        lr_compressor_plan_new(c, max, cfg, need, q ? q : 1, max->n1 ? max->n1 : 1, sizeof(lr_convex_params), 0);
    if (p) lr_convex_plan_params(p, cfg);
    return p;
}

static int dd_nuc_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                          size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    (void)ranks, (void)rng;
    const lr_convex_params *o = lr_compressor_params(p, point);
    size_t q = L->q, n1 = L->Y.cols, mn = q < n1 ? q : n1;
    if (q == 0) LR_ERROR(LR_EINVAL, "dd_nuc: X~ is zero");
    if (q > p->max.m || q > p->max.n0) LR_ERRORF(LR_EINVAL, "dd_nuc: rank %zu of X~ exceeds the plan", q);
    double s1 = L->sx[0];
    double lam;
    LR_TRY(lr_convex_lambda(o, s1 * lr_lambda_auto(L->sigma, q, n1, o->t), "dd_nuc",
                            " (automatic lambda needs the noise level sigma)", &lam));
    info->lambda = lam;
    lr_arena_reset(&p->arena);
    dd_nuc_mats w;
    dd_nuc_carve(&p->arena, q, n1, &w);
    nuc_ctx ctx = {w.B, w.R, L->sx, lam, p->svd, w.sv};
    lr_mat C = w.C, Uc = w.Uc, VcT = w.VcT, T = w.T;
    double *fs = w.fs, *sc = w.sc;
    if (!ctx.sv) LR_ERROR(LR_EINVAL, "dd_nuc: workspace too small (a sizing bug)");
    LR_TRY(lr_gemm('T', 'N', 1.0, L->Ux, L->Y, 0.0, ctx.B));
    lr_mat_set_zero(C);
    lr_fista_smooth f = {nuc_eval, nuc_gap, &ctx, s1 * s1};
    lr_fista_opts fopt = {lam, o->tol, o->max_iter, o->monotone ? LR_FISTA_MONOTONE : LR_FISTA};
    lr_fista_out fo;
    LR_TRY(lr_fista_nuclear(&f, &fopt, C, p->svd, fs, &fo, NULL, &info->svd_fallback));
    info->iterations = fo.iterations;
    info->gap = fo.gap;
    info->converged = fo.converged;
    /* Factors of M^ = Vx C: C = Uc Sc Vc^T, cut at the rank of the iterate (an SVT output,
     * so exactly low-rank up to the rounding of its reconstruction). */
    LR_TRY(lr_svd(p->svd, C, sc, Uc, VcT, &info->svd_fallback));
    size_t k = fo.rank < mn ? fo.rank : mn;
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < q; i++) LR_AT(T, i, j) = LR_AT(Uc, i, j) * sc[j];
    return lr_factors_from_range(L, T, VcT, k, out, nranks);
}

/* ---- the reference: the same problem over all of M ---- */

typedef struct full_ctx {
    lr_mat X, Y, R;
} full_ctx;

static int full_eval(void *p, lr_mat M, double *f, lr_mat grad)
{
    full_ctx *c = p;
    lr_mat_copy(c->R, c->Y);
    LR_TRY(lr_gemm('N', 'N', 1.0, c->X, M, -1.0, c->R)); /* R = X M - Y */
    double n = lr_mat_norm_fro(c->R);
    *f = 0.5 * n * n;
    if (grad.data) LR_TRY(lr_gemm('T', 'N', 1.0, c->X, c->R, 0.0, grad));
    return LR_OK;
}

size_t lr_dd_nuc_reference_scratch(size_t m, size_t n0, size_t n1)
{
    size_t mn = m < n0 ? m : n0;
    return lr_arena_need(m, n1) + lr_arena_need(m, n0) + lr_arena_need(mn, 1) + lr_arena_need(lr_fista_scratch(n0, n1), 1);
}

int lr_dd_nuc_reference(lr_mat X, lr_mat Y, double lambda, const lr_fista_opts *o, lr_mat M,
                        lr_svd_plan *svd, double *scratch, lr_fista_out *out)
{
    size_t m = X.rows, n0 = X.cols, n1 = Y.cols, mn = m < n0 ? m : n0;
    lr_arena a = {scratch, lr_dd_nuc_reference_scratch(m, n0, n1), 0};
    full_ctx ctx = {X, Y, lr_arena_mat(&a, m, n1)};
    lr_mat Xc = lr_arena_mat(&a, m, n0);
    double *s = lr_arena_vec(&a, mn), *fs = lr_arena_vec(&a, lr_fista_scratch(n0, n1));
    if (!fs) LR_ERROR(LR_EINVAL, "dd_nuc reference: scratch too small");
    lr_mat_copy(Xc, X);
    double op = 0.0;
    int fb = 0;
    LR_TRY(lr_norm_op(svd, Xc, s, &op, &fb));
    lr_fista_smooth f = {full_eval, NULL, &ctx, op * op};
    lr_fista_opts oo = *o;
    oo.lambda = lambda;
    return lr_fista_nuclear(&f, &oo, M, svd, fs, out, NULL, NULL);
}

const lr_compressor lr_compressor_dd_nuc = {
    .name = "dd_nuc",
    .description = "data-driven convex: argmin 1/2 ||Y - X~ M||_F^2 + lambda ||M||_* by FISTA with SVT steps (rank-adaptive)",
    .data_driven = 1,
    .keys = lr_convex_keys,
    .plan_alloc = dd_nuc_plan_alloc,
    .execute = dd_nuc_execute,
    .plan_free = lr_compressor_plan_release,
    .rank_adaptive = 1,
    .needs_noise_level = 1, /* the automatic lambda 2 sigma (sqrt q + sqrt N1 + t) */
    .roles = LR_ROLE_THEORY,
};
