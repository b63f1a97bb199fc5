/* `lrlab report` and `lrlab plot` for an `lq` results file (experiment lq, lq.c):
 *   vectors  per distribution (or dump layer): rows checked, lq_l1 and lq_l2 held, median
 *            and largest tightness; figure STEM_tightness: median tightness against k
 *            (log-log), l1 solid and l2 dashed;
 *   network  per activation: trials, lq_degrade held, median and largest tightness (and
 *            the first step's, B sum_j |a_j| ||w_j - w^_j||_1); figure STEM_degrade:
 *            the measured output change against the bound (log-log, with y = x);
 *   prune    per sweep point and method, the network rows (round, kept %, accuracy, with
 *            or without retraining) and the 1-point-loss levels; figures STEM_accuracy (accuracy against percent of weights kept,
 *            log x) and STEM_si (mean SI_q per layer across the adaptive rule's rounds). */
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/h5.h"
#include "lq.h"
#include "plot/gnuplot.h"

static int part_of(const lr_table *T)
{
    /* By name: a file's dictionaries hold the names its rows use, in their own order. */
    int cp = lr_table_col(T, "part");
    if (cp < 0 || !T->nrows) return -1;
    const char *name = lr_table_name_at(T, 0, (size_t)cp);
    for (int p = 0; p < 3; p++)
        if (name && !strcmp(name, lq_part_names[p])) return p;
    return -1;
}

/* The group of a row in the vectors part: its distribution, or its dump layer. */
static const char *vector_group(const lr_table *T, size_t i, int cd, int cl)
{
    /* A dump's rows have no distribution (an empty name cell): their group is the layer. */
    const double *r = lr_table_row(T, i);
    const char *d = r[cd] >= 0 ? lr_table_name_at(T, i, (size_t)cd) : NULL;
    if (d && d[0]) return d;
    const char *l = r[cl] >= 0 ? lr_table_name_at(T, i, (size_t)cl) : NULL;
    return l && l[0] ? l : "?";
}

/* Median and max of column col over the rows selected (values NaN skipped). */
static void median_max(const lr_table *T, const unsigned char *sel, int col, double *buf, double *med, double *mx)
{
    size_t n = 0;
    for (size_t i = 0; i < T->nrows; i++) {
        double v = lr_table_row(T, i)[col];
        if (sel[i] && !isnan(v)) buf[n++] = v;
    }
    *med = *mx = NAN;
    if (!n) return;
    gsl_sort(buf, 1, n);
    *med = gsl_stats_median_from_sorted_data(buf, 1, n);
    *mx = buf[n - 1];
}

static void held_count(const lr_table *T, const unsigned char *sel, int col, size_t *held, size_t *checked)
{
    *held = *checked = 0;
    for (size_t i = 0; col >= 0 && i < T->nrows; i++) {
        double h = lr_table_row(T, i)[col];
        if (sel[i] && h >= 0) (*checked)++, *held += h > 0;
    }
}

/* The distinct names of a group function over the rows, in first-seen order (at most cap). */
static size_t groups_of(const lr_table *T, const char *(*group)(const lr_table *, size_t, int, int), int a, int b,
                        const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < T->nrows; i++) {
        const char *g = group(T, i, a, b);
        size_t k = 0;
        while (k < n && strcmp(out[k], g)) k++;
        if (k == n && n < cap) out[n++] = g;
    }
    return n;
}

static const char *act_group(const lr_table *T, size_t i, int ca, int unused)
{
    (void)unused;
    return lr_table_name_at(T, i, (size_t)ca);
}

static int report_vectors(const lr_table *T, FILE *out, double *buf, unsigned char *sel)
{
    int cd = lr_table_col(T, "dist"), cl = lr_table_col(T, "layer"), h1 = lr_table_col(T, "lq_l1_held"),
        h2 = lr_table_col(T, "lq_l2_held"), t1 = lr_table_col(T, "tight_l1"), t2 = lr_table_col(T, "tight_l2"),
        cs = lr_table_col(T, "si_q");
    if (cd < 0 || cl < 0 || h1 < 0 || h2 < 0 || t1 < 0 || t2 < 0 || cs < 0) LR_ERROR(LR_EDATA, "/trials lacks the lq vectors columns");
    const char *g[64];
    size_t ng = groups_of(T, vector_group, cd, cl, g, 64);
    fprintf(out, "truncation bounds ||w - w_[k]||_1 <= ||w||_q k^{1-1/q} (lq_l1), ||w - w_[k]||_2 <= ||w||_q k^{1/2-1/q} (lq_l2)\n");
    fprintf(out, "%-16s %9s %15s %15s %11s %11s %11s %11s %9s\n", "vectors", "rows", "lq_l1 held", "lq_l2 held",
            "med tight1", "max tight1", "med tight2", "max tight2", "med SI_q");
    size_t all[4] = {0};
    for (size_t k = 0; k < ng; k++) {
        for (size_t i = 0; i < T->nrows; i++) sel[i] = !strcmp(vector_group(T, i, cd, cl), g[k]);
        size_t a1, c1, a2, c2, rows = 0;
        for (size_t i = 0; i < T->nrows; i++) rows += sel[i];
        held_count(T, sel, h1, &a1, &c1);
        held_count(T, sel, h2, &a2, &c2);
        double m1, x1, m2, x2, ms, xs;
        median_max(T, sel, t1, buf, &m1, &x1);
        median_max(T, sel, t2, buf, &m2, &x2);
        median_max(T, sel, cs, buf, &ms, &xs);
        char s1[32], s2[32];
        snprintf(s1, sizeof s1, "%zu/%zu", a1, c1);
        snprintf(s2, sizeof s2, "%zu/%zu", a2, c2);
        fprintf(out, "%-16s %9zu %15s %15s %11.4g %11.4g %11.4g %11.4g %9.4g\n", g[k], rows, s1, s2, m1, x1, m2, x2, ms);
        all[0] += a1, all[1] += c1, all[2] += a2, all[3] += c2;
    }
    fprintf(out, "all: lq_l1 held %zu/%zu, lq_l2 held %zu/%zu (rows with k > d are not applicable)\n", all[0], all[1],
            all[2], all[3]);
    return LR_OK;
}

static int report_network(const lr_table *T, FILE *out, double *buf, unsigned char *sel)
{
    int ca = lr_table_col(T, "act"), ch = lr_table_col(T, "lq_degrade_held"), ct = lr_table_col(T, "tight_degrade"),
        cb = lr_table_col(T, "lq_degrade"), cn = lr_table_col(T, "out_linear");
    if (ca < 0 || ch < 0 || ct < 0 || cb < 0 || cn < 0) LR_ERROR(LR_EDATA, "/trials lacks the lq network columns");
    const char *g[2];
    size_t ng = groups_of(T, act_group, ca, 0, g, 2), all[2] = {0};
    fprintf(out, "degradation bound sup_x |f - f^| <= B sum_j |a_j| ||w_j||_q k_j^{1-1/q} (lq_degrade)\n");
    fprintf(out, "%-6s %8s %13s %12s %12s %16s\n", "sigma", "rows", "held", "med tight", "max tight", "med linear/bound");
    for (size_t k = 0; k < ng; k++) {
        for (size_t i = 0; i < T->nrows; i++) sel[i] = !strcmp(act_group(T, i, ca, 0), g[k]);
        size_t a, c, n = 0;
        held_count(T, sel, ch, &a, &c);
        double m, x, ml = NAN;
        median_max(T, sel, ct, buf, &m, &x);
        for (size_t i = 0; i < T->nrows; i++)
            if (sel[i]) buf[n++] = lr_table_row(T, i)[cn] / lr_table_row(T, i)[cb];
        if (n) gsl_sort(buf, 1, n), ml = gsl_stats_median_from_sorted_data(buf, 1, n);
        char s[32];
        snprintf(s, sizeof s, "%zu/%zu", a, c);
        fprintf(out, "%-6s %8zu %13s %12.4g %12.4g %16.4g\n", g[k], n, s, m, x, ml);
        all[0] += a, all[1] += c;
    }
    fprintf(out, "all: lq_degrade held %zu/%zu\n", all[0], all[1]);
    return LR_OK;
}

/* The kept % at which a method's curve (its network rows of one point, round by round)
 * first falls more than 1 point of accuracy below the dense network, and the last kept %
 * before that (NAN: never, then *last is the smallest kept %). */
static double one_point_loss(const lr_table *T, int cc, int cl, int cp, size_t m, double p, double dense, double *last)
{
    *last = NAN;
    for (size_t i = 0; i < T->nrows; i++) {
        const double *r = lr_table_row(T, i);
        if (r[cl] >= 0 || (size_t)r[cc] != m || r[cp] != p) continue;
        double kept = 100 * lr_rf_num(T, i, "kept_frac");
        if (lr_rf_num(T, i, "accuracy") < dense - 0.01) return kept;
        *last = kept;
    }
    return NAN;
}

static int report_prune(const lr_results_file *rf, const lr_table *T, FILE *out)
{
    int cc = lr_table_col(T, "compressor"), cl = lr_table_col(T, "layer_index"), cp = lr_table_col(T, "point");
    if (cc < 0 || cl < 0 || cp < 0) LR_ERROR(LR_EDATA, "/trials lacks the lq prune columns");
    double acc = NAN, epochs = NAN;
    lr_h5_get_attr_f64(rf->file, "accuracy_dense", &acc);
    if (H5Aexists(rf->file, "retrain_epochs") > 0) lr_h5_get_attr_f64(rf->file, "retrain_epochs", &epochs);
    if (isnan(epochs))
        fprintf(out, "pruning WITHOUT retraining (train.epochs = 0: the dump's weights); dense accuracy %.4f\n", acc);
    else
        fprintf(out, "pruning WITH retraining (%g epochs per round after rewinding to the initialisation); dense "
                     "accuracy %.4f\n", epochs, acc);
    fprintf(out, "%6s %6s %6s %-9s %5s %10s %9s\n", "point", "q", "c", "method", "round", "kept %", "accuracy");
    size_t npoints = 0;
    for (size_t i = 0; i < T->nrows; i++) {
        const double *r = lr_table_row(T, i);
        if ((size_t)r[cp] + 1 > npoints) npoints = (size_t)r[cp] + 1;
        if (r[cl] >= 0) continue;
        fprintf(out, "%6.0f %6.3g %6.3g %-9s %5.0f %10.4g %9.4f\n", r[cp], lr_rf_num(T, i, "q_lq"), lr_rf_num(T, i, "prune_c"),
                lr_table_name_at(T, i, (size_t)cc), lr_rf_num(T, i, "round"), 100 * lr_rf_num(T, i, "kept_frac"),
                lr_rf_num(T, i, "accuracy"));
    }
    fprintf(out, "\n1-point loss: the weights kept (%%) at which each method first loses more than 1 point of accuracy "
                 "against the dense %.4f, and the last level within 1 point\n", acc);
    fprintf(out, "%6s %6s %6s %-9s %14s %16s\n", "point", "q", "c", "method", "first > 1 pt", "last within 1 pt");
    for (size_t p = 0; p < npoints; p++)
        for (size_t m = 0; m < T->cols[cc].ndict; m++) {
            size_t i0 = T->nrows;
            for (size_t i = 0; i < T->nrows && i0 == T->nrows; i++)
                if ((size_t)lr_table_row(T, i)[cp] == p && (size_t)lr_table_row(T, i)[cc] == m) i0 = i;
            if (i0 == T->nrows) continue;
            double last, first = one_point_loss(T, cc, cl, cp, m, (double)p, acc, &last);
            char fs[32];
            if (isnan(first)) snprintf(fs, sizeof fs, "never");
            else snprintf(fs, sizeof fs, "%.4g", first);
            fprintf(out, "%6zu %6.3g %6.3g %-9s %14s %16.4g\n", p, lr_rf_num(T, i0, "q_lq"), lr_rf_num(T, i0, "prune_c"),
                    T->cols[cc].dict[m], fs, last);
        }
    return LR_OK;
}

int lr_lq_report(const lr_results_file *rf, FILE *out)
{
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "trials", &T));
    double *buf = malloc((T->nrows + 1) * sizeof(double));
    unsigned char *sel = malloc(T->nrows + 1);
    int s = buf && sel ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    int part = part_of(T);
    if (s == LR_OK) {
        if (part == LQ_VECTORS) s = report_vectors(T, out, buf, sel);
        else if (part == LQ_NETWORK) s = report_network(T, out, buf, sel);
        else if (part == LQ_PRUNE) s = report_prune(rf, T, out);
        else s = lr_error(LR_EDATA, __FILE__, __LINE__, "/trials of an lq file has no rows or no part column");
    }
    free(buf), free(sel);
    lr_table_free(T);
    return s;
}

/* ---- figures ---- */

static int run_figure(const lr_gp_session *gs, const lr_results_file *rf, const char *stem, const char *plots_dir,
                      FILE *log, const char *fig, const char *dat, const char *what, const char *columns,
                      const char *names, size_t n, size_t n2, const char *subtitle)
{
    char title[600], script[64];
    lr_rf_title(rf, title, sizeof title);
    snprintf(script, sizeof script, "lq_%s", fig);
    lr_plot_style style;
    lr_plot_style_read(rf->config, &style);
    lr_gp_vars own;
    lr_gp_vars_init(&own);
    lr_gp_vars_str(&own, "names", names);
    lr_gp_vars_str(&own, "subtitle", subtitle);
    lr_gp_vars_num(&own, "n", "%zu", n);
    lr_gp_vars_num(&own, "n2", "%zu", n2);
    int status = lr_gp_figure(gs, plots_dir, &style, script, stem, fig, title, (const char *const[]){dat}, 1, what,
                              columns, &own, log);
    lr_gp_vars_free(&own);
    return status;
}

static void append_name(char *names, size_t cap, const char *name)
{
    /* gnuplot's word() splits on blanks: names go in with blanks replaced */
    size_t at = strlen(names);
    for (const char *p = name; *p && at + 2 < cap; p++) names[at++] = *p == ' ' ? '_' : *p;
    if (at + 1 < cap) names[at++] = ' ';
    names[at] = 0;
}

/* tightness.dat: per group a block "k median_tight_l1 median_tight_l2". */
static int plot_vectors(const lr_table *T, const lr_gp_session *gs, char *names, size_t cap, size_t *ng_out)
{
    int cd = lr_table_col(T, "dist"), cl = lr_table_col(T, "layer"), ck = lr_table_col(T, "k_kept"),
        t1 = lr_table_col(T, "tight_l1"), t2 = lr_table_col(T, "tight_l2");
    if (cd < 0 || cl < 0 || ck < 0 || t1 < 0 || t2 < 0) LR_ERROR(LR_EDATA, "/trials lacks the lq vectors columns");
    const char *g[64];
    size_t ng = groups_of(T, vector_group, cd, cl, g, 64);
    double *b1 = malloc((T->nrows + 1) * sizeof(double)), *b2 = malloc((T->nrows + 1) * sizeof(double));
    FILE *f = b1 && b2 ? lr_gp_session_fopen(gs, "tightness.dat") : NULL;
    for (size_t k = 0; f && k < ng; k++) {
        append_name(names, cap, g[k]);
        fprintf(f, "\"%s\"\n", g[k]);
        double kmax = 0;
        for (size_t i = 0; i < T->nrows; i++) kmax = fmax(kmax, lr_table_row(T, i)[ck]);
        for (double kk = 1; kk <= kmax; kk++) {
            size_t n1 = 0, n2 = 0;
            for (size_t i = 0; i < T->nrows; i++) {
                const double *r = lr_table_row(T, i);
                if (r[ck] != kk || strcmp(vector_group(T, i, cd, cl), g[k])) continue;
                if (!isnan(r[t1])) b1[n1++] = r[t1];
                if (!isnan(r[t2])) b2[n2++] = r[t2];
            }
            if (!n1 || !n2) continue;
            gsl_sort(b1, 1, n1), gsl_sort(b2, 1, n2);
            fprintf(f, "%.0f %.10g %.10g\n", kk, gsl_stats_median_from_sorted_data(b1, 1, n1),
                    gsl_stats_median_from_sorted_data(b2, 1, n2));
        }
        fprintf(f, "\n\n");
    }
    int s = f && fclose(f) == 0 ? LR_OK : lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write tightness.dat", gs->dir);
    free(b1), free(b2);
    *ng_out = ng;
    return s;
}

/* degrade.dat: per activation a block "bound out_change". */
static int plot_network(const lr_table *T, const lr_gp_session *gs, char *names, size_t cap, size_t *ng_out)
{
    int ca = lr_table_col(T, "act"), cb = lr_table_col(T, "lq_degrade"), co = lr_table_col(T, "out_change"),
        cn = lr_table_col(T, "out_linear");
    if (ca < 0 || cb < 0 || co < 0 || cn < 0) LR_ERROR(LR_EDATA, "/trials lacks the lq network columns");
    const char *g[2];
    size_t ng = groups_of(T, act_group, ca, 0, g, 2);
    FILE *f = lr_gp_session_fopen(gs, "degrade.dat");
    for (size_t k = 0; f && k < ng; k++) {
        append_name(names, cap, g[k]);
        fprintf(f, "\"%s\"\n", g[k]);
        for (size_t i = 0; i < T->nrows; i++)
            if (!strcmp(act_group(T, i, ca, 0), g[k]))
                fprintf(f, "%.10g %.10g %.10g\n", lr_table_row(T, i)[cb], lr_table_row(T, i)[co], lr_table_row(T, i)[cn]);
        fprintf(f, "\n\n");
    }
    *ng_out = ng;
    return f && fclose(f) == 0 ? LR_OK : lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write degrade.dat", gs->dir);
}

/* accuracy.dat: per method at point 0 a block "kept% accuracy"; si.dat: per layer a block
 * "round mean SI_q" of the adaptive rule at point 0. */
static int plot_prune(const lr_table *T, const lr_gp_session *gs, double acc_dense, char *names, size_t cap, size_t *nm_out,
                      char *lnames, size_t lcap, size_t *nl_out)
{
    int cc = lr_table_col(T, "compressor"), cl = lr_table_col(T, "layer_index"), cp = lr_table_col(T, "point"),
        cy = lr_table_col(T, "layer");
    if (cc < 0 || cl < 0 || cp < 0 || cy < 0) LR_ERROR(LR_EDATA, "/trials lacks the lq prune columns");
    size_t nm = T->cols[cc].ndict, nl = 0, npoints = 0, blocks = 0;
    for (size_t i = 0; i < T->nrows; i++)
        if ((size_t)lr_table_row(T, i)[cp] + 1 > npoints) npoints = (size_t)lr_table_row(T, i)[cp] + 1;
    /* The adaptive rule at every sweep point (the q x c ablation), the magnitude baselines
     * at the first (imp does not depend on q or c; oneshot aims at the first point's
     * adaptive kept fractions). */
    FILE *f = lr_gp_session_fopen(gs, "accuracy.dat");
    for (size_t m = 0; f && m < nm; m++) {
        int adaptive = !strcmp(T->cols[cc].dict[m], "adaptive");
        for (size_t p = 0; p < (adaptive ? npoints : 1); p++) {
            char label[160];
            snprintf(label, sizeof label, "%s", T->cols[cc].dict[m]);
            fprintf(f, "\"%s\"\n", label);
            for (size_t i = 0; i < T->nrows; i++) {
                const double *r = lr_table_row(T, i);
                if (r[cl] >= 0 || (size_t)r[cc] != m || (size_t)r[cp] != p) continue;
                if (r[lr_table_col(T, "round")] == 0 && adaptive)
                    snprintf(label, sizeof label, "%s_q=%g_c=%g", T->cols[cc].dict[m], lr_rf_num(T, i, "q_lq"),
                             lr_rf_num(T, i, "prune_c"));
                fprintf(f, "%.10g %.10g\n", 100 * lr_rf_num(T, i, "kept_frac"), lr_rf_num(T, i, "accuracy"));
            }
            append_name(names, cap, label);
            fprintf(f, "\n\n");
            blocks++;
        }
    }
    /* the dense network, a horizontal line across the figure's range */
    if (f) {
        double lo = 100;
        for (size_t i = 0; i < T->nrows; i++)
            if (lr_table_row(T, i)[cl] < 0) lo = fmin(lo, 100 * lr_rf_num(T, i, "kept_frac"));
        fprintf(f, "\"dense\"\n%.10g %.10g\n100 %.10g\n\n\n", lo, acc_dense, acc_dense);
        append_name(names, cap, "dense");
        blocks++;
    }
    if (!f || fclose(f) != 0) return lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write accuracy.dat", gs->dir);
    for (size_t i = 0; i < T->nrows; i++)
        if (lr_table_row(T, i)[cl] + 1 > (double)nl) nl = (size_t)lr_table_row(T, i)[cl] + 1;
    size_t adaptive = nm;
    for (size_t m = 0; m < nm; m++)
        if (!strcmp(T->cols[cc].dict[m], "adaptive")) adaptive = m;
    f = lr_gp_session_fopen(gs, "si.dat");
    for (size_t l = 0; f && l < nl; l++) {
        int named = 0;
        fprintf(f, "\"%zu\"\n", l);
        for (size_t i = 0; i < T->nrows; i++) {
            const double *r = lr_table_row(T, i);
            if (r[cl] != (double)l || (size_t)r[cc] != adaptive || r[cp] != 0) continue;
            if (!named++) append_name(lnames, lcap, lr_table_name_at(T, i, (size_t)cy));
            fprintf(f, "%.0f %.10g\n", lr_rf_num(T, i, "round"), lr_rf_num(T, i, "si_q_mean"));
        }
        if (!named) append_name(lnames, lcap, "?");
        fprintf(f, "\n\n");
    }
    *nm_out = blocks, *nl_out = adaptive < nm ? nl : 0;
    return f && fclose(f) == 0 ? LR_OK : lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write si.dat", gs->dir);
}

int lr_lq_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log)
{
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "trials", &T));
    lr_gp_session gs = {""};
    int status = lr_gp_session_open(&gs);
    if (status != LR_OK) {
        lr_table_free(T);
        return status;
    }
    char names[4096] = "", lnames[4096] = "";
    size_t n = 0, n2 = 0;
    switch (part_of(T)) {
    case LQ_VECTORS:
        status = plot_vectors(T, &gs, names, sizeof names, &n);
        if (status == LR_OK) status = run_figure(&gs, rf, stem, plots_dir, log, "tightness", "tightness.dat",
                                       "per distribution or dump layer: the median tightness of lq_l1 and lq_l2 at each kept count k",
                                       "k\ttight_l1\ttight_l2", names, n, 0, "");
        break;
    case LQ_NETWORK:
        status = plot_network(T, &gs, names, sizeof names, &n);
        if (status == LR_OK) status = run_figure(&gs, rf, stem, plots_dir, log, "degrade", "degrade.dat",
                                       "per activation and trial: the bound lq_degrade, the measured output change and the bound's first step",
                                       "lq_degrade\tout_change\tout_linear", names, n, 0, "");
        break;
    case LQ_PRUNE: {
        double acc = NAN;
        lr_h5_get_attr_f64(rf->file, "accuracy_dense", &acc);
        const char *sub = H5Aexists(rf->file, "retrain_epochs") > 0 ? "rewound, retrained" : "no retraining";
        status = plot_prune(T, &gs, acc, names, sizeof names, &n, lnames, sizeof lnames, &n2);
        if (status == LR_OK) status = run_figure(&gs, rf, stem, plots_dir, log, "accuracy", "accuracy.dat",
                                       "per pruning method (and low-rank truncation; last block: the dense network): "
                                       "weights kept (%; low rank: factor parameters) and test accuracy, round by round",
                                       "kept_percent\taccuracy", names, n, 1, sub);
        if (status == LR_OK && n2) status = run_figure(&gs, rf, stem, plots_dir, log, "si", "si.dat",
                                       "per layer: the adaptive rule's round and its neurons' mean SI_q over the survivors",
                                       "round\tsi_q_mean", lnames, n2, 0, sub);
        break;
    }
    default: status = lr_error(LR_EDATA, __FILE__, __LINE__, "/trials of an lq file has no rows or no part column");
    }
    lr_gp_session_close(&gs);
    lr_table_free(T);
    return status;
}
