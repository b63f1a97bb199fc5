/* dd_rank: data-driven rank-constrained least squares (ZS25; docs/theory.md section 2).
 *
 *   M^ = argmin_{rank M <= k} ||Y - X~ M||_F = X~^+ [P Y]_k,   P = X~ X~^+ = U_q U_q^T,
 *
 * the generalised Eckart-Young theorem, with the identity
 *   min ||Y - X~ M||_F^2 = ||(I - P) Y||_F^2 + tau_k(P Y)^2.
 * Since P Y = U_q (U_q^T Y) and U_q has orthonormal columns, [P Y]_k = U_q [U_q^T Y]_k:
 * the SVD needed is of the small q x N1 matrix B = U_q^T Y, never of the m x N1 one.
 * With B = Ub Sb Vb^T the factors are
 *   A = X~^+ U_q Ub_k = Vx diag(1/sx) Ub_k   (N0 x k),     B_k = Sb_k Vb_k^T   (k x N1). */
#include "compress.h"
#include "core/error.h"

static const lr_key dd_rank_keys[] = {LR_COMPRESS_GRAM_FIT_KEY, {0}};

static lr_compressor_plan *dd_rank_plan_alloc(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg)
{
    size_t q = max->m < max->n0 ? max->m : max->n0;
    lr_range_svd_mats w;
    size_t need = lr_range_svd_carve(NULL, q, max->n1, &w);
    return lr_compressor_plan_new(c, max, cfg, need, q ? q : 1, max->n1 ? max->n1 : 1, 0, 1);
}

static int dd_rank_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                           size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    (void)point, (void)rng;
    size_t q = L->q, n1 = L->W.cols, mn = q < n1 ? q : n1;
    if (q > p->max.n0 || q > p->max.m) LR_ERRORF(LR_EINVAL, "dd_rank: rank %zu of X~ exceeds the plan", q);
    lr_arena_reset(&p->arena);
    lr_range_svd_mats w;
    lr_range_svd_carve(&p->arena, q, n1, &w);
    lr_mat B = w.B, Ub = w.Ub, VbT = w.VbT, T = w.T;
    double *sb = w.sb;
    if (!sb) LR_ERROR(LR_EINVAL, "dd_rank: workspace too small (a sizing bug)");
    /* B = U_q^T Y: supplied by the Gram route, else from the thin SVD of X~. */
    if (L->UtY.data) lr_mat_copy(B, L->UtY);
    else LR_TRY(lr_gemm('T', 'N', 1.0, L->Ux, L->Y, 0.0, B));
    /* Only the largest target rank's triplets are needed (lr_svd_top takes the whole SVD
     * when that is cheaper). */
    size_t kmax = 0;
    for (size_t i = 0; i < nranks; i++) kmax = ranks[i] > kmax ? ranks[i] : kmax;
    if (kmax > mn) kmax = mn;
    /* T (q x mn, q >= mn) is free until the SVD returns: the Gram path's scratch. */
    LR_TRY(lr_fit_svd_top(p, L, B, kmax, sb, Ub, VbT, T, info));
    /* T = diag(1/sx) Ub: the pseudo-inverse restricted to range(X~). */
    for (size_t j = 0; j < kmax; j++)
        for (size_t i = 0; i < q; i++) LR_AT(T, i, j) = LR_AT(Ub, i, j) / L->sx[i];
    for (size_t i = 0; i < nranks; i++) {
        size_t k = ranks[i] < mn ? ranks[i] : mn;
        lr_factors_set_rank(&out[i], k);
        LR_TRY(lr_gemm('N', 'N', 1.0, L->Vx, lr_mat_view(T, 0, 0, q, k), 0.0, out[i].A));
        for (size_t c = 0; c < n1; c++)
            for (size_t r = 0; r < k; r++) LR_AT(out[i].B, r, c) = sb[r] * LR_AT(VbT, r, c);
    }
    return LR_OK;
}

const lr_compressor lr_compressor_dd_rank = {
    .name = "dd_rank",
    .description = "data-driven: rank-constrained least squares, X~ M = [P Y]_k (generalised Eckart-Young)",
    .data_driven = 1,
    .keys = dd_rank_keys,
    .plan_alloc = dd_rank_plan_alloc,
    .execute = dd_rank_execute,
    .plan_free = lr_compressor_plan_release,
    .nested = 1,
    .gram_ok = 1,
    .roles = LR_ROLE_THEORY | LR_ROLE_RANK_LS,
    .optimal = LR_OPTIMAL_RESPONSE,
};
