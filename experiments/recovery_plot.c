/* Figures of a `recovery` results file (the experiment's plot hook, `lrlab plot FILE`).
 *
 * The data go through the gnuplot layer (src/plot/gnuplot.h) to the scripts in plots/
 * (error.gp: error against the swept key, log-log, with the bounds, the prediction and the
 * theory's slope; coverage.gp: how often each bound held, with Wilson intervals, against
 * its nominal level).  Each figure is written as PDF and PNG next to the results file:
 * STEM_error.{pdf,png} for the first target rank, STEM_error_rank1.{pdf,png} and so on for
 * the others, STEM_weight* for the weight error when a bound observes it or plot.weight
 * asks for it, and STEM_coverage.{pdf,png}.  Everything a call draws from lives in one
 * `figure` struct: nothing is kept between calls. */
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
    if (!strcmp(column, "sigma")) return "noise level σ (standard deviation of the noise G)";
    if (!strcmp(column, "r")) return "true rank r";
    if (!strcmp(column, "m")) return "calibration samples m";
    if (!strcmp(column, "N0")) return "layer inputs N_0";
    if (!strcmp(column, "N1")) return "layer outputs N_1";
    if (!strcmp(column, "lambda_factor")) return "λ / λ_auto  (λ_auto = 2σ(√q + √N1 + t), the level Theorem 2(b) needs)";
    if (!strcmp(column, "lambda")) return "regularisation weight λ";
    if (!strcmp(column, "signal_tail_alpha")) return "tail exponent α  (σ_{r+i}(M0) ∝ i^-α)";
    if (!strcmp(column, "signal_tail_beta")) return "tail decay rate β  (σ_{r+i}(M0) ∝ e^{-β i})";
    if (!strcmp(column, "signal_tail_level")) return "tail level  (σ_{r+1}(M0) / σ_1(M0))";
    if (!strcmp(column, "annihilate")) return "annihilated component ||c N||_F / ||M*||_F  (X~ N = 0)";
    if (!strcmp(column, "x_cond")) return "condition number of the inputs X~";
    if (!strcmp(column, "x_q")) return "rank q of the inputs X~";
    if (!strcmp(column, "noise_rho")) return "row correlation ρ of the noise";
    return column;
}

/* The plot's keys of the run's resolved config (the text stored in the file), read with
 * one parse; absent keys keep their defaults (empty strings, 0). */
typedef struct plot_keys {
    char x[256], activation[32];
    int weight;
} plot_keys;

static plot_keys stored_plot_keys(const char *text)
{
    plot_keys k = {"", "", 0};
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
    char title[512], xtics[1024];
    int logx, by_comp, nranks, want_weight;
    lr_gp_names groups; /* legend groups, in the order the figures meet them */
    lr_gp_names comps;  /* compressors, in the order of /points */
    lr_gp_names marked; /* compressors with their own point type */
    lr_gp_curves meas, det, prob, pred, ref, cov, nom;
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
                                 f->ax[a].column, lr_rf_num(f->P, row, f->ax[a].column));
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
    snprintf(f->title, sizeof f->title, "%s%s%s, %.0f trials per point", rf->experiment,
             rf->name && rf->name[0] ? ": " : "", rf->name ? rf->name : "", rf->trials);
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
    f->by_comp = all_groups.n <= 1;
    int status = all_groups.status != LR_OK ? all_groups.status : f->comps.status;
    lr_gp_names_free(&all_groups);
    f->logx = xmin > 0 && xmax / xmin >= 4;
    f->xfmt = f->logx && xmax / xmin >= 100 ? "1e%L" : "%g";
    /* Tics at the swept values when there are at most 12 of them: a log axis in base 2
     * would otherwise label 1024 and 2048 beside points at 1000 and 2000. */
    f->xtics[0] = '\0';
    if (f->logx && xmax / xmin < 100) lr_gp_tics(xs, P->nrows, 12, f->xtics, sizeof f->xtics);
    free(xs);
    f->ylabel = !strcmp(keys.activation, "relu")
                    ? "post-activation error ||ρ(X~ M) - ρ(Z*)||_F (calibration samples)"
                    : "error ||X~ M - Z*||_F (pre-activation space, calibration samples)";
    /* The weight-error figure when a bound observes the weight error (Theorem 1(d)) or the
     * config asks for it (plot.weight, e.g. dd_vs_da, where the weight error is what grows
     * without bound). */
    f->want_weight = keys.weight;
    for (size_t b = 0; b < f->B->nrows; b++) f->want_weight |= !strcmp(lr_rf_str(f->B, b, "observed"), "err_weight");
    if (status != LR_OK) LR_ERROR(status, "out of memory");
    return LR_OK;
}

/* The curves of point row i's bounds on observable obs: their values, and the coverage
 * and nominal level of each bound that is not a prediction. */
static void collect_bounds(figure *f, size_t i, const char *obs, int ri, const char *grp, int g, int colour,
                           const char *rlabel)
{
    const lr_table *P = f->P, *B = f->B;
    const char *comp = lr_rf_str(P, i, "compressor");
    double x = lr_rf_num(P, i, f->xcol);
    char key[600], t[600];
    for (size_t b = 0; b < B->nrows; b++) {
        const char *bn = lr_rf_str(B, b, "name"), *kind = lr_rf_str(B, b, "kind");
        if (strcmp(lr_rf_str(B, b, "compressor"), comp) || strcmp(lr_rf_str(B, b, "observed"), obs)) continue;
        double v = lr_rf_bound(P, i, bn, "median");
        int is_pred = !strcmp(kind, "prediction"), always = !strcmp(kind, "always");
        if (v > 0) {
            lr_gp_curves *set = is_pred ? &f->pred : always ? &f->det : &f->prob;
            const char *what = is_pred ? "prediction (RMS)" : always ? "bound (always)" : "bound (w.p.)";
            snprintf(key, sizeof key, "%s|%s", bn, grp);
            /* With several groups a bound's curves take their group's colour, and one legend
             * entry per bound says so (the measured entries name the groups): 8 groups x 3
             * bounds would otherwise add 24 entries. */
            if (!grp[0]) snprintf(t, sizeof t, "%s %s", bn, what);
            else if (lr_gp_curves_has_prefix(set, bn)) t[0] = '\0';
            else snprintf(t, sizeof t, "%s %s, in the colour of its group", bn, what);
            lr_gp_curve *c = lr_gp_curves_get(set, key, t, colour, 0);
            if (c) lr_gp_curve_add(set, c, x, v, v, v);
        }
        if (is_pred) continue;
        double coverage = lr_rf_bound(P, i, bn, "coverage");
        if (isnan(coverage)) continue;
        snprintf(key, sizeof key, "%s|%d|%s", bn, ri, grp);
        snprintf(t, sizeof t, "%s measured%s%s, %s", bn, grp[0] ? ", " : "", grp, rlabel + 12);
        lr_gp_curve *c = lr_gp_curves_get(&f->cov, key, t, (f->by_comp ? (int)b : g) + 3 * ri, 5 + 2 * (int)b);
        if (c)
            lr_gp_curve_add(&f->cov, c, x, coverage, lr_rf_bound(P, i, bn, "coverage_lo"),
                            lr_rf_bound(P, i, bn, "coverage_hi"));
        snprintf(t, sizeof t, "%s nominal level (%s)", bn, kind);
        lr_gp_curve *n = lr_gp_curves_get(&f->nom, bn, t, 7, 0);
        int have = 0;
        for (size_t z = 0; n && z < n->n; z++) have |= n->rows[5 * z] == x;
        if (n && !have) lr_gp_curve_add(&f->nom, n, x, lr_rf_bound(P, i, bn, "nominal"), 0, 0);
    }
}

/* The measured curves (median with 10-90% bars) of observable obs at target rank index ri,
 * with the bounds on it; rlabel receives the rank's description. */
static void collect_rank(figure *f, const char *obs, int ri, char *rlabel, size_t len)
{
    const lr_table *P = f->P;
    char c_med[32], c_q10[32], c_q90[32];
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
        double x = lr_rf_num(P, i, f->xcol);
        int ci = lr_gp_names_index(&f->comps, comp), colour = f->by_comp ? ci : g;
        snprintf(key, sizeof key, "%s|%s", comp, grp);
        snprintf(t, sizeof t, "%s%s%s: measured median, 10-90%%", comp, grp[0] ? ", " : "", grp);
        lr_gp_curve *m = lr_gp_curves_get(&f->meas, key, t, colour, comp_point_type(f, comp));
        /* Results written before /points had err_weight's quantiles: no bars. */
        double med = lr_rf_num(P, i, c_med), q10 = lr_rf_num(P, i, c_q10), q90 = lr_rf_num(P, i, c_q90);
        if (m) lr_gp_curve_add(&f->meas, m, x, med, isnan(q10) ? med : q10, isnan(q90) ? med : q90);
        collect_bounds(f, i, obs, ri, grp, g, colour, rlabel);
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
        snprintf(t, sizeof t, "reference slope %g (theory)", th);
        lr_gp_curve *r = lr_gp_curves_get(&f->ref, "ref", t, 7, 0);
        if (!r) return;
        lr_gp_curve_add(&f->ref, r, x0, y0, 0, 0);
        lr_gp_curve_add(&f->ref, r, x1, y0 * pow(x1 / x0, th), 0, 0);
    }
}

/* The axis variables error.gp and coverage.gp share. */
static void x_vars(figure *f, const char *out_kind, const char *suffix, const char *fmt)
{
    lr_gp_vars *v = &f->vars;
    char out[4200];
    snprintf(out, sizeof out, "%s_%s%s.%s", f->stem, out_kind, suffix, fmt);
    lr_gp_vars_clear(v);
    lr_gp_vars_str(v, "dir", f->gs.dir);
    lr_gp_vars_str(v, "out", out);
    lr_gp_vars_str(v, "fmt", fmt);
    lr_gp_vars_str(v, "xlab", axis_label(f->xcol));
    lr_gp_vars_num(v, "logx", "%d", f->logx);
    lr_gp_vars_str(v, "xfmt", f->xfmt);
    lr_gp_vars_str(v, "xtl", f->xtics);
}

/* STEM_error[_rankI] (or STEM_weight[_rankI]): observable o (0 err_fro, 1 err_weight) at
 * target rank index ri, PDF and PNG. */
static int draw_error(figure *f, int o, int ri)
{
    char rlabel[96];
    collect_rank(f, o ? "err_weight" : "err_fro", ri, rlabel, sizeof rlabel);
    if (!o) reference_slope(f, ri);
    lr_gp_curves *sets[] = {&f->meas, &f->det, &f->prob, &f->pred, &f->ref};
    const char *files[] = {"measured.dat", "det.dat", "prob.dat", "pred.dat", "ref.dat"};
    int status = f->groups.status != LR_OK ? f->groups.status : f->comps.status;
    if (status != LR_OK) LR_ERROR(status, "out of memory");
    for (size_t s = 0; s < 5 && status == LR_OK; s++) status = lr_gp_curves_write(&f->gs, files[s], sets[s]);
    char suffix[32] = "", title[700];
    if (ri) snprintf(suffix, sizeof suffix, "_rank%d", ri);
    snprintf(title, sizeof title, "%s; %s", f->title, rlabel);
    const char *fmts[] = {"pdf", "png"};
    for (size_t k = 0; k < 2 && status == LR_OK; k++) {
        lr_gp_vars *v = &f->vars;
        x_vars(f, o ? "weight" : "error", suffix, fmts[k]);
        lr_gp_vars_str(v, "ylab", o ? "weight error ||M - M*||_F" : f->ylabel);
        lr_gp_vars_str(v, "title", title);
        lr_gp_vars_num(v, "nmeas", "%zu", f->meas.n);
        lr_gp_vars_num(v, "ndet", "%zu", f->det.n);
        lr_gp_vars_num(v, "nprob", "%zu", f->prob.n);
        lr_gp_vars_num(v, "npred", "%zu", f->pred.n);
        lr_gp_vars_num(v, "nref", "%zu", f->ref.n);
        lr_gp_vars_curve_words(v, "cmeas", &f->meas, 0);
        lr_gp_vars_curve_words(v, "pmeas", &f->meas, 1);
        lr_gp_vars_curve_words(v, "cdet", &f->det, 0);
        lr_gp_vars_curve_words(v, "cprob", &f->prob, 0);
        lr_gp_vars_curve_words(v, "cpred", &f->pred, 0);
        status = lr_gp_run(f->plots, "error.gp", v);
    }
    for (size_t s = 0; s < 5; s++) lr_gp_curves_clear(sets[s]);
    return status;
}

/* STEM_coverage: every bound's coverage against x, with its nominal level. */
static int draw_coverage(figure *f)
{
    double ylo = 1.0;
    for (size_t i = 0; i < f->nom.n; i++)
        for (size_t j = 0; j < f->nom.c[i].n; j++) ylo = fmin(ylo, f->nom.c[i].rows[5 * j + 1]);
    for (size_t i = 0; i < f->cov.n; i++)
        for (size_t j = 0; j < f->cov.c[i].n; j++) ylo = fmin(ylo, f->cov.c[i].rows[5 * j + 2]);
    ylo = fmax(0.0, floor((ylo - 0.05) * 20) / 20);
    int status = lr_gp_curves_write(&f->gs, "coverage.dat", &f->cov);
    if (status == LR_OK) status = lr_gp_curves_write(&f->gs, "nominal.dat", &f->nom);
    const char *fmts[] = {"pdf", "png"};
    for (size_t k = 0; k < 2 && status == LR_OK; k++) {
        lr_gp_vars *v = &f->vars;
        x_vars(f, "coverage", "", fmts[k]);
        lr_gp_vars_str(v, "title", f->title);
        lr_gp_vars_num(v, "ncov", "%zu", f->cov.n);
        lr_gp_vars_num(v, "nnom", "%zu", f->nom.n);
        lr_gp_vars_num(v, "ylo", "%g", ylo);
        lr_gp_vars_curve_words(v, "ccov", &f->cov, 0);
        lr_gp_vars_curve_words(v, "pcov", &f->cov, 1);
        status = lr_gp_run(f->plots, "coverage.gp", v);
    }
    return status;
}

static void figure_free(figure *f)
{
    lr_gp_curves *sets[] = {&f->meas, &f->det, &f->prob, &f->pred, &f->ref, &f->cov, &f->nom};
    for (size_t s = 0; s < 7; s++) lr_gp_curves_free(sets[s]);
    lr_gp_names_free(&f->groups);
    lr_gp_names_free(&f->comps);
    lr_gp_names_free(&f->marked);
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
    figure_free(f);
    return status;
}
