/* dd_rank: data-driven rank-constrained least squares (ZS25; THEORY.md section 2).
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

static size_t dd_rank_scratch(size_t m, size_t n0, size_t n1)
{
    size_t q = m < n0 ? m : n0, mn = q < n1 ? q : n1;
    return lr_arena_need(q, n1) + lr_arena_need(q, mn) + lr_arena_need(mn, n1) +
           lr_arena_need(mn, 1) + lr_arena_need(q, mn);
}

static int dd_rank_fit(const lr_layer *L, const lr_compress_opts *opts, const size_t *ranks, size_t nranks, lr_factors *out,
                       lr_compress_ws *ws, lr_fit_info *info)
{
    size_t q = L->q, n1 = L->Y.cols, mn = q < n1 ? q : n1;
    lr_arena_reset(&ws->arena);
    lr_mat B = lr_arena_mat(&ws->arena, q, n1), Ub = lr_arena_mat(&ws->arena, q, mn);
    lr_mat VbT = lr_arena_mat(&ws->arena, mn, n1), T = lr_arena_mat(&ws->arena, q, mn);
    double *sb = lr_arena_vec(&ws->arena, mn);
    if (!sb) LR_ERROR(LR_EINVAL, "dd_rank: workspace too small");
    /* B = U_q^T Y: supplied by the Gram route, else from the thin SVD of X~. */
    if (L->UtY.data) lr_mat_copy(B, L->UtY);
    else LR_TRY(lr_gemm('T', 'N', 1.0, L->Ux, L->Y, 0.0, B));
    /* Only the largest target rank's triplets are needed (lr_svd_top takes the whole SVD
     * when that is cheaper). */
    size_t kmax = 0;
    for (size_t i = 0; i < nranks; i++) kmax = ranks[i] > kmax ? ranks[i] : kmax;
    if (kmax > mn) kmax = mn;
    /* T (q x mn, q >= mn) is free until the SVD returns: the Gram path's scratch. */
    LR_TRY(lr_fit_svd_top(ws, B, kmax, sb, Ub, VbT, T, info));
    /* T = diag(1/sx) Ub: the pseudo-inverse restricted to range(X~). */
    for (size_t j = 0; j < kmax; j++)
        for (size_t i = 0; i < q; i++) LR_AT(T, i, j) = LR_AT(Ub, i, j) / L->sx[i];
    for (size_t i = 0; i < nranks; i++) {
        size_t k = ranks[i] < mn ? ranks[i] : mn;
        out[i].k = k;
        out[i].A.cols = k;
        out[i].B.rows = k;
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
    .scratch = dd_rank_scratch,
    .fit = dd_rank_fit,
    .nested = 1,
    .gram_ok = 1,
    .roles = LR_ROLE_THEORY | LR_ROLE_RANK_LS,
};
