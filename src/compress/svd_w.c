/* svd_w: data-agnostic truncation of the weights, M = [W]_k.
 *
 * Eckart-Young-Mirsky: the truncated SVD is the best rank-k approximation of W in every
 * unitarily invariant norm.  It uses no data, so it is blind to which directions of W
 * the inputs actually excite (THEORY.md section 2). */
#include "compress.h"
#include "core/error.h"

static size_t svd_w_scratch(size_t m, size_t n0, size_t n1)
{
    size_t mn = n0 < n1 ? n0 : n1;
    return lr_arena_need(n0, n1) + lr_arena_need(n0, mn) + lr_arena_need(mn, n1) + lr_arena_need(mn, 1) +
           lr_arena_need(mn, mn); /* the Gram path's scratch */
}

static int svd_w_fit(const lr_layer *L, const lr_compress_opts *opts, const size_t *ranks, size_t nranks, lr_factors *out,
                     lr_compress_ws *ws, lr_fit_info *info)
{
    size_t n0 = L->W.rows, n1 = L->W.cols, mn = n0 < n1 ? n0 : n1;
    lr_arena_reset(&ws->arena);
    lr_mat Wc = lr_arena_mat(&ws->arena, n0, n1), U = lr_arena_mat(&ws->arena, n0, mn);
    lr_mat VT = lr_arena_mat(&ws->arena, mn, n1);
    double *s = lr_arena_vec(&ws->arena, mn);
    lr_mat S = lr_arena_mat(&ws->arena, mn, mn); /* the Gram path's scratch */
    if (!S.data) LR_ERROR(LR_EINVAL, "svd_w: workspace too small");
    lr_mat_copy(Wc, L->W);
    /* Only the largest target rank's triplets are needed (lr_svd_top takes the whole SVD
     * when that is cheaper). */
    size_t kmax = 0;
    for (size_t i = 0; i < nranks; i++) kmax = ranks[i] > kmax ? ranks[i] : kmax;
    if (kmax > mn) kmax = mn;
    LR_TRY(lr_fit_svd_top(ws, Wc, kmax, s, U, VT, S, info));
    for (size_t i = 0; i < nranks; i++) {
        out[i].k = ranks[i] < mn ? ranks[i] : mn;
        lr_factors_from_svd(U, s, VT, &out[i]);
    }
    return LR_OK;
}

const lr_compressor lr_compressor_svd_w = {
    .name = "svd_w",
    .description = "data-agnostic: truncated SVD of the weights, M = [W]_k (Eckart-Young)",
    .data_driven = 0,
    .scratch = svd_w_scratch,
    .fit = svd_w_fit,
    .nested = 1,
    .gram_ok = 1,
    .roles = LR_ROLE_BASELINE,
};
