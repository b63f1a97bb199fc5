/* Figures of an `alds` results file (`lrlab plot FILE`):
 *   STEM_error.*     the largest true error over the layers against the kept ratio, one
 *                    measured curve per variant (log y), with the proxy's own objective
 *                    (dashed: what the authors' code believes it achieved);
 *   STEM_accuracy.*  test accuracy against the kept ratio per variant (dumps of a
 *                    sequential network);
 *   STEM_alloc.*     per layer, the groups k and the rank j each ALDS variant chose at the
 *                    middle budget.
 * Data go through plain-text blocks in a gnuplot session (src/plot/gnuplot.h) to
 * plots/alds_*.gp; each figure's data also beside it as STEM_<figure>.tsv, and each variant in
 * its fixed colour (lr_gp_compressor_colour). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alds.h"
#include "core/error.h"
#include "io/h5.h"
#include "plot/gnuplot.h"

int lr_alds_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log)
{
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "trials", &T));
    int cc = lr_table_col(T, "compressor"), cl = lr_table_col(T, "layer_index"), cp = lr_table_col(T, "point");
    int ct = lr_table_col(T, "trial");
    if (cc < 0 || cl < 0 || cp < 0 || ct < 0) {
        lr_table_free(T);
        LR_ERROR(LR_EDATA, "/trials lacks the alds columns");
    }
    lr_gp_session gs = {""};
    int status = lr_gp_session_open(&gs);
    if (status != LR_OK) {
        lr_table_free(T);
        return status;
    }
    size_t nv = T->cols[cc].ndict, npoints = 0;
    for (size_t i = 0; i < T->nrows; i++)
        if ((size_t)lr_table_row(T, i)[cp] + 1 > npoints) npoints = (size_t)lr_table_row(T, i)[cp] + 1;
    char vars[1024] = "";
    for (size_t v = 0; v < nv; v++) {
        strncat(vars, T->cols[cc].dict[v], sizeof vars - strlen(vars) - 2);
        strncat(vars, " ", sizeof vars - strlen(vars) - 1);
    }
    /* net.dat: per variant a block "keep eps objective accuracy" over the budgets (trial 0). */
    FILE *f = lr_gp_session_fopen(&gs, "net.dat");
    int has_acc = 0;
    for (size_t v = 0; f && v < nv; v++) {
        fprintf(f, "\"%s\"\n", T->cols[cc].dict[v]);
        for (size_t i = 0; i < T->nrows; i++) {
            const double *r = lr_table_row(T, i);
            if (r[cl] >= 0 || (size_t)r[cc] != v || r[ct] != 0) continue;
            double acc = lr_rf_num(T, i, "accuracy");
            has_acc |= isfinite(acc);
            fprintf(f, "%.10g %.10g %.10g %.10g\n", lr_rf_num(T, i, "keep"), lr_rf_num(T, i, "eps"),
                    lr_rf_num(T, i, "objective"), isfinite(acc) ? acc : NAN);
        }
        fprintf(f, "\n\n");
    }
    if (!f || fclose(f) != 0) status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write net.dat", gs.dir);
    /* alloc.dat: per variant a block "layer k j" at the middle budget. */
    size_t mid = npoints / 2;
    f = status == LR_OK ? lr_gp_session_fopen(&gs, "alloc.dat") : NULL;
    size_t nl = 0;
    for (size_t v = 0; f && v < nv; v++) {
        fprintf(f, "\"%s\"\n", T->cols[cc].dict[v]);
        for (size_t i = 0; i < T->nrows; i++) {
            const double *r = lr_table_row(T, i);
            if (r[cl] < 0 || (size_t)r[cc] != v || (size_t)r[cp] != mid || r[ct] != 0) continue;
            if ((size_t)r[cl] + 1 > nl) nl = (size_t)r[cl] + 1;
            fprintf(f, "%.0f %.0f %.0f\n", r[cl] + 1, lr_rf_num(T, i, "groups"), lr_rf_num(T, i, "j"));
        }
        fprintf(f, "\n\n");
    }
    if (status == LR_OK && (!f || fclose(f) != 0)) status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write alloc.dat", gs.dir);
    double mid_budget = NAN;
    for (size_t i = 0; i < T->nrows; i++)
        if ((size_t)lr_table_row(T, i)[cp] == mid) {
            mid_budget = lr_rf_num(T, i, "budget");
            break;
        }
    char title[600];
    lr_rf_title(rf, title, sizeof title);
    static const char *const figs[3] = {"error", "accuracy", "alloc"};
    char ccomp[2048];
    lr_gp_compressor_colours(vars, ccomp, sizeof ccomp);
    lr_plot_style style;
    lr_plot_style_read(rf->config, &style);
    static const char *const what[3] = {
        "per variant over the budgets: kept ratio, the largest relative operator-norm error over the layers (eps), "
        "alds_proxy's objective, test accuracy (file net)",
        "per variant over the budgets: kept ratio, eps, objective, test accuracy (file net)",
        "per variant at the middle budget: layer, groups k and rank j chosen (file alloc)"};
    static const char *const cols[3] = {"keep\teps\tobjective\taccuracy", "keep\teps\tobjective\taccuracy",
                                        "layer\tgroups\trank_j"};
    lr_gp_vars own;
    lr_gp_vars_init(&own);
    lr_gp_vars_str(&own, "ccomp", ccomp);
    lr_gp_vars_str(&own, "vars", vars);
    lr_gp_vars_num(&own, "nv", "%zu", nv);
    lr_gp_vars_num(&own, "nl", "%zu", nl);
    lr_gp_vars_num(&own, "midbudget", "%.6g", mid_budget);
    for (int k = 0; k < 3 && status == LR_OK; k++) {
        if (k == 1 && !has_acc) continue;
        char script[64];
        const char *files[1] = {k == 2 ? "alloc.dat" : "net.dat"};
        snprintf(script, sizeof script, "alds_%s", figs[k]);
        status = lr_gp_figure(&gs, plots_dir, &style, script, stem, figs[k], title, files, 1, what[k], cols[k], &own, log);
    }
    lr_gp_vars_free(&own);
    lr_gp_session_close(&gs);
    lr_table_free(T);
    return status;
}
