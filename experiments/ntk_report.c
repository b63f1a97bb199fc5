/* `lrlab report` and `lrlab plot` for an `ntk` results file.
 *
 * The report: the data, the key quantities of every activation at the first point (layer
 * 1 and layer L), then per point and activation the medians over trials of the kernel
 * errors (equivalent kernels with both identity rules, the compressed network's kernel,
 * finite networks) and the accuracies, then the fitted slopes against -1/2.
 *
 * The figures (plots/ntk_*.gp), each with its data file in the gnuplot session:
 *   STEM_error.*    kernel errors against p (log-log), per activation: CK and NTK with the
 *                   matched identity (solid), THEORY's identity (dashed), the compressed
 *                   network's CK + shift (dotted), and a reference slope -1/2;
 *   STEM_spectra.*  histograms of the eigenvalues of K_CK, K~_CK and the compressed CK at
 *                   the last point (first activation);
 *   STEM_width.*    finite networks' empirical CK error against the width (log-log), when
 *                   network.width is swept;
 *   STEM_accuracy.* the ridge head's test accuracy against the memory in bits (log x),
 *                   dense and compressed (real data). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/stats.h"
#include "io/h5.h"
#include "ntk.h"
#include "plot/gnuplot.h"

/* The median of column `name` over the rows of activation a at point p; NaN if none. */
static double median_at(const lr_table *T, int cc, int cp, size_t a, size_t p, const char *name, double *buf)
{
    int c = lr_table_col(T, name);
    size_t m = 0;
    for (size_t i = 0; c >= 0 && i < T->nrows; i++) {
        const double *r = lr_table_row(T, i);
        if ((size_t)r[cc] == a && (size_t)r[cp] == p && !isnan(r[c])) buf[m++] = r[c];
    }
    if (!m) return NAN;
    lr_sort(buf, m);
    return lr_quantile_sorted(buf, m, 0.5);
}

static size_t npoints_of(const lr_table *T, int cp)
{
    size_t n = 0;
    for (size_t i = 0; i < T->nrows; i++)
        if ((size_t)lr_table_row(T, i)[cp] + 1 > n) n = (size_t)lr_table_row(T, i)[cp] + 1;
    return n;
}

static int key_quantities(const lr_results_file *rf, FILE *out)
{
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "ntk_layers", &T));
    int ca = lr_table_col(T, "activation"), cp = lr_table_col(T, "point"), cl = lr_table_col(T, "layer");
    fprintf(out, "key quantities at the first point (layer 1 at tau_0; E at tau xi), and the recursion at the last layer:\n");
    fprintf(out, "%-20s %5s %9s %10s %10s %10s %10s %10s %10s %11s %10s %10s\n", "activation", "layer", "tau", "mean",
            "E s'", "E s''", "E(s_c^2)''", "Var s", "E s'^2", "alpha1", "alpha3", "fit resid");
    size_t Lmax = 0;
    for (size_t i = 0; i < T->nrows; i++)
        if (lr_table_row(T, i)[cp] == 0 && (size_t)lr_table_row(T, i)[cl] > Lmax) Lmax = (size_t)lr_table_row(T, i)[cl];
    for (size_t i = 0; i < T->nrows; i++) {
        const double *r = lr_table_row(T, i);
        if (r[cp] != 0 || (r[cl] != 1 && (size_t)r[cl] != Lmax)) continue;
        fprintf(out, "%-20s %5.0f %9.5f %10.3e %10.3e %10.3e %10.3e %10.3e %10.3e %11.4e %10.3e %10.2e%s\n",
                lr_table_name_at(T, i, (size_t)ca), r[cl], lr_rf_num(T, i, "tau_in"), lr_rf_num(T, i, "mean"),
                lr_rf_num(T, i, "d1"), lr_rf_num(T, i, "d2"), lr_rf_num(T, i, "sq2"), lr_rf_num(T, i, "var"),
                lr_rf_num(T, i, "d1sq"), lr_rf_num(T, i, "alpha1"), lr_rf_num(T, i, "alpha3"),
                lr_rf_num(T, i, "comp_resid"), lr_rf_num(T, i, "comp_converged") > 0 ? "" : " (no fit)");
    }
    fprintf(out, "\n");
    lr_table_free(T);
    return LR_OK;
}

/* The verdict's lines (lr_experiment.verdict): every fitted slope against the theory's
 * -1/2 (inside or outside its interval) and issue 13's band. */
int lr_ntk_verdict(const lr_results_file *rf, FILE *out)
{
    if (H5Lexists(rf->file, "ntk_fits", H5P_DEFAULT) <= 0) return LR_OK;
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "ntk_fits", &T));
    size_t in = 0;
    for (size_t i = 0; i < T->nrows; i++) in += lr_rf_num(T, i, "in_interval") > 0;
    if (T->nrows)
        fprintf(out, "Slopes (log-log, 95%% interval; theory -1/2; issue 13's band [-0.6, -0.4]): -1/2 inside in "
                     "%zu of %zu:\n", in, T->nrows);
    for (size_t i = 0; i < T->nrows; i++)
        fprintf(out, "  %-18s %-15s in %-13s %7.3f [%7.3f, %7.3f]  %s, %s  (%s; %.0f rows)\n",
                lr_table_name_at(T, i, (size_t)lr_table_col(T, "activation")),
                lr_table_name_at(T, i, (size_t)lr_table_col(T, "quantity")),
                lr_table_name_at(T, i, (size_t)lr_table_col(T, "axis")), lr_rf_num(T, i, "slope"),
                lr_rf_num(T, i, "slope_lo"), lr_rf_num(T, i, "slope_hi"),
                lr_rf_num(T, i, "in_interval") > 0 ? "-1/2 inside" : "-1/2 OUTSIDE",
                lr_rf_num(T, i, "in_band") > 0 ? "in band" : "out of band",
                lr_table_name_at(T, i, (size_t)lr_table_col(T, "fixed")), lr_rf_num(T, i, "n"));
    lr_table_free(T);
    return LR_OK;
}

int lr_ntk_report(const lr_results_file *rf, FILE *out)
{
    char *src = lr_h5_get_attr_str(rf->file, "ntk_source"), *norms = lr_h5_get_attr_str(rf->file, "ntk_norms");
    fprintf(out, "data: %s (norms: %s)\n\n", src ? src : "?", norms ? norms : "?");
    free(src), free(norms);
    LR_TRY(key_quantities(rf, out));
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "trials", &T));
    int cc = lr_table_col(T, "compressor"), cp = lr_table_col(T, "point");
    double *buf = malloc((T->nrows + 1) * sizeof(double));
    if (cc < 0 || cp < 0 || !buf) {
        free(buf);
        lr_table_free(T);
        LR_ERROR(LR_EDATA, "/trials lacks the ntk columns");
    }
    fprintf(out, "medians over trials; errors ||K - K~||_2 / ||K||_2 (matched identity; THEORY's in brackets)\n");
    fprintf(out, "%-16s %6s %6s %3s %6s %5s %17s %17s %10s %9s %9s %9s %8s %8s\n", "activation", "p", "n", "L", "width",
            "eps", "CK", "NTK", "comp CK", "emp CK", "emp comp", "shift", "acc", "acc comp");
    size_t np = npoints_of(T, cp), nact = T->cols[cc].ndict, conv = 0, rows = 0;
    for (size_t p = 0; p < np; p++)
        for (size_t a = 0; a < nact; a++) {
            double pv = median_at(T, cc, cp, a, p, "p", buf);
            if (isnan(pv)) continue;
            fprintf(out, "%-16s %6.0f %6.0f %3.0f %6.0f %5.2f %8.3e (%6.3f) %8.3e (%6.3f) %10.3e %9.3e %9.3e %9.3g %8.4f %8.4f\n",
                    T->cols[cc].dict[a], pv, median_at(T, cc, cp, a, p, "n", buf), median_at(T, cc, cp, a, p, "depth", buf),
                    median_at(T, cc, cp, a, p, "width", buf), median_at(T, cc, cp, a, p, "eps", buf),
                    median_at(T, cc, cp, a, p, "ck_err", buf), median_at(T, cc, cp, a, p, "ck_err_theory", buf),
                    median_at(T, cc, cp, a, p, "ntk_err", buf), median_at(T, cc, cp, a, p, "ntk_err_theory", buf),
                    median_at(T, cc, cp, a, p, "ck_err_comp", buf), median_at(T, cc, cp, a, p, "emp_err", buf),
                    median_at(T, cc, cp, a, p, "emp_err_comp", buf), median_at(T, cc, cp, a, p, "comp_shift", buf),
                    median_at(T, cc, cp, a, p, "acc_dense", buf), median_at(T, cc, cp, a, p, "acc_comp", buf));
        }
    for (size_t i = 0; i < T->nrows; i++) {
        rows++;
        conv += lr_rf_num(T, i, "comp_converged") > 0;
    }
    fprintf(out, "compressed network: every layer's fit reached ntk.match.tol in %zu of %zu rows\n", conv, rows);
    free(buf);
    lr_table_free(T);
    return LR_OK;
}

/* ---- figures ---- */

int lr_ntk_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log)
{
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "trials", &T));
    int cc = lr_table_col(T, "compressor"), cp = lr_table_col(T, "point");
    double *buf = malloc((T->nrows + 1) * sizeof(double));
    lr_gp_session gs = {""};
    int status = cc < 0 || cp < 0 || !buf ? lr_error(LR_EDATA, __FILE__, __LINE__, "/trials lacks the ntk columns")
                                           : lr_gp_session_open(&gs);
    size_t np = status == LR_OK ? npoints_of(T, cp) : 0, nact = status == LR_OK ? T->cols[cc].ndict : 0;
    char acts[2048] = "";
    for (size_t a = 0; a < nact; a++) {
        strncat(acts, T->cols[cc].dict[a], sizeof acts - strlen(acts) - 2);
        strncat(acts, " ", sizeof acts - strlen(acts) - 1);
    }
    /* error.dat / width.dat / acc.dat: per activation a block over the points. */
    static const char *const files[3] = {"error.dat", "width.dat", "acc.dat"};
    int have[3] = {0};
    for (int k = 0; k < 3 && status == LR_OK; k++) {
        FILE *f = lr_gp_session_fopen(&gs, files[k]);
        for (size_t a = 0; f && a < nact; a++) {
            fprintf(f, "\"%s\"\n", T->cols[cc].dict[a]);
            for (size_t p = 0; p < np; p++) {
                double x = median_at(T, cc, cp, a, p, k == 0 ? "p" : k == 1 ? "width" : "bits_dense", buf);
                if (isnan(x)) continue;
                if (k == 0)
                    /* The compressed kernel only where every fit converged (else it is no match). */
                    fprintf(f, "%.10g %.10g %.10g %.10g %.10g %.10g\n", x, median_at(T, cc, cp, a, p, "ck_err", buf),
                            median_at(T, cc, cp, a, p, "ck_err_theory", buf), median_at(T, cc, cp, a, p, "ntk_err", buf),
                            median_at(T, cc, cp, a, p, "ntk_err_theory", buf),
                            median_at(T, cc, cp, a, p, "comp_converged", buf) == 1 ? median_at(T, cc, cp, a, p, "ck_err_comp", buf)
                                                                                   : NAN);
                else if (k == 1)
                    fprintf(f, "%.10g %.10g %.10g\n", x, median_at(T, cc, cp, a, p, "emp_err", buf),
                            median_at(T, cc, cp, a, p, "emp_err_comp", buf));
                else
                    fprintf(f, "%.10g %.10g %.10g %.10g %.10g\n", x, median_at(T, cc, cp, a, p, "acc_dense", buf),
                            median_at(T, cc, cp, a, p, "bits_comp", buf), median_at(T, cc, cp, a, p, "acc_comp", buf),
                            median_at(T, cc, cp, a, p, "eps", buf));
                have[k] = 1;
            }
            fprintf(f, "\n\n");
        }
        if (!f || fclose(f) != 0) status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write %s", gs.dir, files[k]);
    }
    /* Distinct p and widths: the error figure needs two p, the width figure two widths. */
    double p0 = NAN, w0 = NAN;
    int two_p = 0, two_w = 0, acc = 0;
    for (size_t i = 0; i < T->nrows; i++) {
        double p = lr_rf_num(T, i, "p"), w = lr_rf_num(T, i, "width");
        if (isnan(p0)) p0 = p;
        if (isnan(w0)) w0 = w;
        two_p |= p != p0, two_w |= w != w0 && w > 0;
        acc |= isfinite(lr_rf_num(T, i, "acc_dense"));
    }
    /* eig.dat: blocks K_CK, K~_CK, K_CK_compressed of the first activation. */
    int spectra = 0;
    if (status == LR_OK && H5Lexists(rf->file, "ntk_spectra", H5P_DEFAULT) > 0) {
        lr_table *S = NULL;
        status = lr_h5_read_table(rf->file, "ntk_spectra", &S);
        FILE *f = status == LR_OK ? lr_gp_session_fopen(&gs, "eig.dat") : NULL;
        int ca = S ? lr_table_col(S, "activation") : -1, ck = S ? lr_table_col(S, "kernel") : -1;
        static const char *const kn[3] = {"K_CK", "K~_CK", "K_CK_compressed"};
        for (int k = 0; f && k < 3; k++) {
            fprintf(f, "\"%s\"\n", kn[k]);
            for (size_t i = 0; i < S->nrows; i++)
                if (lr_table_row(S, i)[ca] == 0 && !strcmp(lr_table_name_at(S, i, (size_t)ck), kn[k])) {
                    fprintf(f, "%.12g\n", lr_rf_num(S, i, "eigenvalue"));
                    spectra = 1;
                }
            fprintf(f, "\n\n");
        }
        if (status == LR_OK && (!f || fclose(f) != 0)) status = lr_error(LR_EIO, __FILE__, __LINE__, "cannot write eig.dat");
        lr_table_free(S);
    }
    char title[600];
    lr_rf_title(rf, title, sizeof title);
    static const char *const figs[4] = {"error", "spectra", "width", "accuracy"};
    int want[4] = {two_p && have[0], spectra, two_w && have[1], acc && have[2]};
    lr_plot_style style;
    lr_plot_style_read(rf->config, &style);
    static const char *const what[4] = {
        "medians over trials per activation against p: kernel errors ||K - K~||_2 / ||K||_2 of the CK (identity "
        "matched, docs/theory.md identity), the NTK (matched, docs/theory.md), the compressed CK + shift (file error)",
        "eigenvalues of K_CK, K~_CK and the compressed CK + shift, first activation (file eig)",
        "medians per activation against the width: empirical CK error, dense and compressed (file width)",
        "medians per activation: dense bits, dense accuracy, compressed bits, compressed accuracy, eps (file acc)"};
    static const char *const cols[4] = {"p\tck_err\tck_err_theory\tntk_err\tntk_err_theory\tck_err_comp",
                                        "eigenvalue", "width\temp_err\temp_err_comp",
                                        "bits_dense\tacc_dense\tbits_comp\tacc_comp\teps"};
    static const char *const dats[4] = {"error.dat", "eig.dat", "width.dat", "acc.dat"};
    lr_gp_vars own;
    lr_gp_vars_init(&own);
    lr_gp_vars_str(&own, "acts", acts);
    lr_gp_vars_num(&own, "na", "%zu", nact);
    lr_gp_vars_str(&own, "act1", nact ? T->cols[cc].dict[0] : "");
    for (int k = 0; k < 4 && status == LR_OK; k++) {
        if (!want[k]) continue;
        char script[64];
        snprintf(script, sizeof script, "ntk_%s", figs[k]);
        status = lr_gp_figure(&gs, plots_dir, &style, script, stem, figs[k], title, &dats[k], 1, what[k], cols[k], &own, log);
    }
    lr_gp_vars_free(&own);
    if (gs.dir[0]) lr_gp_session_close(&gs);
    free(buf);
    lr_table_free(T);
    return status;
}
