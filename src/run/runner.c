/* `lrlab run`: validate the config, schedule the units over OpenMP threads, checkpoint
 * each finished unit, then summarise and write the results file atomically.
 *
 * Threads: OpenMP runs whole trials in parallel; OpenBLAS (its OpenMP build) runs each
 * BLAS call single-threaded inside the parallel region, and we also pin it to one thread,
 * so a trial's arithmetic is the same whichever thread runs it: /trials is bit-identical
 * for any -j.
 *
 * Checkpoint log (OUTPUT.partial): a header with the SHA-256 of the resolved config and
 * the table shape, then one record per finished unit: its index, its rows, their fit
 * times and an FNV-1a checksum.  A record cut short by a kill fails its checksum and is
 * dropped (and the file truncated there), so --resume redoes exactly that unit.  Each
 * record is one writev(2) of lrlab's own (write_all), so a failed write is seen at once. */
#include "run.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#include <cblas.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/results.h"
#include "io/instances.h"
#include "run/dist.h"

/* Enough for the common schema, an experiment's own, its includes and every compressor's. */
#define LR_RUN_MAX_SCHEMAS (8 + LR_NCOMPRESSORS)

const lr_key lr_common_schema[] = {
    {.path = "experiment", .type = LR_KEY_STRING, .required = 1, .def = NAN, .names = lr_experiment_name_at,
     .doc = "which experiment runs"},
    {.path = "name", .type = LR_KEY_STRING, .def = NAN, .def_str = "",
     .doc = "a title for reports and figures"},
    {.path = "seed", .type = LR_KEY_INT, .sweepable = 1, .def = 1, .max = 4294967295.0,
     .doc = "run seed: every trial's stream derives from (seed, point, trial); a list [1, 2, 3] "
            "runs each seed (the same trials as one run per seed)"},
    {.path = "trials", .type = LR_KEY_INT, .def = 100, .min = 1, .max = (double)LR_RNG_MAX_TRIALS,
     .doc = "independent trials per sweep point"},
    {.path = "rng", .type = LR_KEY_STRING, .def = NAN, .def_str = "mt19937", .choices = "mt19937|taus2",
     .doc = "GSL generator of every trial's stream (taus2: ~2.5x faster Gaussian draws, other numbers)"},
    {.path = "report.seeds", .type = LR_KEY_STRING, .def = NAN, .def_str = "pooled", .choices = "pooled|separate",
     .doc = "with seed swept: /points and /fits pool the seeds (one row per point, the seeds' trials "
            "together) or keep each seed apart"},
    {.path = "plot.x", .type = LR_KEY_STRING, .def = NAN, .def_str = "",
     .doc = "swept key on the x axis of lrlab plot (empty: problem.noise.sigma if swept, else the first axis)"},
    {.path = "plot.weight", .type = LR_KEY_BOOL,
     .doc = "lrlab plot also draws the weight error ||M - M*||_F (NAME_weight; always when a bound observes it)"},
    {.path = "plot.y", .type = LR_KEY_STRING, .def = NAN, .def_str = "err_fro",
     .choices = "err_fro|err_rel|err_layer|err_heldout_rel|tightness",
     .doc = "y metric of the recovery error figures: the median of a /points column (err_fro with its "
            "bounds; err_rel, err_layer, err_heldout_rel) or tightness, each bound's median error / bound"},
    {.path = "plot.legend", .type = LR_KEY_STRING, .def = NAN, .def_str = "below", .choices = "below|inside|outside|none",
     .doc = "where lrlab plot puts the legend: below the plot, inside it, at its right, or none"},
    {.path = "plot.width", .type = LR_KEY_REAL, .def = 0, .min = 0, .max = 20,
     .doc = "figure width in inches (0: the figure's default, 3.5 for one panel, 7 for a row of panels)"},
    {.path = "plot.height", .type = LR_KEY_REAL, .def = 0, .min = 0, .max = 20,
     .doc = "figure height in inches (0: the figure's default)"},
    {.path = "plot.font", .type = LR_KEY_REAL, .def = 7, .min = 4, .max = 24,
     .doc = "font size of the figures in points (at the figure's size: 7 suits a 3.5in column)"},
    {.path = NULL}};

#define LR_EXPERIMENT(id) extern const lr_experiment lr_experiment_##id;
#include "experiments/list.h"
#undef LR_EXPERIMENT

const lr_experiment *const lr_experiments[] = {
#define LR_EXPERIMENT(id) &lr_experiment_##id,
#include "experiments/list.h"
#undef LR_EXPERIMENT
    NULL};

const char *lr_experiment_name_at(size_t i)
{
    static const size_t n = sizeof lr_experiments / sizeof lr_experiments[0] - 1;
    return i < n ? lr_experiments[i]->name : NULL;
}

const lr_experiment *lr_experiment_find(const char *name)
{
    for (size_t i = 0; name && lr_experiments[i]; i++)
        if (!strcmp(lr_experiments[i]->name, name)) return lr_experiments[i];
    return NULL;
}

/* ---- /trials columns ---- */

size_t lr_run_schemas(const lr_experiment *exp, const lr_key **out, size_t cap)
{
    size_t n = 0;
    if (n < cap) out[n++] = lr_common_schema;
    if (exp && exp->schema && n < cap) out[n++] = exp->schema;
    for (size_t i = 0; exp && exp->includes && exp->includes[i] && n < cap; i++) out[n++] = exp->includes[i];
    /* Then every registered compressor's own keys: a key the experiment declares too keeps
     * the experiment's declaration (the first wins), so axes keep their schema order. */
    if (exp) {
        size_t k = lr_compressor_schemas(out + n, cap - n);
        n += k < cap - n ? k : cap - n;
    }
    return n;
}

static const lr_key *find_key(const lr_run *run, const char *path)
{
    const lr_key *schemas[LR_RUN_MAX_SCHEMAS];
    size_t n = lr_run_schemas(run->exp, schemas, LR_RUN_MAX_SCHEMAS);
    for (size_t s = 0; s < n; s++)
        for (const lr_key *k = schemas[s]; k->path; k++)
            if (!strcmp(k->path, path)) return k;
    return NULL;
}

/* Column name of a swept key that is not a standard parameter: the path without its
 * top-level group, dots as underscores ("problem.x.cond" -> "x_cond"). */
static void axis_column_name(const char *path, char *buf, size_t len)
{
    const char *dot = strchr(path, '.');
    snprintf(buf, len, "%s", dot ? dot + 1 : path);
    for (char *p = buf; *p; p++)
        if (*p == '.') *p = '_';
}

#define ADD_COL(field, name, type, doc)                                                    \
    do {                                                                                   \
        if ((run->col.field = lr_table_add_column(t, name, type, doc)) < 0)                \
            LR_ERRORF(LR_ENOMEM, "out of memory for the /trials column %s", name);         \
    } while (0)

int lr_run_trial_columns(lr_run *run, const char *const *param_paths,
                         const char *const *param_names, size_t nparams)
{
    lr_table *t = run->trials;
    ADD_COL(point, "point", LR_COL_INT, "sweep point index (mixed radix over the axes, last fastest)");
    ADD_COL(trial, "trial", LR_COL_INT, "trial index within the point");
    ADD_COL(compressor, "compressor", LR_COL_NAME, "compressor name");
    ADD_COL(rank_index, "rank_index", LR_COL_INT, "index into compress.rank_offsets");
    ADD_COL(k_target, "k_target", LR_COL_INT, "requested rank k = r + offset");
    ADD_COL(k, "k", LR_COL_INT, "rank produced");
    ADD_COL(q, "q", LR_COL_INT, "numerical rank of X~");
    for (size_t c = 0; c < run->ncomps; c++)
        if (lr_table_dict_index(t, (size_t)run->col.compressor, run->comps[c]->name) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");

    size_t naxes = lr_config_naxes(run->cfg);
    run->param_cols = calloc(nparams + naxes, sizeof *run->param_cols);
    if (!run->param_cols) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t i = 0; i < nparams + naxes; i++) {
        const char *path = i < nparams ? param_paths[i] : lr_config_axis_path(run->cfg, i - nparams);
        int dup = 0;
        for (size_t j = 0; j < run->nparam_cols; j++)
            if (!strcmp(run->param_cols[j].path, path)) dup = 1;
        if (dup) continue;
        char name[128];
        if (i < nparams) snprintf(name, sizeof name, "%s", param_names[i]);
        else axis_column_name(path, name, sizeof name);
        const lr_key *key = find_key(run, path);
        char doc[256];
        snprintf(doc, sizeof doc, "%s (config key %s)", key ? key->doc : "", path);
        int colno = lr_table_add_column(t, name, key && key->type == LR_KEY_INT ? LR_COL_INT : LR_COL_REAL, doc);
        if (colno < 0) LR_ERROR(LR_ENOMEM, "out of memory");
        run->param_cols[run->nparam_cols].path = path;
        run->param_cols[run->nparam_cols].column = colno;
        run->nparam_cols++;
    }
    ADD_COL(err_fro, "err_fro", LR_COL_REAL, "||X~ M - Z*||_F on the calibration samples");
    ADD_COL(err_rel, "err_rel", LR_COL_REAL, "err_fro / ||Z*||_F");
    ADD_COL(err_weight, "err_weight", LR_COL_REAL, "||M - M*||_F");
    ADD_COL(err_heldout_rel, "err_heldout_rel", LR_COL_REAL,
            "||X_test (M - M*)||_F / ||X_test M*||_F on fresh samples (NaN without problem.m_test)");
    ADD_COL(err_layer, "err_layer", LR_COL_REAL,
            "||X~ M - X~ W||_F: how far the compressed layer's response is from the "
            "uncompressed layer's on the calibration samples (what dd_rank minimises)");
    ADD_COL(err_layer_rel, "err_layer_rel", LR_COL_REAL, "err_layer / ||X~ W||_F");
    ADD_COL(z_norm, "z_norm", LR_COL_REAL, "||Z*||_F");
    ADD_COL(pg_op, "pg_op", LR_COL_REAL, "||P G||_op, the noise seen by data-driven estimators");
    ADD_COL(svd_fallback, "svd_fallback", LR_COL_FLAG,
            "1 if an SVD of this trial fell back from dgesdd to dgesvd");
    run->col.bound_value = calloc(run->nbounds + 1, sizeof(int));
    run->col.bound_held = calloc(run->nbounds + 1, sizeof(int));
    if (!run->col.bound_value || !run->col.bound_held) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t b = 0; b < run->nbounds; b++) {
        const lr_bound *bd = run->bounds[b];
        char name[96], doc[512];
        snprintf(doc, sizeof doc, "%s [%s%s, %s]: %s", bd->theorem, lr_bound_kind_name(bd->kind),
                 bd->direction == LR_BOUND_LOWER ? ", lower bound" : "", bd->compressor, bd->statement);
        if ((run->col.bound_value[b] = lr_table_add_column(t, bd->name, LR_COL_REAL, doc)) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
        snprintf(name, sizeof name, "%s_held", bd->name);
        snprintf(doc, sizeof doc, "1 if %s held for %s's error, 0 if not, -1 if not applicable",
                 bd->name, lr_observed_name(bd->observed));
        if ((run->col.bound_held[b] = lr_table_add_column(t, name, LR_COL_FLAG, doc)) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
    }
    return LR_OK;
}

int lr_run_use_compressors(lr_run *run, const char *const *names, size_t n, const char *key)
{
    char where[512];
    if (n == 0)
        LR_ERRORF(LR_ECONFIG, "%s: at least one compressor is needed", lr_config_where(run->cfg, key, where, sizeof where));
    free(run->comps);
    run->comps = calloc(n, sizeof *run->comps);
    if (!run->comps) LR_ERROR(LR_ENOMEM, "out of memory");
    run->ncomps = n;
    for (size_t i = 0; i < n; i++) {
        if (!(run->comps[i] = lr_compressor_find(names[i])))
            LR_ERRORF(LR_ECONFIG, "%s: compressor '%s' is not registered (lrlab list shows them)",
                      lr_config_where(run->cfg, key, where, sizeof where), names[i]);
        for (size_t j = 0; j < i; j++)
            if (run->comps[j] == run->comps[i])
                LR_ERRORF(LR_ECONFIG, "%s: compressor '%s' is listed twice (elements %zu and %zu)",
                          lr_config_where(run->cfg, key, where, sizeof where), names[i], j + 1, i + 1);
    }
    return LR_OK;
}

static int use_bounds(lr_run *run, const char *const *names, size_t n, const char *key, int own)
{
    char where[512];
    free(run->bounds);
    run->bounds = calloc(n ? n : 1, sizeof *run->bounds);
    if (!run->bounds) LR_ERROR(LR_ENOMEM, "out of memory");
    run->nbounds = n;
    for (size_t i = 0; i < n; i++) {
        if (!(run->bounds[i] = lr_bound_find(names[i])))
            LR_ERRORF(LR_ECONFIG, "%s: bound '%s' is not registered (lrlab list shows them)",
                      lr_config_where(run->cfg, key, where, sizeof where), names[i]);
        /* The rows record err_fro and err_weight (lr_run_record_bounds), not the weights'
         * operator-norm error that the ALDS bounds are about, unless the experiment
         * evaluates its bounds itself (lr_run_use_own_bounds). */
        if (!own && run->bounds[i]->observed != LR_OBS_ERR_FRO && run->bounds[i]->observed != LR_OBS_ERR_WEIGHT)
            LR_ERRORF(LR_ECONFIG, "%s: bound '%s' is about %s, which this experiment's rows do not record",
                      lr_config_where(run->cfg, key, where, sizeof where), names[i],
                      lr_observed_name(run->bounds[i]->observed));
        for (size_t j = 0; j < i; j++)
            if (run->bounds[j] == run->bounds[i])
                LR_ERRORF(LR_ECONFIG, "%s: bound '%s' is listed twice (elements %zu and %zu)",
                          lr_config_where(run->cfg, key, where, sizeof where), names[i], j + 1, i + 1);
    }
    return LR_OK;
}

int lr_run_add_column(lr_run *run, int *slot, const char *name, lr_col_type type, const char *doc)
{
    *slot = lr_table_add_column(run->trials, name, type, doc);
    if (*slot < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    return LR_OK;
}

int lr_run_use_bounds(lr_run *run, const char *const *names, size_t n, const char *key)
{
    return use_bounds(run, names, n, key, 0);
}

int lr_run_use_own_bounds(lr_run *run, const char *const *names, size_t n, const char *key)
{
    return use_bounds(run, names, n, key, 1);
}

int lr_run_use_rank_offsets(lr_run *run, const long *offsets, size_t n)
{
    free(run->rank_offsets);
    run->rank_offsets = calloc(n ? n : 1, sizeof(long));
    if (!run->rank_offsets) LR_ERROR(LR_ENOMEM, "out of memory");
    run->nranks = n;
    if (offsets) memcpy(run->rank_offsets, offsets, n * sizeof(long));
    return LR_OK;
}

int lr_run_set_layout(lr_run *run, size_t rows_per_unit, size_t trials)
{
    if (rows_per_unit == 0) LR_ERROR(LR_EINVAL, "lr_run_set_layout: a unit writes at least one row");
    run->rows_per_unit = rows_per_unit;
    if (trials) {
        run->ntrials = trials;
        run->nunits = run->npoints * trials;
    }
    return LR_OK;
}

/* Append one formatted line to *buf (a growing text of lines, NULL when empty). */
static int append_line(char **buf, const char *what, const char *fmt, va_list ap, char *line, size_t len)
{
    vsnprintf(line, len, fmt, ap);
    size_t have = *buf ? strlen(*buf) : 0;
    char *n = realloc(*buf, have + strlen(line) + 2);
    if (!n) LR_ERRORF(LR_ENOMEM, "out of memory for the run's %s", what);
    snprintf(n + have, strlen(line) + 2, "%s\n", line);
    *buf = n;
    return LR_OK;
}

int lr_run_note(lr_run *run, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int s = append_line(&run->notes, "notes", fmt, ap, line, sizeof line);
    va_end(ap);
    return s;
}

int lr_run_warn(lr_run *run, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int s = append_line(&run->warnings, "warnings", fmt, ap, line, sizeof line);
    va_end(ap);
    /* Said at once, on the line it will have in the report; under MPI every rank prepares
     * the same run, so only rank 0 says it. */
    if (s == LR_OK && lr_dist_rank() == 0) fprintf(stderr, "lrlab: warning: %s\n", line);
    return s;
}

int lr_run_bound_unmet(lr_run *run, size_t b, unsigned unmet, const char *why)
{
    if (b >= run->nbounds) LR_ERRORF(LR_EINVAL, "lr_run_bound_unmet: bound %zu of %zu", b, run->nbounds);
    if (!run->bound_unmet) {
        run->bound_unmet = calloc(run->nbounds, sizeof *run->bound_unmet);
        if (!run->bound_unmet) LR_ERROR(LR_ENOMEM, "out of memory");
    }
    run->bound_unmet[b] |= unmet;
    const lr_bound *bd = run->bounds[b];
    if (run->bparams.outside_assumptions)
        return lr_run_note(run, "%s assumes %s, but %s: evaluated all the same (bounds.outside_assumptions "
                           "= true)", bd->name, lr_bound_assumptions_text(unmet), why);
    return lr_run_note(run, "%s assumes %s, but %s: not evaluated, NaN in every row "
                       "(bounds.outside_assumptions = true evaluates it anyway)",
                       bd->name, lr_bound_assumptions_text(unmet), why);
}

void lr_run_fill_row(const lr_run *run, double *row, size_t point, size_t trial, size_t comp,
                     size_t rank_index)
{
    for (size_t c = 0; c < run->trials->ncols; c++) row[c] = NAN;
    row[run->col.point] = (double)point;
    row[run->col.trial] = (double)trial;
    row[run->col.compressor] = (double)comp;
    row[run->col.rank_index] = (double)rank_index;
    for (size_t i = 0; i < run->nparam_cols; i++)
        row[run->param_cols[i].column] = lr_config_num(run->cfg, point, run->param_cols[i].path);
}

int lr_run_record_row(const lr_run *run, double *row, size_t comp, const lr_row_measure *m,
                      const lr_bound_input *in, const lr_bound_params *bp)
{
    const lr_trial_columns *col = &run->col;
    if (!isfinite(m->err_fro) || !isfinite(m->err_weight))
        LR_ERRORF(LR_ENUMERIC, "%s produced a non-finite error at point %.0f trial %.0f",
                  run->comps[comp]->name, row[col->point], row[col->trial]);
    row[col->k_target] = (double)m->k_target;
    row[col->q] = (double)m->q;
    row[col->k] = (double)m->k;
    row[col->err_fro] = m->err_fro;
    row[col->err_rel] = m->z_norm > 0 ? m->err_fro / m->z_norm : NAN;
    row[col->err_weight] = m->err_weight;
    row[col->err_heldout_rel] = m->err_heldout_rel;
    row[col->err_layer] = m->err_layer;
    row[col->err_layer_rel] = m->xw_norm > 0 ? m->err_layer / m->xw_norm : NAN;
    row[col->z_norm] = m->z_norm;
    row[col->pg_op] = m->pg_op;
    row[col->svd_fallback] = m->svd_fallback;
    lr_run_record_bounds(run, row, comp, in, m->err_fro, m->err_weight, m->z_norm, bp);
    return LR_OK;
}

void lr_run_record_bounds(const lr_run *run, double *row, size_t comp, const lr_bound_input *in,
                          double err_fro, double err_weight, double z_norm, const lr_bound_params *bp)
{
    const lr_trial_columns *col = &run->col;
    for (size_t b = 0; b < run->nbounds; b++) {
        const lr_bound *bd = run->bounds[b];
        double v = lr_bound_evaluate(bd, in, bp);
        int weight = bd->observed == LR_OBS_ERR_WEIGHT;
        double obs = weight ? err_weight : err_fro;
        /* The rounding scale of the observed error: ||Z*||_F, and for the weight error
         * ||Z*||_F / sigma_min(X~) >= ||M*||_F. */
        double scale = weight && in->smin_x > 0 ? z_norm / in->smin_x : z_norm;
        row[col->bound_value[b]] = v;
        row[col->bound_held[b]] = strcmp(bd->compressor, run->comps[comp]->name)
                                      ? -1
                                      : lr_bound_check(bd, v, obs, scale, bp);
    }
}

/* ---- checkpoint log ---- */

#define LOG_MAGIC "LRLABLOG1"

typedef struct log_header {
    char magic[16];
    char config_sha256[72];
    uint64_t ncols, rows_per_unit, nunits;
} log_header;

static uint64_t fnv1a(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static size_t record_doubles(const lr_run *run)
{
    return run->rows_per_unit * (run->trials->ncols + 1);
}

/* Read the records of an existing log into rows/seconds; mark done units.  Truncates a
 * torn last record.  Returns the number of units recovered, or minus the status of the
 * error it recorded. */
static long log_recover(const char *path, const lr_run *run, const char *sha, unsigned char *done)
{
    FILE *f = fopen(path, "r+b");
    if (!f) return -(long)lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot open: %s", path, strerror(errno));
    log_header h;
    if (fread(&h, sizeof h, 1, f) != 1 || strncmp(h.magic, LOG_MAGIC, sizeof h.magic)) {
        fclose(f);
        return -(long)lr_error(LR_EIO, __FILE__, __LINE__, "%s is not an lrlab checkpoint log", path);
    }
    /* The header's strings must be terminated where they should be: a damaged header is
     * not "a different config". */
    if (!memchr(h.config_sha256, '\0', sizeof h.config_sha256) || strlen(h.config_sha256) != 64) {
        fclose(f);
        return -(long)lr_error(LR_EIO, __FILE__, __LINE__,
                               "%s: the checkpoint log's header is damaged (no valid config SHA-256): "
                               "rerun with --force to start over", path);
    }
    if (strcmp(h.config_sha256, sha)) {
        fclose(f);
        return -(long)lr_error(LR_ECONFIG, __FILE__, __LINE__,
                               "%s was made with a different resolved config (SHA-256 %.16s..., now "
                               "%.16s...): rerun with --force to start over",
                               path, h.config_sha256, sha);
    }
    if (h.ncols != run->trials->ncols || h.rows_per_unit != run->rows_per_unit || h.nunits != run->nunits) {
        fclose(f);
        return -(long)lr_error(LR_EIO, __FILE__, __LINE__,
                               "%s: the checkpoint log's header is damaged or from another lrlab version (same "
                               "config, but %llu columns x %llu rows per unit x %llu units, now %zu x %zu x %zu): "
                               "rerun with --force to start over",
                               path, (unsigned long long)h.ncols, (unsigned long long)h.rows_per_unit,
                               (unsigned long long)h.nunits, run->trials->ncols, run->rows_per_unit, run->nunits);
    }
    size_t nd = record_doubles(run);
    double *buf = malloc(nd * sizeof(double));
    if (!buf) { /* before anything is read: the log must not be truncated */
        fclose(f);
        return -(long)lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory reading the checkpoint log %s", path);
    }
    long recovered = 0;
    long good_end = (long)sizeof h;
    for (;;) {
        uint64_t unit, sum;
        if (fread(&unit, sizeof unit, 1, f) != 1) break;
        if (fread(buf, sizeof(double), nd, f) != nd) break;
        if (fread(&sum, sizeof sum, 1, f) != 1) break;
        uint64_t h2 = fnv1a(&unit, sizeof unit, 0xcbf29ce484222325ull);
        if (fnv1a(buf, nd * sizeof(double), h2) != sum || unit >= run->nunits) break;
        size_t ncols = run->trials->ncols, rpu = run->rows_per_unit;
        memcpy(run->trials->data + unit * rpu * ncols, buf, rpu * ncols * sizeof(double));
        memcpy(run->seconds + unit * rpu, buf + rpu * ncols, rpu * sizeof(double));
        if (!done[unit]) recovered++;
        done[unit] = 1;
        good_end = ftell(f);
    }
    free(buf);
    fclose(f);
    if (truncate(path, good_end) != 0)
        return -(long)lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot truncate: %s", path, strerror(errno));
    return recovered;
}

/* Write all of iov[0..n) to fd.  The checkpoint log is written with writev(2) on a file
 * descriptor, not through stdio, so that each record is handed to the kernel by lrlab's
 * own system call when log_append returns, and so that a test's LD_PRELOAD shim
 * (tests/faultinject.c) can make that call fail: glibc's stdio writes through an internal
 * alias that no shim can interpose.  writev may write less than asked (a signal, a nearly
 * full disk) or be interrupted before writing anything: the rest follows in further calls.
 * The iovecs are consumed.  Returns 0, or -1 with errno set. */
static int write_all(int fd, struct iovec *iov, int n)
{
    for (;;) {
        while (n > 0 && iov->iov_len == 0) {
            iov++;
            n--;
        }
        if (n == 0) return 0;
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) { /* no progress on a regular file: do not spin */
            errno = EIO;
            return -1;
        }
        size_t left = (size_t)w;
        for (; n > 0 && left >= iov->iov_len; iov++, n--) left -= iov->iov_len;
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
}

static int log_append(int fd, const lr_run *run, size_t unit)
{
    size_t ncols = run->trials->ncols, rpu = run->rows_per_unit;
    const double *rows = run->trials->data + unit * rpu * ncols, *secs = run->seconds + unit * rpu;
    uint64_t u = unit;
    uint64_t h = fnv1a(&u, sizeof u, 0xcbf29ce484222325ull);
    h = fnv1a(rows, rpu * ncols * sizeof(double), h);
    h = fnv1a(secs, rpu * sizeof(double), h);
    /* One record, in the order log_recover reads it: unit, rows, seconds, checksum. */
    struct iovec rec[4] = {{&u, sizeof u},
                           {(void *)rows, rpu * ncols * sizeof(double)},
                           {(void *)secs, rpu * sizeof(double)},
                           {&h, sizeof h}};
    if (write_all(fd, rec, 4) != 0) LR_ERRORF(LR_EIO, "cannot write the checkpoint log: %s", strerror(errno));
    return LR_OK;
}

/* ---- progress ---- */

static void progress_draw(size_t done, size_t total, double started, int final)
{
    double el = lr_wall_seconds() - started, frac = total ? (double)done / (double)total : 1.0;
    double eta = done ? el * (double)(total - done) / (double)done : 0.0;
    int width = 30, filled = (int)(frac * width + 0.5);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %5.1f%% %zu/%zu trials  %.0fs elapsed  ETA %.0fs ", bar, 100 * frac,
            done, total, el, eta);
    if (final) fputc('\n', stderr);
    fflush(stderr);
}

/* ---- the run ---- */

static void run_release(lr_run *run)
{
    if (run->exp && run->exp->release) run->exp->release(run->exp_state);
    run->exp_state = NULL;
    lr_table_free(run->trials);
    free(run->seconds);
    free(run->unit_seconds);
    lr_instances_close(run->instances);
    free(run->comps);
    free(run->rank_offsets);
    free(run->bounds);
    free(run->bound_unmet);
    free(run->notes);
    free(run->warnings);
    free(run->param_cols);
    free(run->col.bound_value);
    free(run->col.bound_held);
    free(run->dist.host_names);
    lr_config_free(run->cfg);
}

static void default_output(const char *config_path, char *out, size_t len)
{
    const char *base = strrchr(config_path, '/');
    base = base ? base + 1 : config_path;
    char stem[256];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = '\0';
    snprintf(out, len, "results/%s.h5", stem);
}

static int ensure_parent_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return LR_OK;
    *slash = '\0';
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        LR_ERRORF(LR_EIO, "cannot create directory %s: %s", dir, strerror(errno));
    return LR_OK;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Run the pending units in parallel.  The first error stops the others. */
static int run_units(lr_run *run, unsigned char *done, int logfd, int progress)
{
    size_t npending = 0;
    size_t *pending = malloc((run->nunits ? run->nunits : 1) * sizeof *pending);
    if (!pending) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t u = 0; u < run->nunits; u++)
        if (!done[u]) pending[npending++] = u;
    size_t ndone = run->nunits - npending;
    int status = LR_OK;
    char message[1024] = "";
    double started = lr_wall_seconds(), last_draw = 0;
    size_t ncols = run->trials->ncols, rpu = run->rows_per_unit;

#pragma omp parallel num_threads(run->nthreads)
    {
        void *ws = run->exp->ws_alloc(run);
        gsl_rng *rng = lr_rng_alloc_kind(run->rng_kind);
        double *rows = malloc(rpu * ncols * sizeof(double)), *secs = malloc(rpu * sizeof(double));
        if (!ws || !rng || !rows || !secs) {
#pragma omp critical(lr_run_log)
            {
                if (status == LR_OK) {
                    status = LR_ENOMEM;
                    snprintf(message, sizeof message, "cannot allocate a trial workspace");
                }
            }
        }
#pragma omp barrier
#pragma omp for schedule(dynamic, 1)
        for (size_t i = 0; i < npending; i++) {
            int stop;
#pragma omp atomic read
            stop = status;
            if (stop != LR_OK) continue;
            size_t u = pending[i];
            double unit_seconds;
            int s = lr_run_exec_unit(run, ws, rng, u, rows, secs, &unit_seconds);
#pragma omp critical(lr_run_log)
            {
                int was_ok = status == LR_OK;
                ndone += (size_t)lr_run_settle_unit(run, s, u, rows, secs, unit_seconds, logfd, done, &status, message,
                                                    sizeof message);
                if (s == LR_OK && was_ok && progress && (lr_wall_seconds() - last_draw > 0.2 || ndone == run->nunits)) {
                    last_draw = lr_wall_seconds();
                    progress_draw(ndone, run->nunits, started, 0);
                }
            }
        }
        run->exp->ws_free(ws);
        if (rng) gsl_rng_free(rng);
        free(rows);
        free(secs);
    }
    if (progress) progress_draw(ndone, run->nunits, started, 1);
    free(pending);
    if (status != LR_OK) return lr_error(status, __FILE__, __LINE__, "%s", message);
    return LR_OK;
}

int lr_run_exec_unit(const lr_run *run, void *ws, gsl_rng *rng, size_t u, double *rows, double *secs,
                     double *seconds)
{
    size_t point = u / run->ntrials, trial = u % run->ntrials;
    lr_run_seed_unit(run, rng, point, trial);
    double t0 = lr_wall_seconds();
    int s = run->exp->unit(run, ws, point, trial, rng, rows, secs);
    *seconds = lr_wall_seconds() - t0;
    return s;
}

int lr_run_store_unit(lr_run *run, size_t u, const double *rows, const double *secs, double seconds,
                      int logfd)
{
    /* Tests simulate a kill at a known point of the run: after this many units logged. */
    static long kill_after = -2, logged_here = 0;
    if (kill_after == -2)
        kill_after = getenv("LRLAB_TEST_KILL_AFTER") ? atol(getenv("LRLAB_TEST_KILL_AFTER")) : -1;
    size_t ncols = run->trials->ncols, rpu = run->rows_per_unit;
    memcpy(run->trials->data + u * rpu * ncols, rows, rpu * ncols * sizeof(double));
    memcpy(run->seconds + u * rpu, secs, rpu * sizeof(double));
    run->unit_seconds[u] = seconds;
    int s = log_append(logfd, run, u);
    if (kill_after >= 0 && ++logged_here >= kill_after) raise(SIGKILL);
    return s;
}

int lr_run_settle_unit(lr_run *run, int unit_status, size_t u, const double *rows, const double *secs, double seconds,
                       int logfd, unsigned char *done, int *status, char *message, size_t cap)
{
    if (*status != LR_OK) return 0;
    if (unit_status != LR_OK) {
        *status = unit_status;
        snprintf(message, cap, "%s", lr_last_error());
        return 0;
    }
    /* done[] counts what the log holds: a unit whose record could not be written is not
     * kept, and the failure's message must not say it is. */
    if (lr_run_store_unit(run, u, rows, secs, seconds, logfd) != LR_OK) {
        *status = LR_EIO;
        snprintf(message, cap, "%s", lr_last_error());
        return 0;
    }
    done[u] = 1;
    return 1;
}

int lr_run_alloc_rows(lr_run *run)
{
    size_t nrows = run->nunits * run->rows_per_unit;
    run->seconds = calloc(nrows ? nrows : 1, sizeof(double));
    run->unit_seconds = malloc((run->nunits ? run->nunits : 1) * sizeof(double));
    if (!run->seconds || !run->unit_seconds || lr_table_reserve(run->trials, nrows ? nrows : 1) != LR_OK)
        LR_ERRORF(LR_ENOMEM, "out of memory for %zu result rows", nrows);
    run->trials->nrows = nrows;
    for (size_t u = 0; u < run->nunits; u++) run->unit_seconds[u] = NAN;
    return LR_OK;
}

static int run_setup(lr_run *run, const lr_run_options *opt);
static int run_write(const lr_run *run, const lr_run_options *opt, const char *out, const char *logp,
                     const char *tmp, const char *sha, double wall);

int lr_run_setup(lr_run *run, const lr_run_options *opt) { return run_setup(run, opt); }

void lr_run_release(lr_run *run) { run_release(run); }

int lr_run_write(const lr_run *run, const lr_run_options *opt, const char *out, const char *logp,
                 const char *tmp, const char *sha, double wall)
{
    return run_write(run, opt, out, logp, tmp, sha, wall);
}

/* ---- swept seeds ---- */

/* A swept seed is an axis like any other (seed = [1, 2, 3] or { list = [...]; }), but a
 * unit's stream must not depend on the other seeds of the run: the unit at point p draws
 * from (seed at p, p's index in the sweep without the seed axis, trial), so a run with
 * seed = [1, 2] holds exactly the trials of the runs seed = 1 and seed = 2.  Without a
 * seed axis that is (seed, p, trial), the stream of every run before seeds were sweepable.
 * Zipping the seed with another axis would tie a seed to a value of that key and is
 * refused, as are repeated seeds (the same trials twice). */
static int seed_axis_setup(lr_run *run)
{
    const lr_config *c = run->cfg;
    char where[512];
    int axis = lr_config_axis_of(c, "seed");
    run->seeds_pooled = !strcmp(lr_config_str(c, "report.seeds"), "pooled");
    run->seed_swept = axis >= 0;
    if (axis < 0) return LR_OK;
    run->seed_axis = (size_t)axis;
    size_t a = run->seed_axis, n = lr_config_axis_len(c, a);
    if (lr_config_axis_zip(c, a))
        LR_ERRORF(LR_ECONFIG, "%s: the seed cannot be zipped with another axis (zip = \"%s\"): each seed runs "
                  "the whole sweep", lr_config_where(c, "seed", where, sizeof where), lr_config_axis_zip(c, a));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (lr_config_axis_value(c, a, i) == lr_config_axis_value(c, a, j))
                LR_ERRORF(LR_ECONFIG, "%s: seed %.0f is listed twice (elements %zu and %zu): the same trials "
                          "twice", lr_config_where(c, "seed", where, sizeof where), lr_config_axis_value(c, a, i),
                          j + 1, i + 1);
    return LR_OK;
}

uint64_t lr_run_point_seed(const lr_run *run, size_t point)
{
    if (!run->seed_swept) return run->seed;
    size_t a = run->seed_axis;
    return (uint64_t)lr_config_axis_value(run->cfg, a, lr_config_axis_index(run->cfg, a, point));
}

size_t lr_run_seed_point(const lr_run *run, size_t point)
{
    if (!run->seed_swept) return point;
    size_t a = run->seed_axis;
    /* point = hi (stride n) + index stride + lo with lo < stride: drop the middle digit. */
    size_t stride = lr_run_seed_stride(run), n = lr_config_axis_len(run->cfg, a);
    return point / (stride * n) * stride + point % stride;
}

size_t lr_run_seed_stride(const lr_run *run)
{
    /* The stride of an unzipped axis in the mixed radix of config_sweep.c: the product of
     * the lengths of the groups after its own. */
    if (!run->seed_swept) return 0;
    size_t a = run->seed_axis, g = lr_config_axis_group(run->cfg, a), stride = 1;
    for (size_t b = 0; b < lr_config_naxes(run->cfg); b++) {
        size_t gb = lr_config_axis_group(run->cfg, b);
        int first = 1;
        for (size_t e = 0; e < b; e++) first &= lr_config_axis_group(run->cfg, e) != gb;
        if (gb > g && first) stride *= lr_config_axis_len(run->cfg, b);
    }
    return stride;
}

size_t lr_run_pooled_point(const lr_run *run, size_t point)
{
    if (!run->seed_swept || !run->seeds_pooled) return point;
    size_t a = run->seed_axis;
    return point - lr_config_axis_index(run->cfg, a, point) * lr_run_seed_stride(run);
}

void lr_run_seed_unit(const lr_run *run, gsl_rng *rng, size_t point, size_t trial)
{
    lr_rng_seed_unit(rng, lr_run_point_seed(run, point), lr_run_seed_point(run, point), trial);
}

void lr_run_seed_compressor(const lr_run *run, gsl_rng *rng, size_t point, uint64_t trial, size_t comp)
{
    lr_compressor_seed_stream(rng, lr_run_point_seed(run, point), lr_run_seed_point(run, point), trial, comp);
}

/* /fits fits a log-log slope along every swept key (summary.c): along a key that is not a
 * scale parameter (lr_key.not_scale) that slope describes no power law, so say so. */
static int warn_unscaled_axes(lr_run *run)
{
    if (!(run->exp->summaries & LR_SUMMARY_FITS)) return LR_OK;
    const lr_key *schemas[LR_RUN_MAX_SCHEMAS];
    size_t ns = lr_run_schemas(run->exp, schemas, LR_RUN_MAX_SCHEMAS);
    for (size_t a = 0; a < lr_config_naxes(run->cfg); a++) {
        if (lr_config_axis_len(run->cfg, a) < 2) continue;
        const char *path = lr_config_axis_path(run->cfg, a);
        for (size_t i = 0; i < ns; i++)
            for (const lr_key *k = schemas[i]; k->path; k++)
                if (k->not_scale && !strcmp(k->path, path))
                    LR_TRY(lr_run_warn(run, "sweep axis %s is not a scale parameter (%s): the log-log slopes "
                                       "/fits reports along it follow no power law and have no theory; read "
                                       "the errors per point (/points) along it instead",
                                       path, k->doc));
    }
    return LR_OK;
}

/* Whether `prefix` is a key of the schemas, or a group holding one. */
static int schemas_hold(const lr_key *const *schemas, size_t ns, const char *prefix, size_t len)
{
    for (size_t i = 0; i < ns; i++)
        for (const lr_key *k = schemas[i]; k->path; k++)
            if (!strncmp(k->path, prefix, len) && (k->path[len] == '\0' || k->path[len] == '.')) return 1;
    return 0;
}

/* A key this experiment does not know but another one does (a real_layers config's
 * `layers` in a recovery run): say whose it is, rather than only "is not known". */
static int refuse_foreign_keys(const lr_run *run)
{
    const lr_key *own[LR_RUN_MAX_SCHEMAS], *theirs[LR_RUN_MAX_SCHEMAS];
    size_t no = lr_run_schemas(run->exp, own, LR_RUN_MAX_SCHEMAS);
    for (size_t e = 0; lr_experiments[e]; e++) {
        if (lr_experiments[e] == run->exp) continue;
        size_t nt = lr_run_schemas(lr_experiments[e], theirs, LR_RUN_MAX_SCHEMAS);
        for (size_t i = 0; i < nt; i++)
            for (const lr_key *k = theirs[i]; k->path; k++) {
                if (!lr_config_given(run->cfg, k->path) || schemas_hold(own, no, k->path, strlen(k->path)))
                    continue;
                /* Name the outermost part of the path this experiment has no key under. */
                size_t len = strlen(k->path);
                for (const char *d = k->path; (d = strchr(d, '.')); d++)
                    if (!schemas_hold(own, no, k->path, (size_t)(d - k->path))) {
                        len = (size_t)(d - k->path);
                        break;
                    }
                char where[512];
                LR_ERRORF(LR_ECONFIG, "%s: '%.*s' is a key of experiment %s (this config runs %s)",
                          lr_config_where(run->cfg, k->path, where, sizeof where), (int)len, k->path,
                          lr_experiments[e]->name, run->exp->name);
            }
    }
    return LR_OK;
}

/* Read and validate the config, size the run and let the experiment prepare it; print
 * the run's notes.  Nothing is written yet. */
static int run_setup(lr_run *run, const lr_run_options *opt)
{
    int status = opt->config_text
                     ? lr_config_read_string(&run->cfg, opt->config_text, opt->config_path, NULL, 0)
                     : lr_config_read(&run->cfg, opt->config_path, opt->overrides, opt->noverrides);
    if (status != LR_OK) return status;
    run->dist.shard_index = opt->shard_index;
    run->dist.shard_count = opt->shard_count;
    if (run->dist.ranks == 0) run->dist.ranks = run->dist.hosts = 1;

    const char *expname = lr_config_peek_string(run->cfg, "experiment");
    run->exp = lr_experiment_find(expname);
    const lr_key *schemas[LR_RUN_MAX_SCHEMAS];
    if (run->exp && (status = refuse_foreign_keys(run)) != LR_OK) return status;
    status = lr_config_validate(run->cfg, schemas, lr_run_schemas(run->exp, schemas, LR_RUN_MAX_SCHEMAS));
    if (status == LR_OK && !run->exp)
        status = lr_error(LR_ECONFIG, __FILE__, __LINE__, "%s: key 'experiment' is missing",
                          lr_config_filename(run->cfg));
    if (status != LR_OK) return status;

    run->seed = (uint64_t)lr_config_num(run->cfg, 0, "seed");
    if ((status = seed_axis_setup(run)) != LR_OK) return status;
    run->rng_kind = lr_config_str(run->cfg, "rng");
    run->ntrials = (size_t)lr_config_num(run->cfg, 0, "trials");
    run->npoints = lr_config_npoints(run->cfg);
    run->nunits = run->npoints * run->ntrials;
    if (run->npoints > LR_RNG_MAX_POINTS) {
        status = lr_error(LR_ECONFIG, __FILE__, __LINE__,
                          "%s: the sweep has %zu points; at most %lu are supported",
                          lr_config_filename(run->cfg), run->npoints, LR_RNG_MAX_POINTS);
        return status;
    }
#ifdef _OPENMP
    run->nthreads = opt->nthreads > 0 ? opt->nthreads : omp_get_max_threads();
#else
    run->nthreads = 1;
#endif
    run->trials = lr_table_alloc("trials");
    if (!run->trials) {
        status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        return status;
    }
    /* The bounds' constants, for an experiment that includes their keys (C and t may be
     * swept: point 0 here, the experiment reads the others per point). */
    for (size_t i = 0; run->exp->includes && run->exp->includes[i]; i++)
        if (run->exp->includes[i] == lr_bounds_schema) {
            LR_TRY(lr_bound_params_check(run->cfg));
            lr_bound_params_read(run->cfg, 0, &run->bparams);
        }
    if ((status = run->exp->prepare(run, &run->exp_state)) != LR_OK) return status;
    if ((status = warn_unscaled_axes(run)) != LR_OK) return status;
    for (const char *n = opt->quiet_notes ? NULL : run->notes; n && *n;) {
        const char *end = strchr(n, '\n');
        fprintf(stderr, "lrlab: note: %.*s\n", (int)(end - n), n);
        n = end + 1;
    }

    return LR_OK;
}

/* The summaries the experiment asks for, then the results file: written to tmp and
 * renamed to out when complete, and the checkpoint log removed. */
static int run_write(const lr_run *run, const lr_run_options *opt, const char *out, const char *logp,
                     const char *tmp, const char *sha, double wall)
{
    int status = LR_OK;
    lr_table *points = NULL, *fits = NULL;
    unsigned sums = run->exp->summaries;
    if ((!(sums & LR_SUMMARY_POINTS) || (status = lr_summarise_points(run, &points)) == LR_OK) &&
        (!(sums & LR_SUMMARY_FITS) || (status = lr_summarise_fits(run, &fits)) == LR_OK)) {
        lr_results_meta meta = {opt->command_line, sha, wall, opt->config_path};
        unlink(tmp);
        status = lr_results_write(run, tmp, points, fits, &meta);
        lr_table *shape = NULL;
        if (status == LR_OK && (sums & LR_SUMMARY_SHAPE) && (status = lr_summarise_shape(run, &shape)) == LR_OK)
            status = lr_results_add_table(tmp, shape,
                                          "fitted constants of predicted shapes (Theorem 3): error ~ C * shape");
        lr_table_free(shape);
        if (status == LR_OK && rename(tmp, out) != 0)
            status = lr_error(LR_EIO, __FILE__, __LINE__, "cannot rename %s to %s: %s", tmp, out,
                              strerror(errno));
        if (status == LR_OK) {
            if (logp) unlink(logp);
        } else {
            unlink(tmp);
            /* Every unit is in the checkpoint log: say so, and how to finish (a full disk,
             * a quota).  The message of the failure stays first. */
            if (logp && (status == LR_EIO || status == LR_EDATA)) {
                char why[1024];
                snprintf(why, sizeof why, "%s", lr_last_error());
                /* The file's name once: some messages start with it, others do not. */
                int named = !strncmp(why, tmp, strlen(tmp));
                status = lr_error(status, __FILE__, __LINE__,
                                  "%s%s%s; every trial is kept in %s: free space and rerun with --resume",
                                  named ? "" : tmp, named ? "" : ": ", why, logp);
            }
        }
    }
    lr_table_free(points);
    lr_table_free(fits);
    return status;
}

int lr_run_main(const lr_run_options *opt, char *out_path, size_t out_len)
{
    int lockfd = -1; /* the checkpoint log's lock, held for the whole run */
    lr_run run_s, *run = &run_s;
    memset(run, 0, sizeof *run);
    /* Under mpirun every rank sets up the same run; ranks > 0 then work for rank 0, which
     * alone touches the output, the checkpoint log and the results file (run/dist.h). */
    int mpi = lr_dist_ranks() > 1;
    int status = mpi ? lr_dist_setup(run, opt) : run_setup(run, opt);
    if (status != LR_OK) goto done;
    if (mpi && lr_dist_rank() > 0) {
        status = lr_dist_worker(run);
        goto done;
    }
    if (mpi && opt->save_instances) {
        status = lr_error(LR_EINVAL, __FILE__, __LINE__,
                          "--save-instances writes one file from one process: run it without mpirun");
        goto done;
    }

    /* Everything is valid: now decide where results go, before any work. */
    char out[4096], logp[4200], tmp[4200];
    if (opt->output) snprintf(out, sizeof out, "%s", opt->output);
    else default_output(opt->config_path, out, sizeof out);
    snprintf(logp, sizeof logp, "%s.partial", out);
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    if (out_path) snprintf(out_path, out_len, "%s", out);
    if (file_exists(out) && !opt->force) {
        status = lr_error(LR_EEXIST, __FILE__, __LINE__,
                          "%s exists: use --force to overwrite it or -o to write elsewhere", out);
        goto done;
    }
    if (file_exists(logp) && !opt->resume && !opt->force) {
        status = lr_error(LR_EEXIST, __FILE__, __LINE__,
                          "%s holds an unfinished run: use --resume to continue it or --force to "
                          "start over", logp);
        goto done;
    }
    if ((status = ensure_parent_dir(out)) != LR_OK) goto done;

    unsigned char *done_units = calloc(run->nunits ? run->nunits : 1, 1);
    if (!done_units) {
        status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        goto done;
    }
    if ((status = lr_run_alloc_rows(run)) != LR_OK) {
        free(done_units);
        goto done;
    }
    if (opt->save_instances &&
        (status = lr_instances_open(&run->instances, opt->save_instances, opt->force,
                                    run->exp->name, lr_config_text(run->cfg),
                                    (unsigned long long)run->seed, run->ntrials,
                                    run->npoints)) != LR_OK) {
        free(done_units);
        goto done;
    }

    /* One run per output: an advisory lock on the checkpoint log, taken before the log is
     * read or truncated and held until the run ends (flock: released if the process dies),
     * so a second `--resume` (or --force) on the same output is refused instead of
     * redoing the same units into the same log. */
    struct stat lsb;
    /* An empty log (a run stopped before its header) holds no progress. */
    int had_log = stat(logp, &lsb) == 0 && lsb.st_size > 0;
    lockfd = open(logp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockfd < 0) {
        free(done_units);
        status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot create: %s", logp, strerror(errno));
        goto done;
    }
    if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
        free(done_units);
        status = errno == EWOULDBLOCK
                     ? lr_error(LR_EEXIST, __FILE__, __LINE__,
                                "%s: another lrlab run is writing %s (its checkpoint log is locked); wait "
                                "for it to finish, or write elsewhere with -o", out, logp)
                     : lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot lock: %s", logp, strerror(errno));
        goto done;
    }

    char sha[72];
    lr_sha256_hex(lr_config_text(run->cfg), sha);
    long recovered = 0;
    if (opt->resume && !opt->force && had_log) {
        recovered = log_recover(logp, run, sha, done_units);
        if (recovered < 0) {
            free(done_units);
            status = (int)-recovered;
            goto done;
        }
        /* A shard's log holds its own units only; a unit of another shard means the log
         * was written by another --shard (or none) under this output name. */
        for (size_t u = 0; u < run->nunits && status == LR_OK; u++)
            if (done_units[u] && !lr_shard_has(u, opt->shard_index, opt->shard_count))
                status = lr_error(LR_ECONFIG, __FILE__, __LINE__,
                                  "%s holds trial %zu, which is not in shard %u/%u: it was written by "
                                  "another --shard or a whole run; rerun with --force to start over",
                                  logp, u, opt->shard_index, opt->shard_count);
        if (status != LR_OK) {
            free(done_units);
            goto done;
        }
        fprintf(stderr, "lrlab: resuming %s: %ld of %zu trials already done\n", out, recovered,
                lr_shard_size(run->nunits, opt->shard_index, opt->shard_count));
    }
    /* The units of other shards are not this run's: marked 2, never run, never logged. */
    for (size_t u = 0; u < run->nunits; u++)
        if (!lr_shard_has(u, opt->shard_index, opt->shard_count)) done_units[u] = 2;
    /* Recovered records are kept and appended to; otherwise the log starts over. */
    int logfd = open(logp, O_WRONLY | O_CREAT | O_CLOEXEC | (recovered > 0 ? O_APPEND : O_TRUNC), 0644);
    if (logfd < 0) {
        free(done_units);
        status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot create: %s", logp, strerror(errno));
        goto done;
    }
    if (recovered == 0) {
        log_header h;
        memset(&h, 0, sizeof h);
        snprintf(h.magic, sizeof h.magic, "%s", LOG_MAGIC);
        snprintf(h.config_sha256, sizeof h.config_sha256, "%s", sha);
        h.ncols = run->trials->ncols;
        h.rows_per_unit = run->rows_per_unit;
        h.nunits = run->nunits;
        struct iovec hv = {&h, sizeof h};
        if (write_all(logfd, &hv, 1) != 0) {
            status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write the checkpoint log: %s", logp,
                              strerror(errno));
            close(logfd);
            /* The log holds no trial (it was new or emptied just now): leaving it would
             * make the next plain run ask for a --resume that has nothing to continue. */
            unlink(logp);
            free(done_units);
            goto done;
        }
    }

    openblas_set_num_threads(1);
    int progress = opt->progress < 0 ? isatty(STDERR_FILENO) : opt->progress;
    double t0 = lr_wall_seconds();
    if (mpi) lr_dist_release_workers(LR_OK);
    status = mpi ? lr_dist_master(run, done_units, logfd) : run_units(run, done_units, logfd, progress);
    double wall = lr_wall_seconds() - t0;
    /* close can report a write the kernel deferred (NFS, a quota): then the log may lack
     * records it seemed to have, and the run must not pass as complete. */
    if (close(logfd) != 0 && status == LR_OK)
        status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot close the checkpoint log: %s", logp,
                          strerror(errno));
    if (status != LR_OK) {
        /* A unit failed (bad numbers, memory): the finished units stay in the log, and the
         * message says so; with none finished, the log holds nothing and is removed, so a
         * plain rerun is not told to resume. */
        size_t finished = 0;
        for (size_t u = 0; u < run->nunits; u++) finished += done_units[u] == 1;
        if (finished == 0) {
            unlink(logp);
        } else {
            char why[1024];
            snprintf(why, sizeof why, "%s", lr_last_error());
            status = lr_error(status, __FILE__, __LINE__,
                              "%s; the %zu finished trials are kept in %s (--resume continues from them "
                              "with the same config, --force starts over)", why, finished, logp);
        }
    }
    if (status == LR_OK && run->instances) {
        status = lr_instances_close(run->instances);
        run->instances = NULL;
    }
    if (status == LR_OK)
        status = opt->shard_count ? lr_dist_write_part(run, done_units, opt, out, logp, tmp, sha, wall)
                                  : run_write(run, opt, out, logp, tmp, sha, wall);
    free(done_units);

done:
    if (mpi && lr_dist_rank() == 0) lr_dist_release_workers(status == LR_OK ? LR_EINVAL : status);
    if (lockfd >= 0) close(lockfd);
    run_release(run);
    return status;
}
