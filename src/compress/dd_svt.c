/* dd_svt: data-driven convex estimator, nuclear norm in pre-activation space (ZS25;
 * THEORY.md section 2, Theorem 2(b)).
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
#include "core/error.h"

static size_t dd_svt_scratch(size_t m, size_t n0, size_t n1)
{
    size_t q = m < n0 ? m : n0, mn = q < n1 ? q : n1;
    return lr_arena_need(q, n1) + lr_arena_need(q, mn) + lr_arena_need(mn, n1) + lr_arena_need(mn, 1) +
           lr_arena_need(q, mn);
}

static int dd_svt_fit(const lr_layer *L, const lr_compress_opts *opts, const size_t *ranks, size_t nranks,
                      lr_factors *out, lr_compress_ws *ws, lr_fit_info *info)
{
    (void)ranks;
    size_t q = L->q, n1 = L->Y.cols, mn = q < n1 ? q : n1;
    double lam = isnan(opts->lambda) ? lr_lambda_auto(opts->sigma, q, n1, opts->t) : opts->lambda;
    lam *= isnan(opts->lambda_factor) ? 1.0 : opts->lambda_factor;
    if (!(lam >= 0.0) || !isfinite(lam))
        LR_ERRORF(LR_EINVAL, "dd_svt: lambda = %g (automatic lambda needs the noise level sigma)", lam);
    info->lambda = lam;
    lr_arena_reset(&ws->arena);
    lr_mat B = lr_arena_mat(&ws->arena, q, n1), Ub = lr_arena_mat(&ws->arena, q, mn);
    lr_mat VbT = lr_arena_mat(&ws->arena, mn, n1), T = lr_arena_mat(&ws->arena, q, mn);
    double *sb = lr_arena_vec(&ws->arena, mn);
    if (!sb) LR_ERROR(LR_EINVAL, "dd_svt: workspace too small");
    LR_TRY(lr_gemm('T', 'N', 1.0, L->Ux, L->Y, 0.0, B));
    LR_TRY(lr_svd(ws->svd, B, sb, Ub, VbT, &info->svd_fallback));
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
    .scratch = dd_svt_scratch,
    .fit = dd_svt_fit,
    .rank_adaptive = 1,
    .roles = LR_ROLE_THEORY,
};
