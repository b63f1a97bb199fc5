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
    fprintf(out, "%-8s %-12s %11s %11s %8s %5s %9s\n", "budget", "variant", "max eps", "objective", "keep", "ok",
            "accuracy");
    size_t not_worse = 0, better = 0, pairs = 0, keep_bad = 0;
    for (size_t i = 0; i < T->nrows; i++) {
        const double *r = lr_table_row(T, i);
        if (r[cl] >= 0) continue;
        const char *v = T->cols[cc].dict[(size_t)r[cc]];
        double eps = lr_rf_num(T, i, "eps"), uni = lr_rf_num(T, i, "eps_uniform");
        fprintf(out, "%-8.4g %-12s %11.4e %11.4e %8.5f %5.0f %9.4f\n", lr_rf_num(T, i, "budget"), v, eps,
                lr_rf_num(T, i, "objective"), lr_rf_num(T, i, "keep"), lr_rf_num(T, i, "keep_ok"), lr_rf_num(T, i, "accuracy"));
        keep_bad += lr_rf_num(T, i, "keep_ok") == 0;
        if (!strcmp(v, "global") && isfinite(uni)) {
            pairs++;
            not_worse += eps <= uni * (1 + 1e-12);
            better += eps < uni * (1 - 1e-9);
        }
    }
    if (pairs)
        fprintf(out, "\nglobal step against uniform rank at equal budget: never worse in %zu of %zu, strictly better in %zu\n",
                not_worse, pairs, better);
    fprintf(out, "network rows more than 0.5%% below their target keep ratio: %zu\n", keep_bad);
    double acc = attr_f(rf->file, "accuracy_dense");
    if (isfinite(acc)) fprintf(out, "dense accuracy %.4f\n", acc);
    lr_table_free(T);
    return LR_OK;
}
