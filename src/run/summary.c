/* Summaries of /trials: per-point statistics and log-log scaling fits.
 *
 * /points, per sweep point x compressor x target rank: quantiles of the errors; for
 * each bound the median bound value, in how many trials it applied and held, the
 * coverage with a Wilson 95% interval next to the nominal level (1 for deterministic
 * bounds, 1 - exp(-t^2/2) for probabilistic ones), and tightness error / bound (median
 * and worst); for a prediction, the ratio of the RMS observed error to the RMS
 * prediction.
 *
 * /fits: for each swept key, each compressor and rank, and each combination of the
 * other swept keys, the least-squares slope of log err_fro against the log of the key's
 * value over all trials, with a 95% t interval and a family-wise (Bonferroni) one, next to
 * the theory's slope.
 *
 * A swept seed (run.h, "swept seeds") is never fitted along: it is not a scale parameter.
 * With report.seeds = "pooled" (the default) the seeds' trials of one point are one group:
 * /points has one row per point of the seedless sweep, at the first seed's point index and
 * without the seed column, and the fits pool the seeds likewise; with "separate" every
 * seed keeps its own rows and its own fits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "core/error.h"
#include "core/stats.h"
#include "run/run.h"

#define COVERAGE_LEVEL 0.95

/* The rows of /trials grouped by the values in their point, compressor and rank_index
 * cells (never by their position in the table), each group in table order, which is trial
 * order.  The generic summaries are about experiments whose rows are compressor x target
 * rank (lr_experiment.summaries); a row whose cells fall outside the run's compressors,
 * ranks or points is a bug in the experiment and is reported. */
typedef struct row_groups {
    size_t ncomps, nranks;
    size_t largest; /* rows in the largest group */
    size_t *start; /* group (p, c, i) = (p ncomps + c) nranks + i holds rows[start[g] .. start[g+1]) */
    size_t *rows;
} row_groups;

static void groups_free(row_groups *g)
{
    free(g->start);
    free(g->rows);
    g->start = g->rows = NULL;
}

static int groups_build(const lr_run *run, row_groups *g)
{
    const lr_table *T = run->trials;
    size_t ngroups = run->npoints * run->ncomps * run->nranks;
    g->ncomps = run->ncomps;
    g->nranks = run->nranks;
    g->start = calloc(ngroups + 2, sizeof *g->start);
    g->rows = malloc((T->nrows + 1) * sizeof *g->rows);
    size_t *key = malloc((T->nrows + 1) * sizeof *key);
    if (!g->start || !g->rows || !key) {
        free(key);
        groups_free(g);
        LR_ERROR(LR_ENOMEM, "out of memory grouping /trials");
    }
    for (size_t r = 0; r < T->nrows; r++) {
        const double *row = lr_table_row(T, r);
        double p = row[run->col.point], c = row[run->col.compressor], i = row[run->col.rank_index];
        if (!(p >= 0 && p < (double)run->npoints && c >= 0 && c < (double)run->ncomps && i >= 0 &&
              i < (double)run->nranks)) {
            free(key);
            groups_free(g);
            LR_ERRORF(LR_EINVAL, "/trials row %zu: point %g, compressor %g, rank_index %g outside "
                      "the run's %zu x %zu x %zu (an experiment's row layout bug)",
                      r, p, c, i, run->npoints, run->ncomps, run->nranks);
        }
        key[r] = (lr_run_pooled_point(run, (size_t)p) * run->ncomps + (size_t)c) * run->nranks + (size_t)i;
        g->start[key[r] + 1]++;
    }
    g->largest = 0;
    for (size_t k = 0; k < ngroups; k++) {
        if (g->start[k + 1] > g->largest) g->largest = g->start[k + 1];
        g->start[k + 1] += g->start[k];
    }
    size_t *fill = calloc(ngroups + 1, sizeof *fill);
    if (!fill) {
        free(key);
        groups_free(g);
        LR_ERROR(LR_ENOMEM, "out of memory grouping /trials");
    }
    for (size_t r = 0; r < T->nrows; r++) g->rows[g->start[key[r]] + fill[key[r]]++] = r;
    free(fill);
    free(key);
    return LR_OK;
}

/* The rows of group (point p, compressor c, rank index i); *n receives their count. */
static const size_t *group_rows(const row_groups *g, size_t p, size_t c, size_t i, size_t *n)
{
    size_t k = (p * g->ncomps + c) * g->nranks + i;
    *n = g->start[k + 1] - g->start[k];
    return g->rows + g->start[k];
}

/* Sorted copy of column `col` over the rows of group (p, c, i), NaNs dropped; returns the
 * count.  When `mask_col` >= 0, only rows whose flag there is >= 0. */
static size_t gather(const lr_run *run, const row_groups *G, size_t p, size_t c, size_t i, int col,
                     int mask_col, double *out)
{
    size_t n = 0, nr;
    const size_t *rows = group_rows(G, p, c, i, &nr);
    for (size_t j = 0; j < nr; j++) {
        const double *r2 = lr_table_row(run->trials, rows[j]);
        if (mask_col >= 0 && r2[mask_col] < 0) continue;
        if (!isnan(r2[col])) out[n++] = r2[col];
    }
    lr_sort(out, n);
    return n;
}

static double quantile_of(const lr_run *run, const row_groups *G, size_t p, size_t c, size_t i,
                          int col, double q, double *buf)
{
    size_t n = gather(run, G, p, c, i, col, -1, buf);
    return n ? lr_quantile_sorted(buf, n, q) : NAN;
}

/* Median, 10% and 90% quantiles of n sorted values into the columns med, q10, q90. */
static void put_quantiles(double *out, int med, int q10, int q90, const double *sorted, size_t n)
{
    out[med] = lr_quantile_sorted(sorted, n, 0.5);
    out[q10] = lr_quantile_sorted(sorted, n, 0.1);
    out[q90] = lr_quantile_sorted(sorted, n, 0.9);
}

typedef struct point_cols {
    int point, comp, rank_index, k_target, n, efro_med, efro_q10, efro_q90, efro_rms;
    int erel_med, erel_q10, erel_q90, ew_med, ew_q10, ew_q90, eho_med, pg_med, fallbacks;
    int elayer_med, dd_le_da, dd_le_da_n;
    int *params;
    int *b_med, *b_n, *b_held, *b_cov, *b_lo, *b_hi, *b_nom, *b_tmed, *b_tmax, *b_ratio;
} point_cols;

static int add(lr_table *t, const char *name, lr_col_type type, const char *doc, int *slot)
{
    *slot = lr_table_add_column(t, name, type, doc);
    if (*slot < 0) LR_ERRORF(LR_ENOMEM, "out of memory for the /%s column %s", t->name, name);
    return LR_OK;
}

static int add_bound(lr_table *t, const char *bname, const char *suffix, lr_col_type type,
                     const char *doc, int *slot)
{
    char name[128];
    snprintf(name, sizeof name, "%s_%s", bname, suffix);
    return add(t, name, type, doc, slot);
}

static double nominal_at(const lr_run *run, const lr_bound *b, size_t p)
{
    lr_bound_params bp = run->bparams;
    double t = lr_config_num(run->cfg, p, "bounds.t");
    if (!isnan(t)) bp.t = t;
    return lr_bound_nominal(b, &bp);
}

/* Whether `path` is the swept seed and the summaries pool its values. */
static int pooled_seed(const lr_run *run, const char *path)
{
    return run->seed_swept && run->seeds_pooled && !strcmp(path, "seed");
}

static int declare_point_columns(const lr_run *run, lr_table *t, point_cols *pc)
{
    LR_TRY(add(t, "point", LR_COL_INT, "sweep point index", &pc->point));
    LR_TRY(add(t, "compressor", LR_COL_NAME, "compressor name", &pc->comp));
    LR_TRY(add(t, "rank_index", LR_COL_INT, "index into compress.rank_offsets", &pc->rank_index));
    LR_TRY(add(t, "k_target", LR_COL_INT, "requested rank", &pc->k_target));
    for (size_t c = 0; c < run->ncomps; c++)
        if (lr_table_dict_index(t, (size_t)pc->comp, run->comps[c]->name) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
    pc->params = calloc(run->nparam_cols + 1, sizeof(int));
    if (!pc->params) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t j = 0; j < run->nparam_cols; j++) {
        const lr_column *src = &run->trials->cols[run->param_cols[j].column];
        pc->params[j] = -1;
        if (pooled_seed(run, run->param_cols[j].path)) continue; /* a row holds every seed */
        LR_TRY(add(t, src->name, src->type, src->doc, &pc->params[j]));
    }
    LR_TRY(add(t, "n", LR_COL_INT, "trials", &pc->n));
    LR_TRY(add(t, "err_fro_median", LR_COL_REAL, "median of err_fro", &pc->efro_med));
    LR_TRY(add(t, "err_fro_q10", LR_COL_REAL, "10% quantile of err_fro", &pc->efro_q10));
    LR_TRY(add(t, "err_fro_q90", LR_COL_REAL, "90% quantile of err_fro", &pc->efro_q90));
    LR_TRY(add(t, "err_fro_rms", LR_COL_REAL, "sqrt(mean err_fro^2)", &pc->efro_rms));
    LR_TRY(add(t, "err_rel_median", LR_COL_REAL, "median of err_rel", &pc->erel_med));
    LR_TRY(add(t, "err_rel_q10", LR_COL_REAL, "10% quantile of err_rel", &pc->erel_q10));
    LR_TRY(add(t, "err_rel_q90", LR_COL_REAL, "90% quantile of err_rel", &pc->erel_q90));
    LR_TRY(add(t, "err_weight_median", LR_COL_REAL, "median of err_weight", &pc->ew_med));
    LR_TRY(add(t, "err_weight_q10", LR_COL_REAL, "10% quantile of err_weight", &pc->ew_q10));
    LR_TRY(add(t, "err_weight_q90", LR_COL_REAL, "90% quantile of err_weight", &pc->ew_q90));
    LR_TRY(add(t, "err_heldout_rel_median", LR_COL_REAL, "median of err_heldout_rel", &pc->eho_med));
    LR_TRY(add(t, "err_layer_median", LR_COL_REAL, "median of err_layer", &pc->elayer_med));
    LR_TRY(add(t, "layer_le_svd_w", LR_COL_INT,
               "trials in which this compressor's err_layer <= svd_w's at the same rank "
               "(relative slack bounds.tol); -1 for svd_w itself or when svd_w did not run",
               &pc->dd_le_da));
    LR_TRY(add(t, "err_fro_le_svd_w", LR_COL_INT,
               "trials in which this compressor's err_fro <= svd_w's at the same rank",
               &pc->dd_le_da_n));
    LR_TRY(add(t, "pg_op_median", LR_COL_REAL, "median of ||PG||_op", &pc->pg_med));
    LR_TRY(add(t, "svd_fallbacks", LR_COL_INT, "trials with a dgesdd -> dgesvd fallback", &pc->fallbacks));
    size_t nb = run->nbounds + 1;
    int **slots[] = {&pc->b_med, &pc->b_n, &pc->b_held, &pc->b_cov, &pc->b_lo,
                     &pc->b_hi, &pc->b_nom, &pc->b_tmed, &pc->b_tmax, &pc->b_ratio};
    for (size_t s = 0; s < sizeof slots / sizeof *slots; s++) {
        *slots[s] = calloc(nb, sizeof(int));
        if (!*slots[s]) LR_ERROR(LR_ENOMEM, "out of memory");
        for (size_t b = 0; b < nb; b++) (*slots[s])[b] = -1;
    }
    for (size_t b = 0; b < run->nbounds; b++) {
        const lr_bound *bd = run->bounds[b];
        const char *nm = bd->name;
        LR_TRY(add_bound(t, nm, "median", LR_COL_REAL, "median of the bound's value", &pc->b_med[b]));
        if (bd->kind == LR_BOUND_PREDICTION) {
            LR_TRY(add_bound(t, nm, "ratio", LR_COL_REAL,
                             "RMS observed error / RMS prediction over the trials where it applies",
                             &pc->b_ratio[b]));
            continue;
        }
        LR_TRY(add_bound(t, nm, "n", LR_COL_INT, "trials where the bound applies", &pc->b_n[b]));
        LR_TRY(add_bound(t, nm, "held", LR_COL_INT, "trials where it held", &pc->b_held[b]));
        LR_TRY(add_bound(t, nm, "coverage", LR_COL_REAL, "held / n", &pc->b_cov[b]));
        LR_TRY(add_bound(t, nm, "coverage_lo", LR_COL_REAL, "Wilson 95% interval, low end", &pc->b_lo[b]));
        LR_TRY(add_bound(t, nm, "coverage_hi", LR_COL_REAL, "Wilson 95% interval, high end", &pc->b_hi[b]));
        LR_TRY(add_bound(t, nm, "nominal", LR_COL_REAL,
                         "level the theory promises (1 always; 1 - exp(-t^2/2) w.p.)", &pc->b_nom[b]));
        LR_TRY(add_bound(t, nm, "tight_median", LR_COL_REAL, "median of error / bound", &pc->b_tmed[b]));
        LR_TRY(add_bound(t, nm, "tight_worst", LR_COL_REAL, "largest error / bound", &pc->b_tmax[b]));
    }
    return LR_OK;
}

static void free_point_cols(point_cols *pc)
{
    free(pc->params);
    free(pc->b_med); free(pc->b_n); free(pc->b_held); free(pc->b_cov); free(pc->b_lo);
    free(pc->b_hi); free(pc->b_nom); free(pc->b_tmed); free(pc->b_tmax); free(pc->b_ratio);
}

static void summarise_bound(const lr_run *run, const row_groups *G, size_t p, size_t c, size_t i,
                            size_t b, const point_cols *pc, double *out, double *buf)
{
    size_t nr;
    const size_t *rows = group_rows(G, p, c, i, &nr);
    const lr_bound *bd = run->bounds[b];
    int vcol = run->col.bound_value[b], hcol = run->col.bound_held[b];
    int ocol = bd->observed == LR_OBS_ERR_WEIGHT ? run->col.err_weight : run->col.err_fro;
    out[pc->b_med[b]] = quantile_of(run, G, p, c, i, vcol, 0.5, buf);
    if (bd->kind == LR_BOUND_PREDICTION) {
        double so = 0, sp = 0;
        size_t n = 0;
        for (size_t j = 0; j < nr; j++) {
            const double *row = lr_table_row(run->trials, rows[j]);
            if (isnan(row[vcol]) || strcmp(bd->compressor, run->comps[c]->name)) continue;
            so += row[ocol] * row[ocol];
            sp += row[vcol] * row[vcol];
            n++;
        }
        out[pc->b_ratio[b]] = n && sp > 0 ? sqrt(so / sp) : NAN;
        return;
    }
    size_t n = 0, held = 0, nt = 0;
    for (size_t j = 0; j < nr; j++) {
        const double *row = lr_table_row(run->trials, rows[j]);
        if (row[hcol] < 0) continue;
        n++;
        held += row[hcol] > 0;
        if (row[vcol] > 0) buf[nt++] = row[ocol] / row[vcol];
    }
    lr_sort(buf, nt);
    out[pc->b_n[b]] = (double)n;
    out[pc->b_held[b]] = (double)held;
    double lo = NAN, hi = NAN;
    if (n) lr_wilson_interval(held, n, COVERAGE_LEVEL, &lo, &hi);
    out[pc->b_cov[b]] = n ? (double)held / (double)n : NAN;
    out[pc->b_lo[b]] = lo;
    out[pc->b_hi[b]] = hi;
    out[pc->b_nom[b]] = n ? nominal_at(run, bd, p) : NAN;
    out[pc->b_tmed[b]] = nt ? lr_quantile_sorted(buf, nt, 0.5) : NAN;
    out[pc->b_tmax[b]] = nt ? buf[nt - 1] : NAN;
}

int lr_summarise_points(const lr_run *run, lr_table **points)
{
    lr_table *t = lr_table_alloc("points");
    point_cols pc;
    memset(&pc, 0, sizeof pc);
    double *buf = NULL, *out = NULL;
    row_groups G = {0};
    int status = t ? declare_point_columns(run, t, &pc) : LR_ENOMEM;
    if (status == LR_OK && !(out = malloc(t->ncols * sizeof(double)))) status = LR_ENOMEM;
    if (status == LR_OK) status = groups_build(run, &G);
    if (status == LR_OK && !(buf = malloc((G.largest + 1) * sizeof(double)))) status = LR_ENOMEM;
    const lr_trial_columns *col = &run->col;
    for (size_t p = 0; status == LR_OK && p < run->npoints; p++)
        for (size_t c = 0; status == LR_OK && c < run->ncomps; c++)
            for (size_t i = 0; status == LR_OK && i < run->nranks; i++) {
                for (size_t j = 0; j < t->ncols; j++) out[j] = NAN;
                size_t nr;
                const size_t *rows = group_rows(&G, p, c, i, &nr);
                if (!nr) continue;
                const double *first = lr_table_row(run->trials, rows[0]);
                out[pc.point] = (double)p;
                out[pc.comp] = (double)c;
                out[pc.rank_index] = (double)i;
                out[pc.k_target] = first[col->k_target];
                for (size_t j = 0; j < run->nparam_cols; j++)
                    if (pc.params[j] >= 0) out[pc.params[j]] = first[run->param_cols[j].column];
                size_t n = gather(run, &G, p, c, i, col->err_fro, -1, buf);
                out[pc.n] = (double)n;
                put_quantiles(out, pc.efro_med, pc.efro_q10, pc.efro_q90, buf, n);
                double ss = 0;
                for (size_t j = 0; j < n; j++) ss += buf[j] * buf[j];
                out[pc.efro_rms] = n ? sqrt(ss / (double)n) : NAN;
                n = gather(run, &G, p, c, i, col->err_rel, -1, buf);
                put_quantiles(out, pc.erel_med, pc.erel_q10, pc.erel_q90, buf, n);
                n = gather(run, &G, p, c, i, col->err_weight, -1, buf);
                put_quantiles(out, pc.ew_med, pc.ew_q10, pc.ew_q90, buf, n);
                out[pc.eho_med] = quantile_of(run, &G, p, c, i, col->err_heldout_rel, 0.5, buf);
                out[pc.pg_med] = quantile_of(run, &G, p, c, i, col->pg_op, 0.5, buf);
                out[pc.elayer_med] = quantile_of(run, &G, p, c, i, col->err_layer, 0.5, buf);
                out[pc.dd_le_da] = out[pc.dd_le_da_n] = -1;
                for (size_t da = 0; da < run->ncomps; da++) {
                    if (da == c || strcmp(run->comps[da]->name, "svd_w")) continue;
                    /* Paired by trial: the same trial's row of svd_w at the same rank. */
                    size_t le = 0, le_fro = 0, ny;
                    const size_t *yrows = group_rows(&G, p, da, i, &ny);
                    for (size_t j = 0; j < nr && j < ny; j++) {
                        const double *x = lr_table_row(run->trials, rows[j]);
                        const double *y = lr_table_row(run->trials, yrows[j]);
                        if (x[col->trial] != y[col->trial]) continue;
                        le += lr_le_tol(x[col->err_layer], y[col->err_layer], run->bparams.tol, x[col->z_norm]);
                        le_fro += lr_le_tol(x[col->err_fro], y[col->err_fro], run->bparams.tol, x[col->z_norm]);
                    }
                    out[pc.dd_le_da] = (double)le;
                    out[pc.dd_le_da_n] = (double)le_fro;
                }
                size_t fb = 0;
                for (size_t j = 0; j < nr; j++) fb += lr_table_row(run->trials, rows[j])[col->svd_fallback] > 0;
                out[pc.fallbacks] = (double)fb;
                for (size_t b = 0; b < run->nbounds; b++) summarise_bound(run, &G, p, c, i, b, &pc, out, buf);
                status = lr_table_append(t, out);
            }
    free(out);
    free(buf);
    free_point_cols(&pc);
    groups_free(&G);
    if (status != LR_OK) {
        lr_table_free(t);
        if (status == LR_ENOMEM) LR_ERROR(LR_ENOMEM, "out of memory summarising /points");
        return status;
    }
    *points = t;
    return LR_OK;
}

/* ---- fits ---- */

/* "key=value, key=value" for the swept keys other than `axis` at point p. */
static void describe_fixed(const lr_run *run, size_t axis, size_t p, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t used = 0;
    for (size_t a = 0; a < lr_config_naxes(run->cfg); a++) {
        /* The axis's zip partners move with it: not fixed. */
        if (lr_config_axis_group(run->cfg, a) == lr_config_axis_group(run->cfg, axis)) continue;
        if (pooled_seed(run, lr_config_axis_path(run->cfg, a))) continue;
        double v = lr_config_axis_value(run->cfg, a, lr_config_axis_index(run->cfg, a, p));
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s=%g",
                                 used ? ", " : "", lr_config_axis_path(run->cfg, a), v);
        if (used >= len) break;
    }
    if (!buf[0]) snprintf(buf, len, "-");
}

/* The columns of /fits. */
enum { F_COMP, F_RANK, F_AXIS, F_FIXED, F_SLOPE, F_LO, F_HI, F_INT, F_R2, F_N, F_TH, F_IN, F_TL, F_TLI,
       F_G, F_LOFW, F_HIFW, F_INFW, F_NCOLS };

/* The slope of log(prediction) against log(x) over the fitted trials, and whether the
 * measured interval contains it. */
static int set_local_theory(const double *x, const double *pred, size_t n, const lr_fit *fit,
                            double *row, int ctl, int ctli)
{
    lr_fit pf;
    row[ctl] = NAN;
    row[ctli] = -1;
    int st = lr_fit_loglog(x, pred, n, 0.95, &pf);
    if (st != LR_OK) return st == LR_ENOMEM ? st : LR_OK; /* no fit: too few points */
    row[ctl] = pf.slope;
    row[ctli] = pf.slope >= fit->slope_lo && pf.slope <= fit->slope_hi;
    return LR_OK;
}

/* Append one /fits row: the fit of log err_fro against log x over n trials, next to the
 * theory's slope and the slope of the prediction over the same trials. */
static int append_fit(lr_table *t, const int *fc, const char *comp, size_t rank_index,
                      const char *axis, const char *fixed, const lr_fit *fit, double theory,
                      const double *x, const double *pred, size_t n)
{
    double row[F_NCOLS];
    row[fc[F_COMP]] = lr_table_dict_index(t, (size_t)fc[F_COMP], comp);
    row[fc[F_RANK]] = (double)rank_index;
    row[fc[F_AXIS]] = lr_table_dict_index(t, (size_t)fc[F_AXIS], axis);
    row[fc[F_FIXED]] = lr_table_dict_index(t, (size_t)fc[F_FIXED], fixed);
    row[fc[F_SLOPE]] = fit->slope;
    row[fc[F_LO]] = fit->slope_lo;
    row[fc[F_HI]] = fit->slope_hi;
    row[fc[F_INT]] = fit->intercept;
    row[fc[F_R2]] = fit->r2;
    row[fc[F_N]] = (double)fit->n;
    row[fc[F_TH]] = theory;
    row[fc[F_IN]] = isnan(theory) ? -1 : (theory >= fit->slope_lo && theory <= fit->slope_hi);
    LR_TRY(set_local_theory(x, pred, n, fit, row, fc[F_TL], fc[F_TLI]));
    row[fc[F_G]] = 1; /* the family-wise columns are set once every group is known */
    row[fc[F_LOFW]] = fit->slope_lo;
    row[fc[F_HIFW]] = fit->slope_hi;
    row[fc[F_INFW]] = row[fc[F_IN]];
    return lr_table_append(t, row);
}

/* "The theory's slope is inside in every group" is a claim about G intervals at once: with
 * 95% each, about 0.05 G groups miss by chance even for an exact power law.  So each row
 * also gets its family-wise interval: Bonferroni over the G groups of the same compressor,
 * rank and axis, each widened to level 1 - 0.05 / G (t quantile, the row's n - 2 degrees
 * of freedom), so that all G contain the true slopes with probability >= 95%. */
static void set_family_wise(lr_table *t, const int *fc)
{
    for (size_t i = 0; i < t->nrows; i++) {
        double *ri = lr_table_row(t, i);
        size_t g = 0;
        for (size_t j = 0; j < t->nrows; j++) {
            const double *rj = lr_table_row(t, j);
            g += rj[fc[F_COMP]] == ri[fc[F_COMP]] && rj[fc[F_RANK]] == ri[fc[F_RANK]] &&
                 rj[fc[F_AXIS]] == ri[fc[F_AXIS]];
        }
        double dof = ri[fc[F_N]] - 2, slope = ri[fc[F_SLOPE]], theory = ri[fc[F_TH]];
        double half = (ri[fc[F_HI]] - ri[fc[F_LO]]) / 2;
        double widen = lr_bonferroni_widen(0.95, g, dof);
        ri[fc[F_G]] = (double)g;
        ri[fc[F_LOFW]] = slope - half * widen;
        ri[fc[F_HIFW]] = slope + half * widen;
        ri[fc[F_INFW]] = isnan(theory) ? -1 : (theory >= ri[fc[F_LOFW]] && theory <= ri[fc[F_HIFW]]);
    }
}

int lr_summarise_fits(const lr_run *run, lr_table **fits)
{
    lr_table *t = lr_table_alloc("fits");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory");
    int fc[F_NCOLS];
    int status = LR_OK;
    if (add(t, "compressor", LR_COL_NAME, "compressor", &fc[F_COMP]) || add(t, "rank_index", LR_COL_INT, "index into compress.rank_offsets", &fc[F_RANK]) ||
        add(t, "axis", LR_COL_NAME, "the swept config key", &fc[F_AXIS]) ||
        add(t, "fixed", LR_COL_NAME, "values of the other swept keys", &fc[F_FIXED]) ||
        add(t, "slope", LR_COL_REAL, "d log err_fro / d log axis (least squares over all trials)", &fc[F_SLOPE]) ||
        add(t, "slope_lo", LR_COL_REAL, "95% t interval, low end", &fc[F_LO]) ||
        add(t, "slope_hi", LR_COL_REAL, "95% t interval, high end", &fc[F_HI]) ||
        add(t, "intercept", LR_COL_REAL, "log err_fro at axis value 1", &fc[F_INT]) ||
        add(t, "r2", LR_COL_REAL, "coefficient of determination", &fc[F_R2]) ||
        add(t, "n", LR_COL_INT, "trials in the fit", &fc[F_N]) ||
        add(t, "theory", LR_COL_REAL, "slope the theory predicts (NaN: none)", &fc[F_TH]) ||
        add(t, "theory_in_ci", LR_COL_FLAG, "1 if the theory's slope lies in the interval, -1 if no theory", &fc[F_IN]) ||
        add(t, "theory_local", LR_COL_REAL,
            "slope of the log of the compressor's RMS prediction (a bound of kind prediction) over the "
            "same trials: the theory's exponent at these finite sizes (NaN: no prediction)", &fc[F_TL]) ||
        add(t, "theory_local_in_ci", LR_COL_FLAG,
            "1 if theory_local lies in the interval, -1 if there is no prediction", &fc[F_TLI]) ||
        add(t, "groups", LR_COL_INT, "groups (rows) of this compressor, rank and axis", &fc[F_G]) ||
        add(t, "slope_lo_fw", LR_COL_REAL,
            "family-wise interval, low end: Bonferroni over the groups (each at 1 - 0.05 / groups)", &fc[F_LOFW]) ||
        add(t, "slope_hi_fw", LR_COL_REAL, "family-wise interval, high end", &fc[F_HIFW]) ||
        add(t, "theory_in_ci_fw", LR_COL_FLAG,
            "1 if the theory's slope lies in the family-wise interval, -1 if no theory", &fc[F_INFW])) {
        lr_table_free(t);
        return LR_ENOMEM;
    }
    size_t naxes = lr_config_naxes(run->cfg);
    size_t cap = run->trials->nrows + 1; /* a fit's trials are rows of one compressor and rank */
    double *xs = malloc(cap * sizeof(double)), *ys = malloc(cap * sizeof(double));
    double *xq = malloc(cap * sizeof(double));
    double *yp = malloc(cap * sizeof(double));
    unsigned char *seen = calloc(run->npoints + 1, 1);
    row_groups G = {0};
    if (!xs || !ys || !xq || !yp || !seen) status = LR_ENOMEM;
    else status = groups_build(run, &G);
    for (size_t a = 0; status == LR_OK && a < naxes; a++) {
        if (lr_config_axis_len(run->cfg, a) < 2) continue;
        const char *path = lr_config_axis_path(run->cfg, a);
        if (run->seed_swept && a == run->seed_axis) continue; /* not a scale parameter */
        int xcol = -1;
        for (size_t j = 0; j < run->nparam_cols; j++)
            if (!strcmp(run->param_cols[j].path, path)) xcol = run->param_cols[j].column;
        if (xcol < 0) continue;
        /* The experiment may also fit along a derived abscissa (recovery: q + N1 along
         * the keys that move the dimensions). */
        int dcol[2] = {-1, -1};
        const char *derived = run->exp->derived_axis ? run->exp->derived_axis(run, path, dcol) : NULL;
        int dim_axis = derived && dcol[0] >= 0 && dcol[1] >= 0;
        for (size_t c = 0; status == LR_OK && c < run->ncomps; c++) {
            /* The compressor's RMS prediction, if a bound predicts its err_fro: its slope
             * over the same trials is the theory's exponent at these finite sizes (e.g.
             * sigma sqrt(r (q + N1 - r)) has slope 1/2 in r only for r << q + N1). */
            int pcol = -1;
            for (size_t b = 0; b < run->nbounds; b++)
                if (run->bounds[b]->kind == LR_BOUND_PREDICTION &&
                    run->bounds[b]->observed == LR_OBS_ERR_FRO &&
                    !strcmp(run->bounds[b]->compressor, run->comps[c]->name))
                    pcol = run->col.bound_value[b];
            for (size_t i = 0; status == LR_OK && i < run->nranks; i++) {
                double theory = run->exp->theory_slope ? run->exp->theory_slope(run, path, c, i) : NAN;
                double theory_q = run->exp->theory_slope && derived ? run->exp->theory_slope(run, derived, c, i) : NAN;
                memset(seen, 0, run->npoints);
                for (size_t p0 = 0; status == LR_OK && p0 < run->npoints; p0++) {
                    if (seen[p0] || lr_config_axis_index(run->cfg, a, p0) != 0) continue;
                    /* The group: points that differ from p0 only along axis a. */
                    size_t n = 0;
                    for (size_t p = 0; p < run->npoints; p++) {
                        int same = 1;
                        for (size_t b = 0; b < naxes && same; b++)
                            if (!(run->seed_swept && run->seeds_pooled && b == run->seed_axis) &&
                                lr_config_axis_group(run->cfg, b) != lr_config_axis_group(run->cfg, a) &&
                                lr_config_axis_index(run->cfg, b, p) != lr_config_axis_index(run->cfg, b, p0))
                                same = 0;
                        if (!same) continue;
                        seen[p] = 1;
                        size_t nr;
                        const size_t *rows = group_rows(&G, p, c, i, &nr);
                        for (size_t j = 0; j < nr; j++) {
                            const double *r = lr_table_row(run->trials, rows[j]);
                            xs[n] = r[xcol];
                            ys[n] = r[run->col.err_fro];
                            yp[n] = pcol >= 0 ? r[pcol] : NAN;
                            if (dim_axis) xq[n] = r[dcol[0]] + r[dcol[1]];
                            n++;
                        }
                    }
                    lr_fit fit;
                    int fs = lr_fit_loglog(xs, ys, n, 0.95, &fit);
                    if (fs == LR_ENOMEM) status = fs;
                    if (fs != LR_OK) continue; /* too few points: no fit */
                    char fixed[512];
                    describe_fixed(run, a, p0, fixed, sizeof fixed);
                    status = append_fit(t, fc, run->comps[c]->name, i, path, fixed, &fit, theory, xs, yp, n);
                    lr_fit fq;
                    fs = status == LR_OK && dim_axis ? lr_fit_loglog(xq, ys, n, 0.95, &fq) : LR_EINVAL;
                    if (fs == LR_ENOMEM) status = fs;
                    if (fs == LR_OK) {
                        char along[600];
                        snprintf(along, sizeof along, "along %s; %s", path, fixed);
                        status = append_fit(t, fc, run->comps[c]->name, i, derived, along, &fq, theory_q, xq, yp, n);
                    }
                }
            }
        }
    }
    lr_clear_error();
    if (status == LR_OK) set_family_wise(t, fc);
    free(xs);
    free(ys);
    free(xq);
    free(yp);
    free(seen);
    groups_free(&G);
    if (status != LR_OK) {
        lr_table_free(t);
        if (status == LR_ENOMEM) LR_ERROR(LR_ENOMEM, "out of memory fitting slopes");
        return status;
    }
    *fits = t;
    return LR_OK;
}

/* ---- shape constants (issue 3) ---- */

/* For each prediction-kind bound (a shape such as Theorem 3's sigma sqrt(r) (sqrt q +
 * sqrt N1) sqrt(log(m N1)), drawn with constant bounds.C3), each compressor and rank: the
 * constant C in error ~ C * shape fitted over every trial of the run.  C_fit is the
 * geometric mean of error / shape (least squares in log space with the exponents fixed
 * at the theory's), with a 95% t interval; C_median its median; C_max the largest ratio,
 * i.e. the smallest constant under which error <= C * shape held in every trial. */
int lr_summarise_shape(const lr_run *run, lr_table **shape)
{
    lr_table *t = lr_table_alloc("shape");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory");
    int cb, cc, cr, cn, cf, clo, chi, cmed, cmax;
    if (add(t, "bound", LR_COL_NAME, "the prediction whose shape is fitted", &cb) ||
        add(t, "compressor", LR_COL_NAME, "compressor", &cc) ||
        add(t, "rank_index", LR_COL_INT, "index into compress.rank_offsets", &cr) ||
        add(t, "n", LR_COL_INT, "trials in the fit", &cn) ||
        add(t, "C_fit", LR_COL_REAL, "fitted constant: geometric mean of error / (shape with constant 1)", &cf) ||
        add(t, "C_lo", LR_COL_REAL, "95% t interval of C_fit, low end", &clo) ||
        add(t, "C_hi", LR_COL_REAL, "95% t interval of C_fit, high end", &chi) ||
        add(t, "C_median", LR_COL_REAL, "median of error / shape", &cmed) ||
        add(t, "C_max", LR_COL_REAL, "largest error / shape: the smallest C for which every trial held", &cmax)) {
        lr_table_free(t);
        return LR_ENOMEM;
    }
    double *buf = malloc((run->trials->nrows + 1) * sizeof(double));
    row_groups G = {0};
    if (!buf) {
        lr_table_free(t);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    int status = groups_build(run, &G);
    if (status != LR_OK) {
        free(buf);
        lr_table_free(t);
        return status;
    }
    double row[9];
    for (size_t b = 0; status == LR_OK && b < run->nbounds; b++) {
        const lr_bound *bd = run->bounds[b];
        if (bd->kind != LR_BOUND_PREDICTION) continue;
        /* The column holds the shape times the configured constant; divide it out. */
        double c0 = bd->constant ? bd->constant(&run->bparams) : 1.0;
        if (!(c0 > 0)) c0 = 1.0;
        int vcol = run->col.bound_value[b];
        int ocol = bd->observed == LR_OBS_ERR_WEIGHT ? run->col.err_weight : run->col.err_fro;
        for (size_t c = 0; status == LR_OK && c < run->ncomps; c++)
            for (size_t i = 0; status == LR_OK && i < run->nranks; i++) {
                size_t n = 0;
                double sum = 0.0, sum2 = 0.0;
                for (size_t p = 0; p < run->npoints; p++) {
                    size_t nr;
                    const size_t *rows = group_rows(&G, p, c, i, &nr);
                    for (size_t j = 0; j < nr; j++) {
                        const double *r = lr_table_row(run->trials, rows[j]);
                        double v = r[vcol] / c0, e = r[ocol];
                        if (!(v > 0) || !(e > 0) || !isfinite(v) || !isfinite(e)) continue;
                        double l = log(e / v);
                        buf[n++] = e / v;
                        sum += l;
                        sum2 += l * l;
                    }
                }
                if (n < 2) continue;
                double mean = sum / (double)n, var = (sum2 - (double)n * mean * mean) / (double)(n - 1);
                double half = gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * sqrt(var > 0 ? var : 0.0) / sqrt((double)n);
                lr_sort(buf, n);
                row[cb] = lr_table_dict_index(t, (size_t)cb, bd->name);
                row[cc] = lr_table_dict_index(t, (size_t)cc, run->comps[c]->name);
                row[cr] = (double)i;
                row[cn] = (double)n;
                row[cf] = exp(mean);
                row[clo] = exp(mean - half);
                row[chi] = exp(mean + half);
                row[cmed] = lr_quantile_sorted(buf, n, 0.5);
                row[cmax] = buf[n - 1];
                status = lr_table_append(t, row);
            }
    }
    free(buf);
    groups_free(&G);
    if (status != LR_OK) {
        lr_table_free(t);
        LR_ERROR(LR_ENOMEM, "out of memory summarising /shape");
    }
    *shape = t;
    return LR_OK;
}
