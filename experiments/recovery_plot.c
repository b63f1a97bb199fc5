/* Figures of a `recovery` results file (the experiment's plot hook, `lrlab plot FILE`).
 *
 * The data go through the gnuplot layer (src/plot/gnuplot.h) to the scripts in plots/
 * (error.gp: error against the swept key, log-log, with the bounds, the prediction and the
 * theory's slope; coverage.gp: how often each bound held, with Wilson intervals, against
 * its nominal level).  Each figure is written as PDF and PNG next to the results file:
 * STEM_error.{pdf,png} for the first target rank, STEM_error_rank1.{pdf,png} and so on for
 * the others, STEM_weight* for the weight error when a bound observes it or plot.weight
 * asks for it, and STEM_coverage.{pdf,png}; each figure's data beside it as STEM_*.tsv.
 * Every curve is drawn in its compressor's colour (lr_gp_compressor_colour), a bound too, so
 * no other compressor's curve seems to cross it; the other swept keys (groups) get point
 * types.  plot.y picks the metric of the error figures (a /points median, or each bound's
 * error / bound); the coverage figure draws each bound's shortfall from its nominal level.
 * Everything a call draws from lives in one `figure` struct: nothing is kept between calls. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "core/error.h"
#include "io/h5.h"
#include "io/results_file.h"
#include "plot/gnuplot.h"
#include "report_plot.h"

#define MAX_AXES 16

typedef struct axis_info {
    char path[256], column[128];
    size_t len;
    double group; /* axes of one zip share a group (results written before zips: their index) */
} axis_info;

static void read_axes(hid_t file, axis_info *ax, size_t *nax)
{
    *nax = 0;
    hid_t g = H5Gopen2(file, "axes", H5P_DEFAULT);
    if (g < 0) return;
    for (size_t a = 0; a < MAX_AXES; a++) {
        char name[32];
        snprintf(name, sizeof name, "%zu", a);
        if (H5Lexists(g, name, H5P_DEFAULT) <= 0) break;
        hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
        char *path = lr_h5_get_attr_str(ds, "path"), *col = lr_h5_get_attr_str(ds, "column");
        hid_t sp = H5Dget_space(ds);
        ax[a].len = (size_t)H5Sget_simple_extent_npoints(sp);
        if (H5Aexists(ds, "group") <= 0 || lr_h5_get_attr_f64(ds, "group", &ax[a].group) != LR_OK)
            ax[a].group = (double)a;
        snprintf(ax[a].path, sizeof ax[a].path, "%s", path ? path : "");
        snprintf(ax[a].column, sizeof ax[a].column, "%s", col ? col : "");
        free(path);
        free(col);
        H5Sclose(sp);
        H5Dclose(ds);
        (*nax)++;
    }
    H5Gclose(g);
}

/* Label of an x axis column, with its unit. */
static const char *axis_label(const char *column)
{
    /* Short enough for a 3.5in figure at 8pt (about 55 characters). */
    if (!strcmp(column, "sigma")) return "noise level σ (standard deviation of G)";
    if (!strcmp(column, "r")) return "true rank r";
    if (!strcmp(column, "m")) return "calibration samples m";
    if (!strcmp(column, "N0")) return "layer inputs N_0";
    if (!strcmp(column, "N1")) return "layer outputs N_1";
    if (!strcmp(column, "lambda_factor")) return "λ / λ_auto  (λ_auto = 2σ(√q + √N1 + t))";
    if (!strcmp(column, "lambda")) return "regularisation weight λ";
    if (!strcmp(column, "signal_tail_alpha")) return "tail exponent α  (σ_{r+i}(M0) ∝ i^-α)";
    if (!strcmp(column, "signal_tail_beta")) return "tail decay rate β  (σ_{r+i}(M0) ∝ e^{-β i})";
    if (!strcmp(column, "signal_tail_level")) return "tail level  (σ_{r+1}(M0) / σ_1(M0))";
    if (!strcmp(column, "annihilate")) return "annihilated part ‖cN‖_F / ‖M*‖_F  (X̃N = 0)";
    if (!strcmp(column, "x_cond")) return "condition number of the inputs X̃";
    if (!strcmp(column, "x_q")) return "rank q of the inputs X̃";
    if (!strcmp(column, "noise_rho")) return "row correlation ρ of the noise";
    return column;
}

/* The plot's keys of the run's resolved config (the text stored in the file), read with
 * one parse; absent keys keep their defaults (empty strings, 0). */
typedef struct plot_keys {
    char x[256], activation[32];
    int weight;
    lr_plot_style style; /* plot.y, the size, font and legend */
} plot_keys;

static plot_keys stored_plot_keys(const char *text)
{
    plot_keys k = {"", "", 0, {"", "", 0, 0, 0}};
    lr_plot_style_read(text, &k.style);
    if (!text) return k;
    config_t cf;
    config_init(&cf);
    if (config_read_string(&cf, text) == CONFIG_TRUE) {
        const char *v = NULL;
        if (config_lookup_string(&cf, "plot.x", &v) == CONFIG_TRUE) snprintf(k.x, sizeof k.x, "%s", v);
        if (config_lookup_string(&cf, "problem.activation", &v) == CONFIG_TRUE)
            snprintf(k.activation, sizeof k.activation, "%s", v);
        if (config_lookup_bool(&cf, "plot.weight", &k.weight) != CONFIG_TRUE) k.weight = 0;
    }
    config_destroy(&cf);
    return k;
}

/* Everything one call draws from. */
typedef struct figure {
    const lr_results_file *rf;
    const lr_table *P, *B;
    const char *stem, *plots;
    axis_info ax[MAX_AXES];
    size_t nax, xaxis;
    const char *xcol, *xfmt, *ylabel;
    char title[512], subtitle[512], xtics[1024];
    lr_plot_style style;
    int logx, by_comp, nranks, want_weight;
    lr_gp_names groups; /* legend groups, in the order the figures meet them */
    lr_gp_names comps;  /* compressors, in the order of /points */
    lr_gp_names marked; /* compressors with their own point type */
    lr_gp_curves meas, det, prob, pred, ref, cov;
    /* The coverage figure's legend: its bounds (point types) and, for the sideways spread
     * of the points at one x, the (rank, group) of each curve in order. */
    lr_gp_names cov_bounds, cov_subs;
    int cov_sub[256];
    lr_gp_session gs;
    lr_gp_vars vars;
} figure;

/* Point type of a compressor: its own symbol, so curves of several compressors in one
 * colour stay apart (svd_w, the data-agnostic one, keeps the open circle). */
static int comp_point_type(figure *f, const char *comp)
{
    static const int types[] = {7, 5, 9, 13, 11, 15, 4, 8};
    if (!strcmp(comp, "svd_w")) return 6;
    for (size_t i = 0; i < f->marked.n; i++)
        if (!strcmp(f->marked.v[i], comp)) return types[i % 8];
    if (f->marked.n >= 16) return types[0];
    int i = lr_gp_names_index(&f->marked, comp);
    return types[(i < 0 ? 0 : i) % 8];
}

/* Point type of group g (the values of the other swept keys), filled symbols first. */
static int group_point_type(int g)
{
    static const int types[] = {7, 5, 9, 13, 11, 15, 6, 4, 8, 12};
    return types[(g < 0 ? 0 : g) % 10];
}

/* Point type of the coverage figure's bound bi. */
static int bound_point_type(int bi)
{
    static const int types[] = {7, 5, 9, 13, 11, 15, 4, 6, 8, 12};
    return types[(bi < 0 ? 0 : bi) % 10];
}

/* A swept column's name in a curve's label: a symbol where the axis label has one, so the
 * legend and the coverage figure's order line fit a 3.5in figure. */
static const char *short_column(const char *column)
{
    static const char *const map[][2] = {{"sigma", "σ"},           {"signal_tail_alpha", "α"},
                                         {"signal_tail_beta", "β"}, {"signal_tail_level", "tail"},
                                         {"lambda_factor", "λ/λ_auto"}, {"lambda", "λ"},
                                         {"noise_rho", "ρ"},        {"annihilate", "annih."}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i][0], column)) return map[i][1];
    return column;
}

/* The group a /points row belongs to: the values of every swept column except x. */
static void group_label(const figure *f, size_t row, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t a = 0; a < f->nax; a++) {
        /* The x axis's zip partners move with it: they do not label curves. */
        if (a == f->xaxis || f->ax[a].len < 2 || (f->xaxis < f->nax && f->ax[a].group == f->ax[f->xaxis].group))
            continue;
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s=%g", used ? ", " : "",
                                 short_column(f->ax[a].column), lr_rf_num(f->P, row, f->ax[a].column));
    }
}

/* Describe target rank `ri` from a /points row: "k = r + 4" when r is a column. */
static void rank_label(const lr_table *P, size_t row, char *buf, size_t len)
{
    double k = lr_rf_num(P, row, "k_target"), r = lr_rf_num(P, row, "r");
    if (!isnan(r)) snprintf(buf, len, "target rank k = r%s%.0f", k - r > 0 ? " + " : "", k - r > 0 ? k - r : 0.0);
    else snprintf(buf, len, "target rank k = %.0f", k);
    if (!isnan(r) && k == r) snprintf(buf, len, "target rank k = r");
    /* Negative rank offsets (k < r, where Theorem 1's bounds do not apply). */
    if (!isnan(r) && k < r) snprintf(buf, len, "target rank k = r - %.0f (k < r: no Theorem 1 bound)", r - k);
}

/* The x axis (plot.x, else the noise level, else the first swept key), the axis style,
 * the colouring and which figures to draw. */
static int figure_setup(figure *f)
{
    read_axes(f->rf->file, f->ax, &f->nax);
    /* A swept seed pooled by report.seeds has no /points column: not an axis of the figures. */
    size_t kept = 0;
    for (size_t a = 0; a < f->nax; a++)
        if (!f->rf->points || lr_table_col(f->rf->points, f->ax[a].column) >= 0) f->ax[kept++] = f->ax[a];
    f->nax = kept;
    f->xaxis = (size_t)-1;
    plot_keys keys = stored_plot_keys(f->rf->config);
    if (keys.x[0]) {
        for (size_t a = 0; a < f->nax; a++)
            if (!strcmp(f->ax[a].path, keys.x) && f->ax[a].len >= 2) f->xaxis = a;
        if (f->xaxis == (size_t)-1)
            LR_ERRORF(LR_EDATA, "plot.x = \"%s\" is not a swept key with two or more values in %s", keys.x,
                      f->rf->path);
    }
    for (size_t a = 0; a < f->nax && f->xaxis == (size_t)-1; a++)
        if (f->ax[a].len >= 2 && !strcmp(f->ax[a].path, "problem.noise.sigma")) f->xaxis = a;
    for (size_t a = 0; a < f->nax && f->xaxis == (size_t)-1; a++)
        if (f->ax[a].len >= 2) f->xaxis = a;
    if (f->xaxis == (size_t)-1)
        LR_ERRORF(LR_EDATA, "%s has no swept key with two or more values to plot against", f->rf->path);
    f->xcol = f->ax[f->xaxis].column;
    const lr_results_file *rf = f->rf;
    snprintf(f->title, sizeof f->title, "%s", rf->name && rf->name[0] ? rf->name : rf->experiment);
    snprintf(f->subtitle, sizeof f->subtitle, "%.0f trials per point", rf->trials);
    f->style = keys.style;
    const lr_table *P = f->P;
    for (size_t i = 0; i < P->nrows; i++)
        if ((int)lr_rf_num(P, i, "rank_index") + 1 > f->nranks) f->nranks = (int)lr_rf_num(P, i, "rank_index") + 1;
    /* Colour by the other swept keys when there are several groups, else by compressor;
     * a log x axis when the swept values span a factor 4 or more (power laws). */
    lr_gp_names all_groups = {0};
    double xmin = INFINITY, xmax = -INFINITY;
    double *xs = malloc((P->nrows ? P->nrows : 1) * sizeof(double));
    if (!xs) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t i = 0; i < P->nrows; i++) {
        char grp[256];
        group_label(f, i, grp, sizeof grp);
        lr_gp_names_index(&all_groups, grp);
        lr_gp_names_index(&f->comps, lr_rf_str(P, i, "compressor"));
        xs[i] = lr_rf_num(P, i, f->xcol);
        xmin = fmin(xmin, xs[i]), xmax = fmax(xmax, xs[i]);
    }
    f->by_comp = all_groups.n <= 1; /* one group: no group point types, no group legend */
    int status = all_groups.status != LR_OK ? all_groups.status : f->comps.status;
    lr_gp_names_free(&all_groups);
    f->logx = xmin > 0 && xmax / xmin >= 4;
    f->xfmt = f->logx && xmax / xmin >= 100 ? "1e%L" : "%g";
    /* Tics at the swept values when there are at most 12 of them: a log axis in base 2
     * would otherwise label 1024 and 2048 beside points at 1000 and 2000. */
    f->xtics[0] = '\0';
    if (f->logx && xmax / xmin < 100) lr_gp_tics(xs, P->nrows, 12, f->xtics, sizeof f->xtics);
    /* Labels that would run into each other at 3.5in (8192 ... 262144): every other one. */
    for (size_t before = strlen(f->xtics); before > 32; before = strlen(f->xtics)) {
        char thin[1024] = "";
        size_t used = 0, i = 0;
        for (char *save = NULL, *w = strtok_r(f->xtics, " ", &save); w; w = strtok_r(NULL, " ", &save), i++)
            if (i % 2 == 0) used += (size_t)snprintf(thin + used, sizeof thin - used, "%s%s", used ? " " : "", w);
        snprintf(f->xtics, sizeof f->xtics, "%s", thin);
        if (strlen(f->xtics) == before || !strchr(f->xtics, ' ')) break; /* one label left */
    }
    free(xs);
    f->ylabel = !strcmp(keys.activation, "relu") ? "error ‖ρ(X̃M) − ρ(Z*)‖_F (calibration)"
                                                  : "error ‖X̃M − Z*‖_F (calibration)";
    /* The weight-error figure when a bound observes the weight error (Theorem 1(d)) or the
     * config asks for it (plot.weight, e.g. dd_vs_da, where the weight error is what grows
     * without bound). */
    f->want_weight = keys.weight;
    for (size_t b = 0; b < f->B->nrows; b++) f->want_weight |= !strcmp(lr_rf_str(f->B, b, "observed"), "err_weight");
    if (status != LR_OK) LR_ERROR(status, "out of memory");
    return LR_OK;
}

/* The curves of point row i's bounds on observable obs (or, with `tight`, each bound's
 * median error / bound and each prediction's RMS ratio), in the compressor's colour, one
 * legend entry per bound; and the coverage of each bound that is not a prediction. */
static void collect_bounds(figure *f, size_t i, const char *obs, int tight, int ri, const char *grp, int g,
                           const char *rlabel)
{
    const lr_table *P = f->P, *B = f->B;
    const char *comp = lr_rf_str(P, i, "compressor");
    int colour = lr_gp_compressor_colour(comp), pt = f->by_comp ? comp_point_type(f, comp) : group_point_type(g);
    double x = lr_rf_num(P, i, f->xcol);
    char key[600], t[600];
    for (size_t b = 0; b < B->nrows; b++) {
        const char *bn = lr_rf_str(B, b, "name"), *kind = lr_rf_str(B, b, "kind");
        if (strcmp(lr_rf_str(B, b, "compressor"), comp) || strcmp(lr_rf_str(B, b, "observed"), obs)) continue;
        int is_pred = !strcmp(kind, "prediction"), always = !strcmp(kind, "always");
        double v = lr_rf_bound(P, i, bn, tight ? (is_pred ? "ratio" : "tight_median") : "median");
        if (v > 0) {
            lr_gp_curves *set = is_pred ? &f->pred : always ? &f->det : &f->prob;
            const char *what = tight ? (is_pred ? "error / prediction" : always ? "error / bound" : "error / bound w.p.")
                                     : (is_pred ? "prediction" : always ? "bound" : "bound w.p.");
            snprintf(key, sizeof key, "%s|%s", bn, grp);
            /* One short legend entry per bound (two columns fit a 3.5in figure): the line
             * style says its kind, the colour its compressor; the groups' curves share it. */
            if (lr_gp_curves_has_prefix(set, bn)) t[0] = '\0';
            else snprintf(t, sizeof t, "%s %s", bn, what);
            lr_gp_curve *c = lr_gp_curves_get(set, key, t, colour, pt);
            if (c) lr_gp_curve_add(set, c, x, v, v, v);
        }
        if (is_pred || tight) continue;
        double coverage = lr_rf_bound(P, i, bn, "coverage"), nominal = lr_rf_bound(P, i, bn, "nominal");
        if (isnan(coverage) || isnan(nominal)) continue;
        /* Legend entries per bound and per compressor, not per curve (18 curves in the
         * benchmark); a curve's (rank, group) is where its points sit at each x. */
        char sub[400];
        snprintf(key, sizeof key, "%s|%s|%s", bn, rlabel + 12, grp);
        /* The rank without rank_label's remark in brackets: the legend line is short. */
        snprintf(sub, sizeof sub, "%.*s%s%s", (int)strcspn(rlabel + 12, "("), rlabel + 12, grp[0] ? ", " : "", grp);
        size_t sl = strlen(sub);
        while (sl && sub[sl - 1] == ' ') sub[--sl] = '\0';
        snprintf(t, sizeof t, "%s: nominal %.3g", bn, nominal);
        int bi = lr_gp_names_index(&f->cov_bounds, t), si = lr_gp_names_index(&f->cov_subs, sub);
        size_t before = f->cov.n;
        lr_gp_curve *c = lr_gp_curves_get(&f->cov, key, "", colour, bound_point_type(bi));
        if (c && f->cov.n > before && before < 256) f->cov_sub[before] = si < 0 ? 0 : si;
        /* The shortfall nominal - coverage; the interval's ends swap. */
        if (c)
            lr_gp_curve_add(&f->cov, c, x, nominal - coverage, nominal - lr_rf_bound(P, i, bn, "coverage_hi"),
                            nominal - lr_rf_bound(P, i, bn, "coverage_lo"));
    }
}

/* The measured curves (median with 10-90% bars) of y metric `obs` at target rank index ri,
 * with the bounds on it (for plot.y = tightness only the bounds' error / bound, on err_fro,
 * or on err_weight for the weight figure); rlabel receives the rank's description. */
static void collect_rank(figure *f, const char *obs, int tight, int ri, char *rlabel, size_t len)
{
    const lr_table *P = f->P;
    char c_med[48], c_q10[48], c_q90[48];
    snprintf(c_med, sizeof c_med, "%s_median", obs);
    snprintf(c_q10, sizeof c_q10, "%s_q10", obs);
    snprintf(c_q90, sizeof c_q90, "%s_q90", obs);
    rlabel[0] = '\0';
    for (size_t i = 0; i < P->nrows; i++) {
        if ((int)lr_rf_num(P, i, "rank_index") != ri) continue;
        if (!rlabel[0]) rank_label(P, i, rlabel, len);
        char grp[256], key[600], t[600];
        group_label(f, i, grp, sizeof grp);
        int g = lr_gp_names_index(&f->groups, grp);
        const char *comp = lr_rf_str(P, i, "compressor");
        lr_gp_names_index(&f->comps, comp);
        double x = lr_rf_num(P, i, f->xcol);
        if (!tight) {
            snprintf(key, sizeof key, "%s|%s", comp, grp);
            /* With groups the legend names compressors (colour) and groups (point type)
             * once each (legend_vars), not every pair. */
            if (f->by_comp) snprintf(t, sizeof t, "%s measured", comp);
            else t[0] = '\0';
            lr_gp_curve *m = lr_gp_curves_get(&f->meas, key, t, lr_gp_compressor_colour(comp),
                                              f->by_comp ? comp_point_type(f, comp) : group_point_type(g));
            /* Results written before /points had err_weight's quantiles, and the metrics
             * /points keeps only the median of: no bars. */
            double med = lr_rf_num(P, i, c_med), q10 = lr_rf_num(P, i, c_q10), q90 = lr_rf_num(P, i, c_q90);
            if (m && med > 0)
                lr_gp_curve_add(&f->meas, m, x, med, isnan(q10) ? med : q10, isnan(q90) ? med : q90);
        }
        collect_bounds(f, i, obs, tight, ri, grp, g, rlabel);
    }
}

/* The theory's exponent from /fits as a reference line, below the first measured curve. */
static void reference_slope(figure *f, int ri)
{
    const lr_table *F = f->rf->fits;
    for (size_t i = 0; i < F->nrows && f->ref.n == 0 && f->meas.n; i++) {
        double th = lr_rf_num(F, i, "theory");
        if (isnan(th) || strcmp(lr_rf_str(F, i, "axis"), f->ax[f->xaxis].path) || lr_rf_num(F, i, "rank_index") != ri)
            continue;
        lr_gp_curve *m0 = &f->meas.c[0];
        lr_gp_curve_sort(m0);
        /* Anchored a factor 3 below the first curve at its right end, where the theory's
         * power law is meant to hold (at small x a bias floor may flatten the curve). */
        double x0 = m0->rows[0], x1 = m0->rows[5 * (m0->n - 1)];
        double y0 = m0->rows[5 * (m0->n - 1) + 1] / 3.0 * pow(x0 / x1, th);
        char t[96];
        snprintf(t, sizeof t, "slope %g (theory)", th);
        lr_gp_curve *r = lr_gp_curves_get(&f->ref, "ref", t, 7, 0);
        if (!r) return;
        lr_gp_curve_add(&f->ref, r, x0, y0, 0, 0);
        lr_gp_curve_add(&f->ref, r, x1, y0 * pow(x1 / x0, th), 0, 0);
    }
}

/* The axis and style variables error.gp and coverage.gp share. */
static void x_vars(figure *f, const char *out_kind, const char *suffix, const char *fmt)
{
    lr_gp_vars *v = &f->vars;
    char out[4200];
    snprintf(out, sizeof out, "%s_%s%s.%s", f->stem, out_kind, suffix, fmt);
    lr_gp_vars_clear(v);
    lr_gp_vars_style(v, &f->style, f->plots);
    lr_gp_vars_str(v, "dir", f->gs.dir);
    lr_gp_vars_str(v, "out", out);
    lr_gp_vars_str(v, "fmt", fmt);
    lr_gp_vars_str(v, "xlab", axis_label(f->xcol));
    lr_gp_vars_num(v, "logx", "%d", f->logx);
    lr_gp_vars_str(v, "xfmt", f->xfmt);
    lr_gp_vars_str(v, "xtl", f->xtics);
}

/* With groups, the legend's entries: each compressor once (its colour) and each group once
 * (its point type), instead of one entry per pair. */
static void legend_vars(figure *f)
{
    lr_gp_vars *v = &f->vars;
    if (f->by_comp || !f->meas.n) return; /* plot.y = tightness: bounds alone, each titled */
    char words[4096] = "", name[32];
    size_t len = 0;
    for (size_t c = 0; c < f->comps.n && len < sizeof words; c++) {
        len += (size_t)snprintf(words + len, sizeof words - len, "%s ",
                                lr_gp_colour(lr_gp_compressor_colour(f->comps.v[c])));
        snprintf(name, sizeof name, "legc%zu", c + 1);
        char t[160];
        snprintf(t, sizeof t, "%s measured", f->comps.v[c]);
        lr_gp_vars_str(v, name, t);
    }
    lr_gp_vars_num(v, "nlegc", "%zu", f->comps.n);
    lr_gp_vars_str(v, "clegc", words);
    len = 0, words[0] = '\0';
    for (size_t g = 0; g < f->groups.n && len < sizeof words; g++) {
        len += (size_t)snprintf(words + len, sizeof words - len, "%d ", group_point_type((int)g));
        snprintf(name, sizeof name, "legg%zu", g + 1);
        lr_gp_vars_str(v, name, f->groups.v[g]);
    }
    lr_gp_vars_num(v, "nlegg", "%zu", f->groups.n);
    lr_gp_vars_str(v, "plegg", words);
}

/* The y metric of plot.y: its /points column stem and the axis label. */
static const char *y_label(const figure *f, const char *obs, int tight)
{
    if (tight) return !strcmp(obs, "err_weight") ? "weight error / bound (medians; ≤ 1: held)"
                                                 : "error / bound (medians; ≤ 1: held)";
    if (!strcmp(obs, "err_weight")) return "weight error ‖M − M*‖_F";
    if (!strcmp(obs, "err_rel")) return "relative error ‖X̃M − Z*‖_F / ‖Z*‖_F";
    if (!strcmp(obs, "err_layer")) return "layer error ‖X̃M − X̃W‖_F (calibration)";
    if (!strcmp(obs, "err_heldout_rel")) return "held-out error ‖X_t(M − M*)‖_F / ‖X_t M*‖_F";
    return f->ylabel;
}

/* STEM_error[_rankI] (or STEM_weight[_rankI]): the plot.y metric (o = 0) or the weight
 * error (o = 1) at target rank index ri, PDF and PNG, and its data as .tsv. */
static int draw_error(figure *f, int o, int ri)
{
    char rlabel[96];
    int tight = !strcmp(f->style.y, "tightness");
    const char *obs = o ? "err_weight" : tight ? "err_fro" : f->style.y;
    collect_rank(f, obs, tight, ri, rlabel, sizeof rlabel);
    if (!strcmp(obs, "err_fro") && !tight) reference_slope(f, ri);
    lr_gp_curves *sets[] = {&f->meas, &f->det, &f->prob, &f->pred, &f->ref};
    const char *files[] = {"measured.dat", "det.dat", "prob.dat", "pred.dat", "ref.dat"};
    int status = f->groups.status != LR_OK ? f->groups.status : f->comps.status;
    if (status != LR_OK) LR_ERROR(status, "out of memory");
    if (!f->meas.n && !f->det.n && !f->prob.n && !f->pred.n)
        LR_ERRORF(LR_EDATA, "%s: nothing to draw for plot.y = %s (no positive %s in /points%s)", f->rf->path,
                  f->style.y, tight ? "error / bound" : obs, tight ? "" : "; err_heldout_rel needs problem.m_test");
    for (size_t s = 0; s < 5 && status == LR_OK; s++) status = lr_gp_curves_write(&f->gs, files[s], sets[s]);
    char suffix[32] = "", subtitle[700], out[4200], what[2048];
    if (ri) snprintf(suffix, sizeof suffix, "_rank%d", ri);
    snprintf(subtitle, sizeof subtitle, "%s; %s", f->subtitle, rlabel);
    snprintf(out, sizeof out, "%s_%s%s.tsv", f->stem, o ? "weight" : "error", suffix);
    snprintf(what, sizeof what, "%s: %s against %s; file: measured (median, lo/hi 10-90%%), det (bound, always), "
             "prob (bound w.p.), pred (prediction), ref (theory slope); colour: palette index",
             subtitle, y_label(f, obs, tight), axis_label(f->xcol));
    if (status == LR_OK)
        status = lr_gp_export_tsv(&f->gs, files, 5, what, "x\ty\tlo\thi\tcolour", out);
    const char *fmts[] = {"pdf", "png"};
    for (size_t k = 0; k < 2 && status == LR_OK; k++) {
        lr_gp_vars *v = &f->vars;
        x_vars(f, o ? "weight" : "error", suffix, fmts[k]);
        lr_gp_vars_str(v, "ylab", y_label(f, obs, tight));
        lr_gp_vars_str(v, "title", f->title);
        lr_gp_vars_str(v, "subtitle", subtitle);
        lr_gp_vars_num(v, "nmeas", "%zu", f->meas.n);
        lr_gp_vars_num(v, "ndet", "%zu", f->det.n);
        lr_gp_vars_num(v, "nprob", "%zu", f->prob.n);
        lr_gp_vars_num(v, "npred", "%zu", f->pred.n);
        lr_gp_vars_num(v, "nref", "%zu", f->ref.n);
        lr_gp_vars_num(v, "yone", "%d", tight);
        lr_gp_vars_curve_words(v, "cmeas", &f->meas, 0);
        lr_gp_vars_curve_words(v, "pmeas", &f->meas, 1);
        lr_gp_vars_curve_words(v, "cdet", &f->det, 0);
        lr_gp_vars_curve_words(v, "cprob", &f->prob, 0);
        lr_gp_vars_curve_words(v, "cpred", &f->pred, 0);
        legend_vars(f);
        status = lr_gp_run(f->plots, "error.gp", v);
    }
    for (size_t s = 0; s < 5; s++) lr_gp_curves_clear(sets[s]);
    return status;
}

/* STEM_coverage: every bound's shortfall from its nominal level against x, with the Wilson
 * interval, and its data as .tsv. */
static int draw_coverage(figure *f)
{
    double ylo = 0, yhi = 0, xmin = INFINITY, xmax = -INFINITY;
    for (size_t i = 0; i < f->cov.n; i++)
        for (size_t j = 0; j < f->cov.c[i].n; j++) {
            const double *r = f->cov.c[i].rows + 5 * j;
            ylo = fmin(ylo, r[2]), yhi = fmax(yhi, r[3]);
            xmin = fmin(xmin, r[0]), xmax = fmax(xmax, r[0]);
        }
    double pad = 0.05 * (yhi - ylo > 0 ? yhi - ylo : 1);
    ylo -= pad, yhi += pad;
    int status = lr_gp_curves_write(&f->gs, "coverage.dat", &f->cov);
    char out[4200], what[2048];
    snprintf(out, sizeof out, "%s_coverage.tsv", f->stem);
    snprintf(what, sizeof what, "%s: per bound, nominal level - fraction of trials it held (y), the Wilson 95%% "
             "interval of that fraction as lo/hi, against %s", f->subtitle, axis_label(f->xcol));
    const char *files[] = {"coverage.dat"};
    if (status == LR_OK) status = lr_gp_export_tsv(&f->gs, files, 1, what, "x\ty\tlo\thi\tcolour", out);
    /* Then spread the points at one x a little sideways by the curve's (rank, group), in
     * the legend's order (the data file keeps the true x), so that curves at the same
     * shortfall do not hide each other's bars; bounds share a slot (point types differ). */
    size_t nsub = f->cov_subs.n;
    for (size_t i = 0; status == LR_OK && i < f->cov.n && i < 256 && nsub > 1 && xmax > xmin; i++) {
        double shift = 0.08 * ((double)f->cov_sub[i] / (double)(nsub - 1) - 0.5);
        for (size_t j = 0; j < f->cov.c[i].n; j++) {
            double *r = f->cov.c[i].rows + 5 * j;
            r[0] = f->logx ? r[0] * pow(xmax / xmin, shift) : r[0] + shift * (xmax - xmin);
        }
    }
    if (status == LR_OK) status = lr_gp_curves_write(&f->gs, "coverage.dat", &f->cov);
    const char *fmts[] = {"pdf", "png"};
    for (size_t k = 0; k < 2 && status == LR_OK; k++) {
        lr_gp_vars *v = &f->vars;
        x_vars(f, "coverage", "", fmts[k]);
        lr_gp_vars_str(v, "title", f->title);
        lr_gp_vars_num(v, "ncov", "%zu", f->cov.n);
        lr_gp_vars_num(v, "ylo", "%g", ylo);
        lr_gp_vars_num(v, "yhi", "%g", yhi);
        char words[2048] = "", name[32], order[1200] = "";
        size_t len = 0;
        for (size_t b = 0; b < f->cov_bounds.n && len < sizeof words; b++) {
            len += (size_t)snprintf(words + len, sizeof words - len, "%d ", bound_point_type((int)b));
            snprintf(name, sizeof name, "legb%zu", b + 1);
            lr_gp_vars_str(v, name, f->cov_bounds.v[b]);
        }
        lr_gp_vars_num(v, "nlegb", "%zu", f->cov_bounds.n);
        lr_gp_vars_str(v, "plegb", words);
        /* The compressors with a bound, each once, in its colour. */
        len = 0, words[0] = '\0';
        size_t nc = 0;
        for (size_t c = 0; c < f->comps.n; c++) {
            int has = 0;
            for (size_t b = 0; b < f->B->nrows; b++)
                has |= !strcmp(lr_rf_str(f->B, b, "compressor"), f->comps.v[c]) &&
                       strcmp(lr_rf_str(f->B, b, "kind"), "prediction");
            if (!has || len >= sizeof words) continue;
            len += (size_t)snprintf(words + len, sizeof words - len, "%s ",
                                    lr_gp_colour(lr_gp_compressor_colour(f->comps.v[c])));
            snprintf(name, sizeof name, "legc%zu", ++nc);
            lr_gp_vars_str(v, name, f->comps.v[c]);
        }
        lr_gp_vars_num(v, "nlegc", "%zu", nc);
        lr_gp_vars_str(v, "clegc", words);
        /* The order of the sideways spread, as the legend's first line. */
        len = 0;
        for (size_t i = 0; nsub > 1 && i < nsub && len < sizeof order; i++)
            len += (size_t)snprintf(order + len, sizeof order - len, "%s%s", i ? " | " : "left to right: ",
                                    f->cov_subs.v[i] + (i && !strncmp(f->cov_subs.v[i], "k = ", 4) ? 4 : 0));
        if (len >= sizeof order) order[0] = '\0';
        lr_gp_vars_str(v, "subtitle", f->subtitle);
        /* Under the title, on two lines when long (a legend entry that wide would make
         * gnuplot drop the legend): cut at the last " | " before 50 characters. */
        char *cut = NULL;
        for (char *p = strstr(order, " | "); p && p - order < 50; p = strstr(p + 1, " | ")) cut = p;
        if (strlen(order) > 50 && cut) {
            *cut = '\0';
            lr_gp_vars_str(v, "subtitle3", cut + 3);
        }
        lr_gp_vars_str(v, "subtitle2", order);
        /* The legend below takes one column of 7pt entries in 3.5in: the plot keeps its
         * height whatever the number of bounds and compressors. */
        if (f->style.height <= 0 && !strcmp(f->style.legend, "below"))
            lr_gp_vars_num(v, "dph", "%g", 2.5 + 0.125 * (double)(2 + nc + f->cov_bounds.n));
        lr_gp_vars_curve_words(v, "ccov", &f->cov, 0);
        lr_gp_vars_curve_words(v, "pcov", &f->cov, 1);
        status = lr_gp_run(f->plots, "coverage.gp", v);
    }
    return status;
}

static void figure_free(figure *f)
{
    lr_gp_curves *sets[] = {&f->meas, &f->det, &f->prob, &f->pred, &f->ref, &f->cov};
    for (size_t s = 0; s < 6; s++) lr_gp_curves_free(sets[s]);
    lr_gp_names_free(&f->groups);
    lr_gp_names_free(&f->comps);
    lr_gp_names_free(&f->marked);
    lr_gp_names_free(&f->cov_bounds);
    lr_gp_names_free(&f->cov_subs);
    lr_gp_vars_free(&f->vars);
    lr_gp_session_close(&f->gs);
    free(f);
}

int lr_recovery_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log)
{
    figure *f = calloc(1, sizeof *f);
    if (!f) LR_ERROR(LR_ENOMEM, "out of memory");
    f->rf = rf, f->P = rf->points, f->B = rf->bounds, f->stem = stem, f->plots = plots_dir;
    int status = figure_setup(f);
    if (status == LR_OK) status = lr_gp_session_open(&f->gs);
    for (int o = 0; status == LR_OK && o < 1 + f->want_weight; o++)
        for (int ri = 0; status == LR_OK && ri < f->nranks; ri++) status = draw_error(f, o, ri);
    size_t ncov = f->cov.n;
    if (status == LR_OK && ncov) status = draw_coverage(f);
    if (status == LR_OK && log)
        fprintf(log, "lrlab: wrote %s_error.pdf and .png%s%s%s%s\n", stem,
                f->nranks > 1 ? " (and _error_rankI for further ranks)" : "",
                f->want_weight ? ", _weight.pdf and .png" : "", ncov ? ", " : "", ncov ? "_coverage.pdf and .png" : "");
    if (status == LR_OK && log) fprintf(log, "lrlab: wrote each figure's data as %s_*.tsv\n", stem);
    figure_free(f);
    return status;
}
