/* The registry of compressors (generated from compress/list.h) and the helpers they share. */
#include <math.h>
#include <string.h>

#include <stdlib.h>

#include "compress.h"
#include "core/error.h"
#include "core/rng.h"

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

size_t lr_compressor_schemas(const lr_key **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; lr_compressors[i]; i++) {
        if (!lr_compressors[i]->keys) continue;
        if (n < max) out[n] = lr_compressors[i]->keys;
        n++;
    }
    return n;
}

/* ---- plans ---- */

lr_compressor_plan *lr_compressor_plan_alloc(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg)
{
    if (!c || !max) {
        lr_error(LR_EINVAL, __FILE__, __LINE__, "lr_compressor_plan_alloc: NULL argument");
        return NULL;
    }
    return c->plan_alloc(c, max, cfg);
}

void lr_compressor_plan_free(lr_compressor_plan *p)
{
    if (p) p->comp->plan_free(p);
}

int lr_compressor_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                          size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    if (!p || !L || !out || !info || (nranks && !ranks))
        LR_ERROR(LR_EINVAL, "lr_compressor_execute: NULL argument");
    const lr_compressor *c = p->comp;
    size_t n0 = L->W.rows, n1 = L->W.cols, m = L->X.rows;
    /* On the Gram route X~ is streamed: only its rank q <= N0 reaches the compressor. */
    if (n0 > p->max.n0 || n1 > p->max.n1 || (c->data_driven && !L->gram_route && m > p->max.m))
        LR_ERRORF(LR_EINVAL, "%s: a %zu x %zu x %zu problem exceeds the plan's %zu x %zu x %zu", c->name, m, n0, n1,
                  p->max.m, p->max.n0, p->max.n1);
    if (point >= p->npoints)
        LR_ERRORF(LR_EINVAL, "%s: sweep point %zu of a plan read for %zu points", c->name, point, p->npoints);
    if (c->randomised && !rng) LR_ERRORF(LR_EINVAL, "%s: a randomised compressor needs a random stream", c->name);
    size_t full = n0 < n1 ? n0 : n1;
    for (size_t i = 0; i < nranks; i++) {
        size_t need = c->rank_adaptive ? full : (ranks[i] < full ? ranks[i] : full);
        if (out[i].A.rows != n0 || out[i].B.cols != n1 || out[i].A.cols < need || out[i].B.rows < need ||
            (need && (!out[i].A.data || !out[i].B.data)))
            LR_ERRORF(LR_EINVAL, "%s: factor storage %zu: %zux%zu and %zux%zu cannot hold rank %zu of a %zux%zu layer",
                      c->name, i, out[i].A.rows, out[i].A.cols, out[i].B.rows, out[i].B.cols, need, n0, n1);
    }
    return c->execute(p, point, L, ranks, nranks, out, info, rng);
}

lr_compressor_plan **lr_compressor_plans_alloc(const lr_compressor *const *comps, size_t n,
                                               const lr_layer_shape *max, const lr_config *cfg)
{
    lr_compressor_plan **plans = calloc(n ? n : 1, sizeof *plans);
    if (!plans) {
        lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory allocating %zu compressor plans", n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(plans[i] = lr_compressor_plan_alloc(comps[i], max, cfg))) {
            lr_compressor_plans_free(plans, i);
            return NULL;
        }
    /* The plans of a set run one after another (one thread's compressors on one layer),
     * and every execute starts by resetting its arena: so they share one arena, the
     * largest, and one eigen plan (every plan's is sized N0), instead of holding a copy
     * each (at N0 = 512, dsyevd's workspace alone is 4 MiB per plan).  What results
     * depend on is unchanged: each plan keeps its own SVD plan, sized for its own use. */
    size_t big = 0, eig = n;
    for (size_t i = 0; i < n; i++) {
        if (plans[i]->arena.cap > plans[big]->arena.cap) big = i;
        if (plans[i]->eig && eig == n) eig = i;
    }
    for (size_t i = 0; i < n; i++) {
        if (i != big) {
            lr_arena_release(&plans[i]->arena);
            plans[i]->arena = plans[big]->arena;
            plans[i]->arena.used = 0;
            plans[i]->shares |= LR_PLAN_SHARES_ARENA;
        }
        if (eig < n && i != eig && plans[i]->eig) {
            lr_eig_plan_free(plans[i]->eig);
            plans[i]->eig = plans[eig]->eig;
            plans[i]->shares |= LR_PLAN_SHARES_EIG;
        }
    }
    return plans;
}

void lr_compressor_plans_free(lr_compressor_plan **plans, size_t n)
{
    if (!plans) return;
    for (size_t i = 0; i < n; i++) lr_compressor_plan_free(plans[i]);
    free(plans);
}

void lr_compressor_seed_stream(gsl_rng *r, uint64_t seed, uint64_t point, uint64_t trial, size_t comp)
{
    /* Another salt for the same (point, trial) key: the unit's own stream uses `seed`. */
    gsl_rng_set(r, lr_rng_unit_seed(seed + 0x9E3779B97F4A7C15ull * (uint64_t)(comp + 1), point, trial));
}

lr_compressor_plan *lr_compressor_plan_new(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg,
                                           size_t arena_doubles, size_t svd_m, size_t svd_n, size_t param_bytes,
                                           int gram_fit)
{
    lr_compressor_plan *p = calloc(1, sizeof *p);
    if (!p) {
        lr_error(LR_ENOMEM, __FILE__, __LINE__, "%s: out of memory allocating a plan", c->name);
        return NULL;
    }
    p->comp = c;
    p->max = *max;
    p->npoints = cfg ? lr_config_npoints(cfg) : 1;
    if (p->npoints == 0) p->npoints = 1;
    p->param_bytes = param_bytes;
    p->params = calloc(p->npoints, param_bytes ? param_bytes : 1);
    if (gram_fit) p->gram_min_ratio = lr_compressor_key_num(c, cfg, 0, "compress.gram_fit_min_ratio");
    int ok = p->params && lr_arena_init(&p->arena, arena_doubles ? arena_doubles : 1) == LR_OK;
    if (ok && svd_m && svd_n) ok = (p->svd = lr_svd_plan_alloc(svd_m, svd_n)) != NULL;
    /* The Gram path's matrices are at most min(N0, N1) square; the plan is sized N0, as
     * the Gram route's own eigen plan always was (dsyevr's blocking follows its workspace,
     * so a different size would change the last bits of the results). */
    if (ok && p->gram_min_ratio > 0) ok = (p->eig = lr_eig_plan_alloc(max->n0 ? max->n0 : 1)) != NULL;
    if (!ok) {
        lr_compressor_plan_release(p);
        lr_error(LR_ENOMEM, __FILE__, __LINE__, "%s: out of memory allocating a plan for %zu x %zu x %zu", c->name,
                 max->m, max->n0, max->n1);
        return NULL;
    }
    return p;
}

void lr_compressor_plan_release(lr_compressor_plan *p)
{
    if (!p) return;
    lr_svd_plan_free(p->svd);
    if (!(p->shares & LR_PLAN_SHARES_EIG)) lr_eig_plan_free(p->eig);
    if (!(p->shares & LR_PLAN_SHARES_ARENA)) lr_arena_release(&p->arena);
    free(p->params);
    free(p);
}

void *lr_compressor_params(const lr_compressor_plan *p, size_t point)
{
    return point < p->npoints ? p->params + point * p->param_bytes : NULL;
}

double lr_compressor_key_num(const lr_compressor *c, const lr_config *cfg, size_t point, const char *path)
{
    if (cfg) return lr_config_num(cfg, point, path);
    for (const lr_key *k = c->keys; k && k->path; k++)
        if (!strcmp(k->path, path)) return k->def;
    return NAN;
}

/* ---- helpers the compressors share ---- */

lr_mat lr_carve_mat(lr_arena *a, size_t *need, size_t rows, size_t cols)
{
    *need += lr_arena_need(rows, cols);
    if (a) return lr_arena_mat(a, rows, cols);
    return (lr_mat){NULL, rows, cols, rows ? rows : 1};
}

double *lr_carve_vec(lr_arena *a, size_t *need, size_t n)
{
    *need += lr_arena_need(n, 1);
    return a ? lr_arena_vec(a, n) : NULL;
}

size_t lr_range_svd_carve(lr_arena *a, size_t q, size_t n1, lr_range_svd_mats *w)
{
    size_t mn = q < n1 ? q : n1, need = 0;
    w->B = lr_carve_mat(a, &need, q, n1);
    w->Ub = lr_carve_mat(a, &need, q, mn);
    w->VbT = lr_carve_mat(a, &need, mn, n1);
    w->T = lr_carve_mat(a, &need, q, mn);
    w->sb = lr_carve_vec(a, &need, mn);
    return need;
}

size_t lr_layer_factor_x_scratch(size_t m, size_t n0) { return lr_arena_need(m, n0) + lr_arena_need(n0, 1); }

int lr_layer_factor_x(lr_layer *L, double rank_rtol, lr_layer_ws *ws)
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

int lr_fit_svd_top(lr_compressor_plan *p, const lr_layer *L, lr_mat A, size_t k, double *s, lr_mat U, lr_mat VT,
                   lr_mat S, lr_fit_info *info)
{
    size_t g = A.rows < A.cols ? A.rows : A.cols;
    if (L->gram_route && p->eig && p->gram_min_ratio > 0 && k > 0 && k <= g) {
        int accepted = 0;
        LR_TRY(lr_svd_top_gram(p->eig, A, k, p->gram_min_ratio, S, s, U, VT, &accepted));
        if (accepted) {
            info->route = 1;
            return LR_OK;
        }
    }
    return lr_svd_top(p->svd, A, k, s, U, VT, &info->svd_fallback);
}

void lr_factors_set_rank(lr_compressed *f, size_t k)
{
    f->kind = LR_COMPRESSED_LOWRANK;
    f->n0 = f->A.rows;
    f->n1 = f->B.cols;
    f->k = k;
    f->A.cols = k;
    f->B.rows = k;
}

void lr_factors_from_svd(lr_mat U, const double *s, lr_mat VT, lr_compressed *f)
{
    size_t k = f->k;
    lr_factors_set_rank(f, k);
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < U.rows; i++) LR_AT(f->A, i, j) = LR_AT(U, i, j) * s[j];
    for (size_t j = 0; j < VT.cols; j++)
        for (size_t i = 0; i < k; i++) LR_AT(f->B, i, j) = LR_AT(VT, i, j);
}

double lr_lambda_auto(double sigma, size_t q, size_t n1, double t)
{
    return 2.0 * sigma * (sqrt((double)q) + sqrt((double)n1) + t);
}

void lr_factors_replicate(lr_compressed *out, size_t nranks)
{
    size_t k = out[0].k;
    for (size_t i = 1; i < nranks; i++) {
        lr_factors_set_rank(&out[i], k);
        lr_mat_copy(out[i].A, lr_mat_view(out[0].A, 0, 0, out[0].A.rows, k));
        lr_mat_copy(out[i].B, lr_mat_view(out[0].B, 0, 0, k, out[0].B.cols));
    }
}

int lr_factors_from_range(const lr_layer *L, lr_mat T, lr_mat VT, size_t k, lr_compressed *out,
                          size_t nranks)
{
    size_t q = L->q, n1 = VT.cols;
    lr_factors_set_rank(&out[0], k);
    if (k) LR_TRY(lr_gemm('N', 'N', 1.0, L->Vx, lr_mat_view(T, 0, 0, q, k), 0.0, out[0].A));
    for (size_t c = 0; c < n1; c++)
        for (size_t r = 0; r < k; r++) LR_AT(out[0].B, r, c) = LR_AT(VT, r, c);
    lr_factors_replicate(out, nranks);
    return LR_OK;
}
