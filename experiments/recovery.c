/* Experiment `recovery`: synthetic low-rank-plus-noise layers with a known ground truth
 * (ZS25 Theorem 1; THEORY.md section 3).
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

#include "core/error.h"
#include "core/rng.h"
#include "gen/gen.h"
#include "io/spectrum.h"
#include "io/instances.h"
#include "measure/measure.h"
#include "recovery_gram.h"
#include "run/run.h"

static const lr_key recovery_schema[] = {
    {.path = "problem.m", .type = LR_KEY_INT, .sweepable = 1, .def = 400, .min = 1, .max = 1e7,
     .doc = "calibration samples (rows of X~)"},
    {.path = "problem.N0", .type = LR_KEY_INT, .sweepable = 1, .def = 60, .min = 1, .max = 1e5,
     .doc = "layer inputs (columns of X~)"},
    {.path = "problem.N1", .type = LR_KEY_INT, .sweepable = 1, .def = 50, .min = 1, .max = 1e5,
     .doc = "layer outputs (columns of W)"},
    {.path = "problem.r", .type = LR_KEY_INT, .sweepable = 1, .def = 4, .min = 1, .max = 1e5,
     .doc = "rank of the true weights M*"},
    {.path = "problem.m_test", .type = LR_KEY_INT, .sweepable = 1, .max = 1e7,
     .doc = "held-out samples for the held-out error (0: none)"},
    {.path = "problem.model", .type = LR_KEY_STRING, .def = NAN, .def_str = "preact", .choices = "preact|weight",
     .doc = "where the noise enters: pre-activations (Y = X~M* + G) or weights (W = M* + E)"},
    {.path = "problem.x.kind", .type = LR_KEY_STRING, .def = NAN, .def_str = "gaussian", .names = lr_x_kind_name_at,
     .doc = "calibration inputs: i.i.d. Gaussian, Gaussian of rank q, or a geometric spectrum"},
    {.path = "problem.x.q", .type = LR_KEY_INT, .sweepable = 1, .max = 1e5,
     .doc = "rank of X~ for lowrank/spectrum (0: min(m, N0))"},
    {.path = "problem.x.cond", .type = LR_KEY_REAL, .sweepable = 1, .def = 10, .min = 1, .max = 1e16,
     .doc = "condition number of X~'s spectrum (kind spectrum)"},
    {.path = "problem.signal.scale", .type = LR_KEY_REAL, .sweepable = 1, .def = 1, .min = 1e-300, .max = 1e300,
     .doc = "largest singular value of M*"},
    {.path = "problem.signal.cond", .type = LR_KEY_REAL, .sweepable = 1, .def = 1, .min = 1, .max = 1e16,
     .doc = "ratio of the largest to the r-th singular value of M* (geometric in between)"},
    {.path = "problem.signal.row_space", .type = LR_KEY_BOOL,
     .doc = "draw M* inside the row space of X~ (X~ M* determines M* only up to ker X~; this is " "the representative the data identify, so ||M - M*||_F of a data-driven fit is its " "noise alone)"},
    {.path = "problem.noise.kind", .type = LR_KEY_STRING, .def = NAN, .def_str = "gaussian", .names = lr_noise_kind_name_at,
     .doc = "noise distribution (all scaled to variance sigma^2; row_correlated: Gaussian, AR(1) down the rows)"},
    {.path = "problem.noise.sigma", .type = LR_KEY_REAL, .sweepable = 1, .def = 0.01, .max = 1e300,
     .doc = "noise standard deviation"},
    {.path = "problem.noise.df", .type = LR_KEY_REAL, .sweepable = 1, .def = 5, .min = 2.000001, .max = 1e300,
     .doc = "degrees of freedom of Student t noise (> 2)"},
    {.path = "compress.methods", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[\"svd_w\", \"dd_rank\"]", .names = lr_compressor_name_at,
     .doc = "compressors to run"},
    {.path = "compress.rank_offsets", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[0]", .min = -1e5, .max = 1e5,
     .doc = "target ranks k = r + offset (an offset may be negative: k < r, where Theorem 1's bounds " "are NaN)"},
    {.path = "compress.rank_rtol", .type = LR_KEY_REAL, .max = 1,
     .doc = "relative tolerance of the numerical rank of X~ (0: max(m, N0) * eps)"},
    {.path = "compress.route", .type = LR_KEY_STRING, .def = NAN, .def_str = "svd", .choices = "svd|svd_blocks|gram",
     .doc = "how X~ is handled: svd (whole, thin SVD), gram (streamed in row blocks, factored through " "X~^T X~, guarded), svd_blocks (gram's draws, whole, thin SVD: gram's reference)"},
    {.path = "compress.gram_min_ratio", .type = LR_KEY_REAL, .def = 1e-3, .max = 1,
     .doc = "gram route guard: when s_min/s_1 of X~ is below this, the trial takes the SVD route"},
    {.path = "compress.gram_fit_min_ratio", .type = LR_KEY_REAL, .max = 1,
     .doc = "gram route: the fits' top-k SVDs (svd_w, dd_rank) through the Gram matrix when " "s_k/s_1 of the fitted matrix is at least this, else LAPACK's SVD (0: always LAPACK); " "/trials column fit_route records which"},
    {.path = "problem.block_rows", .type = LR_KEY_INT, .def = 512, .min = 1, .max = 1e7,
     .doc = "rows of X~ and G drawn and consumed at a time on the gram/svd_blocks routes"},
    {.path = "bounds.names", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[\"thm1a\", \"thm1b\", \"thm1c\", \"thm1d\"]", .names = lr_bound_name_at,
     .doc = "bounds to evaluate"},
    /* issue 3: Theorems 2 and 3 */
    {.path = "problem.signal.tail.kind", .type = LR_KEY_STRING, .def = NAN, .def_str = "none", .names = lr_tail_kind_name_at,
     .doc = "spectral tail of the signal past rank r: s_{r+i} = level * scale * g(i), g(1) = 1"},
    {.path = "problem.signal.tail.alpha", .type = LR_KEY_REAL, .sweepable = 1, .def = 1, .max = 1e3,
     .doc = "power tail exponent: g(i) = i^-alpha"},
    {.path = "problem.signal.tail.beta", .type = LR_KEY_REAL, .sweepable = 1, .def = 0.5, .max = 1e3,
     .doc = "exponential tail rate: g(i) = exp(-beta (i - 1))"},
    {.path = "problem.signal.tail.level", .type = LR_KEY_REAL, .sweepable = 1, .def = 0.1, .max = 1e300,
     .doc = "first tail singular value relative to signal.scale"},
    {.path = "problem.signal.tail.file", .type = LR_KEY_STRING, .def = NAN, .def_str = "",
     .doc = "measured spectrum (text, or HDF5 with tail.dataset) for kind file; relative paths from the config's directory"},
    {.path = "problem.signal.tail.dataset", .type = LR_KEY_STRING, .def = NAN, .def_str = "spectrum",
     .doc = "dataset of the spectrum in an HDF5 tail.file"},
    {.path = "problem.noise.rho", .type = LR_KEY_REAL, .sweepable = 1, .def = 0.5, .min = -0.999, .max = 0.999,
     .doc = "correlation of consecutive rows of row_correlated noise"},
    {.path = "problem.annihilate", .type = LR_KEY_REAL, .sweepable = 1, .max = 1e300,
     .doc = "add to W a component in ker X~ of Frobenius norm annihilate * ||M0||_F (needs rank X~ < N0)"},
    {.path = "problem.activation", .type = LR_KEY_STRING, .def = NAN, .def_str = "none", .choices = "none|relu",
     .doc = "relu: observations Y+ = rho(Z* + G) and err_fro is ||rho(X~ M) - rho(Z*)||_F (Theorem 3)"},
    {.path = "compress.lambda", .type = LR_KEY_REAL, .sweepable = 1, .def = NAN, .max = 1e300,
     .doc = "regularisation weight of the convex compressors (absent: each one's automatic choice)"},
    {.path = "compress.lambda_factor", .type = LR_KEY_REAL, .sweepable = 1, .def = 1, .max = 1e300,
     .doc = "lambda used = lambda_factor * (compress.lambda or the automatic lambda)"},
    {.path = "compress.tol", .type = LR_KEY_REAL, .def = 1e-9, .min = 1e-300, .max = 1,
     .doc = "iterative compressors: relative duality gap (dd_nuc) or relative step (relu_cvx) to stop at"},
    {.path = "compress.max_iter", .type = LR_KEY_INT, .def = 5000, .min = 1, .max = 1e8,
     .doc = "iterative compressors: iteration cap"},
    {.path = "compress.monotone", .type = LR_KEY_BOOL, .def = 1, .max = 1,
     .doc = "FISTA compressors: monotone variant (objective never increases)"},
    {.path = NULL}};

/* Per-point parameters, read once in prepare. */
typedef struct recovery_point {
    size_t m, n0, n1, r, m_test, q_x;
    int weight_model;
    lr_x_kind x_kind;
    double x_cond, scale, scond, sigma, df, C, t;
    lr_noise_kind noise;
    lr_tail_kind tail;
    double alpha, beta, level, rho, annih, lambda, lambda_factor;
    int relu;
    int row_space; /* M* in the row space of X~ */
} recovery_point;

typedef struct recovery_state {
    recovery_point *pts;
    size_t max_m, max_n0, max_n1, max_k, max_mt;
    double rank_rtol;
    size_t kstore;     /* factor columns: max_k, or min(N0, N1) with a rank-adaptive compressor */
    double *spectrum;  /* measured spectrum of tail.kind = "file" */
    size_t nspectrum;
    double tol;
    int max_iter, monotone;
    /* experiment-owned /trials columns */
    int c_tau, c_lambda, c_iter, c_gap, c_conv, c_xg, c_m0nuc, c_pre;
    int route;          /* compress.route: LR_ROUTE_SVD, or the gram / svd_blocks routes below */
    int blocks;         /* draws in block order (gram and svd_blocks) */
    size_t block_rows;
    lr_gram_cfg gram;
} recovery_state;

static const char *const param_paths[] = {
    "problem.m", "problem.N0", "problem.N1", "problem.r", "problem.noise.sigma"};
static const char *const param_names[] = {"m", "N0", "N1", "r", "sigma"};

static int read_point(lr_run *run, size_t p, recovery_point *pt)
{
    const lr_config *c = run->cfg;
    char where[512];
    pt->m = (size_t)lr_config_num(c, p, "problem.m");
    pt->n0 = (size_t)lr_config_num(c, p, "problem.N0");
    pt->n1 = (size_t)lr_config_num(c, p, "problem.N1");
    pt->r = (size_t)lr_config_num(c, p, "problem.r");
    pt->m_test = (size_t)lr_config_num(c, p, "problem.m_test");
    pt->weight_model = !strcmp(lr_config_str(c, "problem.model"), "weight");
    pt->x_kind = lr_x_kind_parse(lr_config_str(c, "problem.x.kind"));
    pt->q_x = (size_t)lr_config_num(c, p, "problem.x.q");
    pt->x_cond = lr_config_num(c, p, "problem.x.cond");
    pt->scale = lr_config_num(c, p, "problem.signal.scale");
    pt->scond = lr_config_num(c, p, "problem.signal.cond");
    pt->noise = lr_noise_kind_parse(lr_config_str(c, "problem.noise.kind"));
    pt->sigma = lr_config_num(c, p, "problem.noise.sigma");
    pt->df = lr_config_num(c, p, "problem.noise.df");
    pt->C = lr_config_num(c, p, "bounds.C");
    pt->t = lr_config_num(c, p, "bounds.t");
    pt->tail = lr_tail_kind_parse(lr_config_str(c, "problem.signal.tail.kind"));
    pt->alpha = lr_config_num(c, p, "problem.signal.tail.alpha");
    pt->beta = lr_config_num(c, p, "problem.signal.tail.beta");
    pt->level = lr_config_num(c, p, "problem.signal.tail.level");
    pt->rho = lr_config_num(c, p, "problem.noise.rho");
    pt->annih = lr_config_num(c, p, "problem.annihilate");
    pt->lambda = lr_config_num(c, p, "compress.lambda");
    pt->lambda_factor = lr_config_num(c, p, "compress.lambda_factor");
    pt->relu = !strcmp(lr_config_str(c, "problem.activation"), "relu");
    pt->row_space = lr_config_num(c, p, "problem.signal.row_space") != 0;

    size_t full = pt->m < pt->n0 ? pt->m : pt->n0;
    if (pt->x_kind == LR_X_GAUSSIAN) {
        if (lr_config_given(c, "problem.x.q") && pt->q_x != 0 && pt->q_x != full)
            LR_ERRORF(LR_ECONFIG, "%s = %zu needs problem.x.kind = \"lowrank\" or \"spectrum\"",
                      lr_config_where(c, "problem.x.q", where, sizeof where), pt->q_x);
        pt->q_x = full;
    } else if (pt->q_x == 0) {
        pt->q_x = full;
    }
    if (pt->q_x > full)
        LR_ERRORF(LR_ECONFIG, "%s = %zu exceeds min(m, N0) = %zu at sweep point %zu",
                  lr_config_where(c, "problem.x.q", where, sizeof where), pt->q_x, full, p);
    size_t rmax = pt->n0 < pt->n1 ? pt->n0 : pt->n1;
    if (pt->r > rmax)
        LR_ERRORF(LR_ECONFIG, "%s = %zu exceeds min(N0, N1) = %zu at sweep point %zu",
                  lr_config_where(c, "problem.r", where, sizeof where), pt->r, rmax, p);
    if (pt->r > pt->q_x)
        LR_ERRORF(LR_ECONFIG,
                  "%s = %zu exceeds the rank q = %zu of X~ at sweep point %zu (Z* would have "
                  "rank below r)",
                  lr_config_where(c, "problem.r", where, sizeof where), pt->r, pt->q_x, p);
    if (pt->annih > 0 && pt->q_x >= pt->n0)
        LR_ERRORF(LR_ECONFIG,
                  "%s = %g needs X~ of rank q < N0 (problem.x.kind = \"lowrank\" or \"spectrum\" with "
                  "x.q < N0 = %zu) at sweep point %zu: nothing is annihilated otherwise",
                  lr_config_where(c, "problem.annihilate", where, sizeof where), pt->annih, pt->n0, p);
    size_t nsig = pt->tail == LR_TAIL_NONE ? pt->r : rmax;
    if (pt->row_space && (nsig > pt->q_x || pt->weight_model ||
                          strcmp(lr_config_str(c, "compress.route"), "svd") != 0))
        LR_ERRORF(LR_ECONFIG,
                  "%s = true needs model \"preact\", compress.route \"svd\" and the %zu singular "
                  "values of M* to fit in the rank q = %zu of X~ at sweep point %zu",
                  lr_config_where(c, "problem.signal.row_space", where, sizeof where), nsig, pt->q_x, p);
    size_t kcap = pt->q_x < pt->n1 ? pt->q_x : pt->n1;
    for (size_t i = 0; i < run->nranks; i++)
        if ((long)pt->r + run->rank_offsets[i] < 1)
            LR_ERRORF(LR_ECONFIG, "%s: target rank r + %ld = %ld is below 1 at sweep point %zu",
                      lr_config_where(c, "compress.rank_offsets", where, sizeof where),
                      run->rank_offsets[i], (long)pt->r + run->rank_offsets[i], p);
    for (size_t i = 0; i < run->nranks; i++)
        if (pt->r + (size_t)run->rank_offsets[i] > kcap)
            LR_ERRORF(LR_ECONFIG,
                      "%s: target rank r + %ld = %zu exceeds min(q, N1) = %zu at sweep point %zu",
                      lr_config_where(c, "compress.rank_offsets", where, sizeof where),
                      run->rank_offsets[i], pt->r + (size_t)run->rank_offsets[i], kcap, p);
    return LR_OK;
}

/* Load the measured spectrum of tail.kind = "file"; a relative path is taken from the
 * config file's directory (as libconfig's @include is), so configs travel with their data. */
static int load_spectrum(lr_run *run, recovery_state *st)
{
    const lr_config *c = run->cfg;
    const char *file = lr_config_str(c, "problem.signal.tail.file");
    char where[512], path[4096];
    if (!file || !file[0])
        LR_ERRORF(LR_ECONFIG, "%s: tail.kind = \"file\" needs problem.signal.tail.file",
                  lr_config_where(c, "problem.signal.tail.kind", where, sizeof where));
    const char *cfgname = lr_config_filename(c), *slash = cfgname ? strrchr(cfgname, '/') : NULL;
    if (file[0] != '/' && slash)
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - cfgname), cfgname, file);
    else
        snprintf(path, sizeof path, "%s", file);
    if (lr_spectrum_read(path, lr_config_str(c, "problem.signal.tail.dataset"), &st->spectrum,
                         &st->nspectrum) != LR_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", lr_last_error());
        LR_ERRORF(LR_ECONFIG, "%s: %s", lr_config_where(c, "problem.signal.tail.file", where, sizeof where), msg);
    }
    for (size_t p = 0; p < run->npoints; p++)
        if (st->nspectrum <= st->pts[p].r || !(st->spectrum[st->pts[p].r] > 0))
            LR_ERRORF(LR_ECONFIG, "%s: %s has %zu values, no positive tail past rank r = %zu",
                      lr_config_where(c, "problem.signal.tail.file", where, sizeof where), path,
                      st->nspectrum, st->pts[p].r);
    return LR_OK;
}

#define ADD_EXP_COL(slot, name, type, doc)                                                 \
    do {                                                                                   \
        if ((st->slot = lr_table_add_column(run->trials, name, type, doc)) < 0)            \
            LR_ERROR(LR_ENOMEM, "out of memory");                                          \
    } while (0)

static int add_columns(lr_run *run, recovery_state *st)
{
    ADD_EXP_COL(c_tau, "tau_k", LR_COL_REAL,
                "tau_k(Z0) = ||Z0 - [Z0]_k||_F at the produced rank k: the signal's own tail (0 without one)");
    ADD_EXP_COL(c_lambda, "lambda", LR_COL_REAL, "regularisation weight the compressor used (NaN: none)");
    ADD_EXP_COL(c_iter, "iterations", LR_COL_INT, "iterations of an iterative compressor (0 otherwise)");
    ADD_EXP_COL(c_gap, "gap", LR_COL_REAL,
                "final duality gap (dd_nuc) or relative step (relu_cvx*) of an iterative compressor");
    ADD_EXP_COL(c_conv, "converged", LR_COL_FLAG,
                "1 if an iterative compressor met compress.tol, 0 if it hit compress.max_iter, -1 if not iterative");
    ADD_EXP_COL(c_xg, "xg_op", LR_COL_REAL, "||X~^T G||_op, the noise level of Theorem 2(c)");
    ADD_EXP_COL(c_m0nuc, "m0_nuc", LR_COL_REAL, "||M0||_*, the nuclear norm of the signal weights");
    ADD_EXP_COL(c_pre, "err_pre", LR_COL_REAL,
                "||X~ M - Z*||_F in pre-activation space (= err_fro unless problem.activation = relu)");
    if (!strcmp(lr_config_str(run->cfg, "problem.activation"), "relu")) {
        lr_column *col = &run->trials->cols[run->col.err_fro];
        free(col->doc);
        col->doc = strdup("||rho(X~ M) - rho(Z*)||_F: post-activation error on the calibration samples "
                          "(problem.activation = relu; err_pre is the pre-activation error)");
        if (!col->doc) LR_ERROR(LR_ENOMEM, "out of memory");
    }
    return LR_OK;
}

static int recovery_prepare_route(lr_run *run, recovery_state *st);

/* Bounds whose declared assumptions this run's noise model does not meet (e.g. thm1b,
 * about i.i.d. Gaussian G, under Student t noise): recorded, so that the run, its results
 * and its report say why their columns are NaN.  The noise kind and model are not
 * sweepable: one input describes every point. */
static int note_unmet_assumptions(lr_run *run)
{
    const lr_config *c = run->cfg;
    const char *kind = lr_config_str(c, "problem.noise.kind");
    int preact = strcmp(lr_config_str(c, "problem.model"), "weight") != 0;
    lr_bound_input in = {.preact = preact, .gaussian = preact && !strcmp(kind, "gaussian")};
    char why[128];
    snprintf(why, sizeof why, "problem.noise.kind = \"%s\"", kind);
    for (size_t b = 0; b < run->nbounds; b++) {
        unsigned unmet = lr_bound_unmet(run->bounds[b], &in);
        /* Under the weight model sigma describes W - M*, not G: such bounds do not apply
         * at all (their formulas return NaN), so there is no assumption to waive. */
        if (unmet && preact) LR_TRY(lr_run_bound_unmet(run, b, unmet, why));
    }
    return LR_OK;
}

static int recovery_prepare(lr_run *run, void **state)
{
    const lr_config *c = run->cfg;
    recovery_state *st = calloc(1, sizeof *st);
    if (!st) LR_ERROR(LR_ENOMEM, "out of memory");
    *state = st;

    const char *const *names, *const *bnames;
    const long *offs;
    size_t ncomps = lr_config_str_list(c, "compress.methods", &names);
    size_t nranks = lr_config_int_list(c, "compress.rank_offsets", &offs);
    size_t nbounds = lr_config_str_list(c, "bounds.names", &bnames);
    char where[512];
    if (nranks == 0)
        LR_ERRORF(LR_ECONFIG, "%s: at least one rank offset is needed",
                  lr_config_where(c, "compress.rank_offsets", where, sizeof where));
    LR_TRY(lr_run_use_compressors(run, names, ncomps, "compress.methods"));
    LR_TRY(lr_run_use_rank_offsets(run, offs, nranks));
    LR_TRY(lr_run_use_bounds(run, bnames, nbounds, "bounds.names"));
    st->pts = calloc(run->npoints, sizeof *st->pts);
    if (!st->pts) LR_ERROR(LR_ENOMEM, "out of memory");
    LR_TRY(note_unmet_assumptions(run));

    if (!strcmp(lr_config_str(c, "problem.noise.kind"), "student_t") &&
        lr_config_num(c, 0, "problem.noise.df") <= 2)
        LR_ERRORF(LR_ECONFIG, "%s must exceed 2 for Student t noise",
                  lr_config_where(c, "problem.noise.df", where, sizeof where));

    for (size_t p = 0; p < run->npoints; p++) {
        recovery_point *pt = &st->pts[p];
        LR_TRY(read_point(run, p, pt));
        size_t kmax = 0;
        for (size_t i = 0; i < run->nranks; i++)
            if (pt->r + (size_t)run->rank_offsets[i] > kmax) kmax = pt->r + (size_t)run->rank_offsets[i];
        if (pt->m > st->max_m) st->max_m = pt->m;
        if (pt->n0 > st->max_n0) st->max_n0 = pt->n0;
        if (pt->n1 > st->max_n1) st->max_n1 = pt->n1;
        if (kmax > st->max_k) st->max_k = kmax;
        if (pt->m_test > st->max_mt) st->max_mt = pt->m_test;
    }
    st->rank_rtol = lr_config_num(c, 0, "compress.rank_rtol");
    st->tol = lr_config_num(c, 0, "compress.tol");
    st->max_iter = (int)lr_config_num(c, 0, "compress.max_iter");
    st->monotone = lr_config_num(c, 0, "compress.monotone") != 0;
    st->kstore = st->max_k;
    for (size_t i = 0; i < run->ncomps; i++)
        if (run->comps[i]->rank_adaptive) {
            size_t full = st->max_n0 < st->max_n1 ? st->max_n0 : st->max_n1;
            if (full > st->kstore) st->kstore = full;
        }
    if (!strcmp(lr_config_str(c, "problem.signal.tail.kind"), "file"))
        LR_TRY(load_spectrum(run, st));
    if (!strcmp(lr_config_str(c, "problem.activation"), "relu")) {
        if (strcmp(lr_config_str(c, "problem.model"), "preact"))
            LR_ERRORF(LR_ECONFIG, "%s: problem.activation = \"relu\" needs problem.model = \"preact\"",
                      lr_config_where(c, "problem.activation", where, sizeof where));
    }
    for (size_t i = 0; i < run->ncomps; i++)
        if (run->comps[i]->rank_adaptive && !lr_config_given(c, "compress.lambda"))
            for (size_t p = 0; p < run->npoints; p++)
                if (!(st->pts[p].sigma > 0))
                    LR_ERRORF(LR_ECONFIG,
                              "%s: %s's automatic lambda needs problem.noise.sigma > 0 (sweep point %zu); "
                              "give compress.lambda",
                              lr_config_where(c, "compress.methods", where, sizeof where),
                              run->comps[i]->name, p);
    LR_TRY(lr_run_set_layout(run, run->ncomps * run->nranks, 0)); /* compressor x rank */
    LR_TRY(lr_run_trial_columns(run, param_paths, param_names, 5));
    LR_TRY(add_columns(run, st));
    return recovery_prepare_route(run, st);
}

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

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
    double t0 = now_seconds();
    if (run->comps[c]->randomised) lr_compressor_seed_stream(w->crng, run->seed, point, trial, c);
    LR_TRY(lr_compressor_execute(w->plans[c], point, &t->L, w->ranks, run->nranks, f, &info, w->crng));
    double elapsed = now_seconds() - t0;

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

/* Along a key that moves the dimensions (N1, N0, x.q or m), the error also scales in
 * q + N1, the dimension count of Theorem 1(c): /fits fits against it as well. */
static const char *recovery_derived_axis(const lr_run *run, const char *path, int cols[2])
{
    static const char *const moving[] = {"problem.N1", "problem.N0", "problem.x.q", "problem.m"};
    int moves = 0;
    for (size_t i = 0; i < sizeof moving / sizeof moving[0]; i++) moves |= !strcmp(path, moving[i]);
    if (!moves) return NULL;
    cols[0] = run->col.q;
    cols[1] = -1;
    for (size_t j = 0; j < run->nparam_cols; j++)
        if (!strcmp(run->param_cols[j].path, "problem.N1")) cols[1] = run->param_cols[j].column;
    return "q+N1";
}

/* The exponents of ZS25's error bounds, for the estimators they are about: dd_rank
 * (Theorem 1 and 2(a): sigma sqrt(r (q + N1 - r)) at high SNR), dd_svt and dd_nuc (2(b),
 * 2(c): sqrt(r) lambda with lambda ~ sigma (sqrt q + sqrt N1)) and relu_cvx, relu_cvx_sq
 * (Theorem 3's shape sigma sqrt(r) (sqrt q + sqrt N1)): 1 in sigma, 1/2 in r and in q + N1.
 * For a fixed-rank estimator at k < r the truncated signal (a bias) dominates: no
 * exponent; at k > r the error is still first order in the noise (1 in sigma), but it
 * also fits k - r noise directions, so the exponents in r and q + N1 are those of k = r
 * only.  At fixed q and N1 the
 * sample count m does not enter Theorems 1 and 2 (slope 0; only through q = min(m, N0)
 * when m < N0, and through sqrt(log(m N1)) in Theorem 3).  svd_w and the baselines have no
 * theorem here: no exponent. */
static double recovery_theory_slope(const lr_run *run, const char *path, size_t comp, size_t rank_index)
{
    const lr_compressor *cp = run->comps[comp];
    int known = lr_compressor_has_role(cp, LR_ROLE_THEORY);
    long offset = cp->rank_adaptive ? 0 : run->rank_offsets[rank_index];
    if (!known || offset < 0) return NAN;
    if (!strcmp(path, "problem.noise.sigma")) return 1.0; /* first order in G for every k >= r */
    if (!strcmp(path, "problem.m")) return 0.0;
    if (!strcmp(path, "problem.r") || !strcmp(path, "q+N1")) return offset == 0 ? 0.5 : NAN;
    return NAN;
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

static int recovery_prepare_route(lr_run *run, recovery_state *st)
{
    const lr_config *c = run->cfg;
    char where[512];
    const char *route = lr_config_str(c, "compress.route");
    st->route = !strcmp(route, "gram") ? LR_ROUTE_GRAM : LR_ROUTE_SVD;
    st->blocks = strcmp(route, "svd") != 0;
    st->block_rows = (size_t)lr_config_num(c, 0, "problem.block_rows");
    st->gram.rank_rtol = st->rank_rtol;
    st->gram.min_ratio = lr_config_num(c, 0, "compress.gram_min_ratio");
    st->gram.col_route = lr_table_add_column(
        run->trials, "route", LR_COL_INT,
        "how X~ was factored: 0 thin SVD of the whole X~, 1 Gram route (X~ streamed in row "
        "blocks, eigendecomposition of X~^T X~), 2 SVD route after the Gram route's guard "
        "refused the trial (graded spectrum, m < N0, or X~ not streamable)");
    st->gram.fit_min_ratio = lr_config_num(c, 0, "compress.gram_fit_min_ratio");
    st->gram.col_fit_route = lr_table_add_column(
        run->trials, "fit_route", LR_COL_INT,
        "how the fit's top-k SVD was taken: 0 LAPACK (dgesvdx or dgesdd), 1 through the Gram "
        "matrix (gram route, compress.gram_fit_min_ratio)");
    if (st->gram.col_route < 0 || st->gram.col_fit_route < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    if (st->gram.fit_min_ratio > 0 && st->route != LR_ROUTE_GRAM)
        LR_ERRORF(LR_ECONFIG, "%s > 0 applies to compress.route = \"gram\" only (0 turns it off)",
                  lr_config_where(c, "compress.gram_fit_min_ratio", where, sizeof where));
    if (!st->blocks) return LR_OK;
    /* The streamed route (and svd_blocks, its reference, which draws the same way) knows
     * only what it implements: refuse anything else up front. */
    for (size_t i = 0; i < run->ncomps && st->route == LR_ROUTE_GRAM; i++)
        if (!run->comps[i]->gram_ok)
            LR_ERRORF(LR_ECONFIG, "%s: compressor '%s' needs X~ itself; it cannot run with "
                      "compress.route = \"gram\" (use \"svd\")",
                      lr_config_where(c, "compress.methods", where, sizeof where), run->comps[i]->name);
    /* The streamed route draws an exactly low-rank M* and evaluates Theorem 1 only. */
    for (size_t b = 0; b < run->nbounds; b++)
        if (strncmp(run->bounds[b]->name, "thm1", 4))
            LR_ERRORF(LR_ECONFIG, "%s: bound '%s' is not evaluated on the streamed routes "
                      "(Theorem 1 only); use compress.route = \"svd\"",
                      lr_config_where(c, "bounds.names", where, sizeof where), run->bounds[b]->name);
    for (size_t p = 0; p < run->npoints; p++) {
        const recovery_point *pt = &st->pts[p];
        const char *key = pt->tail != LR_TAIL_NONE ? "problem.signal.tail.kind"
                          : pt->annih > 0          ? "problem.annihilate"
                          : pt->relu               ? "problem.activation"
                                                   : NULL;
        if (key)
            LR_ERRORF(LR_ECONFIG, "%s: the streamed routes draw exactly low-rank linear layers "
                      "only; use compress.route = \"svd\"", lr_config_where(c, key, where, sizeof where));
    }
    for (size_t p = 0; p < run->npoints; p++) {
        lr_noise_kind nk = st->pts[p].noise;
        if (nk != LR_NOISE_GAUSSIAN && nk != LR_NOISE_RADEMACHER && nk != LR_NOISE_STUDENT_T)
            LR_ERRORF(LR_ECONFIG, "%s: this noise kind cannot be streamed in row blocks; use "
                      "compress.route = \"svd\"",
                      lr_config_where(c, "problem.noise.kind", where, sizeof where));
    }
    return LR_OK;
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
        lr_rng_seed_unit(rng, run->seed, point, trial);
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
    .schema = recovery_schema,
    .includes = (const lr_key *const[]){lr_bounds_schema, NULL},
    .summaries = LR_SUMMARY_POINTS | LR_SUMMARY_FITS | LR_SUMMARY_SHAPE,
    .prepare = recovery_prepare,
    .ws_alloc = recovery_route_ws_alloc,
    .ws_free = recovery_route_ws_free,
    .unit = recovery_route_unit,
    .theory_slope = recovery_theory_slope,
    .derived_axis = recovery_derived_axis,
    .release = recovery_release_all,
    .write_results = NULL,
    .report = lr_recovery_report,
    .plot = lr_recovery_plot,
};
