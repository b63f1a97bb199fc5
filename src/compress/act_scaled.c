/* act_scaled: activation-aware SVD (ASVD; Yuan et al. 2023; THEORY.md section 2).
 *
 * Inputs that are large on the data matter more in X~ W than small ones, so the rows of W
 * are scaled by an activation statistic before truncation and unscaled after:
 *   s_i = (mean_k |X~_ki|)^alpha,   D = diag(s),
 *   D W = U diag(sig) V^T,   M = D^{-1} [D W]_k,   A = D^{-1} U_k diag(sig_k),  B = V_k^T.
 * alpha = 0 is svd_w; alpha = 1/2 is ASVD's usual choice.  It is a heuristic: unlike
 * whiten and dd_rank it optimises no error exactly, which the experiments show.
 *
 * An input that is zero on every calibration sample (a dead ReLU, s_i = 0) cannot be
 * unscaled; its row of D W is zero, so its row of A is set to zero: the compressed layer
 * ignores an input the data never excite.  route = 1 records that this happened. */
#include <math.h>

#include "compress.h"
#include "core/error.h"

static size_t act_scaled_scratch(size_t m, size_t n0, size_t n1)
{
    size_t mn = n0 < n1 ? n0 : n1;
    return lr_arena_need(n0, n1) + lr_arena_need(n0, mn) + lr_arena_need(mn, n1) +
           lr_arena_need(mn, 1) + lr_arena_need(n0, 1);
}

static int act_scaled_fit(const lr_layer *L, const lr_compress_opts *opts, const size_t *ranks, size_t nranks,
                          lr_factors *out, lr_compress_ws *ws, lr_fit_info *info)
{
    size_t n0 = L->W.rows, n1 = L->W.cols, mn = n0 < n1 ? n0 : n1, m = L->X.rows;
    double alpha = opts && isfinite(opts->alpha) ? opts->alpha : 0.5;
    lr_arena_reset(&ws->arena);
    lr_mat DW = lr_arena_mat(&ws->arena, n0, n1), U = lr_arena_mat(&ws->arena, n0, mn);
    lr_mat VT = lr_arena_mat(&ws->arena, mn, n1);
    double *sig = lr_arena_vec(&ws->arena, mn), *d = lr_arena_vec(&ws->arena, n0);
    if (!d) LR_ERROR(LR_EINVAL, "act_scaled: workspace too small");
    int dead = 0;
    for (size_t i = 0; i < n0; i++) {
        double mean;
        if (L->x_absmean) {
            mean = L->x_absmean[i];
        } else {
            double acc = 0;
            for (size_t k = 0; k < m; k++) acc += fabs(LR_AT(L->X, k, i));
            mean = m ? acc / (double)m : 0.0;
        }
        /* alpha = 0 is svd_w exactly (s_i = 1), dead inputs included. */
        d[i] = alpha == 0 ? 1.0 : (mean > 0 ? pow(mean, alpha) : 0.0);
        if (!(d[i] > 0) || !isfinite(d[i])) {
            d[i] = 0.0;
            dead = 1;
        }
    }
    for (size_t j = 0; j < n1; j++)
        for (size_t i = 0; i < n0; i++) LR_AT(DW, i, j) = d[i] * LR_AT(L->W, i, j);
    LR_TRY(lr_svd(ws->svd, DW, sig, U, VT, &info->svd_fallback));
    info->route = dead;
    for (size_t r = 0; r < nranks; r++) {
        size_t k = ranks[r] < mn ? ranks[r] : mn;
        out[r].k = k;
        lr_factors_from_svd(U, sig, VT, &out[r]);
        for (size_t j = 0; j < k; j++)
            for (size_t i = 0; i < n0; i++)
                LR_AT(out[r].A, i, j) = d[i] > 0 ? LR_AT(out[r].A, i, j) / d[i] : 0.0;
    }
    return LR_OK;
}

const lr_compressor lr_compressor_act_scaled = {
    .name = "act_scaled",
    .description = "data-aware heuristic: rows of W scaled by (mean |X~|)^alpha, truncated, unscaled (ASVD)",
    .data_driven = 1,
    .scratch = act_scaled_scratch,
    .fit = act_scaled_fit,
    .nested = 1,
};
