/* `lrlab report FILE` for a `recovery` results file (the experiment's report hook): the
 * results as plain text, for a terminal or a lab notebook.
 *
 * Per sweep point and compressor: the error quantiles, and for each bound how often it
 * held with the Wilson 95% interval next to the nominal level and how tight it was;
 * then the fitted log-log slopes next to the theory's. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libconfig.h>

#include "core/error.h"
#include "io/results_file.h"
#include "report_plot.h"

/* What a rank index of /points, /fits and /shape means: the target rank k = r + offset,
 * offset the rank_index-th entry of the run's compress.rank_offsets (read from the
 * resolved config stored in the file). */
typedef struct rank_names {
    long off[64];
    size_t n;
} rank_names;

static rank_names stored_rank_offsets(const char *text)
{
    rank_names rn = {{0}, 0};
    if (!text) return rn;
    config_t cf;
    config_init(&cf);
    config_setting_t *s = NULL;
    if (config_read_string(&cf, text) == CONFIG_TRUE && (s = config_lookup(&cf, "compress.rank_offsets")) &&
        config_setting_is_array(s) == CONFIG_TRUE)
        for (int i = 0; i < config_setting_length(s) && rn.n < 64; i++)
            rn.off[rn.n++] = (long)config_setting_get_int_elem(s, i);
    config_destroy(&cf);
    return rn;
}

/* "k = r", "k = r + 4", "k = r - 1"; "rank index 3" when the file does not say. */
static const char *rank_name(const rank_names *rn, double rank_index, char *buf, size_t len)
{
    if (!(rank_index >= 0) || (size_t)rank_index >= rn->n) snprintf(buf, len, "rank index %.0f", rank_index);
    else {
        long o = rn->off[(size_t)rank_index];
        if (o == 0) snprintf(buf, len, "k = r");
        else snprintf(buf, len, "k = r %c %ld", o > 0 ? '+' : '-', o > 0 ? o : -o);
    }
    return buf;
}

/* The parameter columns of /points: those between k_target and n. */
static void param_range(const lr_table *p, int *first, int *last)
{
    *first = lr_table_col(p, "k_target") + 1;
    *last = lr_table_col(p, "n");
}

/* Issue 3: the median error of a baseline (svd_w, the data-agnostic compressor, or
 * relu_naive, the ReLU baseline) over each other compressor's, per point and rank. */
static void report_baseline_ratios(const lr_results_file *rf, FILE *out)
{
    const lr_table *P = rf->points;
    const char *base = NULL;
    for (size_t i = 0; i < P->nrows && !base; i++)
        if (!strcmp(lr_rf_str(P, i, "compressor"), "svd_w")) base = "svd_w";
    for (size_t i = 0; i < P->nrows && !base; i++)
        if (!strcmp(lr_rf_str(P, i, "compressor"), "relu_naive")) base = "relu_naive";
    if (!base) return;
    int pf, pl;
    param_range(P, &pf, &pl);
    fprintf(out, "\nMedian err_fro of %s over each compressor's (and median err_weight ||M - M*||_F):\n", base);
    for (size_t i = 0; i < P->nrows; i++) {
        const char *comp = lr_rf_str(P, i, "compressor");
        if (!strcmp(comp, base)) continue;
        size_t j;
        for (j = 0; j < P->nrows; j++)
            if (lr_rf_num(P, j, "point") == lr_rf_num(P, i, "point") &&
                lr_rf_num(P, j, "rank_index") == lr_rf_num(P, i, "rank_index") &&
                !strcmp(lr_rf_str(P, j, "compressor"), base))
                break;
        if (j == P->nrows) continue;
        fprintf(out, "  point %.0f k=%.0f", lr_rf_num(P, i, "point"), lr_rf_num(P, i, "k_target"));
        for (int c = pf; c < pl; c++) fprintf(out, " %s=%g", P->cols[c].name, lr_table_row(P, i)[c]);
        double eb = lr_rf_num(P, j, "err_fro_median"), ec = lr_rf_num(P, i, "err_fro_median");
        fprintf(out, "  %s %.4g / %s %.4g = %.3g   err_weight %.4g vs %.4g\n", base, eb, comp, ec, eb / ec,
                     lr_rf_num(P, j, "err_weight_median"), lr_rf_num(P, i, "err_weight_median"));
    }
}

/* Issue 3: fitted constants of predicted shapes (/shape). */
static void report_shape(const lr_results_file *rf, const rank_names *rn, FILE *out)
{
    const lr_table *S = rf->shape;
    if (!S || !S->nrows) return;
    fprintf(out, "\nFitted constants C in error ~ C * shape (geometric mean of error/shape, 95%% interval; "
                 "C_max: every trial below C_max * shape):\n");
    for (size_t i = 0; i < S->nrows; i++)
    {
        char rk[48];
        fprintf(out, "  %-6s %-12s %-9s  n %5.0f  C = %.4g [%.4g, %.4g]  median %.4g  C_max %.4g\n",
                     lr_rf_str(S, i, "bound"), lr_rf_str(S, i, "compressor"),
                     rank_name(rn, lr_rf_num(S, i, "rank_index"), rk, sizeof rk),
                     lr_rf_num(S, i, "n"), lr_rf_num(S, i, "C_fit"), lr_rf_num(S, i, "C_lo"),
                     lr_rf_num(S, i, "C_hi"), lr_rf_num(S, i, "C_median"), lr_rf_num(S, i, "C_max"));
    }
}

/* Whether /fits rows i and j have a theory and share compressor, target rank and axis. */
static int same_fit_axis(const lr_table *F, size_t i, size_t j)
{
    return !isnan(lr_rf_num(F, j, "theory")) && !strcmp(lr_rf_str(F, j, "compressor"), lr_rf_str(F, i, "compressor")) &&
           !strcmp(lr_rf_str(F, j, "axis"), lr_rf_str(F, i, "axis")) &&
           lr_rf_num(F, j, "rank_index") == lr_rf_num(F, i, "rank_index");
}

/* Per compressor, target rank and axis: the range of the fitted slopes and in how many
 * groups each exponent lies inside the 95% interval.  With g groups at 95% about 0.05 g
 * misses are expected even for an exact power law; the report says so. */
static void report_fit_totals(const lr_table *F, const rank_names *rn, FILE *out)
{
    int header = 0;
    for (size_t i = 0; i < F->nrows; i++) {
        if (isnan(lr_rf_num(F, i, "theory"))) continue;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) seen = same_fit_axis(F, i, j);
        if (seen) continue;
        size_t g = 0, in = 0, gl = 0, inl = 0, infw = 0;
        double lo = INFINITY, hi = -INFINITY;
        for (size_t j = i; j < F->nrows; j++) {
            if (!same_fit_axis(F, i, j)) continue;
            double sl = lr_rf_num(F, j, "slope");
            lo = fmin(lo, sl), hi = fmax(hi, sl);
            g++;
            in += lr_rf_num(F, j, "theory_in_ci") > 0;
            infw += lr_rf_num(F, j, "theory_in_ci_fw") > 0; /* NaN (older files): not counted */
            if (!isnan(lr_rf_num(F, j, "theory_local"))) {
                gl++;
                inl += lr_rf_num(F, j, "theory_local_in_ci") > 0;
            }
        }
        if (!header) {
            fprintf(out, "Slopes per axis against the theory's exponent (95%% intervals: about 5%% of the groups "
                         "miss by chance\nalone; family-wise: Bonferroni over the axis's groups, all contain the "
                         "true slopes w.p. >= 95%%;\nOUTSIDE: the theory misses a family-wise interval):\n");
            header = 1;
        }
        char rk[48];
        fprintf(out, "  %-7s %-10s %-9s %-20s slope %.4f to %.4f, theory %.3g\n          inside the 95%% "
                     "interval in %zu of %zu groups",
                     (lr_table_col(F, "theory_in_ci_fw") >= 0 ? infw < g : in < g) ? "OUTSIDE" : "ok",
                     lr_rf_str(F, i, "compressor"),
                     rank_name(rn, lr_rf_num(F, i, "rank_index"), rk, sizeof rk), lr_rf_str(F, i, "axis"), lo, hi,
                     lr_rf_num(F, i, "theory"), in, g);
        if (lr_table_col(F, "theory_in_ci_fw") >= 0) fprintf(out, ", family-wise in %zu of %zu", infw, g);
        if (gl) fprintf(out, "; the prediction's slope in %zu of %zu", inl, gl);
        fprintf(out, "\n");
    }
}

/* The per-point lines: the errors of each compressor and each bound's coverage. */
static void report_points(const lr_results_file *rf, FILE *out)
{
    const lr_table *P = rf->points;
    int pf, pl;
    param_range(P, &pf, &pl);
    /* One header per sweep point (its rows are consecutive in /points), then one line per
     * compressor and rank, then its bounds. */
    for (size_t i = 0; i < P->nrows; i++) {
        if (i == 0 || lr_rf_num(P, i, "point") != lr_rf_num(P, i - 1, "point")) {
            fprintf(out, "point %.0f:", lr_rf_num(P, i, "point"));
            for (int c = pf; c < pl; c++) fprintf(out, " %s=%g", P->cols[c].name, lr_table_row(P, i)[c]);
            fprintf(out, "\n");
        }
        fprintf(out, "  %-10s k=%-3.0f n=%-5.0f err_fro %.4g [q10 %.4g, q90 %.4g] rel %.4g  err_layer %.4g\n",
                     lr_rf_str(P, i, "compressor"), lr_rf_num(P, i, "k_target"), lr_rf_num(P, i, "n"),
                     lr_rf_num(P, i, "err_fro_median"), lr_rf_num(P, i, "err_fro_q10"),
                     lr_rf_num(P, i, "err_fro_q90"), lr_rf_num(P, i, "err_rel_median"),
                     lr_rf_num(P, i, "err_layer_median"));
        double le = lr_rf_num(P, i, "layer_le_svd_w");
        if (le >= 0)
            fprintf(out, "    err_layer <= svd_w's in %.0f/%.0f trials; err_fro <= svd_w's in %.0f/%.0f\n",
                         le, lr_rf_num(P, i, "n"), lr_rf_num(P, i, "err_fro_le_svd_w"), lr_rf_num(P, i, "n"));
        for (size_t b = 0; b < rf->bounds->nrows; b++) {
            const char *bn = lr_rf_str(rf->bounds, b, "name");
            char col[128];
            snprintf(col, sizeof col, "%s_ratio", bn);
            double ratio = lr_rf_num(P, i, col);
            if (lr_table_col(P, col) >= 0) {
                if (!isnan(ratio))
                    fprintf(out, "    %-6s prediction %.4g, RMS observed / predicted = %.4f\n", bn,
                                 lr_rf_num(P, i, (snprintf(col, sizeof col, "%s_median", bn), col)), ratio);
                continue;
            }
            snprintf(col, sizeof col, "%s_n", bn);
            double n = lr_rf_num(P, i, col);
            if (!(n > 0)) continue;
            double cov = lr_rf_bound(P, i, bn, "coverage"), hi = lr_rf_bound(P, i, bn, "coverage_hi");
            double nom = lr_rf_bound(P, i, bn, "nominal");
            fprintf(out, "    %-6s held %4.0f/%-4.0f coverage %.3f [%.3f, %.3f] nominal %.3f %s  "
                         "error/bound median %.3f worst %.3f\n",
                         bn, lr_rf_bound(P, i, bn, "held"), n, cov, lr_rf_bound(P, i, bn, "coverage_lo"), hi, nom,
                         cov >= nom ? "ok  " : hi >= nom ? "ok~ " : "LOW ", lr_rf_bound(P, i, bn, "tight_median"),
                         lr_rf_bound(P, i, bn, "tight_worst"));
        }
    }
}

/* The fitted slopes, one line per /fits row. */
static void report_fits(const lr_table *F, const rank_names *rn, FILE *out)
{
    if (F->nrows) {
        fprintf(out, "\nFitted log-log slopes of err_fro (95%% interval) against each swept key; 'theory' is\n"
                     "the asymptotic exponent, 'prediction's slope' that of the RMS prediction over the same\n"
                     "trials (the exponent at these finite sizes):\n");
        fprintf(out, "  %-10s %-9s %-22s %-34s %-26s %-18s %s\n", "compressor", "k", "axis", "other keys",
                     "slope [95% CI]", "theory", "prediction's slope");
    }
    for (size_t i = 0; i < F->nrows; i++) {
        double th = lr_rf_num(F, i, "theory");
        char theory[64] = "-";
        if (!isnan(th))
            snprintf(theory, sizeof theory, "%.3g %s", th,
                     lr_rf_num(F, i, "theory_in_ci") > 0 ? "(inside)" : "(outside)");
        double tl = lr_rf_num(F, i, "theory_local");
        char local[64] = "-";
        if (!isnan(tl))
            snprintf(local, sizeof local, "%.4f %s", tl,
                     lr_rf_num(F, i, "theory_local_in_ci") > 0 ? "(inside)" : "(outside)");
        char slope[64];
        snprintf(slope, sizeof slope, "%.4f [%.4f, %.4f]", lr_rf_num(F, i, "slope"),
                 lr_rf_num(F, i, "slope_lo"), lr_rf_num(F, i, "slope_hi"));
        char rk[48];
        fprintf(out, "  %-10s %-9s %-22s %-34s %-26s %-18s %s\n", lr_rf_str(F, i, "compressor"),
                     rank_name(rn, lr_rf_num(F, i, "rank_index"), rk, sizeof rk), lr_rf_str(F, i, "axis"),
                     lr_rf_str(F, i, "fixed"),
                     slope, theory, local);
    }
}

/* The verdict's slopes: per compressor, rank and axis with a theory, how often the
 * exponent lies inside the intervals. */
int lr_recovery_verdict(const lr_results_file *rf, FILE *out)
{
    rank_names rn = stored_rank_offsets(rf->config);
    if (!rf->fits) return LR_OK;
    size_t with_theory = 0;
    for (size_t i = 0; i < rf->fits->nrows; i++) with_theory += !isnan(lr_rf_num(rf->fits, i, "theory"));
    if (!with_theory) fprintf(out, "Slopes: no fitted slope has a theory's exponent in this run.\n");
    else report_fit_totals(rf->fits, &rn, out);
    return LR_OK;
}

int lr_recovery_report(const lr_results_file *rf, FILE *out)
{
    rank_names rn = stored_rank_offsets(rf->config);
    report_points(rf, out);
    report_fits(rf->fits, &rn, out);
    report_baseline_ratios(rf, out);
    report_shape(rf, &rn, out);
    fprintf(out, "\nok: coverage at or above nominal; ok~: below, but nominal inside the Wilson "
                 "interval; LOW: nominal above the interval.\n");
    return LR_OK;
}
