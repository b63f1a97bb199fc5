/* svd_w: data-agnostic truncation of the weights, M = [W]_k.
 *
 * Eckart-Young-Mirsky: the truncated SVD is the best rank-k approximation of W in every
 * unitarily invariant norm.  It uses no data, so it is blind to which directions of W
 * the inputs actually excite (docs/theory.md section 2). */
#include "compress.h"
#include "core/error.h"

/* The carve-up of one execute; plan_alloc sizes the arena by running it without one. */
typedef struct svd_w_mats {
    lr_mat Wc, U, VT, S;
    double *s;
} svd_w_mats;

static size_t svd_w_carve(lr_arena *a, size_t n0, size_t n1, svd_w_mats *w)
{
    size_t mn = n0 < n1 ? n0 : n1, need = 0;
    w->Wc = lr_carve_mat(a, &need, n0, n1);
    w->U = lr_carve_mat(a, &need, n0, mn);
    w->VT = lr_carve_mat(a, &need, mn, n1);
    w->s = lr_carve_vec(a, &need, mn);
    w->S = lr_carve_mat(a, &need, mn, mn); /* the Gram path's scratch */
    return need;
}

static const lr_key svd_w_keys[] = {LR_COMPRESS_GRAM_FIT_KEY, {0}};

static lr_compressor_plan *svd_w_plan_alloc(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg)
{
    svd_w_mats w;
    size_t need = svd_w_carve(NULL, max->n0, max->n1, &w);
    return lr_compressor_plan_new(c, max, cfg, need, max->n0 ? max->n0 : 1, max->n1 ? max->n1 : 1, 0, 1);
}

static int svd_w_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                         size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    (void)point, (void)rng;
    size_t n0 = L->W.rows, n1 = L->W.cols, mn = n0 < n1 ? n0 : n1;
    lr_arena_reset(&p->arena);
    svd_w_mats w;
    svd_w_carve(&p->arena, n0, n1, &w);
    lr_mat Wc = w.Wc, U = w.U, VT = w.VT, S = w.S;
    double *s = w.s;
    if (!S.data) LR_ERROR(LR_EINVAL, "svd_w: workspace too small (a sizing bug)");
    lr_mat_copy(Wc, L->W);
    /* Only the largest target rank's triplets are needed (lr_svd_top takes the whole SVD
     * when that is cheaper). */
    size_t kmax = 0;
    for (size_t i = 0; i < nranks; i++) kmax = ranks[i] > kmax ? ranks[i] : kmax;
    if (kmax > mn) kmax = mn;
    LR_TRY(lr_fit_svd_top(p, L, Wc, kmax, s, U, VT, S, info));
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
    .keys = svd_w_keys,
    .plan_alloc = svd_w_plan_alloc,
    .execute = svd_w_execute,
    .plan_free = lr_compressor_plan_release,
    .nested = 1,
    .gram_ok = 1,
    .roles = LR_ROLE_BASELINE,
    .optimal = LR_OPTIMAL_WEIGHTS,
};
