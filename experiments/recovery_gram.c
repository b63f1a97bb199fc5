/* `recovery` on the fast route: X~ and G streamed in row blocks, X~ factored through its
 * Gram matrix, every error measured in N0-dimensional coordinates.
 *
 * One trial of the plain route holds X~, Y, G, Z* (m x N0 or m x N1 each), takes the thin
 * SVD of X~ (~6 m N0^2 flops) and measures each error with m-row products.  Everything the
 * trial reports is a function of a few N0 x N0 and N0 x N1 sums over the rows:
 *   K = X~^T X~ = Vx diag(s^2) Vx^T,     C = X~^T G,
 *   U^T G = diag(1/s) Vx^T C,            U^T Y = diag(s) Vx^T M* + U^T G   (Y = X~M* + G),
 *   ||X~ D||_F = ||R D||_F with R = diag(s) Vx^T   (U has orthonormal columns),
 *   ||P G||_op = ||U^T G||_op,           X~ W = P Y = U U^T Y, so ||X~M - X~W|| = ||R M - U^T Y||.
 * Model "weight" (W = M* + E, Y = X~ W, G = X~ E): U^T Y = R W, U^T G = R E; no C needed.
 * So X~ and G are drawn a block of rows at a time, folded into K (dsyrk: m N0^2 flops) and
 * C (dgemm: 2 m N0 N1 flops), and dropped: memory does not grow with m, and the m-sized
 * work is two level-3 BLAS calls.  The held-out error uses K_t = X_t^T X_t the same way.
 *
 * K's eigendecomposition squares the condition number of X~ (see src/compress/gram.c):
 * the guard (compress.gram_min_ratio) refuses graded spectra, and the trial is redone on
 * the SVD route from the same draws (route 2 in /trials).  The plain route on the same
 * draws (compress.route = "svd_blocks") is the reference this route is tested against. */
#include "recovery_gram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/instances.h"

/* ---- block-order generation ---- */

size_t lr_synth_scratch(const lr_synth_spec *sp)
{
    size_t mn = sp->m < sp->n0 ? sp->m : sp->n0, a = lr_gen_x_scratch(sp->m, sp->n0, mn);
    size_t b = lr_gen_x_scratch(sp->m_test, sp->n0, mn);
    size_t c = lr_gen_with_spectrum_scratch(sp->n0, sp->n1, sp->n0 < sp->n1 ? sp->n0 : sp->n1) + sp->n1;
    return a > b ? (a > c ? a : c) : (b > c ? b : c);
}

/* M* with the geometric spectrum of the plain route, then E and W for model weight.  The
 * r singular values of M* are parked in E's storage, which is not drawn yet. */
static int draw_truth(const lr_synth_spec *sp, gsl_rng *rng, lr_mat Ms, lr_mat Ew, lr_mat W,
                      double *scratch)
{
    double *ssig = Ew.data;
    lr_spectrum_geometric(ssig, sp->r, sp->scale, sp->scond);
    LR_TRY(lr_gen_with_spectrum(rng, Ms, ssig, sp->r, scratch));
    if (sp->weight_model) {
        LR_TRY(lr_gen_noise(rng, Ew, sp->noise, sp->sigma, sp->df));
        lr_mat_copy(W, Ms);
        lr_mat_axpy(1.0, Ew, W);
    }
    return LR_OK;
}

/* Scratch of draw_truth alone (the streamed route never draws X~ whole). */
static size_t truth_scratch(size_t n0, size_t n1)
{
    return lr_gen_with_spectrum_scratch(n0, n1, n0 < n1 ? n0 : n1);
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

int lr_synth_materialise(const lr_synth_spec *sp, gsl_rng *rng, lr_mat X, lr_mat Ms, lr_mat G,
                         lr_mat Ew, lr_mat W, lr_mat Y, lr_mat Zs, lr_mat Xt, lr_mat Zt,
                         double *scratch)
{
    size_t m = sp->m, b = sp->block_rows ? sp->block_rows : m;
    int stream_x = sp->x_kind == LR_X_GAUSSIAN;
    LR_TRY(draw_truth(sp, rng, Ms, Ew, W, scratch));
    if (!stream_x) LR_TRY(lr_gen_x(rng, X, sp->x_kind, sp->q_x, sp->x_cond, scratch));
    for (size_t i0 = 0; i0 < m; i0 += b) {
        size_t bb = min_sz(b, m - i0);
        if (stream_x) LR_TRY(lr_gen_noise(rng, lr_mat_view(X, i0, 0, bb, X.cols), LR_NOISE_GAUSSIAN, 1.0, 0));
        if (!sp->weight_model)
            LR_TRY(lr_gen_noise(rng, lr_mat_view(G, i0, 0, bb, G.cols), sp->noise, sp->sigma, sp->df));
    }
    /* Held-out samples of a Gaussian X~; those of a rank-q X~ share its row space, so the
     * caller draws them after factoring X~ (experiments/recovery.c). */
    if (sp->m_test && stream_x) {
        for (size_t i0 = 0; i0 < sp->m_test; i0 += b)
            LR_TRY(lr_gen_noise(rng, lr_mat_view(Xt, i0, 0, min_sz(b, sp->m_test - i0), Xt.cols),
                                LR_NOISE_GAUSSIAN, 1.0, 0));
        LR_TRY(lr_gemm('N', 'N', 1.0, Xt, Ms, 0.0, Zt));
    }
    LR_TRY(lr_gemm('N', 'N', 1.0, X, Ms, 0.0, Zs));
    if (sp->weight_model) {
        LR_TRY(lr_gemm('N', 'N', 1.0, X, W, 0.0, Y));
        LR_TRY(lr_gemm('N', 'N', 1.0, X, Ew, 0.0, G));
    } else {
        lr_mat_copy(Y, Zs);
        lr_mat_axpy(1.0, G, Y);
    }
    return LR_OK;
}

/* ---- profile ---- */

enum { PH_GEN, PH_STREAM, PH_FACTOR, PH_FIT, PH_MEASURE, PH_N };
static const char *const phase_names[PH_N] = {
    "draw X~, G (RNG)", "stream: K += Xb^T Xb, C += Xb^T Gb", "eig(K), N0-space products",
    "compressor fits", "errors and bounds"};
static double prof_seconds[PH_N], prof_stream_flops;
static long prof_units, prof_fallbacks;

static void prof_add(int ph, double s)
{
#pragma omp atomic
    prof_seconds[ph] += s;
}

void lr_recovery_gram_profile_report(FILE *f)
{
    double total = 0;
    for (int i = 0; i < PH_N; i++) total += prof_seconds[i];
    if (prof_units == 0 && prof_fallbacks == 0) return;
    fprintf(f, "lrlab profile (Gram route): %ld trials, %ld sent to the SVD route by the guard; "
               "thread-seconds per phase:\n", prof_units, prof_fallbacks);
    for (int i = 0; i < PH_N; i++)
        fprintf(f, "  %-40s %9.3f s  %5.1f%%\n", phase_names[i], prof_seconds[i],
                total > 0 ? 100 * prof_seconds[i] / total : 0.0);
    fprintf(f, "  stream phase: %.3f GFLOP in %.3f thread-s = %.2f GFLOP/s per thread\n",
            prof_stream_flops * 1e-9, prof_seconds[PH_STREAM],
            prof_seconds[PH_STREAM] > 0 ? prof_stream_flops * 1e-9 / prof_seconds[PH_STREAM] : 0.0);
}

/* ---- workspace ---- */

struct lr_gram_ws {
    lr_arena a;
    lr_svd_plan *svd;
    lr_eig_plan *eig;
    double *gen_scratch;
    size_t gen_need;
    lr_compressed *factors;
    size_t *ranks;
    lr_compressor_plan **plans; /* one per compressor, for q <= N0 */
    size_t ncomps;
    gsl_rng *crng; /* the compressors' own streams */
};

void lr_gram_ws_free(lr_gram_ws *w)
{
    if (!w) return;
    lr_arena_release(&w->a);
    lr_svd_plan_free(w->svd);
    lr_eig_plan_free(w->eig);
    lr_compressor_plans_free(w->plans, w->ncomps);
    if (w->crng) gsl_rng_free(w->crng);
    lr_free(w->gen_scratch);
    free(w->factors);
    free(w->ranks);
    free(w);
}

lr_gram_ws *lr_gram_ws_alloc(const lr_run *run, size_t n0, size_t n1, size_t k, size_t b,
                             int any_test)
{
    lr_gram_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t nf = run->ncomps * run->nranks, mx = n0 > n1 ? n0 : n1;
    int weight = !strcmp(lr_config_str(run->cfg, "problem.model"), "weight");
    /* Ms, Ew (model weight; else r values), W, C (= E), UtG, UtY, RM, RW (N0 x N1);
     * K/R, Vx (N0 x N0); sx; the blocks Xb (b x N0), Gb (b x N1); T (N0 x k); spg;
     * held-out Kt/Rt, Vt, RtM, wt; factors. */
    size_t need = (weight ? 8 : 7) * lr_arena_need(n0, n1) + lr_arena_need(n0, 1) +
                  2 * lr_arena_need(n0, n0) + lr_arena_need(n0, 1) +
                  lr_arena_need(b, n0) + lr_arena_need(b, n1) + lr_arena_need(n0, k) +
                  lr_arena_need(mx, 1) +
                  (any_test ? 2 * lr_arena_need(n0, n0) + lr_arena_need(n0, n1) + lr_arena_need(n0, 1) : 0) +
                  nf * (lr_arena_need(n0, k) + lr_arena_need(k, n1));
    lr_layer_shape shape = {n0, n0, n1};
    w->ncomps = run->ncomps;
    w->plans = lr_compressor_plans_alloc(run->comps, run->ncomps, &shape, run->cfg);
    w->crng = lr_rng_alloc_kind(run->rng_kind);
    w->gen_need = truth_scratch(n0, n1);
    w->gen_scratch = lr_malloc(w->gen_need * sizeof(double));
    w->svd = lr_svd_plan_alloc(n0, n1);
    w->eig = lr_eig_plan_alloc(n0);
    w->factors = calloc(nf ? nf : 1, sizeof *w->factors);
    w->ranks = calloc(run->nranks ? run->nranks : 1, sizeof *w->ranks);
    if (!w->gen_scratch || !w->svd || !w->eig || !w->factors || !w->ranks || !w->plans || !w->crng ||
        lr_arena_init(&w->a, need) != LR_OK) {
        lr_gram_ws_free(w);
        return NULL;
    }
    return w;
}

/* ---- saving ---- */

int lr_recovery_save_attrs(const lr_run *run, const lr_synth_spec *sp, size_t point,
                           size_t trial, double rank_rtol, int route)
{
    lr_instances *ins = run->instances;
    if (!ins) return LR_OK;
    double v[8];
    const char *nv[] = {"m", "N0", "N1", "r", "sigma", "C", "t", "tol"};
    double vals[] = {(double)sp->m, (double)sp->n0, (double)sp->n1, (double)sp->r, sp->sigma,
                     sp->C, sp->t, run->bparams.tol};
    for (size_t i = 0; i < 8; i++) LR_TRY(lr_instances_attr(ins, point, trial, nv[i], &vals[i], 1));
    double *ks = malloc((run->nranks ? run->nranks : 1) * sizeof(double));
    if (!ks) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t i = 0; i < run->nranks; i++) ks[i] = (double)((long)sp->r + run->rank_offsets[i]);
    int s = lr_instances_attr(ins, point, trial, "ranks", ks, run->nranks);
    free(ks);
    LR_TRY(s);
    v[0] = !sp->weight_model && sp->noise == LR_NOISE_GAUSSIAN;
    LR_TRY(lr_instances_attr(ins, point, trial, "iid_noise", v, 1));
    v[0] = rank_rtol;
    LR_TRY(lr_instances_attr(ins, point, trial, "rank_rtol", v, 1));
    v[0] = route;
    LR_TRY(lr_instances_attr(ins, point, trial, "route", v, 1));
    LR_TRY(lr_instances_attr_str(ins, point, trial, "model", sp->weight_model ? "weight" : "preact"));
    return LR_OK;
}

/* ---- the unit ---- */

/* R = diag(s) V^T for V (n x q). */
static void metric_from(lr_mat R, lr_mat V, const double *s)
{
    for (size_t j = 0; j < V.rows; j++)
        for (size_t i = 0; i < V.cols; i++) LR_AT(R, i, j) = s[i] * LR_AT(V, j, i);
}

/* Stream the rows of X~ (and G, and the held-out rows) a block at a time into K = X~^T X~,
 * C = X~^T G and K_t = X_t^T X_t; the draws in lr_synth_materialise's order.  *tg and *ts
 * accumulate the generation and streaming times. */
static int gram_stream(const lr_run *run, const lr_synth_spec *sp, size_t point, size_t trial, gsl_rng *rng,
                       size_t b, lr_mat Xb, lr_mat Gb, lr_mat Ew, lr_mat K, lr_mat C, lr_mat Kt, double *tg,
                       double *ts)
{
    size_t m = sp->m, n0 = sp->n0, n1 = sp->n1, mt = sp->m_test;
    double t1;
    double flops = 0;
    for (size_t i0 = 0; i0 < m; i0 += b) {
        size_t bb = min_sz(b, m - i0);
        lr_mat X1 = lr_mat_wrap(Xb.data, bb, n0), G1 = lr_mat_wrap(Gb.data, bb, n1);
        t1 = lr_wall_seconds();
        LR_TRY(lr_gen_noise(rng, X1, LR_NOISE_GAUSSIAN, 1.0, 0));
        if (!sp->weight_model) LR_TRY(lr_gen_noise(rng, G1, sp->noise, sp->sigma, sp->df));
        *tg += lr_wall_seconds() - t1;
        if (run->instances) {
            LR_TRY(lr_instances_put(run->instances, point, trial, "X", X1, i0, m));
            if (sp->weight_model) LR_TRY(lr_gemm('N', 'N', 1.0, X1, Ew, 0.0, G1));
            LR_TRY(lr_instances_put(run->instances, point, trial, "G", G1, i0, m));
        }
        t1 = lr_wall_seconds();
        LR_TRY(lr_syrk('T', 1.0, X1, i0 ? 1.0 : 0.0, K));
        flops += (double)bb * n0 * (n0 + 1);
        if (!sp->weight_model) {
            LR_TRY(lr_gemm('T', 'N', 1.0, X1, G1, i0 ? 1.0 : 0.0, C));
            flops += 2.0 * bb * n0 * n1;
        }
        *ts += lr_wall_seconds() - t1;
    }
    for (size_t i0 = 0; i0 < mt; i0 += b) {
        size_t bb = min_sz(b, mt - i0);
        lr_mat X1 = lr_mat_wrap(Xb.data, bb, n0);
        t1 = lr_wall_seconds();
        LR_TRY(lr_gen_noise(rng, X1, LR_NOISE_GAUSSIAN, 1.0, 0));
        *tg += lr_wall_seconds() - t1;
        t1 = lr_wall_seconds();
        LR_TRY(lr_syrk('T', 1.0, X1, i0 ? 1.0 : 0.0, Kt));
        flops += (double)bb * n0 * (n0 + 1);
        *ts += lr_wall_seconds() - t1;
    }
    prof_add(PH_GEN, *tg);
    prof_add(PH_STREAM, *ts);
#pragma omp atomic
    prof_stream_flops += flops;
    return LR_OK;
}

/* What the errors of the streamed route are measured with: R = diag(s) V^T (X~'s metric,
 * ||X~ D||_F = ||R D||_F), R_t for the held-out rows, scratch T and E, and R M*, R W,
 * R_t M*. */
typedef struct gram_measure {
    lr_mat R, Rt, T, E, RM, RW, RtM, Ms;
    size_t q;
    double pg_op, z_norm, xw_norm, zt_norm;
    int fallback;
} gram_measure;

/* Fit compressor c at every target rank on the streamed layer L and write its rows. */
static int gram_compressor(const lr_run *run, const lr_synth_spec *sp, const lr_gram_cfg *gc, lr_gram_ws *w,
                           const lr_layer *Lc, const gram_measure *gm, size_t point, size_t trial, size_t c,
                           double *rows, double *seconds, double *tf, double *tm)
{
    size_t m = sp->m, n0 = sp->n0, n1 = sp->n1, r = sp->r, mt = sp->m_test, q = gm->q;
    const lr_layer L = *Lc;
    lr_mat R = gm->R, Rt = gm->Rt, T = gm->T, E = gm->E, RM = gm->RM, RW = gm->RW, RtM = gm->RtM, Ms = gm->Ms;
    double pg_op = gm->pg_op, z_norm = gm->z_norm, xw_norm = gm->xw_norm, zt_norm = gm->zt_norm;
    int fallback = gm->fallback;
    lr_arena *a = &w->a;
    double t1;
    lr_compressed *f = &w->factors[c * run->nranks];
    lr_arena fa = *a; /* factor storage follows the trial's matrices */
    for (size_t i = 0; i < run->nranks; i++) {
        /* Each rank's own k columns (B's leading dimension is k: a k x N1 block). */
        f[i].A = lr_arena_mat(&fa, n0, w->ranks[i]);
        f[i].B = lr_arena_mat(&fa, w->ranks[i], n1);
        if (!f[i].B.data) LR_ERROR(LR_EINVAL, "recovery (gram): factor workspace too small");
    }
    lr_fit_info info = {.gap = NAN, .lambda = NAN, .converged = -1};
    t1 = lr_wall_seconds();
    if (run->comps[c]->randomised) lr_run_seed_compressor(run, w->crng, point, trial, c);
    LR_TRY(lr_compressor_execute(w->plans[c], point, &L, w->ranks, run->nranks, f, &info, w->crng));
    double elapsed = lr_wall_seconds() - t1;
    *tf += elapsed;
    t1 = lr_wall_seconds();
    for (size_t i = 0; i < run->nranks; i++) {
        size_t ri = c * run->nranks + i;
        double *row = rows + ri * run->trials->ncols;
        lr_run_fill_row(run, row, point, trial, c, i);
        seconds[ri] = elapsed;
        size_t k = f[i].k;
        lr_mat A = lr_mat_view(f[i].A, 0, 0, n0, k), B = lr_mat_view(f[i].B, 0, 0, k, n1);
        /* ||X~ A B - Z*|| = ||(R A) B - R M*||, ||X~ A B - X~ W|| = ||(R A) B - U^T Y||. */
        lr_mat Tk = lr_mat_view(T, 0, 0, n0, k);
        LR_TRY(lr_gemm('N', 'N', 1.0, R, A, 0.0, Tk));
        LR_TRY(lr_gemm('N', 'N', 1.0, Tk, B, 0.0, E));
        double err = lr_mat_diff_fro(E, RM), err_layer = lr_mat_diff_fro(E, RW);
        LR_TRY(lr_gemm('N', 'N', 1.0, A, B, 0.0, E)); /* E now holds the estimate M */
        double errw = lr_mat_diff_fro(E, Ms);
        double errt = NAN;
        if (mt) {
            LR_TRY(lr_gemm('N', 'N', 1.0, Rt, A, 0.0, Tk));
            LR_TRY(lr_gemm('N', 'N', 1.0, Tk, B, 0.0, E));
            errt = lr_mat_diff_fro(E, RtM) / zt_norm;
        }
        row[gc->col_route] = LR_ROUTE_GRAM;
        row[gc->col_fit_route] = info.route == 1;

        lr_bound_input in = {.m = m, .n0 = n0, .n1 = n1, .q = q, .r = r, .k = w->ranks[i],
                             .sigma = sp->sigma, .pg_op = pg_op, .smin_x = L.smin_x,
                             .err_fro = err,
                             .preact = !sp->weight_model, .gaussian = !sp->weight_model && sp->noise == LR_NOISE_GAUSSIAN,
                             .lambda = NAN, .xg_op = NAN, .m0_nuc = NAN, .z_norm = z_norm};
        lr_bound_params bp = run->bparams;
        bp.C = sp->C;
        bp.t = sp->t;
        lr_row_measure meas = {w->ranks[i], q, k, err, errw, errt, err_layer, z_norm, xw_norm,
                               pg_op, fallback | info.svd_fallback};
        LR_TRY(lr_run_record_row(run, row, c, &meas, &in, &bp));
    }
    *tm += lr_wall_seconds() - t1;
    return LR_OK;
}

int lr_recovery_gram_unit(const lr_run *run, const lr_synth_spec *sp, const lr_gram_cfg *gc,
                          lr_gram_ws *w, size_t point, size_t trial, gsl_rng *rng, double *rows,
                          double *seconds, int *done)
{
    *done = 0;
    size_t m = sp->m, n0 = sp->n0, n1 = sp->n1, r = sp->r, mt = sp->m_test;
    /* Not streamable (rows of a low-rank or prescribed-spectrum X~ are dependent), or K
     * singular by construction: the SVD route, recorded. */
    if (sp->x_kind != LR_X_GAUSSIAN || m < n0) {
#pragma omp atomic
        prof_fallbacks++;
        return LR_OK;
    }
    size_t b = sp->block_rows < m ? sp->block_rows : m, kmax = 0;
    for (size_t i = 0; i < run->nranks; i++) {
        w->ranks[i] = r + (size_t)run->rank_offsets[i];
        if (w->ranks[i] > kmax) kmax = w->ranks[i];
    }
    lr_arena *a = &w->a;
    lr_arena_reset(a);
    /* Ew: E of model weight; for model preact it only parks M*'s r singular values. */
    lr_mat Ms = lr_arena_mat(a, n0, n1), W = lr_arena_mat(a, n0, n1);
    lr_mat Ew = sp->weight_model ? lr_arena_mat(a, n0, n1) : lr_arena_mat(a, r, 1);
    lr_mat C = lr_arena_mat(a, n0, n1), UtG = lr_arena_mat(a, n0, n1), UtY = lr_arena_mat(a, n0, n1);
    /* E shares C's storage: C is consumed (into U^T G) before E is first written. */
    lr_mat RM = lr_arena_mat(a, n0, n1), RW = lr_arena_mat(a, n0, n1), E = C;
    lr_mat K = lr_arena_mat(a, n0, n0), Vx = lr_arena_mat(a, n0, n0);
    double *sx = lr_arena_vec(a, n0);
    lr_mat Xb = lr_arena_mat(a, b, n0), Gb = lr_arena_mat(a, b, n1), T = lr_arena_mat(a, n0, kmax);
    double *spg = lr_arena_vec(a, n0 > n1 ? n0 : n1);
    lr_mat Kt = {0}, Vt = {0}, RtM = {0};
    double *wt = NULL;
    if (mt) {
        Kt = lr_arena_mat(a, n0, n0), Vt = lr_arena_mat(a, n0, n0), RtM = lr_arena_mat(a, n0, n1);
        wt = lr_arena_vec(a, n0);
    }
    if (!spg || (mt && !wt)) LR_ERROR(LR_EINVAL, "recovery (gram): workspace too small (a sizing bug)");
    if (w->gen_need < truth_scratch(n0, n1)) LR_ERROR(LR_EINVAL, "recovery (gram): generator scratch too small");

    /* Draw and stream.  The order of draws is that of lr_synth_materialise. */
    double t0 = lr_wall_seconds(), tg = 0, ts = 0, t1;
    LR_TRY(draw_truth(sp, rng, Ms, Ew, W, w->gen_scratch));
    LR_TRY(gram_stream(run, sp, point, trial, rng, b, Xb, Gb, Ew, K, C, Kt, &tg, &ts));

    /* Factor X~ through K; the guard may refuse. */
    t1 = lr_wall_seconds();
    double rtol = gc->rank_rtol > 0 ? gc->rank_rtol : lr_rank_rtol_default(m, n0);
    lr_layer L = {.W = W};
    L.X = (lr_mat){NULL, m, n0, m};
    L.Y = (lr_mat){NULL, m, n1, m};
    L.Ux = (lr_mat){NULL, m, 0, m};
    L.sx = sx;
    L.Vx = Vx;
    double ratio = 0;
    int accepted = 0;
    LR_TRY(lr_layer_factor_gram(&L, m, K, rtol, gc->min_ratio, w->eig, &ratio, &accepted));
    if (!accepted) {
        prof_add(PH_FACTOR, lr_wall_seconds() - t1);
#pragma omp atomic
        prof_fallbacks++;
        return LR_OK;
    }
    size_t q = L.q;
    /* Errors are measured with every direction of X~ (R = diag(s) V^T over all N0 values,
     * as ||X~ D|| on the plain route); P and X~^+ use the q retained ones. */
    lr_mat Vall = lr_mat_view(Vx, 0, 0, n0, n0), V = lr_mat_view(Vx, 0, 0, n0, q);
    lr_mat R = lr_mat_wrap(K.data, n0, n0); /* K is consumed: its storage holds R */
    metric_from(R, Vall, sx);
    UtG.rows = UtY.rows = q;
    LR_TRY(lr_gemm('N', 'N', 1.0, R, Ms, 0.0, RM));
    if (sp->weight_model) {
        /* Y = X~ W and G = X~ E: U_q^T Y = (R W)_q, U_q^T G = (R E)_q (first q rows). */
        LR_TRY(lr_gemm('N', 'N', 1.0, R, W, 0.0, RW));
        lr_mat_copy(UtY, lr_mat_view(RW, 0, 0, q, n1));
        LR_TRY(lr_gemm('N', 'N', 1.0, R, Ew, 0.0, E));
        lr_mat_copy(UtG, lr_mat_view(E, 0, 0, q, n1));
    } else {
        /* U^T G = diag(1/s) V^T C; U^T Y = (R M*)_q + U^T G; W = V diag(1/s) U^T Y;
         * X~ W = P Y = U_q U_q^T Y, so R W = U^T Y when q = N0. */
        LR_TRY(lr_gemm('T', 'N', 1.0, V, C, 0.0, UtG));
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < q; i++) LR_AT(UtG, i, j) /= sx[i];
        lr_mat_copy(UtY, lr_mat_view(RM, 0, 0, q, n1));
        lr_mat_axpy(1.0, UtG, UtY);
        lr_mat Eq = lr_mat_view(E, 0, 0, q, n1);
        lr_mat_copy(Eq, UtY);
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < q; i++) LR_AT(Eq, i, j) /= sx[i];
        LR_TRY(lr_gemm('N', 'N', 1.0, V, Eq, 0.0, W));
        if (q == n0) RW = UtY; /* an alias: RW's own storage stays untouched */
        else LR_TRY(lr_gemm('N', 'N', 1.0, R, W, 0.0, RW));
    }
    /* ||P G||_op = ||U^T G||_op from the largest eigenvalue of (U^T G)^T (U^T G); E is
     * free here and serves as scratch. */
    double pg_op = 0.0;
    int fallback = 0;
    size_t nsq = q < n1 ? q : n1; /* <= N0, so E (N0 x N1) holds the nsq x nsq Gram */
    lr_mat S = lr_mat_wrap(E.data, nsq, nsq);
    LR_TRY(lr_norm_op_gram(w->eig, UtG, S, spg, &pg_op));
    double z_norm = lr_mat_norm_fro(RM), xw_norm = lr_mat_norm_fro(RW), zt_norm = NAN;
    lr_mat Rt = {0};
    if (mt) {
        /* Held-out metric R_t = diag(sqrt(max(w, 0))) V_t^T from K_t = X_t^T X_t. */
        LR_TRY(lr_eig_sym(w->eig, Kt, wt, Vt));
        for (size_t i = 0; i < n0; i++) wt[i] = wt[i] > 0 ? sqrt(wt[i]) : 0.0;
        Rt = lr_mat_wrap(Kt.data, n0, n0);
        metric_from(Rt, Vt, wt);
        LR_TRY(lr_gemm('N', 'N', 1.0, Rt, Ms, 0.0, RtM));
        zt_norm = lr_mat_norm_fro(RtM);
    }
    L.UtY = UtY;
    prof_add(PH_FACTOR, lr_wall_seconds() - t1);
    if (run->instances) {
        LR_TRY(lr_instances_put(run->instances, point, trial, "M", Ms, 0, n0));
        LR_TRY(lr_instances_put(run->instances, point, trial, "W", W, 0, n0));
        LR_TRY(lr_recovery_save_attrs(run, sp, point, trial, rtol, LR_ROUTE_GRAM));
    }

    double tf = 0, tm = 0;
    L.gram_route = 1; /* the fits' Gram path (lr_fit_svd_top), when compress.gram_fit_min_ratio asks */
    L.sigma = sp->sigma;
    gram_measure gm = {.R = R, .Rt = Rt, .T = T, .E = E, .RM = RM, .RW = RW, .RtM = RtM, .Ms = Ms, .q = q,
                       .pg_op = pg_op, .z_norm = z_norm, .xw_norm = xw_norm, .zt_norm = zt_norm,
                       .fallback = fallback};
    for (size_t c = 0; c < run->ncomps; c++)
        LR_TRY(gram_compressor(run, sp, gc, w, &L, &gm, point, trial, c, rows, seconds, &tf, &tm));
    prof_add(PH_FIT, tf);
    prof_add(PH_MEASURE, tm);
#pragma omp atomic
    prof_units++;
    (void)t0;
    *done = 1;
    return LR_OK;
}
