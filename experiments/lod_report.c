/* `lrlab report` and `lrlab plot` for a `lod` results file (experiment lod, lod.c):
 *   recovery problems  per trial the largest sines over b (column and row spaces), the largest
 *                      relative error of W_b and of the singular values, and the verdict
 *                      "every angle below 1e-6"; figures STEM_angles (the largest sine over b
 *                      and both sides against the training step, log y, a curve per trial) and
 *                      STEM_importance (relative importance per component, log y);
 *   planted            per trial the kept rank against the true one, "hits N/N"; figure
 *                      STEM_importance (before the last pruning, with the threshold);
 *   network            per level b the parameter ratio and the test accuracy of LoD, svd_w and
 *                      dd_rank (mean and range over the trials) beside the dense network's;
 *                      figures STEM_accuracy (accuracy against the parameter ratio, log x, the
 *                      dense accuracy dashed) and STEM_importance (a curve per trial and layer). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/h5.h"
#include "lod.h"
#include "plot/gnuplot.h"
#include "run/table.h"

/* The recovery verdict's threshold (THEORY.md section 6: principal angles to 1e-6). */
#define LOD_ANGLE_TOL 1e-6

static int problem_of(const lr_table *T)
{
    int cp = lr_table_col(T, "problem");
    if (cp < 0 || !T->nrows) return -1;
    const char *name = lr_table_name_at(T, 0, (size_t)cp);
    for (int p = 0; p < LOD_NPROBLEMS; p++)
        if (name && !strcmp(name, lod_problem_names[p])) return p;
    return -1;
}

static int is_component(const lr_table *T, size_t i)
{
    const char *k = lr_table_name_at(T, i, (size_t)lr_table_col(T, "row_kind"));
    return k && !strcmp(k, lod_row_names[0]);
}

static int report_recovery(const lr_table *T, int problem, FILE *out)
{
    fprintf(out, "LoD linear recovery, %s inputs%s: sines of the largest principal angles between the trained and the true\n"
                 "nested subspaces (left: column space of V_b, right: of U_b), every b = 1..r\n",
            lod_problem_names[problem], problem == LOD_AUTOENCODER ? " (ordered PCA)" : "");
    fprintf(out, "%6s %6s %4s %12s %12s %12s %12s\n", "point", "trial", "r", "max sin_L", "max sin_R", "max rel_err", "max sv err");
    double all = 0.0;
    size_t ntr = 0, good = 0;
    for (size_t i = 0; i < T->nrows;) {
        double pt = lr_rf_num(T, i, "point"), tr = lr_rf_num(T, i, "trial"), sl = 0, sr = 0, re = 0, se = 0;
        size_t r = 0;
        for (; i < T->nrows && lr_rf_num(T, i, "point") == pt && lr_rf_num(T, i, "trial") == tr; i++) {
            if (!is_component(T, i)) continue;
            r++;
            sl = fmax(sl, lr_rf_num(T, i, "sin_left")), sr = fmax(sr, lr_rf_num(T, i, "sin_right"));
            re = fmax(re, lr_rf_num(T, i, "rel_err"));
            se = fmax(se, fabs(lr_rf_num(T, i, "sv_trained") - lr_rf_num(T, i, "sv_true")) / lr_rf_num(T, i, "sv_true"));
        }
        /* NaN compares false: a NaN angle is never below the threshold */
        double worst = fmax(sl, sr);
        if (isnan(sl) || isnan(sr)) worst = NAN;
        ntr++, good += worst < LOD_ANGLE_TOL;
        all = isnan(worst) || isnan(all) ? NAN : fmax(all, worst);
        fprintf(out, "%6.0f %6.0f %4zu %12.3e %12.3e %12.3e %12.3e\n", pt, tr, r, sl, sr, re, se);
    }
    fprintf(out, "verdict: %s: max sine over every b, side and trial %.3e; %zu/%zu trials below %.0e (%s)\n",
            lod_problem_names[problem], all, good, ntr, LOD_ANGLE_TOL, good == ntr && ntr ? "recovered" : "NOT recovered");
    return LR_OK;
}

static int report_planted(const lr_table *T, FILE *out)
{
    fprintf(out, "LoD planted rank with the hierarchical group lasso and end-of-epoch pruning\n");
    fprintf(out, "%6s %6s %8s %10s %10s  %s\n", "point", "trial", "lambda", "true rank", "kept rank", "relative importance t = 1..");
    size_t n = 0, hits = 0;
    for (size_t i = 0; i < T->nrows;) {
        double pt = lr_rf_num(T, i, "point"), tr = lr_rf_num(T, i, "trial");
        double kept = lr_rf_num(T, i, "rank_kept"), truth = lr_rf_num(T, i, "rank_true");
        fprintf(out, "%6.0f %6.0f %8.3g %10.0f %10.0f ", pt, tr, lr_rf_num(T, i, "lambda"), truth, kept);
        for (; i < T->nrows && lr_rf_num(T, i, "point") == pt && lr_rf_num(T, i, "trial") == tr; i++)
            fprintf(out, " %.2e", lr_rf_num(T, i, "importance"));
        fprintf(out, "\n");
        n++, hits += kept == truth;
    }
    fprintf(out, "verdict: planted rank survives pruning in %zu/%zu trials (%s)\n", hits, n, hits == n && n ? "exact" : "NOT exact");
    return LR_OK;
}

/* ---- problem network ---- */

/* Level rows aggregated per (method, level): the mean parameter ratio and the mean, least and
 * largest accuracy over the trials. */
#define NET_METHODS 4 /* lod, svd_w, dd_rank, dense: lod_network.c's compressor names */
static const char *const net_methods[NET_METHODS] = {"lod", "svd_w", "dd_rank", "dense"};

typedef struct net_agg {
    size_t nlev, ntr;
    double *b;                          /* the levels, in the order of the lod rows */
    double *ratio, *acc, *lo, *hi, *n; /* [method * nlev + level] */
} net_agg;

static void net_agg_free(net_agg *a) { free(a->b), free(a->ratio), free(a->acc), free(a->lo), free(a->hi), free(a->n); }

static int method_of(const lr_table *T, size_t i)
{
    const char *m = lr_table_name_at(T, i, (size_t)lr_table_col(T, "compressor"));
    for (int k = 0; m && k < NET_METHODS; k++)
        if (!strcmp(m, net_methods[k])) return k;
    return -1;
}

static int is_level(const lr_table *T, size_t i)
{
    const char *k = lr_table_name_at(T, i, (size_t)lr_table_col(T, "row_kind"));
    return k && !strcmp(k, lod_row_names[LOD_ROW_LEVEL]);
}

static int net_aggregate(const lr_table *T, net_agg *a)
{
    memset(a, 0, sizeof *a);
    if (lr_table_col(T, "compressor") < 0 || lr_table_col(T, "param_ratio") < 0)
        LR_ERROR(LR_EDATA, "/trials of a lod network file lacks compressor or param_ratio");
    a->b = malloc(T->nrows * sizeof(double));
    if (!a->b) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t i = 0; i < T->nrows; i++) {
        if (!is_level(T, i) || method_of(T, i) != 0) continue;
        double b = lr_rf_num(T, i, "b");
        size_t j = 0;
        while (j < a->nlev && a->b[j] != b) j++;
        if (j == a->nlev) a->b[a->nlev++] = b;
    }
    size_t cells = NET_METHODS * (a->nlev ? a->nlev : 1);
    a->ratio = calloc(cells, sizeof(double)), a->acc = calloc(cells, sizeof(double)), a->n = calloc(cells, sizeof(double));
    a->lo = malloc(cells * sizeof(double)), a->hi = malloc(cells * sizeof(double));
    if (!a->ratio || !a->acc || !a->n || !a->lo || !a->hi) {
        net_agg_free(a);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    for (size_t c = 0; c < cells; c++) a->lo[c] = INFINITY, a->hi[c] = -INFINITY;
    for (size_t i = 0; i < T->nrows; i++) {
        int m = is_level(T, i) ? method_of(T, i) : -1;
        if (m < 0) continue;
        size_t j = 0;
        if (m != 3)
            while (j < a->nlev && a->b[j] != lr_rf_num(T, i, "b")) j++;
        if (j == a->nlev) continue;
        size_t c = (size_t)m * a->nlev + j;
        double acc = lr_rf_num(T, i, "accuracy");
        a->ratio[c] += lr_rf_num(T, i, "param_ratio"), a->acc[c] += acc, a->n[c] += 1;
        a->lo[c] = fmin(a->lo[c], acc), a->hi[c] = fmax(a->hi[c], acc);
        if (m == 3) a->ntr++;
    }
    for (size_t c = 0; c < cells; c++)
        if (a->n[c] > 0) a->ratio[c] /= a->n[c], a->acc[c] /= a->n[c];
        else a->ratio[c] = a->acc[c] = a->lo[c] = a->hi[c] = NAN;
    return LR_OK;
}

static int report_network(const lr_table *T, FILE *out)
{
    net_agg a;
    LR_TRY(net_aggregate(T, &a));
    size_t d = 3 * a.nlev; /* the dense cell */
    fprintf(out, "LoD on a trained MLP against post-training truncation of the dense MLP at the same ranks\n"
                 "(test accuracy, mean [min, max] over %zu trials; parameter ratio: weights / the dense network's)\n",
            a.ntr);
    fprintf(out, "dense network: accuracy %.4f [%.4f, %.4f]\n", a.acc[d], a.lo[d], a.hi[d]);
    fprintf(out, "%6s %11s  %-23s %-23s %-23s\n", "b", "param ratio", "lod", "svd_w", "dd_rank");
    size_t above_w = 0, above_dd = 0;
    for (size_t j = 0; j < a.nlev; j++) {
        fprintf(out, "%6.0f %11.4f ", a.b[j], a.ratio[j]);
        for (int m = 0; m < 3; m++) {
            size_t c = (size_t)m * a.nlev + j;
            fprintf(out, " %.4f [%.4f, %.4f]", a.acc[c], a.lo[c], a.hi[c]);
        }
        fprintf(out, "\n");
        above_w += a.acc[j] > a.acc[a.nlev + j], above_dd += a.acc[j] > a.acc[2 * a.nlev + j];
    }
    fprintf(out, "summary: mean LoD accuracy above svd_w's at %zu of %zu levels, above dd_rank's at %zu of %zu\n", above_w,
            a.nlev, above_dd, a.nlev);
    net_agg_free(&a);
    return LR_OK;
}

int lr_lod_report(const lr_results_file *rf, FILE *out)
{
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "trials", &T));
    int p = problem_of(T), s;
    if (p < 0) s = lr_error(LR_EDATA, __FILE__, __LINE__, "/trials of a lod file has no rows or no problem column");
    else if (lr_table_col(T, "row_kind") < 0) s = lr_error(LR_EDATA, __FILE__, __LINE__, "/trials of a lod file lacks row_kind");
    else s = p == LOD_PLANTED ? report_planted(T, out) : p == LOD_NETWORK ? report_network(T, out) : report_recovery(T, p, out);
    lr_table_free(T);
    return s;
}

/* ---- figures ---- */

static int run_figure(const lr_gp_session *gs, const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log,
                      const char *fig, const char *what, const char *columns, size_t n, const char *problem, double tol,
                      const char *const *strs)
{
    char title[600], dat[64], script[64];
    lr_rf_title(rf, title, sizeof title);
    snprintf(dat, sizeof dat, "%s.dat", fig);
    snprintf(script, sizeof script, "lod_%s", fig);
    lr_plot_style style;
    lr_plot_style_read(rf->config, &style);
    lr_gp_vars own;
    lr_gp_vars_init(&own);
    lr_gp_vars_str(&own, "problem", problem);
    lr_gp_vars_num(&own, "n", "%zu", n);
    lr_gp_vars_num(&own, "tol", "%.17g", tol);
    for (size_t i = 0; strs && strs[i]; i += 2) lr_gp_vars_str(&own, strs[i], strs[i + 1]);
    int status = lr_gp_figure(gs, plots_dir, &style, script, stem, fig, title, (const char *const[]){dat}, 1, what,
                              columns, &own, log);
    lr_gp_vars_free(&own);
    return status;
}

/* One data block per trial (and per layer, when the file has a layer column: problem
 * network) of the rows `want` (1: trace rows, step and sine; 0: component rows, b and
 * importance), blocks separated by two blank lines; *blocks: how many. */
static int write_blocks(const lr_table *T, const lr_gp_session *gs, const char *name, int want, size_t *blocks)
{
    FILE *f = lr_gp_session_fopen(gs, name);
    *blocks = 0;
    for (size_t i = 0; f && i < T->nrows;) {
        double pt = lr_rf_num(T, i, "point"), tr = lr_rf_num(T, i, "trial");
        int any = 0, by_layer = lr_table_col(T, "layer") >= 0;
        double layer = NAN;
        for (; i < T->nrows && lr_rf_num(T, i, "point") == pt && lr_rf_num(T, i, "trial") == tr; i++) {
            if (is_component(T, i) == want || (by_layer && lr_rf_num(T, i, "layer") < 1)) continue;
            if (by_layer && any && lr_rf_num(T, i, "layer") != layer) fprintf(f, "\n\n"), (*blocks)++, any = 0;
            if (by_layer) layer = lr_rf_num(T, i, "layer");
            if (!any++) {
                if (by_layer) fprintf(f, "\"trial %.0f, fc%.0f\"\n", tr, layer);
                else fprintf(f, "\"trial %.0f\"\n", tr);
            }
            double y = want ? lr_rf_num(T, i, "sin_left") : lr_rf_num(T, i, "importance");
            fprintf(f, "%.10g %.10g\n", want ? lr_rf_num(T, i, "step") : lr_rf_num(T, i, "b"), y > 0 ? y : NAN);
        }
        if (any) fprintf(f, "\n\n"), (*blocks)++;
    }
    if (!f || fclose(f) != 0) return lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write %s", gs->dir, name);
    return LR_OK;
}

/* Figure accuracy: one block per method (lod, svd_w, dd_rank: mean parameter ratio, mean,
 * least and largest accuracy per level), then the dense network's (ratio 1). */
static int network_figure(const lr_table *T, const lr_gp_session *gs, const lr_results_file *rf, const char *stem,
                          const char *plots_dir, FILE *log)
{
    net_agg a;
    LR_TRY(net_aggregate(T, &a));
    FILE *f = lr_gp_session_fopen(gs, "accuracy.dat");
    for (int m = 0; f && m < NET_METHODS; m++) {
        fprintf(f, "\"%s\"\n", net_methods[m]);
        for (size_t j = 0; j < (m == 3 ? 1 : a.nlev); j++) {
            size_t c = (size_t)m * a.nlev + j;
            fprintf(f, "%.10g %.10g %.10g %.10g\n", a.ratio[c], a.acc[c], a.lo[c], a.hi[c]);
        }
        fprintf(f, "\n\n");
    }
    char sub[96];
    snprintf(sub, sizeof sub, "%zu trials", a.ntr);
    net_agg_free(&a);
    if (!f || fclose(f) != 0) return lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write accuracy.dat", gs->dir);
    return run_figure(gs, rf, stem, plots_dir, log, "accuracy",
                      "per method (lod, svd_w, dd_rank, then the dense network): mean parameter ratio, mean, least and "
                      "largest test accuracy over the trials at each level b",
                      "param_ratio\taccuracy_mean\taccuracy_min\taccuracy_max", a.ntr, lod_problem_names[LOD_NETWORK], -1.0,
                      (const char *const[]){"subtitle", sub, NULL});
}

int lr_lod_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log)
{
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "trials", &T));
    int p = problem_of(T);
    if (p < 0 || lr_table_col(T, "row_kind") < 0) {
        lr_table_free(T);
        LR_ERROR(LR_EDATA, "/trials of a lod file has no rows or no problem column");
    }
    lr_gp_session gs = {""};
    int status = lr_gp_session_open(&gs);
    if (status != LR_OK) {
        lr_table_free(T);
        return status;
    }
    size_t n = 0;
    if (p == LOD_NETWORK) {
        status = network_figure(T, &gs, rf, stem, plots_dir, log);
    } else if (p != LOD_PLANTED) {
        status = write_blocks(T, &gs, "angles.dat", 1, &n);
        if (status == LR_OK)
            status = run_figure(&gs, rf, stem, plots_dir, log, "angles",
                                "per trial: full-batch step and the largest sine of a principal angle over b and both sides",
                                "step\tsin_max", n, lod_problem_names[p], LOD_ANGLE_TOL, NULL);
    }
    if (status == LR_OK) status = write_blocks(T, &gs, "importance.dat", 0, &n);
    /* problem network: a block per trial and factored layer, coloured by layer */
    char layers[256] = "";
    for (size_t i = 0, len = 0; p == LOD_NETWORK && i < T->nrows && lr_rf_num(T, i, "trial") == lr_rf_num(T, 0, "trial"); i++)
        if (is_component(T, i) && lr_rf_num(T, i, "b") == 1 && len + 16 < sizeof layers)
            len += (size_t)snprintf(layers + len, sizeof layers - len, "%sfc%.0f", len ? " " : "", lr_rf_num(T, i, "layer"));
    if (status == LR_OK)
        status = run_figure(&gs, rf, stem, plots_dir, log, "importance",
                            p == LOD_NETWORK ? "per trial and factored layer: component b and its relative importance "
                                               "||U_{:,b:}||_F ||V_{:,b:}||_F / ||U||_F ||V||_F"
                                             : "per trial: component b and its relative importance ||U_{:,b:}||_F ||V_{:,b:}||_F / ||U||_F ||V||_F",
                            "b\timportance", n, lod_problem_names[p],
                            p == LOD_PLANTED || p == LOD_NETWORK ? lr_rf_num(T, 0, "prune_tol") : -1.0,
                            p == LOD_NETWORK ? (const char *const[]){"layer_names", layers, NULL} : NULL);
    lr_gp_session_close(&gs);
    lr_table_free(T);
    return status;
}
