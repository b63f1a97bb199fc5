/* dd_svt: data-driven convex estimator, nuclear norm in pre-activation space (ZS25;
 * docs/theory.md section 2, Theorem 2(b)).
 *
 *   Z^ = argmin_Z 1/2 ||P Y - Z||_F^2 + lambda ||Z||_*  = SVT_lambda(P Y),
 *   M^ = X~^+ Z^,
 *
 * the closed form of the proximal operator of the nuclear norm (Cai, Candes & Shen 2010).
 * As in dd_rank, P Y = U_q (U_q^T Y), so only the q x N1 matrix B = U_q^T Y is
 * decomposed: with B = Ub Sb Vb^T,
 *   A = Vx diag(1/sx) Ub_k diag(Sb_k - lambda),   B_k = Vb_k^T,   k = #{Sb_i > lambda}.
 * lambda = lambda_factor * (compress.lambda, or automatically 2 sigma (sqrt q + sqrt N1 + t),
 * twice the high-probability bound on ||P G||_op, which is what Theorem 2(b) needs).
 * The rank follows from lambda: the compressor is rank-adaptive (one result for every
 * target rank of the run). */
#include <math.h>

#include "compress.h"
#include "compress/convex.h"
#include "core/error.h"

static lr_compressor_plan *dd_svt_plan_alloc(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg)
{
    size_t q = max->m < max->n0 ? max->m : max->n0;
    lr_range_svd_mats w;
    size_t need = lr_range_svd_carve(NULL, q, max->n1, &w);
    lr_compressor_plan *p =
        lr_compressor_plan_new(c, max, cfg, need, q ? q : 1, max->n1 ? max->n1 : 1, sizeof(lr_convex_params), 0);
    if (p) lr_convex_plan_params(p, cfg);
    return p;
}

static int dd_svt_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                          size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    (void)ranks, (void)rng;
    const lr_convex_params *o = lr_compressor_params(p, point);
    size_t q = L->q, n1 = L->Y.cols, mn = q < n1 ? q : n1;
    double lam;
    LR_TRY(lr_convex_lambda(o, lr_lambda_auto(L->sigma, q, n1, o->t), "dd_svt",
                            " (automatic lambda needs the noise level sigma)", &lam));
    info->lambda = lam;
    if (q > p->max.m || q > p->max.n0) LR_ERRORF(LR_EINVAL, "dd_svt: rank %zu of X~ exceeds the plan", q);
    lr_arena_reset(&p->arena);
    lr_range_svd_mats w;
    lr_range_svd_carve(&p->arena, q, n1, &w);
    lr_mat B = w.B, Ub = w.Ub, VbT = w.VbT, T = w.T;
    double *sb = w.sb;
    if (!sb) LR_ERROR(LR_EINVAL, "dd_svt: workspace too small (a sizing bug)");
    LR_TRY(lr_gemm('T', 'N', 1.0, L->Ux, L->Y, 0.0, B));
    LR_TRY(lr_svd(p->svd, B, sb, Ub, VbT, &info->svd_fallback));
    size_t k = 0;
    while (k < mn && sb[k] > lam) k++;
    /* T = diag(1/sx) Ub_k diag(sb - lambda). */
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < q; i++) LR_AT(T, i, j) = LR_AT(Ub, i, j) * (sb[j] - lam) / L->sx[i];
    return lr_factors_from_range(L, T, VbT, k, out, nranks);
}

const lr_compressor lr_compressor_dd_svt = {
    .name = "dd_svt",
    .description = "data-driven convex: X~ M = SVT_lambda(P Y), lambda auto = 2 sigma (sqrt q + sqrt N1 + t) (rank-adaptive)",
    .data_driven = 1,
    .keys = lr_convex_keys,
    .plan_alloc = dd_svt_plan_alloc,
    .execute = dd_svt_execute,
    .plan_free = lr_compressor_plan_release,
    .rank_adaptive = 1,
    .needs_noise_level = 1, /* the automatic lambda 2 sigma (sqrt q + sqrt N1 + t) */
    .roles = LR_ROLE_THEORY,
};
