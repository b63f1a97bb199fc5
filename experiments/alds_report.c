/* `lrlab report` for an `alds` results file: the (k, j) grid's checks, then per budget and
 * variant the largest true error, the allocator's objective (the gap the proxy hides), the
 * kept ratio and the accuracy, and the global step against uniform rank. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alds.h"
#include "core/error.h"
#include "io/h5.h"
#include "io/results_file.h"

/* The grid's counts are integer attributes; lr_h5_get_attr_f64 converts them exactly. */
static long attr_i(hid_t f, const char *name)
{
    double v = -1;
    lr_h5_get_attr_f64(f, name, &v);
    return (long)v;
}

static double attr_f(hid_t f, const char *name)
{
    double v = NAN;
    lr_h5_get_attr_f64(f, name, &v);
    return v;
}

/* The alternation's trace (/alds_trace): the objective of every seed never increases from
 * one iteration to the next. */
static int trace_report(const lr_results_file *rf, FILE *out)
{
    if (H5Lexists(rf->file, "alds_trace", H5P_DEFAULT) <= 0) return LR_OK;
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "alds_trace", &T));
    size_t seeds = 0, rising = 0;
    int ci = lr_table_col(T, "iteration"), co = lr_table_col(T, "objective");
    for (size_t i = 0; ci >= 0 && co >= 0 && i < T->nrows; i++) {
        const double *r = lr_table_row(T, i);
        if (r[ci] == 0) seeds++;
        else rising += r[co] > lr_table_row(T, i - 1)[co];
    }
    fprintf(out, "alternation (/alds_trace): %zu seed runs, objective rose between iterations %zu times\n", seeds,
            rising);
    lr_table_free(T);
    return LR_OK;
}

int lr_alds_report(const lr_results_file *rf, FILE *out)
{
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "trials", &T));
    char *src = lr_h5_get_attr_str(rf->file, "alds_source");
    fprintf(out, "network: %s\n", src ? src : "?");
    free(src);
    long rows = attr_i(rf->file, "grid_rows");
    fprintf(out, "(k, j) grid: %ld rows; lower <= eps held in %ld, eps <= l2 in %ld, l2 <= sqrt(k) bound in %ld "
                 "(bounds.tol); %ld power iterations did not converge; at k = 1 the bound equals eps to %.3g "
                 "relative\n", rows, attr_i(rf->file, "grid_lower_held"), attr_i(rf->file, "grid_l2_held"),
            attr_i(rf->file, "grid_sqrtk_held"), attr_i(rf->file, "grid_unconverged"), attr_f(rf->file, "grid_k1_max_rel_dev"));
    int cc = lr_table_col(T, "compressor"), cl = lr_table_col(T, "layer_index");
    if (cc < 0 || cl < 0) {
        lr_table_free(T);
        LR_ERROR(LR_EDATA, "/trials lacks the alds columns");
    }
    /* Bounds held in the allocated rows (the registry's columns). */
    static const char *const bn[3] = {"alds_lower_held", "alds_l2_held", "alds_sqrtk_held"};
    size_t held[3] = {0}, checked[3] = {0};
    for (size_t i = 0; i < T->nrows; i++)
        for (int b = 0; b < 3; b++) {
            double h = lr_rf_num(T, i, bn[b]);
            if (h >= 0) checked[b]++, held[b] += h > 0;
        }
    fprintf(out, "allocated layers: alds_lower held %zu/%zu, alds_l2 %zu/%zu, alds_sqrtk %zu/%zu\n\n", held[0],
            checked[0], held[1], checked[1], held[2], checked[2]);
    fprintf(out, "%-8s %-12s %11s %11s %11s %8s %-30s %9s\n", "budget", "variant", "max eps", "objective",
            "before fill", "keep", "short: why (parameters left)", "accuracy");
    size_t not_worse = 0, better = 0, pairs = 0, nrows = 0, short_by[5] = {0}, obj_same = 0, filled = 0;
    int ck = lr_table_col(T, "keep_reason"), cx = lr_table_col(T, "criterion");
    /* ALDS against the global step of the same unit (its rows come first in the unit). */
    double eps_global = NAN;
    size_t vs_global[ALDS_NVARIANTS][2] = {{0}};
    for (size_t i = 0; i < T->nrows; i++) {
        const double *r = lr_table_row(T, i);
        if (r[cl] >= 0) continue;
        const char *v = T->cols[cc].dict[(size_t)r[cc]];
        const char *why = ck >= 0 ? lr_table_name_at(T, i, (size_t)ck) : "";
        double eps = lr_rf_num(T, i, "eps"), uni = lr_rf_num(T, i, "eps_uniform"), obj = lr_rf_num(T, i, "objective");
        char whytxt[64] = "";
        if (!strcmp(why, "step"))
            snprintf(whytxt, sizeof whytxt, "step (left %.0f < %.0f)", lr_rf_num(T, i, "budget_left"),
                     lr_rf_num(T, i, "next_step"));
        else if (strcmp(why, "met"))
            snprintf(whytxt, sizeof whytxt, "%s (left %.0f)", why, lr_rf_num(T, i, "budget_left"));
        fprintf(out, "%-8.4g %-12s %11.4e %11.4e %11.4e %8.5f %-30s %9.4f\n", lr_rf_num(T, i, "budget"), v, eps, obj,
                lr_rf_num(T, i, "objective_alloc"), lr_rf_num(T, i, "keep"), whytxt, lr_rf_num(T, i, "accuracy"));
        nrows++;
        for (size_t w = 0; w < sizeof alds_keep_reasons / sizeof alds_keep_reasons[0]; w++)
            short_by[w] += !strcmp(why, alds_keep_reasons[w]);
        filled += lr_rf_num(T, i, "fill_steps") > 0;
        /* The objective recomputed from the layer rows of the same allocation: they precede
         * their network row, one per layer. */
        double mx = 0;
        size_t nl = 0;
        for (size_t q = i; q-- > 0 && lr_rf_num(T, q, "layer_index") >= 0;) {
            double e = cx >= 0 ? lr_table_row(T, q)[cx] : NAN;
            if (e > mx) mx = e;
            nl++;
        }
        obj_same += nl && mx == obj;
        if (!strcmp(v, "global")) eps_global = eps;
        for (int a = ALDS_PROXY; a <= ALDS_TRUE; a++)
            if (!strcmp(v, lr_alds_variant_names[a]) && isfinite(eps_global)) {
                vs_global[a][0] += eps > eps_global * (1 + 1e-12);
                vs_global[a][1]++;
            }
        if (!strcmp(v, "global") && isfinite(uni)) {
            pairs++;
            not_worse += eps <= uni * (1 + 1e-12);
            better += eps < uni * (1 - 1e-9);
        }
    }
    if (pairs)
        fprintf(out, "\nglobal step against uniform rank at equal budget: never worse in %zu of %zu, strictly better in %zu\n",
                not_worse, pairs, better);
    if (vs_global[ALDS_PROXY][1] + vs_global[ALDS_L2][1] + vs_global[ALDS_SQRTK][1] + vs_global[ALDS_TRUE][1]) {
        fprintf(out, "ALDS worse than the global step at k = 1 (true error, equal budget):");
        for (int a = ALDS_PROXY; a <= ALDS_TRUE; a++)
            if (vs_global[a][1]) fprintf(out, " %s %zu of %zu;", lr_alds_variant_names[a], vs_global[a][0], vs_global[a][1]);
        fprintf(out, " a seed at k = 1 (alds.fixed_k) rules it out for l2, sqrtk and true, whose objectives bound eps "
                     "from above\n");
    }
    fprintf(out, "objective = max of the layer rows' criterion in %zu of %zu network rows; alds.fill added ranks in %zu\n",
            obj_same, nrows, filled);
    fprintf(out, "keep-ratio target (alds.keep_tol) met in %zu of %zu network rows; short because the rest is smaller "
                 "than any layer's next step: %zu, the next common rank does not fit (uniform): %zu, the next energy "
                 "level does not fit (energy): %zu, no layer can step: %zu\n",
            short_by[ALDS_KEEP_MET], nrows, short_by[ALDS_KEEP_STEP], short_by[ALDS_KEEP_COMMON_RANK],
            short_by[ALDS_KEEP_ENERGY_LEVEL], short_by[ALDS_KEEP_SATURATED]);
    LR_TRY(trace_report(rf, out));
    double acc = attr_f(rf->file, "accuracy_dense");
    if (isfinite(acc)) fprintf(out, "dense accuracy %.4f\n", acc);
    lr_table_free(T);
    return LR_OK;
}
