/* The registry of compressors (generated from compress/list.h) and the helpers they share. */
#include <math.h>
#include <string.h>

#include "compress.h"
#include "core/error.h"

const lr_compressor *const lr_compressors[] = {
#define LR_COMPRESSOR(name) &lr_compressor_##name,
#include "compress/list.h"
#undef LR_COMPRESSOR
    NULL};

const lr_compressor *lr_compressor_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; lr_compressors[i]; i++)
        if (!strcmp(lr_compressors[i]->name, name)) return lr_compressors[i];
    return NULL;
}

const char *lr_compressor_name_at(size_t i)
{
    static const size_t n = sizeof lr_compressors / sizeof lr_compressors[0] - 1;
    return i < n ? lr_compressors[i]->name : NULL;
}

int lr_compressor_has_role(const lr_compressor *c, unsigned roles)
{
    return c && roles && (c->roles & roles) == roles;
}

size_t lr_compressor_with_role(const lr_compressor *const *comps, size_t n, unsigned roles)
{
    for (size_t i = 0; i < n; i++)
        if (lr_compressor_has_role(comps[i], roles)) return i;
    return n;
}

size_t lr_layer_factor_x_scratch(size_t m, size_t n0) { return lr_arena_need(m, n0) + lr_arena_need(n0, 1); }

int lr_layer_factor_x(lr_layer *L, double rank_rtol, lr_compress_ws *ws)
{
    size_t m = L->X.rows, n0 = L->X.cols, mn = m < n0 ? m : n0;
    lr_arena_reset(&ws->arena);
    lr_mat Xc = lr_arena_mat(&ws->arena, m, n0);
    lr_mat VT = lr_arena_mat(&ws->arena, mn, n0);
    if (!Xc.data || !VT.data) LR_ERROR(LR_EINVAL, "lr_layer_factor_x: workspace too small");
    lr_mat_copy(Xc, L->X);
    lr_mat U = lr_mat_view(L->Ux, 0, 0, m, mn);
    LR_TRY(lr_svd(ws->svd, Xc, L->sx, U, VT, &L->x_fallback));
    L->rank_rtol = rank_rtol;
    L->q = lr_numerical_rank(L->sx, mn, rank_rtol);
    L->smin_x = (mn == n0 && L->q == n0) ? L->sx[n0 - 1] : 0.0;
    /* Vx = (VT_q)^T */
    for (size_t j = 0; j < L->q; j++)
        for (size_t i = 0; i < n0; i++) LR_AT(L->Vx, i, j) = LR_AT(VT, j, i);
    L->Ux.cols = L->q;
    L->Vx.cols = L->q;
    return LR_OK;
}

int lr_fit_svd_top(lr_compress_ws *ws, lr_mat A, size_t k, double *s, lr_mat U, lr_mat VT,
                   lr_mat S, lr_fit_info *info)
{
    size_t g = A.rows < A.cols ? A.rows : A.cols;
    if (ws->eig && ws->gram_min_ratio > 0 && k > 0 && k <= g) {
        int accepted = 0;
        LR_TRY(lr_svd_top_gram(ws->eig, A, k, ws->gram_min_ratio, S, s, U, VT, &accepted));
        if (accepted) {
            info->route = 1;
            return LR_OK;
        }
    }
    return lr_svd_top(ws->svd, A, k, s, U, VT, &info->svd_fallback);
}

void lr_factors_from_svd(lr_mat U, const double *s, lr_mat VT, lr_factors *f)
{
    size_t k = f->k;
    f->A.cols = k;
    f->B.rows = k;
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < U.rows; i++) LR_AT(f->A, i, j) = LR_AT(U, i, j) * s[j];
    for (size_t j = 0; j < VT.cols; j++)
        for (size_t i = 0; i < k; i++) LR_AT(f->B, i, j) = LR_AT(VT, i, j);
}

double lr_lambda_auto(double sigma, size_t q, size_t n1, double t)
{
    return 2.0 * sigma * (sqrt((double)q) + sqrt((double)n1) + t);
}

void lr_factors_replicate(lr_factors *out, size_t nranks)
{
    size_t k = out[0].k;
    for (size_t i = 1; i < nranks; i++) {
        out[i].k = k;
        out[i].A.cols = k;
        out[i].B.rows = k;
        lr_mat_copy(out[i].A, lr_mat_view(out[0].A, 0, 0, out[0].A.rows, k));
        lr_mat_copy(out[i].B, lr_mat_view(out[0].B, 0, 0, k, out[0].B.cols));
    }
}

int lr_factors_from_range(const lr_layer *L, lr_mat T, lr_mat VT, size_t k, lr_factors *out,
                          size_t nranks)
{
    size_t q = L->q, n1 = VT.cols;
    out[0].k = k;
    out[0].A.cols = k;
    out[0].B.rows = k;
    if (k) LR_TRY(lr_gemm('N', 'N', 1.0, L->Vx, lr_mat_view(T, 0, 0, q, k), 0.0, out[0].A));
    for (size_t c = 0; c < n1; c++)
        for (size_t r = 0; r < k; r++) LR_AT(out[0].B, r, c) = LR_AT(VT, r, c);
    lr_factors_replicate(out, nranks);
    return LR_OK;
}
