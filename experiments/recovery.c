/* Experiment `recovery`: synthetic low-rank-plus-noise layers with a known ground truth
 * (ZS25 Theorem 1; docs/theory.md section 3).
 *
 * One trial draws X~ (m x N0), M* (N0 x N1) of rank r with singular values from
 * signal.scale down to signal.scale / signal.cond, and noise:
 *   model "preact":  Y = X~ M* + G, G i.i.d.; the layer is W = X~^+ Y;
 *   model "weight":  W = M* + E, E i.i.d.; Y = X~ W, so G = X~ E is not i.i.d. and only
 *                    the deterministic bounds apply.
 * Every compressor is fitted once and cut at each target rank k = r + offset; the error
 * ||X~ M - Z*||_F (Z* = X~ M*), its relative value, the weight error ||M - M*||_F, the
 * layer error ||X~ M - X~ W||_F (distance from the uncompressed layer's response, which
 * dd_rank minimises: it is never above svd_w's at equal rank) and,
 * when problem.m_test > 0, the relative error on fresh samples from the same
 * distribution are measured the same way for all of them, and every bound is evaluated.
 *
 * Theorems 2 and 3 (issue 3) extend the same trial:
 *   spectral tails   problem.signal.tail: the signal M0 has r head singular values plus a
 *                    power-law, exponential, flat or measured tail; Z0 = X~ M0 and
 *                    tau_k(Z0) (from the SVD of U_q^T Z0) is recorded in every row;
 *   noise            row_correlated: Gaussian, AR(1) down the rows (problem.noise.rho);
 *   annihilated part problem.annihilate = c adds to the layer W a component c' N with the
 *                    columns of N in ker X~ and ||c' N||_F = c ||M0||_F; data-driven
 *                    estimators cannot see it, data-agnostic truncation of W does;
 *   ReLU             problem.activation = "relu": the compressors see Y+ = rho(Z* + G) and
 *                    err_fro is the post-activation error ||rho(X~ M) - rho(Z*)||_F
 *                    (err_pre keeps the pre-activation one);
 *   convex methods   dd_svt, dd_nuc, relu_cvx, relu_cvx_sq take compress.lambda (absent:
 *                    each one's automatic choice) times compress.lambda_factor.  They are
 *                    rank-adaptive: their one result is written to every target-rank row,
 *                    with k the rank they produced, so per-rank summaries of them repeat. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"
#include "gen/gen.h"
#include "io/spectrum.h"
#include "io/instances.h"
#include "measure/measure.h"
#include "recovery_gram.h"
#include "recovery.h"
#include "run/run.h"

/* ---- per-thread workspace ---- */

typedef struct recovery_ws {
    lr_arena mats; /* matrices of one trial */
    lr_layer_ws cws;
    double *gen_scratch;
    lr_compressed *factors; /* ncomps x nranks */
    size_t *ranks;
    lr_compressor_plan **plans; /* one per compressor */
    size_t ncomps;
    gsl_rng *crng;              /* the compressors' own streams */
} recovery_ws;

static void recovery_ws_free(void *p)
{
    recovery_ws *w = p;
    if (!w) return;
    lr_arena_release(&w->mats);
    lr_arena_release(&w->cws.arena);
    lr_svd_plan_free(w->cws.svd);
    lr_free(w->gen_scratch);
    free(w->factors);
    free(w->ranks);
    lr_compressor_plans_free(w->plans, w->ncomps);
    if (w->crng) gsl_rng_free(w->crng);
    free(w);
}

static size_t max3(size_t a, size_t b, size_t c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }

static void *recovery_ws_alloc(const lr_run *run)
{
    const recovery_state *st = run->exp_state;
    size_t m = st->max_m, n0 = st->max_n0, n1 = st->max_n1, k = st->kstore, mt = st->max_mt;
    size_t mn = m < n0 ? m : n0;
    recovery_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t nf = run->ncomps * run->nranks;
    /* X, Xt, M*, Z*, Zt, G, Y, W, Ux, sx, Vx, PG, spg, E(m x n1), XA (m x k), Mhat,
     * signal spectrum, then factors A (n0 x k) and B (k x n1) per compressor and rank. */
    size_t need = lr_arena_need(m, n0) + lr_arena_need(mt, n0) + lr_arena_need(n0, n1) +
                  4 * lr_arena_need(m, n1) + lr_arena_need(mt, n1) + lr_arena_need(n0, n1) +
                  lr_arena_need(m, mn) + lr_arena_need(mn, 1) + lr_arena_need(n0, mn) +
                  2 * lr_arena_need(mn, n1) + lr_arena_need(n1, 1) + lr_arena_need(m > mt ? m : mt, n1) +
                  lr_arena_need(m > mt ? m : mt, k) + lr_arena_need(n0, n1) + lr_arena_need(k, 1) +
                  lr_arena_need(n0, n1) + nf * (lr_arena_need(n0, k) + lr_arena_need(k, n1)) +
                  /* issue 3: annihilated N, U_q^T Z0, X~^T G, tail sums, signal spectrum */
                  lr_arena_need(n0, n1) + 2 * lr_arena_need(mn, n1) + 2 * lr_arena_need(mn + 1, 1) +
                  lr_arena_need(n0 < n1 ? n0 : n1, 1) +
                  /* held-out draws of a rank-q X~ */
                  lr_arena_need(mt, mn);
    size_t cneed = lr_layer_factor_x_scratch(m, n0) + lr_arena_need(mn, n0);
    lr_layer_shape shape = {m, n0, n1};
    w->ncomps = run->ncomps;
    w->plans = lr_compressor_plans_alloc(run->comps, run->ncomps, &shape, run->cfg);
    w->crng = lr_rng_alloc_kind(run->rng_kind);
    size_t gneed = max3(lr_gen_x_scratch(m, n0, mn), lr_gen_x_scratch(mt, n0, mn),
                        lr_gen_with_spectrum_scratch(n0, n1, n0 < n1 ? n0 : n1) + n1);
    if (lr_gen_annihilated_scratch(n0, n1, mn) > gneed) gneed = lr_gen_annihilated_scratch(n0, n1, mn);
    w->gen_scratch = lr_malloc(gneed * sizeof(double));
    w->cws.svd = lr_svd_plan_alloc(max3(m, n0, 1), max3(n0, n1, 1));
    w->factors = calloc(nf, sizeof *w->factors);
    w->ranks = calloc(run->nranks, sizeof *w->ranks);
    if (!w->gen_scratch || !w->cws.svd || !w->factors || !w->ranks || !w->plans || !w->crng ||
        lr_arena_init(&w->mats, need) != LR_OK || lr_arena_init(&w->cws.arena, cneed) != LR_OK) {
        recovery_ws_free(w);
        return NULL;
    }
    return w;
}

static lr_synth_spec recovery_spec(const recovery_state *st, const recovery_point *pt);
static int recovery_save(const lr_run *run, const recovery_state *st, const recovery_point *pt,
                         size_t point, size_t trial, lr_mat X, lr_mat Ms, lr_mat G, lr_mat W,
                         double rtol);

/* One trial's matrices, carved from the thread's arena in a fixed order, and the
 * quantities the bounds need. */
typedef struct recovery_trial {
    size_t m, n0, n1, r, mt, mn, nsig, q, nz;
    lr_mat X, Xt, Ms, Zs, Zt, G, Y, W, XW, E, XA, Mh, Ew, Nann, Bz, XG, PG, PGc;
    double *ssig, *sz, *tau2, *spg;
    lr_layer L;
    double m0_nuc, m0_fro, rtol, pg_op, xg_op, xw_norm, z_norm, zt_norm;
    int fallback;
} recovery_trial;

static int trial_carve(const recovery_state *st, const recovery_point *pt, lr_arena *a, recovery_trial *t)
{
    memset(t, 0, sizeof *t);
    t->m = pt->m, t->n0 = pt->n0, t->n1 = pt->n1, t->r = pt->r, t->mt = pt->m_test;
    size_t m = t->m, n0 = t->n0, n1 = t->n1, mt = t->mt, mn = m < n0 ? m : n0;
    t->mn = mn;
    lr_arena_reset(a);
    t->X = lr_arena_mat(a, m, n0), t->Xt = lr_arena_mat(a, mt, n0);
    t->Ms = lr_arena_mat(a, n0, n1), t->Zs = lr_arena_mat(a, m, n1), t->Zt = lr_arena_mat(a, mt, n1);
    t->G = lr_arena_mat(a, m, n1), t->Y = lr_arena_mat(a, m, n1), t->W = lr_arena_mat(a, n0, n1);
    t->XW = lr_arena_mat(a, m, n1);
    t->E = lr_arena_mat(a, m > mt ? m : mt, n1), t->XA = lr_arena_mat(a, m > mt ? m : mt, st->kstore);
    t->Mh = lr_arena_mat(a, n0, n1), t->Ew = lr_arena_mat(a, n0, n1);
    /* The signal's spectrum: r values, or min(N0, N1) with a spectral tail. */
    t->nsig = pt->tail == LR_TAIL_NONE ? t->r : (n0 < n1 ? n0 : n1);
    t->ssig = lr_arena_vec(a, t->nsig);
    t->Nann = lr_arena_mat(a, n0, n1), t->Bz = lr_arena_mat(a, mn, n1), t->XG = lr_arena_mat(a, mn, n1);
    t->sz = lr_arena_vec(a, mn + 1), t->tau2 = lr_arena_vec(a, mn + 1);
    t->L = (lr_layer){.X = t->X, .W = t->W, .Y = t->Y, .sigma = pt->sigma};
    t->L.Ux = lr_arena_mat(a, m, mn);
    t->L.sx = lr_arena_vec(a, mn);
    t->L.Vx = lr_arena_mat(a, n0, mn);
    t->PG = lr_arena_mat(a, mn, n1), t->PGc = lr_arena_mat(a, mn, n1);
    t->spg = lr_arena_vec(a, n1 > mn ? n1 : mn);
    if (!t->spg) LR_ERROR(LR_EINVAL, "recovery: trial workspace too small (a sizing bug)");
    return LR_OK;
}

/* Draw the ground truth and the data, and factor X~.  The order of draws is fixed, so a
 * trial's numbers depend only on its stream. */
static int trial_draw(const recovery_state *st, const recovery_point *pt, recovery_ws *w, gsl_rng *rng,
                      recovery_trial *t)
{
    size_t m = t->m, n0 = t->n0, n1 = t->n1, r = t->r, mt = t->mt;
    lr_layer *L = &t->L;
    /* The signal's singular values (no random draws): also what the block-order draws use. */
    LR_TRY(lr_spectrum_with_tail(t->ssig, t->nsig, r, pt->scale, pt->scond, pt->tail, pt->alpha, pt->beta,
                                 pt->level, st->spectrum, st->nspectrum));
    t->m0_nuc = 0.0, t->m0_fro = 0.0;
    for (size_t i = 0; i < t->nsig; i++) t->m0_nuc += t->ssig[i], t->m0_fro += t->ssig[i] * t->ssig[i];
    t->m0_fro = sqrt(t->m0_fro);

    t->rtol = st->rank_rtol > 0 ? st->rank_rtol : lr_rank_rtol_default(m, n0);
    if (st->blocks) {
        /* The gram route's draws, materialised (its reference, and its guard's fallback). */
        lr_synth_spec sp = recovery_spec(st, pt);
        LR_TRY(lr_synth_materialise(&sp, rng, t->X, t->Ms, t->G, t->Ew, t->W, t->Y, t->Zs, t->Xt, t->Zt,
                                    w->gen_scratch));
        return pt->row_space ? LR_OK : lr_layer_factor_x(L, t->rtol, &w->cws);
    }
    LR_TRY(lr_gen_x(rng, t->X, pt->x_kind, pt->q_x, pt->x_cond, w->gen_scratch));
    if (pt->row_space) {
        /* M* = V_q B with B (q x N1) of the prescribed spectrum: V_q has orthonormal
         * columns, so M* keeps B's singular values and lies in X~'s row space. */
        LR_TRY(lr_layer_factor_x(L, t->rtol, &w->cws));
        if (L->q < t->nsig) LR_ERRORF(LR_EDATA, "recovery: X~ has numerical rank %zu < %zu", L->q, t->nsig);
        lr_mat B = lr_mat_view(t->Bz, 0, 0, L->q, n1);
        LR_TRY(lr_gen_with_spectrum(rng, B, t->ssig, t->nsig, w->gen_scratch));
        LR_TRY(lr_gemm('N', 'N', 1.0, lr_mat_view(L->Vx, 0, 0, n0, L->q), B, 0.0, t->Ms));
    } else {
        LR_TRY(lr_gen_with_spectrum(rng, t->Ms, t->ssig, t->nsig, w->gen_scratch));
    }
    LR_TRY(lr_gemm('N', 'N', 1.0, t->X, t->Ms, 0.0, t->Zs));
    if (pt->weight_model) {
        if (pt->noise == LR_NOISE_ROW_CORRELATED) LR_TRY(lr_gen_noise_rows(rng, t->Ew, pt->sigma, pt->rho));
        else LR_TRY(lr_gen_noise(rng, t->Ew, pt->noise, pt->sigma, pt->df));
        lr_mat_copy(t->W, t->Ms);
        lr_mat_axpy(1.0, t->Ew, t->W);
        LR_TRY(lr_gemm('N', 'N', 1.0, t->X, t->W, 0.0, t->Y));
        LR_TRY(lr_gemm('N', 'N', 1.0, t->X, t->Ew, 0.0, t->G));
    } else {
        if (pt->noise == LR_NOISE_ROW_CORRELATED) LR_TRY(lr_gen_noise_rows(rng, t->G, pt->sigma, pt->rho));
        else LR_TRY(lr_gen_noise(rng, t->G, pt->noise, pt->sigma, pt->df));
        lr_mat_copy(t->Y, t->Zs);
        lr_mat_axpy(1.0, t->G, t->Y);
    }
    if (mt && pt->x_kind == LR_X_GAUSSIAN) {
        LR_TRY(lr_gen_x(rng, t->Xt, pt->x_kind, pt->q_x, pt->x_cond, w->gen_scratch));
        LR_TRY(lr_gemm('N', 'N', 1.0, t->Xt, t->Ms, 0.0, t->Zt));
    }
    if (!pt->row_space) LR_TRY(lr_layer_factor_x(L, t->rtol, &w->cws)); /* row_space did it above */
    return LR_OK;
}

/* What the bounds need (||PG||_op, ||X~^T G||_op, the tail sums tau_j(Z0)^2), the
 * data-agnostic W, and the draws that come after X~'s factorisation (an annihilated
 * component, held-out rows in X~'s row space), then the ReLU of the observations. */
static int trial_observe(const recovery_point *pt, recovery_ws *w, gsl_rng *rng, lr_arena *a, recovery_trial *t)
{
    size_t m = t->m, n0 = t->n0, n1 = t->n1, mt = t->mt;
    lr_layer *L = &t->L;
    size_t q = t->q = L->q;
    t->fallback = L->x_fallback;

    /* P G = U_q (U_q^T G): its operator norm is that of the q x N1 matrix U_q^T G. */
    t->PG.rows = t->PGc.rows = q;
    LR_TRY(lr_gemm('T', 'N', 1.0, L->Ux, t->G, 0.0, t->PG));
    if (!pt->weight_model) {
        /* W = X~^+ Y = Vx diag(1/sx) Ux^T Y: what data-agnostic compression truncates. */
        LR_TRY(lr_gemm('T', 'N', 1.0, L->Ux, t->Y, 0.0, t->PGc));
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < q; i++) LR_AT(t->PGc, i, j) /= L->sx[i];
        LR_TRY(lr_gemm('N', 'N', 1.0, L->Vx, t->PGc, 0.0, t->W));
    }
    lr_mat_copy(t->PGc, t->PG);
    int fb2 = 0;
    t->pg_op = 0.0;
    LR_TRY(lr_norm_op(w->cws.svd, t->PGc, t->spg, &t->pg_op, &fb2));
    t->fallback |= fb2;

    /* ||X~^T G||_op = ||diag(sx) U_q^T G||_op (Theorem 2(c)'s noise level). */
    t->XG.rows = q;
    for (size_t j = 0; j < n1; j++)
        for (size_t i = 0; i < q; i++) LR_AT(t->XG, i, j) = L->sx[i] * LR_AT(t->PG, i, j);
    t->xg_op = 0.0;
    LR_TRY(lr_norm_op(w->cws.svd, t->XG, t->spg, &t->xg_op, &fb2));
    t->fallback |= fb2;

    /* tau_j(Z0)^2 = sum_{i > j} s_i(Z0)^2; Z0 lies in range(X~), so its singular values
     * are those of the q x N1 matrix U_q^T Z0. */
    size_t nz = t->nz = q < n1 ? q : n1;
    t->Bz.rows = q;
    LR_TRY(lr_gemm('T', 'N', 1.0, L->Ux, t->Zs, 0.0, t->Bz));
    LR_TRY(lr_norm_op(w->cws.svd, t->Bz, t->sz, &(double){0.0}, &fb2));
    t->fallback |= fb2;
    t->tau2[nz] = 0.0;
    for (size_t j = nz; j-- > 0;) t->tau2[j] = t->tau2[j + 1] + t->sz[j] * t->sz[j];

    /* The data-agnostic side sees a component the inputs annihilate (dd_vs_da). */
    if (pt->annih > 0) {
        LR_TRY(lr_gen_annihilated(rng, t->Nann, lr_mat_view(L->Vx, 0, 0, n0, q), pt->annih * t->m0_fro,
                                  w->gen_scratch));
        lr_mat_axpy(1.0, t->Nann, t->W);
    }
    /* Held-out samples of a rank-deficient or prescribed-spectrum X~ must share its row
     * space: rows z^T diag(sx / sqrt(m)) Vx^T with z ~ N(0, I_q), i.e. fresh draws from the
     * Gaussian with the calibration samples' covariance X~^T X~ / m.  Drawn last. */
    if (mt && pt->x_kind != LR_X_GAUSSIAN) {
        lr_mat Zg = lr_arena_mat(a, mt, q);
        if (!Zg.data) LR_ERROR(LR_EINVAL, "recovery: held-out workspace too small (a sizing bug)");
        LR_TRY(lr_gen_noise(rng, Zg, LR_NOISE_GAUSSIAN, 1.0, 0));
        for (size_t j = 0; j < q; j++)
            for (size_t i = 0; i < mt; i++) LR_AT(Zg, i, j) *= L->sx[j] / sqrt((double)m);
        LR_TRY(lr_gemm('N', 'T', 1.0, Zg, lr_mat_view(L->Vx, 0, 0, n0, q), 0.0, t->Xt));
        LR_TRY(lr_gemm('N', 'N', 1.0, t->Xt, t->Ms, 0.0, t->Zt));
    }
    /* ReLU observations: the compressors see Y+ = rho(Z* + G); W stays the least-squares
     * layer of the pre-activations. */
    if (pt->relu)
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < m; i++)
                if (LR_AT(t->Y, i, j) < 0) LR_AT(t->Y, i, j) = 0.0;
    return LR_OK;
}

/* Fit compressor c at every target rank and write its rows: the errors (measured by
 * lr_measure_truth, the same for every compressor) and the bounds. */
static int trial_compressor(const lr_run *run, const recovery_state *st, const recovery_point *pt,
                            recovery_ws *w, const lr_arena *a, recovery_trial *t, size_t point, size_t trial,
                            size_t c, double *rows, double *seconds)
{
    size_t n0 = t->n0, n1 = t->n1;
    lr_compressed *f = &w->factors[c * run->nranks];
    lr_arena fa = *a; /* factor storage follows the trial's matrices */
    for (size_t i = 0; i < run->nranks; i++) {
        f[i].A = lr_arena_mat(&fa, n0, st->kstore);
        f[i].B = lr_arena_mat(&fa, st->kstore, n1);
        if (!f[i].B.data) LR_ERROR(LR_EINVAL, "recovery: factor workspace too small");
    }
    lr_fit_info info = {0, 0, NAN, 0, NAN, -1};
    double t0 = lr_wall_seconds();
    if (run->comps[c]->randomised) lr_run_seed_compressor(run, w->crng, point, trial, c);
    LR_TRY(lr_compressor_execute(w->plans[c], point, &t->L, w->ranks, run->nranks, f, &info, w->crng));
    double elapsed = lr_wall_seconds() - t0;

    lr_truth truth = {.X = t->X, .Zs = t->Zs, .XW = t->XW, .Ms = t->Ms, .Xt = t->Xt, .Zt = t->Zt,
                      .zt_norm = t->zt_norm, .relu = pt->relu};
    for (size_t i = 0; i < run->nranks; i++) {
        size_t ri = c * run->nranks + i;
        double *row = rows + ri * run->trials->ncols;
        lr_run_fill_row(run, row, point, trial, c, i);
        seconds[ri] = elapsed;
        size_t k = f[i].k;
        lr_mat A = lr_mat_view(f[i].A, 0, 0, n0, k), B = lr_mat_view(f[i].B, 0, 0, k, n1);
        lr_truth_errors e;
        LR_TRY(lr_measure_truth(&truth, A, B, t->E, t->XA, t->Mh, &e));
        double tau_k = k <= t->nz ? sqrt(t->tau2[k]) : 0.0;
        row[st->c_tau] = tau_k;
        row[st->c_lambda] = info.lambda;
        row[st->c_iter] = info.iterations;
        row[st->c_gap] = info.gap;
        row[st->c_conv] = info.converged;
        row[st->c_xg] = t->xg_op;
        row[st->c_m0nuc] = t->m0_nuc;
        row[st->c_pre] = e.err_pre;

        lr_bound_input in = {.m = t->m, .n0 = n0, .n1 = n1, .q = t->q, .r = t->r, .k = w->ranks[i],
                             .sigma = pt->sigma, .pg_op = t->pg_op, .smin_x = t->L.smin_x, .err_fro = e.err_fro,
                             .preact = !pt->weight_model,
                             .gaussian = !pt->weight_model && pt->noise == LR_NOISE_GAUSSIAN,
                             .tau_k = tau_k, .tau2 = t->tau2, .ntau = t->nz + 1, .lambda = info.lambda,
                             .xg_op = t->xg_op, .m0_nuc = t->m0_nuc, .z_norm = t->z_norm, .relu = pt->relu};
        /* Theorem 2's bounds are about the produced rank (rank-adaptive rows repeat). */
        if (run->comps[c]->rank_adaptive) in.k = k;
        lr_bound_params bp = run->bparams;
        bp.C = pt->C;
        bp.t = pt->t;
        lr_row_measure meas = {w->ranks[i], t->q, k, e.err_fro, e.err_weight, e.err_heldout_rel, e.err_layer,
                               t->z_norm, t->xw_norm, t->pg_op, t->fallback | info.svd_fallback};
        LR_TRY(lr_run_record_row(run, row, c, &meas, &in, &bp));
    }
    return LR_OK;
}

static int recovery_unit(const lr_run *run, void *wsp, size_t point, size_t trial, gsl_rng *rng,
                         double *rows, double *seconds)
{
    const recovery_state *st = run->exp_state;
    const recovery_point *pt = &st->pts[point];
    recovery_ws *w = wsp;
    recovery_trial t;
    LR_TRY(trial_carve(st, pt, &w->mats, &t));
    LR_TRY(trial_draw(st, pt, w, rng, &t));
    LR_TRY(trial_observe(pt, w, rng, &w->mats, &t));
    if (run->instances) LR_TRY(recovery_save(run, st, pt, point, trial, t.X, t.Ms, t.G, t.W, t.rtol));
    LR_TRY(lr_gemm('N', 'N', 1.0, t.X, t.W, 0.0, t.XW));
    t.xw_norm = lr_mat_norm_fro(t.XW);
    t.z_norm = lr_mat_norm_fro(t.Zs);
    t.zt_norm = t.mt ? lr_mat_norm_fro(t.Zt) : NAN;
    for (size_t i = 0; i < run->nranks; i++) w->ranks[i] = t.r + (size_t)run->rank_offsets[i];
    for (size_t c = 0; c < run->ncomps; c++)
        LR_TRY(trial_compressor(run, st, pt, w, &w->mats, &t, point, trial, c, rows, seconds));
    return LR_OK;
}

static void recovery_release(void *state)
{
    recovery_state *st = state;
    if (st) free(st->pts);
    if (st) free(st->spectrum);
    free(st);
}

/* ---- routes (compress.route): the hooks of the streamed Gram route ---- */

static lr_synth_spec recovery_spec(const recovery_state *st, const recovery_point *pt)
{
    lr_synth_spec sp = {pt->m, pt->n0, pt->n1, pt->r, pt->m_test, pt->q_x, st->block_rows,
                        pt->weight_model, pt->x_kind, pt->x_cond, pt->scale, pt->scond,
                        pt->sigma, pt->df, pt->C, pt->t, pt->noise};
    return sp;
}

static int recovery_save(const lr_run *run, const recovery_state *st, const recovery_point *pt,
                         size_t point, size_t trial, lr_mat X, lr_mat Ms, lr_mat G, lr_mat W,
                         double rtol)
{
    lr_synth_spec sp = recovery_spec(st, pt);
    LR_TRY(lr_instances_put(run->instances, point, trial, "X", X, 0, X.rows));
    LR_TRY(lr_instances_put(run->instances, point, trial, "M", Ms, 0, Ms.rows));
    LR_TRY(lr_instances_put(run->instances, point, trial, "G", G, 0, G.rows));
    LR_TRY(lr_instances_put(run->instances, point, trial, "W", W, 0, W.rows));
    return lr_recovery_save_attrs(run, &sp, point, trial, rtol,
                                  st->route == LR_ROUTE_GRAM ? LR_ROUTE_GRAM_FALLBACK : LR_ROUTE_SVD);
}

/* The Gram route's workspace; the plain one is made the first time the guard sends one of
 * this thread's trials to the SVD route (so a run whose trials all pass never holds an
 * m-sized matrix). */
typedef struct recovery_route_ws {
    lr_gram_ws *gram;
    recovery_ws *plain;
} recovery_route_ws;

static void *recovery_route_ws_alloc(const lr_run *run)
{
    const recovery_state *st = run->exp_state;
    recovery_route_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    if (st->route != LR_ROUTE_GRAM) {
        if (!(w->plain = recovery_ws_alloc(run))) {
            free(w);
            return NULL;
        }
        return w;
    }
    size_t b = st->block_rows < st->max_m ? st->block_rows : st->max_m;
    w->gram = lr_gram_ws_alloc(run, st->max_n0, st->max_n1, st->max_k, b, st->max_mt > 0);
    if (!w->gram) {
        free(w);
        return NULL;
    }
    return w;
}

static void recovery_route_ws_free(void *p)
{
    recovery_route_ws *w = p;
    if (!w) return;
    lr_gram_ws_free(w->gram);
    recovery_ws_free(w->plain);
    free(w);
}

static int recovery_route_unit(const lr_run *run, void *wsp, size_t point, size_t trial,
                               gsl_rng *rng, double *rows, double *seconds)
{
    const recovery_state *st = run->exp_state;
    recovery_route_ws *w = wsp;
    int code = LR_ROUTE_SVD;
    if (st->route == LR_ROUTE_GRAM) {
        lr_synth_spec sp = recovery_spec(st, &st->pts[point]);
        int done = 0;
        LR_TRY(lr_recovery_gram_unit(run, &sp, &st->gram, w->gram, point, trial, rng, rows,
                                     seconds, &done));
        if (done) return LR_OK;
        /* The guard refused: replay the same draws on the SVD route. */
        if (!w->plain && !(w->plain = recovery_ws_alloc(run)))
            LR_ERROR(LR_ENOMEM, "cannot allocate the SVD route's workspace");
        lr_run_seed_unit(run, rng, point, trial);
        code = LR_ROUTE_GRAM_FALLBACK;
    }
    LR_TRY(recovery_unit(run, w->plain, point, trial, rng, rows, seconds));
    for (size_t i = 0; i < run->rows_per_unit; i++) {
        rows[i * run->trials->ncols + (size_t)st->gram.col_route] = code;
        rows[i * run->trials->ncols + (size_t)st->gram.col_fit_route] = 0;
    }
    return LR_OK;
}

static void recovery_release_all(void *state)
{
    if (getenv("LRLAB_PROFILE")) lr_recovery_gram_profile_report(stderr);
    recovery_release(state);
}

/* The report and plot hooks live in recovery_report.c and recovery_plot.c. */
#include "report_plot.h"

const lr_experiment lr_experiment_recovery = {
    .name = "recovery",
    .description = "synthetic low-rank + noise layers with a known truth; ZS25 Theorems 1-3 checked per trial",
    .schema = lr_rec_schema,
    .includes = (const lr_key *const[]){lr_bounds_schema, NULL},
    .summaries = LR_SUMMARY_POINTS | LR_SUMMARY_FITS | LR_SUMMARY_SHAPE,
    .prepare = lr_rec_prepare,
    .ws_alloc = recovery_route_ws_alloc,
    .ws_free = recovery_route_ws_free,
    .unit = recovery_route_unit,
    .theory_slope = lr_rec_theory_slope,
    .derived_axis = lr_rec_derived_axis,
    .release = recovery_release_all,
    .write_results = NULL,
    .report = lr_recovery_report,
    .verdict = lr_recovery_verdict,
    .plot = lr_recovery_plot,
};
