/* act_scaled: activation-aware SVD (ASVD; Yuan et al. 2023; docs/theory.md section 2).
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

typedef struct act_scaled_mats {
    lr_mat DW, U, VT;
    double *sig, *d;
} act_scaled_mats;

/* The carve-up of one execute; plan_alloc sizes the arena by running it without one. */
static size_t act_scaled_carve(lr_arena *a, size_t n0, size_t n1, act_scaled_mats *w)
{
    size_t mn = n0 < n1 ? n0 : n1, need = 0;
    w->DW = lr_carve_mat(a, &need, n0, n1);
    w->U = lr_carve_mat(a, &need, n0, mn);
    w->VT = lr_carve_mat(a, &need, mn, n1);
    w->sig = lr_carve_vec(a, &need, mn);
    w->d = lr_carve_vec(a, &need, n0);
    return need;
}

static const lr_key act_scaled_keys[] = {
    {.path = "compress.alpha", .type = LR_KEY_REAL, .sweepable = 1, .def = 0.5, .min = 0, .max = 10,
     .doc = "act_scaled: exponent of the activation statistic"},
    {0},
};

static lr_compressor_plan *act_scaled_plan_alloc(const lr_compressor *c, const lr_layer_shape *max,
                                                 const lr_config *cfg)
{
    act_scaled_mats w;
    size_t need = act_scaled_carve(NULL, max->n0, max->n1, &w);
    lr_compressor_plan *p = lr_compressor_plan_new(c, max, cfg, need, max->n0 ? max->n0 : 1,
                                                   max->n1 ? max->n1 : 1, sizeof(double), 0);
    if (p)
        for (size_t pt = 0; pt < p->npoints; pt++)
            *(double *)lr_compressor_params(p, pt) = lr_compressor_key_num(c, cfg, pt, "compress.alpha");
    return p;
}

static int act_scaled_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                              size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    (void)rng;
    size_t n0 = L->W.rows, n1 = L->W.cols, mn = n0 < n1 ? n0 : n1, m = L->X.rows;
    double alpha = *(const double *)lr_compressor_params(p, point);
    if (!isfinite(alpha)) alpha = 0.5;
    lr_arena_reset(&p->arena);
    act_scaled_mats w;
    act_scaled_carve(&p->arena, n0, n1, &w);
    lr_mat DW = w.DW, U = w.U, VT = w.VT;
    double *sig = w.sig, *d = w.d;
    if (!d) LR_ERROR(LR_EINVAL, "act_scaled: workspace too small (a sizing bug)");
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
    LR_TRY(lr_svd(p->svd, DW, sig, U, VT, &info->svd_fallback));
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
    .keys = act_scaled_keys,
    .plan_alloc = act_scaled_plan_alloc,
    .execute = act_scaled_execute,
    .plan_free = lr_compressor_plan_release,
    .nested = 1,
};
