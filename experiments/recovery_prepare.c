/* Experiment `recovery`, preparation: its config keys, each sweep point's parameters and
 * cross-field checks, the /trials columns, the route's checks, and the theory's exponents
 * that /fits compares with (the experiment and its maths: recovery.c). */
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
#include "recovery.h"
#include "run/run.h"

const lr_key lr_rec_schema[] = {
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
    {.path = "problem.noise.df", .type = LR_KEY_REAL, .sweepable = 1, .not_scale = 1, .def = 5, .min = 2.000001, .max = 1e300,
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
    {.path = "problem.signal.tail.alpha", .type = LR_KEY_REAL, .sweepable = 1, .not_scale = 1, .def = 1, .max = 1e3,
     .doc = "power tail exponent: g(i) = i^-alpha"},
    {.path = "problem.signal.tail.beta", .type = LR_KEY_REAL, .sweepable = 1, .not_scale = 1, .def = 0.5, .max = 1e3,
     .doc = "exponential tail rate: g(i) = exp(-beta (i - 1))"},
    {.path = "problem.signal.tail.level", .type = LR_KEY_REAL, .sweepable = 1, .def = 0.1, .max = 1e300,
     .doc = "first tail singular value relative to signal.scale"},
    {.path = "problem.signal.tail.file", .type = LR_KEY_STRING, .def = NAN, .def_str = "",
     .doc = "measured spectrum (text, or HDF5 with tail.dataset) for kind file; relative paths from the config's directory"},
    {.path = "problem.signal.tail.dataset", .type = LR_KEY_STRING, .def = NAN, .def_str = "spectrum",
     .doc = "dataset of the spectrum in an HDF5 tail.file"},
    {.path = "problem.noise.rho", .type = LR_KEY_REAL, .sweepable = 1, .not_scale = 1, .def = 0.5, .min = -0.999, .max = 0.999,
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

static const char *const param_paths[] = {
    "problem.m", "problem.N0", "problem.N1", "problem.r", "problem.noise.sigma"};
static const char *const param_names[] = {"m", "N0", "N1", "r", "sigma"};

static int recovery_prepare_route(lr_run *run, recovery_state *st);

/* A bound is checked only on the rows of the compressor it is about: named without that
 * compressor, its column is NaN in every row and it says nothing. */
static int warn_unrun_bounds(lr_run *run)
{
    for (size_t b = 0; b < run->nbounds; b++) {
        const lr_bound *bd = run->bounds[b];
        int run_it = 0;
        for (size_t c = 0; c < run->ncomps; c++) run_it |= !strcmp(run->comps[c]->name, bd->compressor);
        if (!run_it)
            LR_TRY(lr_run_warn(run, "bound %s in bounds.names is about compressor %s, which compress.methods "
                               "does not run: the bound applies in no trial (NaN in every row); add \"%s\" to "
                               "compress.methods or drop %s", bd->name, bd->compressor, bd->compressor, bd->name));
    }
    return LR_OK;
}

/* With m <= N0 calibration rows X~ has rank at most m, so X~ M can take any value: a
 * data-driven fit then reproduces the observations exactly at rank m (and M* is
 * identified only up to ker X~), and its comparison with svd_w says nothing. */
static int warn_few_rows(lr_run *run, const recovery_state *st)
{
    int dd = 0;
    for (size_t c = 0; c < run->ncomps; c++) dd |= run->comps[c]->data_driven;
    size_t n = 0, first = 0;
    for (size_t p = 0; p < run->npoints; p++)
        if (st->pts[p].m <= st->pts[p].n0 && !n++) first = p;
    if (!dd || !n) return LR_OK;
    const recovery_point *pt = &st->pts[first];
    return lr_run_warn(run, "problem.m = %zu calibration rows <= problem.N0 = %zu inputs at %zu of %zu sweep "
                       "points (first: point %zu): a data-driven fit is then exact at rank m (X~ M can match any "
                       "observation) and the comparison with svd_w says nothing; raise problem.m above N0",
                       pt->m, pt->n0, n, run->npoints, first);
}

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

int lr_rec_prepare(lr_run *run, void **state)
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
    LR_TRY(warn_unrun_bounds(run));
    LR_TRY(warn_few_rows(run, st));
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

/* Along a key that moves the dimensions (N1, N0, x.q or m), the error also scales in
 * q + N1, the dimension count of Theorem 1(c): /fits fits against it as well. */
const char *lr_rec_derived_axis(const lr_run *run, const char *path, int cols[2])
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
double lr_rec_theory_slope(const lr_run *run, const char *path, size_t comp, size_t rank_index)
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
