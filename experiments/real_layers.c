/* Experiment `real_layers`: the layers of a real trained network (a layer dump, see
 * src/io/dump.h and data/README.md), every compressor on every layer, and what
 * compression does to the network's accuracy (ZS25's setting on real data; docs/theory.md
 * sections 1 to 3).
 *
 * Three stages, each a block of rows of /trials (column `stage`):
 *
 *  layer       each dumped layer on its own, X~ = X (the stored calibration inputs),
 *              W the weights with the bias folded in (a column of ones in X, docs/theory.md
 *              section 1), Y = X W computed in double (layers.target = "product", the
 *              default: docs/theory.md's Y = XW; the dump's Y is that product rounded to its
 *              storage precision, and fitting the rounding would make dd_rank lose to
 *              svd_w at the full rank by ~1e-8) or the stored Y ("recorded").  For every
 *              compressor and every rank k of layers.ranks: err_layer = ||X~ M - X~ W||_F
 *              (the uncompressed layer's response; dd_rank is optimal for Y, so with the
 *              product it equals tau_k(XW) <= svd_w's, docs/theory.md section 2), err_y =
 *              ||X~ M - Y||_F, the weight error, and Theorem 2(a) for dd_rank with
 *              Z0 = X~ W, G = Y - Z0 (0 up to rounding with the product):
 *                ||[PY]_k - Z0||_F <= tau_k(Z0) + C sqrt(2k) ||PG||_op       (thm2a, always)
 *              and with ||PG||_op replaced by sigma^(sqrt q + sqrt N1 + t), sigma^2 =
 *              ||(I - P) Y||_F^2 / ((m - q) N1) the noise-level estimate of docs/theory.md
 *              section 2 (thm2a_hat: an estimate, so it is reported, and checked, but it
 *              is not a theorem about this data).
 *  sequential  ZS25's sequential compression of the whole network, for each budget of
 *              network.budgets: layer by layer, the compressor is fitted on the layer
 *              problem (X~, W, Y) where X~ is what the already-compressed layers feed it
 *              on the calibration inputs and Y the original network's pre-activations on
 *              the same inputs; one row per layer with the same measurements (now G =
 *              Y - X~ W is the error propagated from upstream, so sigma^ is meaningful).
 *  network     one row per budget: the compressed network's test accuracy, its
 *              parameter ratio (sum of k (N0 + 1 + N1) over the dense count), and the dense
 *              network's accuracy.
 * The network stages need network = "sequential" and /inputs in the dump; otherwise only
 * the layer stage runs and the results say why (root attribute network_note).
 *
 * Budgets (network.budget_kind): "params" gives each layer k = floor(rho P / (N0a + N1))
 * (N0a = N0 + 1 with a bias), the largest rank within the ratio rho of its dense
 * parameter count P = N0a N1 (a grouped conv's: N1 (N0 / groups + 1), the blocks of its
 * block-diagonal W); "rank" the same k for every layer; "energy" the smallest k that
 * keeps the fraction e of sum sigma_i(W)^2.  Every row records all three (k, param_ratio,
 * energy).  k is at least 1 and at most min(N0a, N1).
 *
 * All the linear algebra runs on the streaming-QR reduction of [X~, 1, Y] (src/nn/
 * reduce.h), which is exact for every quantity above, so m (stored rows, or im2col rows of
 * the calibration set) can be far larger than memory would allow for an SVD of X~.
 *
 * Fast path: for nested compressors (svd_w, dd_rank, whiten, act_scaled) one fit at the
 * largest rank serves every rank, and the residuals are updated one rank-one term at a
 * time; the plain path refits at each rank (used for other compressors, and by the
 * tests as the reference). */
#include <cblas.h>
#include <hdf5.h>
#include <math.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"
#include "core/rng.h"
#include "io/dump.h"
#include "io/h5.h"
#include "nn/net.h"
#include "nn/reduce.h"
#include "measure/measure.h"
#include "real_layers.h"
#include "run/run.h"

/* ---- helpers ---- */

/* a <= b up to bounds.tol (lr_le_tol), relative to b and, for the rounding both carry, to
 * the scale ||X~W||_F: at the full rank an error and its optimum or bound are rounding
 * alone (~1e-15 relative), and only the absolute term tells them apart from a violation. */
static int le_rounding(const struct rl_state *st, double a, double b, double scale)
{
    return lr_le_tol(a, b, st->tol, scale);
}

/* tail[k] = sqrt(sum_{i >= k} s_i^2), k = 0..n (summed from the small end). */
static void tails(const double *s, size_t n, double *tail)
{
    double acc = 0;
    tail[n] = 0;
    for (size_t i = n; i-- > 0;) {
        acc += s[i] * s[i];
        tail[i] = sqrt(acc);
    }
}

/* ---- the analysis of one reduced layer problem ---- */

typedef struct layer_eval {
    size_t q, m;
    double pg_op, pg_fro, sigma_hat, z_norm, y_norm;
    double *tail; /* tail[k] = tau_k(Z0), k = 0 .. ntail */
    size_t ntail;
    int fallback;
} layer_eval;

typedef struct factored {
    lr_layer L; /* X, W, Y views plus the SVD of X */
    double *ux, *sx, *vx;
} factored;

/* Safe twice: factor_layer frees on failure, and its callers free again. */
static void factored_free(factored *f)
{
    lr_free(f->ux);
    lr_free(f->sx);
    lr_free(f->vx);
    f->ux = f->sx = f->vx = NULL;
}

static int factor_layer(const lr_reduced *rd, const lr_mat Wa, double rank_rtol, lr_layer_ws *ws,
                        factored *f)
{
    memset(f, 0, sizeof *f);
    size_t r = rd->r, n0 = rd->n0a, mn = r < n0 ? r : n0;
    f->ux = lr_malloc(sz1(r * mn) * sizeof(double));
    f->sx = lr_malloc((mn ? mn : 1) * sizeof(double));
    f->vx = lr_malloc(sz1(n0 * mn) * sizeof(double));
    if (!f->ux || !f->sx || !f->vx) {
        factored_free(f);
        LR_ERROR(LR_ENOMEM, "out of memory factoring a layer");
    }
    f->L.X = rd->X;
    f->L.Y = rd->Y;
    f->L.W = Wa;
    f->L.Ux = lr_mat_wrap(f->ux, r, mn);
    f->L.sx = f->sx;
    f->L.Vx = lr_mat_wrap(f->vx, n0, mn);
    f->L.x_absmean = rd->absmean;
    f->L.sigma = NAN; /* the noise level of a real layer is not known */
    double rtol = rank_rtol > 0 ? rank_rtol : lr_rank_rtol_default(r, n0);
    int s = lr_layer_factor_x(&f->L, rtol, ws);
    if (s != LR_OK) factored_free(f);
    return s;
}

static int analyse(const factored *f, size_t m, layer_eval *ev)
{
    const lr_layer *L = &f->L;
    size_t r = L->X.rows, n1 = L->W.cols, q = L->q;
    memset(ev, 0, sizeof *ev);
    ev->q = q;
    ev->m = m;
    ev->fallback = L->x_fallback;
    double *z = lr_malloc(sz1(r * n1) * sizeof(double)), *u = lr_malloc(((q ? q : 1) * n1) * sizeof(double));
    if (!z || !u) {
        lr_free(z);
        lr_free(u);
        LR_ERROR(LR_ENOMEM, "out of memory analysing a layer");
    }
    lr_mat Z = lr_mat_wrap(z, r, n1), U = lr_mat_wrap(u, q, n1);
    int s = lr_gemm('N', 'N', 1.0, L->X, L->W, 0.0, Z);
    double *sz = NULL;
    size_t nz = 0;
    if (s == LR_OK) {
        ev->z_norm = lr_mat_norm_fro(Z);
        ev->y_norm = lr_mat_norm_fro(L->Y);
        s = lr_rl_singular_values(Z, &sz, &nz);
    }
    if (s == LR_OK) {
        ev->ntail = nz;
        ev->tail = lr_malloc((nz + 1) * sizeof(double));
        if (!ev->tail) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory analysing a layer");
        else tails(sz, nz, ev->tail);
    }
    /* G = Y - Z0 (in Z), then P G = U_q (U_q^T G). */
    if (s == LR_OK) {
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < r; i++) LR_AT(Z, i, j) = LR_AT(L->Y, i, j) - LR_AT(Z, i, j);
        if (q) s = lr_gemm('T', 'N', 1.0, L->Ux, Z, 0.0, U);
    }
    if (s == LR_OK) {
        ev->pg_fro = q ? lr_mat_norm_fro(U) : 0.0;
        double *sv = NULL;
        size_t nsv = 0;
        s = q ? lr_rl_singular_values(U, &sv, &nsv) : LR_OK;
        ev->pg_op = q && nsv ? sv[0] : 0.0;
        lr_free(sv);
    }
    /* (I - P) Y = Y - U_q (U_q^T Y), formed directly (no cancellation of norms). */
    if (s == LR_OK && q) s = lr_gemm('T', 'N', 1.0, L->Ux, L->Y, 0.0, U);
    if (s == LR_OK) {
        lr_mat_copy(Z, L->Y);
        if (q) s = lr_gemm('N', 'N', -1.0, L->Ux, U, 1.0, Z);
        double res = lr_mat_norm_fro(Z);
        ev->sigma_hat = m > q ? res / sqrt((double)(m - q) * (double)n1) : NAN;
    }
    lr_free(sz);
    lr_free(z);
    lr_free(u);
    if (s == LR_ENOMEM) LR_ERROR(LR_ENOMEM, "out of memory analysing a layer");
    return s;
}


/* ---- prepare ---- */

/* ---- workspace ---- */

typedef struct rl_ws {
    lr_layer_ws cws;
    lr_compressor_plan **plans; /* one per compressor */
    size_t ncomps;
    gsl_rng *crng; /* randomised compressors' own stream, seeded per (point, fit, compressor) */
} rl_ws;

static void real_ws_free(void *p)
{
    rl_ws *w = p;
    if (!w) return;
    lr_svd_plan_free(w->cws.svd);
    lr_arena_release(&w->cws.arena);
    lr_compressor_plans_free(w->plans, w->ncomps);
    if (w->crng) gsl_rng_free(w->crng);
    free(w);
}

static void *real_ws_alloc(const lr_run *run)
{
    const rl_state *st = run->exp_state;
    rl_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->cws.svd = lr_svd_plan_alloc(st->max_m ? st->max_m : 1, st->max_n ? st->max_n : 1);
    w->ncomps = run->ncomps;
    w->plans = lr_compressor_plans_alloc(run->comps, run->ncomps, &st->shape, run->cfg);
    w->crng = lr_rng_alloc_kind(run->rng_kind);
    if (!w->cws.svd || !w->plans || !w->crng || lr_arena_init(&w->cws.arena, st->arena_need) != LR_OK) {
        real_ws_free(w);
        return NULL;
    }
    return w;
}

/* ---- the unit ---- */

typedef struct row_common {
    int stage;
    size_t layer;
    size_t m;
    double budget;
} row_common;

static double *row_at(const lr_run *run, double *rows, size_t comp, size_t slot)
{
    return rows + (comp * run->nranks + slot) * run->trials->ncols;
}

static void fill_layer_row(const lr_run *run, const rl_state *st, double *row, size_t point, size_t ci,
                           size_t slot, const row_common *rc, const layer_eval *ev, size_t k_target,
                           size_t k, double err_layer, double err_y, double err_w, int route, int fb)
{
    const rl_layer *L = &st->L[rc->layer];
    const lr_trial_columns *col = &run->col;
    lr_run_fill_row(run, row, point, 0, ci, slot);
    lr_table *t = run->trials;
    row[st->c_stage] = rc->stage;
    row[st->c_layer] = lr_table_dict_index(t, (size_t)st->c_layer, st->dump->layers[rc->layer].module);
    row[st->c_layer_index] = (double)rc->layer;
    row[st->c_n0] = (double)L->n0a;
    row[st->c_n1] = (double)L->n1;
    row[st->c_m] = (double)rc->m;
    row[st->c_budget] = rc->budget;
    row[st->c_param_ratio] = lr_rl_param_ratio(L, k);
    row[st->c_energy] = lr_rl_energy_at(L, k);
    row[col->k_target] = (double)k_target;
    row[col->k] = (double)k;
    row[col->q] = (double)ev->q;
    row[col->err_fro] = err_layer;
    row[col->err_rel] = ev->z_norm > 0 ? err_layer / ev->z_norm : NAN;
    row[col->err_weight] = err_w;
    row[col->err_layer] = err_layer;
    row[col->err_layer_rel] = ev->z_norm > 0 ? err_layer / ev->z_norm : NAN;
    row[col->z_norm] = ev->z_norm;
    row[col->pg_op] = ev->pg_op;
    row[col->svd_fallback] = ev->fallback | fb;
    row[st->c_err_y] = err_y;
    row[st->c_err_y_rel] = ev->y_norm > 0 ? err_y / ev->y_norm : NAN;
    double tau = k <= ev->ntail ? ev->tail[k] : 0.0;
    row[st->c_tau] = tau;
    row[st->c_pg_fro] = ev->pg_fro;
    row[st->c_sigma_hat] = ev->sigma_hat;
    /* Theorem 2(a) through the registry (the thm2a and thm2a_held columns), Z0 = X~ W. */
    lr_bound_input in = {.m = rc->m, .n0 = L->n0a, .n1 = L->n1, .q = ev->q, .k = k, .pg_op = ev->pg_op,
                         .tau_k = tau, .ntau = ev->ntail + 1, .z_norm = ev->z_norm,
                         .sigma = NAN, .lambda = NAN, .xg_op = NAN, .m0_nuc = NAN};
    lr_run_record_bounds(run, row, ci, &in, err_layer, err_w, ev->z_norm, &run->bparams);
    double b2 = isnan(ev->sigma_hat) ? NAN
                                     : tau + st->C * sqrt(2.0 * (double)k) * ev->sigma_hat *
                                                 (sqrt((double)ev->q) + sqrt((double)L->n1) + st->t);
    int is_dd = lr_compressor_has_role(run->comps[ci], LR_ROLE_RANK_LS);
    row[st->c_thm2a_hat] = b2;
    row[st->c_thm2a_hat_held] = is_dd && !isnan(b2) ? le_rounding(st, err_layer, b2, ev->z_norm) : -1;
    row[st->c_route] = route;
    row[st->c_dd_le_da] = row[st->c_dd_le_da_y] = -1;
}

static int layer_stage(const lr_run *run, rl_state *st, rl_ws *w, size_t point, double *rows)
{
    size_t slot0 = 0;
    for (size_t l = 0; l < st->nl; l++) {
        rl_layer *L = &st->L[l];
        factored f;
        LR_TRY(factor_layer(&L->rd, L->Wa, st->rank_rtol, &w->cws, &f));
        layer_eval ev;
        int s = analyse(&f, L->rd.m, &ev);
        size_t n = L->nranks;
        double *el = lr_malloc(3 * n * sizeof(double));
        size_t *kk = lr_malloc(n * sizeof(size_t));
        if (s == LR_OK && (!el || !kk)) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        row_common rc = {STAGE_LAYER, l, L->rd.m, NAN};
        for (size_t ci = 0; ci < run->ncomps && s == LR_OK; ci++) {
            int route = 0, fb = 0;
            /* A randomised compressor's stream: one per (point, layer, compressor). */
            if (run->comps[ci]->randomised) lr_run_seed_compressor(run, w->crng, point, l, ci);
            s = lr_measure_rank_errors(&f.L, w->plans[ci], point, L->ranks, n, 0, w->crng, el, el + n,
                                           el + 2 * n, kk, &route, &fb);
            for (size_t i = 0; i < n && s == LR_OK; i++)
                fill_layer_row(run, st, row_at(run, rows, ci, slot0 + i), point, ci, slot0 + i, &rc, &ev,
                               L->ranks[i], kk[i], el[i], el[n + i], el[2 * n + i], route, fb);
        }
        /* Compare with svd_w at the same rank: exactly, and within the provable slack
         * 2 ||PG||_F (dd_rank fits Y = X~W + G, not X~W). */
        size_t da = lr_compressor_with_role(run->comps, run->ncomps, LR_ROLE_BASELINE);
        for (size_t ci = 0; s == LR_OK && da < run->ncomps && ci < run->ncomps; ci++) {
            if (ci == da) continue;
            for (size_t i = 0; i < n; i++) {
                double *x = row_at(run, rows, ci, slot0 + i), *y = row_at(run, rows, da, slot0 + i);
                double ex = x[run->col.err_layer], ey = y[run->col.err_layer];
                x[st->c_dd_le_da] = le_rounding(st, ex, ey, ev.z_norm) ? 1
                                    : (le_rounding(st, ex, ey + 2 * ev.pg_fro, ev.z_norm) ? 2 : 0);
                x[st->c_dd_le_da_y] = le_rounding(st, x[st->c_err_y], y[st->c_err_y], ev.z_norm);
            }
        }
        lr_free(el);
        lr_free(kk);
        lr_free(ev.tail);
        factored_free(&f);
        LR_TRY(s);
        slot0 += n;
    }
    return LR_OK;
}

/* One sequential compression of the whole network at budget b. */
static int sequential_run(const lr_run *run, rl_state *st, rl_ws *w, size_t point, size_t ci, size_t b,
                          double *rows)
{
    size_t n = st->n_calib, nl = st->nl;
    lr_net_lowrank *lrs = calloc(nl, sizeof *lrs);
    double *act = lr_malloc(n * st->net->in_dim * sizeof(double));
    if (!lrs || !act) {
        free(lrs);
        lr_free(act);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    lr_mat A = lr_mat_wrap(act, n, st->net->in_dim);
    lr_mat_copy(A, st->calib_x);
    size_t block = 4096;
    int s = LR_OK;
    for (size_t l = 0; l < nl && s == LR_OK; l++) {
        const lr_net_layer *NL = &st->net->layers[l];
        rl_layer *L = &st->L[l];
        size_t nrows = L->rows_total, k = L->kbud[b];
        double *xb = lr_malloc(nrows * NL->n0 * sizeof(double)), *yb = lr_malloc(nrows * NL->n1 * sizeof(double));
        double *nx = lr_malloc(n * NL->post_dim * sizeof(double));
        lrs[l].A = lr_mat_wrap(lr_malloc(L->n0a * k * sizeof(double)), L->n0a, k);
        lrs[l].B = lr_mat_wrap(lr_malloc(k * L->n1 * sizeof(double)), k, L->n1);
        if (!xb || !yb || !nx || !lrs[l].A.data || !lrs[l].B.data) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        lr_mat X = lr_mat_wrap(xb, nrows, NL->n0), Yt = lr_mat_wrap(yb, nrows, NL->n1), N = lr_mat_wrap(nx, n, NL->post_dim);
        lr_mat Yo = lr_mat_wrap(L->Yo, nrows, L->n1);
        lr_reduced rd;
        memset(&rd, 0, sizeof rd);
        if (s == LR_OK) s = lr_net_im2col(NL, A, X);
        if (s == LR_OK) s = lr_reduced_init(&rd, L->n0, L->n1, L->bias, block, nrows);
        for (size_t r0 = 0; s == LR_OK && r0 < nrows; r0 += block) {
            size_t nb = nrows - r0 < block ? nrows - r0 : block;
            s = lr_reduced_add(&rd, lr_mat_view(X, r0, 0, nb, L->n0), lr_mat_view(Yo, r0, 0, nb, L->n1));
        }
        if (s == LR_OK) s = lr_reduced_finish(&rd);
        factored f;
        memset(&f, 0, sizeof f);
        layer_eval ev;
        memset(&ev, 0, sizeof ev);
        if (s == LR_OK) s = factor_layer(&rd, L->Wa, st->rank_rtol, &w->cws, &f);
        if (s == LR_OK) s = analyse(&f, nrows, &ev);
        lr_fit_info info = {.gap = NAN, .lambda = NAN, .route = L->keep_dense ? -1 : 0};
        lr_compressed fac = {.A = lrs[l].A, .B = lrs[l].B};
        double el = NAN, ey = NAN, ew = NAN;
        if (s == LR_OK && L->keep_dense) {
            /* Kept dense: M = W, measured as W I (route -1 in the row). */
            fac.k = L->n1;
            double *id = lr_calloc(L->n1 * L->n1, sizeof(double));
            if (!id) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
            for (size_t j = 0; id && j < L->n1; j++) id[j + j * L->n1] = 1.0;
            if (s == LR_OK) s = lr_measure_layer(&f.L, L->Wa, lr_mat_wrap(id, L->n1, L->n1), &el, &ey, &ew);
            lr_free(id);
            fac.k = lr_rl_kcap(L);
            lr_free(lrs[l].A.data);
            lr_free(lrs[l].B.data);
            lrs[l].A.data = lrs[l].B.data = NULL;
        } else if (s == LR_OK) {
            /* ... and in the sequential stage, one per (point, budget, layer, compressor). */
            if (run->comps[ci]->randomised)
                lr_run_seed_compressor(run, w->crng, point, nl + b * nl + l, ci);
            s = lr_compressor_execute(w->plans[ci], point, &f.L, &k, 1, &fac, &info, w->crng);
            if (s == LR_OK) {
                lrs[l].A.cols = fac.k;
                lrs[l].B.rows = fac.k;
                s = lr_measure_layer(&f.L, lrs[l].A, lrs[l].B, &el, &ey, &ew);
            }
        }
        if (s == LR_OK) {
            size_t slot = st->slot_seq + b * nl + l;
            row_common rc = {STAGE_SEQ, l, nrows, st->budgets[b]};
            double *row = row_at(run, rows, ci, slot);
            fill_layer_row(run, st, row, point, ci, slot, &rc, &ev, k, fac.k, el, ey, ew, info.route,
                           info.svd_fallback);
            if (L->keep_dense) {
                row[st->c_param_ratio] = 1.0;
                row[st->c_energy] = 1.0;
                row[run->col.bound_held[0]] = row[st->c_thm2a_hat_held] = -1;
            }
        }
        if (s == LR_OK) s = lr_net_apply(NL, &lrs[l], X, Yt);
        if (s == LR_OK) s = lr_net_post(NL, Yt, n, N);
        lr_free(ev.tail);
        factored_free(&f);
        lr_reduced_release(&rd);
        lr_free(xb);
        lr_free(yb);
        lr_free(act);
        act = nx;
        A = N;
    }
    lr_free(act);
    size_t correct = 0;
    if (s == LR_OK) s = lr_rl_test_accuracy(st, lrs, &correct);
    if (s == LR_OK) {
        size_t slot = st->slot_net + b;
        double *row = row_at(run, rows, ci, slot);
        lr_run_fill_row(run, row, point, 0, ci, slot);
        row[st->c_stage] = STAGE_NET;
        row[st->c_layer] = lr_table_dict_index(run->trials, (size_t)st->c_layer, "(network)");
        row[st->c_layer_index] = -1;
        row[st->c_budget] = st->budgets[b];
        row[st->c_param_ratio] = st->net_ratio[b];
        row[st->c_net_ratio] = st->net_ratio[b];
        row[st->c_energy] = st->net_energy[b];
        row[st->c_accuracy] = (double)correct / (double)st->n_test;
        row[st->c_accuracy_dense] = st->acc_dense;
        row[st->c_m] = (double)st->n_test;
        row[run->col.svd_fallback] = 0;
        row[run->col.k_target] = row[run->col.k] = row[run->col.q] = -1;
        row[st->c_n0] = row[st->c_n1] = -1;
        row[st->c_route] = -1;
        row[run->col.bound_held[0]] = row[st->c_thm2a_hat_held] = row[st->c_dd_le_da] = row[st->c_dd_le_da_y] = -1;
    }
    for (size_t l = 0; l < nl; l++) {
        lr_free(lrs[l].A.data);
        lr_free(lrs[l].B.data);
    }
    free(lrs);
    return s;
}

static int real_unit(const lr_run *run, void *wsp, size_t point, size_t trial, gsl_rng *rng, double *rows,
                     double *seconds)
{
    rl_state *st = run->exp_state;
    rl_ws *w = wsp;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    LR_TRY(layer_stage(run, st, w, point, rows));
    for (size_t b = 0; b < st->nbud; b++)
        for (size_t ci = 0; ci < run->ncomps; ci++) {
            LR_TRY(sequential_run(run, st, w, point, ci, b, rows));
            for (size_t l = 0; l < st->nl; l++)
                row_at(run, rows, ci, st->slot_seq + b * st->nl + l)[st->c_net_ratio] = st->net_ratio[b];
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    for (size_t i = 0; i < run->rows_per_unit; i++) seconds[i] = el;
    return LR_OK;
}

/* ---- results ---- */

static void real_release(void *state)
{
    rl_state *st = state;
    if (!st) return;
    for (size_t l = 0; st->L && l < st->nl; l++) {
        rl_layer *L = &st->L[l];
        lr_free(L->Wa.data);
        lr_reduced_release(&L->rd);
        lr_free(L->spec_w);
        lr_free(L->spec_x);
        lr_free(L->spec_xw);
        free(L->ranks);
        free(L->kbud);
        lr_free(L->Yo);
    }
    free(st->L);
    free(st->net_ratio);
    free(st->net_energy);
    lr_free(st->calib_x.data);
    lr_free(st->test_x.data);
    lr_free(st->test_labels);
    lr_net_free(st->net);
    lr_dump_close(st->dump);
    free(st);
}

/* The report and plot hooks live in real_layers_report.c and real_layers_plot.c. */
#include "report_plot.h"

const lr_experiment lr_experiment_real_layers = {
    .name = "real_layers",
    .description = "layers of a real network from a dump: every compressor on every layer, Theorem 2(a) "
                   "with the noise-level estimate, and the compressed network's accuracy",
    .schema = lr_rl_schema,
    .includes = (const lr_key *const[]){lr_bounds_schema, NULL},
    .summaries = 0, /* rows are layers x ranks, budgets and the network: its own tables */
    .prepare = lr_rl_prepare,
    .ws_alloc = real_ws_alloc,
    .ws_free = real_ws_free,
    .unit = real_unit,
    .theory_slope = NULL,
    .release = real_release,
    .write_results = lr_rl_write_results,
    .report = lr_real_layers_report,
    .plot = lr_real_layers_plot,
};
