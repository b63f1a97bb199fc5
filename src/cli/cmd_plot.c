/* `lrlab plot FILE`: figures from a results file, through gnuplot.
 *
 * The data are written as plain-text blocks to a temporary directory and drawn by the
 * scripts in plots/ (error.gp: error against the swept key, log-log, with the bounds,
 * the prediction and the theory's slope; coverage.gp: how often each bound held, with
 * Wilson intervals, against its nominal level).  Each figure is written as PDF and PNG
 * next to the results file: results/NAME_error.{pdf,png} for the first target rank,
 * NAME_error_rank1.{pdf,png} and so on for the others, and NAME_coverage.{pdf,png}. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/results_file.h"
#include "core/error.h"
#include "io/h5.h"
#include "lrlab_config.h"

#include <libconfig.h>

#define MAX_AXES 16

int lr_plot_real_layers(const lr_results_file *rf, const char *stem, const char *plots);

typedef struct axis_info {
    char path[256], column[128];
    size_t len;
} axis_info;

static int read_axes(hid_t file, axis_info *ax, size_t *nax)
{
    *nax = 0;
    hid_t g = H5Gopen2(file, "axes", H5P_DEFAULT);
    if (g < 0) return LR_OK;
    for (size_t a = 0; a < MAX_AXES; a++) {
        char name[32];
        snprintf(name, sizeof name, "%zu", a);
        if (H5Lexists(g, name, H5P_DEFAULT) <= 0) break;
        hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
        char *path = lr_h5_get_attr_str(ds, "path"), *col = lr_h5_get_attr_str(ds, "column");
        hid_t sp = H5Dget_space(ds);
        ax[a].len = (size_t)H5Sget_simple_extent_npoints(sp);
        snprintf(ax[a].path, sizeof ax[a].path, "%s", path ? path : "");
        snprintf(ax[a].column, sizeof ax[a].column, "%s", col ? col : "");
        free(path);
        free(col);
        H5Sclose(sp);
        H5Dclose(ds);
        (*nax)++;
    }
    H5Gclose(g);
    return LR_OK;
}

static const char *find_plots_dir(void)
{
    static char buf[4096];
    const char *env = getenv("LRLAB_PLOTS_DIR");
    const char *cands[] = {env, LR_SRC_PLOTS_DIR, LR_DATA_PLOTS_DIR};
    for (size_t i = 0; i < 3; i++) {
        if (!cands[i]) continue;
        snprintf(buf, sizeof buf, "%s/error.gp", cands[i]);
        if (access(buf, R_OK) == 0) return cands[i];
    }
    return NULL;
}

/* Label of an x axis column, with its unit. */
static const char *axis_label(const char *column)
{
    if (!strcmp(column, "sigma")) return "noise level σ (standard deviation of the noise G)";
    if (!strcmp(column, "r")) return "true rank r";
    if (!strcmp(column, "m")) return "calibration samples m";
    if (!strcmp(column, "N0")) return "layer inputs N_0";
    if (!strcmp(column, "N1")) return "layer outputs N_1";
    /* issue 3 */
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

/* Point type of a compressor: its own symbol, so curves of several compressors in one
 * colour stay apart (svd_w, the data-agnostic one, keeps the open circle). */
static int comp_point_type(const char *comp)
{
    static const char *seen[16];
    static const int types[] = {7, 5, 9, 13, 11, 15, 4, 8};
    if (!strcmp(comp, "svd_w")) return 6;
    size_t i;
    for (i = 0; i < 16 && seen[i]; i++)
        if (!strcmp(seen[i], comp)) return types[i % 8];
    if (i < 16) seen[i] = comp;
    return types[i % 8];
}

/* The group a /points row belongs to: the values of every swept column except x. */
static void group_label(const lr_table *P, size_t row, const axis_info *ax, size_t nax,
                        size_t xaxis, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t a = 0; a < nax; a++) {
        if (a == xaxis || ax[a].len < 2) continue;
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s=%g",
                                 used ? ", " : "", ax[a].column, lr_rf_num(P, row, ax[a].column));
    }
}

typedef struct curve_key {
    char key[512];
} curve_key;

/* Index of key in keys (appending it if new). */
static size_t key_index(curve_key *keys, size_t *n, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(keys[i].key, key)) return i;
    snprintf(keys[*n].key, sizeof keys[*n].key, "%s", key);
    return (*n)++;
}

static int cmp_x(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* The swept values as a space-separated list, for tic marks at the values themselves
 * (error.gp, coverage.gp), when `wanted` and there are at most 12 of them: a log axis in
 * base 2 would otherwise label 1024 and 2048 beside points at 1000 and 2000.  Empty
 * otherwise (gnuplot's own tics).  Plain numbers: the list travels inside the double
 * quotes of gnuplot's -e argument. */
static void swept_tics(const lr_table *P, const char *xcol, int wanted, char *out, size_t cap)
{
    double xs[12];
    size_t n = 0;
    out[0] = '\0';
    if (!wanted) return;
    for (size_t i = 0; i < P->nrows; i++) {
        double x = lr_rf_num(P, i, xcol);
        size_t j = 0;
        while (j < n && xs[j] != x) j++;
        if (j < n) continue;
        if (n == 12) return;
        xs[n++] = x;
    }
    qsort(xs, n, sizeof xs[0], cmp_x);
    size_t len = 0;
    for (size_t j = 0; j < n && len < cap; j++)
        len += (size_t)snprintf(out + len, cap - len, "%s%g", j ? " " : "", xs[j]);
    if (len >= cap) out[0] = '\0';
}

/* Write one block per curve: rows (x, y, lo, hi, colour) sorted by x. */
typedef struct block {
    char title[512];
    double *rows; /* 5 per row */
    size_t n;
    int colour;
} block;

static int write_blocks(const char *path, block *b, size_t nb)
{
    FILE *f = fopen(path, "w");
    if (!f) LR_ERRORF(LR_EIO, "%s: cannot create: %s", path, strerror(errno));
    for (size_t i = 0; i < nb; i++) {
        qsort(b[i].rows, b[i].n, 5 * sizeof(double), cmp_x);
        fprintf(f, "\"%s\" y lo hi colour\n", b[i].title);
        for (size_t j = 0; j < b[i].n; j++) {
            const double *r = b[i].rows + 5 * j;
            fprintf(f, "%.10g %.10g %.10g %.10g %d\n", r[0], r[1], r[2], r[3], b[i].colour);
        }
        fprintf(f, "\n\n");
    }
    fclose(f);
    return LR_OK;
}

static void block_add(block *b, double x, double y, double lo, double hi)
{
    double *r = realloc(b->rows, (b->n + 1) * 5 * sizeof(double));
    if (!r) return;
    b->rows = r;
    r += 5 * b->n;
    r[0] = x, r[1] = y, r[2] = lo, r[3] = hi, r[4] = b->colour;
    b->n++;
}

static void blocks_free(block *b, size_t n)
{
    for (size_t i = 0; i < n; i++) free(b[i].rows);
}

/* Run gnuplot on a script with variables set by -e; its output goes into the error
 * message when it fails. */
int lr_cli_gnuplot(const char *script, const char *vars)
{
    char cmd[32768];
    snprintf(cmd, sizeof cmd, "'%s' -e \"%s\" '%s' 2>&1", LR_GNUPLOT, vars, script);
    if (getenv("LRLAB_DEBUG_PLOT")) fprintf(stderr, "%s\n", cmd);
    FILE *p = popen(cmd, "r");
    if (!p) LR_ERRORF(LR_EIO, "cannot run gnuplot (%s)", LR_GNUPLOT);
    char line[1024], out[4096] = "";
    while (fgets(line, sizeof line, p))
        if (strlen(out) + strlen(line) < sizeof out) strcat(out, line);
    if (pclose(p) != 0)
        LR_ERRORF(LR_EIO, "gnuplot failed on %s: %s", script, out[0] ? out : "(no output)");
    return LR_OK;
}

#define MAX_CURVES 256

static const char *const palette[] = {"#1b62a5", "#d1495b", "#2a9d55", "#e09f3e",
                                      "#7b4fa3", "#00798c", "#8c564b", "#555555"};

typedef struct curve_set {
    block b[MAX_CURVES];
    curve_key k[MAX_CURVES];
    int point_type[MAX_CURVES];
    size_t n;
} curve_set;

/* The curve for `key` (created with title, colour and point type if new), or NULL when
 * there are too many curves to draw legibly. */
static block *curve_for(curve_set *s, const char *key, const char *title, int colour, int pt)
{
    size_t before = s->n;
    if (s->n >= MAX_CURVES - 1) return NULL;
    size_t i = key_index(s->k, &s->n, key);
    if (s->n > before) {
        memset(&s->b[i], 0, sizeof s->b[i]);
        snprintf(s->b[i].title, sizeof s->b[i].title, "%s", title);
        s->b[i].colour = colour;
        s->point_type[i] = pt;
    }
    return &s->b[i];
}

/* Whether s already has a curve whose key is "name|...". */
static int has_prefix_key(const curve_set *s, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < s->n; i++)
        if (!strncmp(s->k[i].key, name, n) && s->k[i].key[n] == '|') return 1;
    return 0;
}

static void set_free(curve_set *s)
{
    blocks_free(s->b, s->n);
    s->n = 0;
}

/* "c1 c2 ..." (colours) or "p1 p2 ..." (point types) for gnuplot's word(). */
static void words(const curve_set *s, int points, char *buf, size_t len)
{
    size_t used = 0;
    /* gnuplot parses an empty loop's style too, so give it a word to parse. */
    snprintf(buf, len, "%s", points ? "1" : "#000000");
    for (size_t i = 0; i < s->n && used < len; i++)
        used += (size_t)(points ? snprintf(buf + used, len - used, "%d ", s->point_type[i])
                                : snprintf(buf + used, len - used, "%s ", palette[s->b[i].colour % 8]));
}

static int write_set(const char *dir, const char *name, curve_set *s)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return write_blocks(path, s->b, s->n);
}

static curve_set meas, det, prob, pred, ref, cov, nom;

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

int lr_cmd_plot(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: lrlab plot FILE\n\nDraw FILE's figures with gnuplot, as PDF and PNG "
                   "next to it:\n  NAME_error.*        error against the swept key (log-log) with "
                   "bounds, prediction\n                      and theory slope, first target rank "
                   "(NAME_error_rankI.* for the others)\n  NAME_coverage.*     how often each "
                   "bound held (Wilson 95%%) against its nominal level\n  NAME_weight.*       the weight "
                   "error ||M - M*||_F, when a bound observes it or plot.weight = true\n");
        return argc < 2 ? 2 : 0;
    }
    const char *plots = find_plots_dir();
    if (!plots) {
        fprintf(stderr, "lrlab: cannot find the gnuplot scripts (plots/error.gp); set LRLAB_PLOTS_DIR\n");
        return 1;
    }
    lr_results_file rf;
    if (lr_results_open(argv[1], &rf) != LR_OK) return lr_cli_fail();
    if (rf.experiment && !strcmp(rf.experiment, "real_layers")) {
        char rstem[4096];
        snprintf(rstem, sizeof rstem, "%s", argv[1]);
        char *rdot = strrchr(rstem, '.');
        if (rdot && !strchr(rdot, '/')) *rdot = '\0';
        int rs = lr_plot_real_layers(&rf, rstem, plots);
        lr_results_close(&rf);
        return rs;
    }
    axis_info ax[MAX_AXES];
    size_t nax = 0, xaxis = (size_t)-1;
    read_axes(rf.file, ax, &nax);
    plot_keys keys = stored_plot_keys(rf.config);
    const char *want = keys.x, *relu = keys.activation;
    if (want[0]) {
        for (size_t a = 0; a < nax; a++)
            if (!strcmp(ax[a].path, want) && ax[a].len >= 2) xaxis = a;
        if (xaxis == (size_t)-1) {
            fprintf(stderr, "lrlab: plot.x = \"%s\" is not a swept key with two or more values in %s\n", want, argv[1]);
            lr_results_close(&rf);
            return 1;
        }
    }
    for (size_t a = 0; a < nax && xaxis == (size_t)-1; a++)
        if (ax[a].len >= 2 && !strcmp(ax[a].path, "problem.noise.sigma")) xaxis = a;
    for (size_t a = 0; a < nax && xaxis == (size_t)-1; a++)
        if (ax[a].len >= 2) xaxis = a;
    if (xaxis == (size_t)-1) {
        fprintf(stderr, "lrlab: %s has no swept key with two or more values to plot against\n", argv[1]);
        lr_results_close(&rf);
        return 1;
    }
    const char *xcol = ax[xaxis].column;
    const lr_table *P = rf.points, *B = rf.bounds;
    char stem[4096];
    snprintf(stem, sizeof stem, "%s", argv[1]);
    char *dot = strrchr(stem, '.');
    if (dot && !strchr(dot, '/')) *dot = '\0';
    char tmpdir[] = "/tmp/lrlab-plot-XXXXXX";
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "lrlab: cannot create a temporary directory: %s\n", strerror(errno));
        lr_results_close(&rf);
        return 1;
    }
    char title[512];
    snprintf(title, sizeof title, "%s%s%s, %.0f trials per point", rf.experiment,
             rf.name && rf.name[0] ? ": " : "", rf.name ? rf.name : "", rf.trials);
    const char *fmts[] = {"pdf", "png"};
    const char *files[] = {"measured.dat", "det.dat", "prob.dat", "pred.dat", "ref.dat",
                           "coverage.dat", "nominal.dat"};
    static curve_key groups[MAX_CURVES];
    size_t ngroups = 0;
    int status = LR_OK, nranks = 0;
    for (size_t i = 0; i < P->nrows; i++)
        if ((int)lr_rf_num(P, i, "rank_index") + 1 > nranks) nranks = (int)lr_rf_num(P, i, "rank_index") + 1;
    /* Colour by the other swept keys when there are several groups, else by compressor;
     * a log x axis when the swept values span a factor 4 or more (power laws). */
    static curve_key comps[MAX_CURVES];
    size_t ncomps_seen = 0, ngroups_all = 0;
    double xmin = INFINITY, xmax = -INFINITY;
    for (size_t i = 0; i < P->nrows; i++) {
        char grp[256];
        group_label(P, i, ax, nax, xaxis, grp, sizeof grp);
        key_index(groups, &ngroups_all, grp);
        key_index(comps, &ncomps_seen, lr_rf_str(P, i, "compressor"));
        double x = lr_rf_num(P, i, xcol);
        xmin = fmin(xmin, x), xmax = fmax(xmax, x);
    }
    ngroups = 0;
    int by_comp = ngroups_all <= 1;
    int logx = xmin > 0 && xmax / xmin >= 4;
    const char *xfmt = logx && xmax / xmin >= 100 ? "1e%L" : "%g";
    char xtics[1024];
    swept_tics(P, xcol, logx && xmax / xmin < 100, xtics, sizeof xtics);
    const char *ylabel = !strcmp(relu, "relu")
                             ? "post-activation error ||ρ(X~ M) - ρ(Z*)||_F (calibration samples)"
                             : "error ||X~ M - Z*||_F (pre-activation space, calibration samples)";

    /* The error figure, and the weight-error figure when a bound observes the weight error
     * (Theorem 1(d)) or the config asks for it (plot.weight, e.g. dd_vs_da, where the
     * weight error is what grows without bound). */
    int want_weight = keys.weight;
    for (size_t b = 0; b < B->nrows; b++) want_weight |= !strcmp(lr_rf_str(B, b, "observed"), "err_weight");
    for (int o = 0; o < 1 + want_weight && status == LR_OK; o++) {
        const char *obs = o ? "err_weight" : "err_fro";
        char c_med[32], c_q10[32], c_q90[32];
        snprintf(c_med, sizeof c_med, "%s_median", obs);
        snprintf(c_q10, sizeof c_q10, "%s_q10", obs);
        snprintf(c_q90, sizeof c_q90, "%s_q90", obs);
        const char *ylab = o ? "weight error ||M - M*||_F" : ylabel;
        for (int ri = 0; ri < nranks && status == LR_OK; ri++) {
            char rlabel[96] = "";
            for (size_t i = 0; i < P->nrows; i++) {
                if ((int)lr_rf_num(P, i, "rank_index") != ri) continue;
                if (!rlabel[0]) rank_label(P, i, rlabel, sizeof rlabel);
                char grp[256], key[600], t[600];
                group_label(P, i, ax, nax, xaxis, grp, sizeof grp);
                int g = (int)key_index(groups, &ngroups, grp);
                const char *comp = lr_rf_str(P, i, "compressor");
                double x = lr_rf_num(P, i, xcol);
                int ci = (int)key_index(comps, &ncomps_seen, comp), colour = by_comp ? ci : g;
                snprintf(key, sizeof key, "%s|%s", comp, grp);
                snprintf(t, sizeof t, "%s%s%s: measured median, 10-90%%", comp, grp[0] ? ", " : "", grp);
                block *m = curve_for(&meas, key, t, colour, comp_point_type(comp));
                /* Results written before /points had err_weight's quantiles: no bars. */
                double med = lr_rf_num(P, i, c_med), q10 = lr_rf_num(P, i, c_q10), q90 = lr_rf_num(P, i, c_q90);
                if (m) block_add(m, x, med, isnan(q10) ? med : q10, isnan(q90) ? med : q90);
                for (size_t b = 0; b < B->nrows; b++) {
                    const char *bn = lr_rf_str(B, b, "name"), *kind = lr_rf_str(B, b, "kind");
                    if (strcmp(lr_rf_str(B, b, "compressor"), comp) || strcmp(lr_rf_str(B, b, "observed"), obs))
                        continue;
                    double v = lr_rf_bound(P, i, bn, "median");
                    int is_pred = !strcmp(kind, "prediction"), always = !strcmp(kind, "always");
                    if (v > 0) {
                        curve_set *set = is_pred ? &pred : always ? &det : &prob;
                        const char *what = is_pred ? "prediction (RMS)" : always ? "bound (always)" : "bound (w.p.)";
                        snprintf(key, sizeof key, "%s|%s", bn, grp);
                        /* With several groups a bound's curves take their group's colour, and
                         * one legend entry per bound says so (the measured entries name the
                         * groups): 8 groups x 3 bounds would otherwise add 24 entries. */
                        if (!grp[0]) snprintf(t, sizeof t, "%s %s", bn, what);
                        else if (has_prefix_key(set, bn)) t[0] = '\0';
                        else snprintf(t, sizeof t, "%s %s, in the colour of its group", bn, what);
                        block *c = curve_for(set, key, t, colour, 0);
                        if (c) block_add(c, x, v, v, v);
                    }
                    if (is_pred) continue;
                    double coverage = lr_rf_bound(P, i, bn, "coverage");
                    if (isnan(coverage)) continue;
                    snprintf(key, sizeof key, "%s|%d|%s", bn, ri, grp);
                    snprintf(t, sizeof t, "%s measured%s%s, %s", bn, grp[0] ? ", " : "", grp, rlabel + 12);
                    block *c = curve_for(&cov, key, t, (by_comp ? (int)b : g) + 3 * ri, 5 + 2 * (int)b);
                    if (c)
                        block_add(c, x, coverage, lr_rf_bound(P, i, bn, "coverage_lo"),
                                  lr_rf_bound(P, i, bn, "coverage_hi"));
                    snprintf(t, sizeof t, "%s nominal level (%s)", bn, kind);
                    block *n = curve_for(&nom, bn, t, 7, 0);
                    int have = 0;
                    for (size_t z = 0; n && z < n->n; z++) have |= n->rows[5 * z] == x;
                    if (n && !have) block_add(n, x, lr_rf_bound(P, i, bn, "nominal"), 0, 0);
                }
            }
            /* Reference slope from /fits: the theory's exponent, below the first curve. */
            for (size_t i = 0; !o && i < rf.fits->nrows && ref.n == 0 && meas.n; i++) {
                double th = lr_rf_num(rf.fits, i, "theory");
                if (isnan(th) || strcmp(lr_rf_str(rf.fits, i, "axis"), ax[xaxis].path) ||
                    lr_rf_num(rf.fits, i, "rank_index") != ri)
                    continue;
                block *m0 = &meas.b[0];
                qsort(m0->rows, m0->n, 5 * sizeof(double), cmp_x);
                /* Anchored a factor 3 below the first curve at its right end, where the theory's
                 * power law is meant to hold (at small x a bias floor may flatten the curve). */
                double x0 = m0->rows[0], x1 = m0->rows[5 * (m0->n - 1)];
                double y0 = m0->rows[5 * (m0->n - 1) + 1] / 3.0 * pow(x0 / x1, th);
                char t[96];
                snprintf(t, sizeof t, "reference slope %g (theory)", th);
                block *r = curve_for(&ref, "ref", t, 7, 0);
                block_add(r, x0, y0, 0, 0);
                block_add(r, x1, y0 * pow(x1 / x0, th), 0, 0);
            }
            curve_set *sets[] = {&meas, &det, &prob, &pred, &ref};
            for (size_t s = 0; s < 5 && status == LR_OK; s++) status = write_set(tmpdir, files[s], sets[s]);
            static char cm[4096], pm[2048], cd[4096], cp[4096], cpr[4096], vars[32768];
            words(&meas, 0, cm, sizeof cm), words(&meas, 1, pm, sizeof pm), words(&det, 0, cd, sizeof cd);
            words(&prob, 0, cp, sizeof cp), words(&pred, 0, cpr, sizeof cpr);
            char suffix[32] = "";
            if (ri) snprintf(suffix, sizeof suffix, "_rank%d", ri);
            for (size_t f = 0; f < 2 && status == LR_OK; f++) {
                char script[4200];
                snprintf(vars, sizeof vars,
                         "dir='%s'; out='%s_%s%s.%s'; fmt='%s'; xlab='%s'; "
                         "ylab='%s'; logx=%d; xfmt='%s'; xtl='%s'; "
                         "title='%s; %s'; nmeas=%zu; ndet=%zu; nprob=%zu; npred=%zu; nref=%zu; "
                         "cmeas='%s'; pmeas='%s'; cdet='%s'; cprob='%s'; cpred='%s'",
                         tmpdir, stem, o ? "weight" : "error", suffix, fmts[f], fmts[f], axis_label(xcol), ylab,
                         logx, xfmt, xtics, title,
                         rlabel, meas.n, det.n, prob.n, pred.n, ref.n, cm, pm, cd, cp, cpr);
                snprintf(script, sizeof script, "%s/error.gp", plots);
                status = lr_cli_gnuplot(script, vars);
            }
            set_free(&meas), set_free(&det), set_free(&prob), set_free(&pred), set_free(&ref);
        }
    }
    if (status == LR_OK && cov.n) {
        double ylo = 1.0;
        for (size_t i = 0; i < nom.n; i++)
            for (size_t j = 0; j < nom.b[i].n; j++) ylo = fmin(ylo, nom.b[i].rows[5 * j + 1]);
        for (size_t i = 0; i < cov.n; i++)
            for (size_t j = 0; j < cov.b[i].n; j++) ylo = fmin(ylo, cov.b[i].rows[5 * j + 2]);
        ylo = fmax(0.0, floor((ylo - 0.05) * 20) / 20);
        status = write_set(tmpdir, files[5], &cov);
        if (status == LR_OK) status = write_set(tmpdir, files[6], &nom);
        static char cc[8192], pc[4096], vars[32768];
        words(&cov, 0, cc, sizeof cc), words(&cov, 1, pc, sizeof pc);
        for (size_t f = 0; f < 2 && status == LR_OK; f++) {
            char script[4200];
            snprintf(vars, sizeof vars,
                     "dir='%s'; out='%s_coverage.%s'; fmt='%s'; xlab='%s'; title='%s'; ncov=%zu; "
                     "nnom=%zu; ylo=%g; ccov='%s'; pcov='%s'; logx=%d; xfmt='%s'; xtl='%s'",
                     tmpdir, stem, fmts[f], fmts[f], axis_label(xcol), title, cov.n, nom.n, ylo, cc, pc,
                     logx, xfmt, xtics);
            snprintf(script, sizeof script, "%s/coverage.gp", plots);
            status = lr_cli_gnuplot(script, vars);
        }
    }
    size_t ncov = cov.n;
    set_free(&cov), set_free(&nom);
    for (size_t i = 0; i < 7; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    lr_results_close(&rf);
    if (status != LR_OK) return lr_cli_fail();
    fprintf(stderr, "lrlab: wrote %s_error.pdf and .png%s%s%s%s\n", stem,
            nranks > 1 ? " (and _error_rankI for further ranks)" : "",
            want_weight ? ", _weight.pdf and .png" : "", ncov ? ", " : "",
            ncov ? "_coverage.pdf and .png" : "");
    return 0;
}
