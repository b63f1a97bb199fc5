/* Figures of a `real_layers` results file (called by `lrlab plot`):
 *   NAME_spectra.*   per layer, singular values of W, X and X W, each divided by its
 *                    largest (log scale), against their index;
 *   NAME_error.*     per layer, the relative layer error ||X~ M - X~ W||_F / ||X~ W||_F
 *                    against the rank for every compressor (measured, from the layer
 *                    stage of /trials), the optimum tau_k(X~W) / ||X~W|| (grey) and
 *                    Theorem 2(a) with the noise-level estimate for dd_rank (dashed);
 *   NAME_accuracy.*  test accuracy of the sequentially compressed network against its
 *                    parameter ratio, per compressor, with the dense accuracy (grey).
 * Data go through plain-text blocks in a temporary directory to plots/real_*.gp. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/results_file.h"
#include "core/error.h"
#include "io/h5.h"
#include "lrlab_config.h"

int lr_plot_real_layers(const lr_results_file *rf, const char *stem, const char *plots);

static int read_vec(hid_t g, const char *name, double **v, size_t *n)
{
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0) LR_ERRORF(LR_EDATA, "spectrum %s is missing", name);
    hid_t sp = H5Dget_space(ds);
    *n = (size_t)H5Sget_simple_extent_npoints(sp);
    *v = malloc((*n ? *n : 1) * sizeof(double));
    herr_t e = *v ? H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *v) : -1;
    H5Sclose(sp);
    H5Dclose(ds);
    if (e < 0) LR_ERRORF(LR_EDATA, "cannot read spectrum %s", name);
    return LR_OK;
}

int lr_plot_real_layers(const lr_results_file *rf, const char *stem, const char *plots)
{
    lr_table *T = NULL, *A = NULL, *Ly = NULL;
    if (lr_h5_read_table(rf->file, "trials", &T) != LR_OK || lr_h5_read_table(rf->file, "layers", &Ly) != LR_OK)
        return lr_cli_fail();
    int have_acc = H5Lexists(rf->file, "accuracy", H5P_DEFAULT) > 0 && lr_h5_read_table(rf->file, "accuracy", &A) == LR_OK;
    char dir[] = "/tmp/lrlab-plot-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "lrlab: cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    size_t nl = Ly->nrows;
    /* Compressors in the order of /trials' dictionary. */
    int cc = lr_table_col(T, "compressor"), cs = lr_table_col(T, "stage"), cli = lr_table_col(T, "layer_index");
    int ck = lr_table_col(T, "k"), ce = lr_table_col(T, "err_layer_rel"), ct = lr_table_col(T, "tau_k");
    int cz = lr_table_col(T, "z_norm"), cb = lr_table_col(T, "thm2a_hat");
    size_t ncomp = T->cols[cc].ndict;
    char names[2048] = "", layers[4096] = "", path[4200];
    int status = LR_OK;
    for (size_t c = 0; c < ncomp; c++) {
        strcat(names, T->cols[cc].dict[c]);
        strcat(names, " ");
    }
    hid_t sg = H5Gopen2(rf->file, "spectra", H5P_DEFAULT);
    for (size_t l = 0; l < nl && status == LR_OK; l++) {
        char lname[64];
        snprintf(lname, sizeof lname, "%s_%s(%.0fx%.0f) ", lr_rf_str(Ly, l, "layer"), lr_rf_str(Ly, l, "kind"),
                 lr_rf_num(Ly, l, "N0"), lr_rf_num(Ly, l, "N1"));
        if (strlen(layers) + strlen(lname) < sizeof layers) strcat(layers, lname);
        /* spectra */
        snprintf(path, sizeof path, "%s/spec_%zu.dat", dir, l + 1);
        FILE *f = fopen(path, "w");
        char gname[32];
        snprintf(gname, sizeof gname, "%03zu", l);
        hid_t lg = sg >= 0 ? H5Gopen2(sg, gname, H5P_DEFAULT) : -1;
        const char *which[3] = {"W", "X", "XW"};
        for (int w = 0; w < 3 && f && lg >= 0; w++) {
            double *v = NULL;
            size_t n = 0;
            if (read_vec(lg, which[w], &v, &n) != LR_OK) status = LR_EDATA;
            fprintf(f, "\"%s\"\n", which[w]);
            for (size_t i = 0; i < n && v && v[0] > 0; i++)
                if (v[i] / v[0] > 1e-17) fprintf(f, "%zu %.10g\n", i + 1, v[i] / v[0]);
            fprintf(f, "\n\n");
            free(v);
        }
        if (lg >= 0) H5Gclose(lg);
        if (f) fclose(f);
        /* error against rank: one block per compressor, then the optimum, then the bound */
        snprintf(path, sizeof path, "%s/err_%zu.dat", dir, l + 1);
        f = fopen(path, "w");
        for (size_t c = 0; c <= ncomp + 1 && f; c++) {
            fprintf(f, "\"%s\"\n", c < ncomp ? T->cols[cc].dict[c] : (c == ncomp ? "optimum" : "bound"));
            for (size_t i = 0; i < T->nrows; i++) {
                const double *r = lr_table_row(T, i);
                if ((int)r[cs] != 0 || (size_t)r[cli] != l) continue;
                double y;
                if (c < ncomp) {
                    if ((size_t)r[cc] != c) continue;
                    y = r[ce];
                } else {
                    if (strcmp(T->cols[cc].dict[(size_t)r[cc]], "dd_rank")) continue;
                    y = (c == ncomp ? r[ct] : r[cb]) / r[cz];
                }
                if (y > 0 && isfinite(y)) fprintf(f, "%.0f %.10g\n", r[ck], y);
            }
            fprintf(f, "\n\n");
        }
        if (f) fclose(f);
    }
    if (sg >= 0) H5Gclose(sg);
    int cols = nl < 4 ? (int)nl : 4, rows = (int)((nl + (size_t)cols - 1) / (size_t)cols);
    const char *fmts[] = {"pdf", "png"};
    const char *kinds[] = {"spectra", "error", "accuracy"};
    if (have_acc) {
        snprintf(path, sizeof path, "%s/acc.dat", dir);
        FILE *f = fopen(path, "w");
        int ac = lr_table_col(A, "compressor");
        for (size_t c = 0; c < ncomp && f; c++) {
            fprintf(f, "\"%s\"\n", T->cols[cc].dict[c]);
            for (size_t i = 0; i < A->nrows; i++)
                if (!strcmp(lr_table_name_at(A, i, (size_t)ac), T->cols[cc].dict[c]))
                    fprintf(f, "%.10g %.10g\n", lr_rf_num(A, i, "param_ratio"), lr_rf_num(A, i, "accuracy"));
            fprintf(f, "\n\n");
        }
        if (f) fclose(f);
        have_acc = A->nrows > 0;
    }
    char title[600];
    snprintf(title, sizeof title, "%s%s%s", rf->experiment, rf->name && rf->name[0] ? ": " : "", rf->name ? rf->name : "");
    double dense = NAN;
    lr_h5_get_attr_f64(rf->file, "accuracy_dense", &dense);
    for (int k = 0; k < 3 && status == LR_OK; k++) {
        if (k == 2 && !have_acc) continue;
        for (int fm = 0; fm < 2 && status == LR_OK; fm++) {
            char script[4200], out[4200];
            static char vars[16384];
            snprintf(script, sizeof script, "%s/real_%s.gp", plots, kinds[k]);
            snprintf(out, sizeof out, "%s_%s.%s", stem, kinds[k], fmts[fm]);
            snprintf(vars, sizeof vars,
                     "dir='%s'; out='%s'; fmt='%s'; title='%s'; nl=%zu; rows=%d; cols=%d; "
                     "ncomp=%zu; comps='%s'; layers='%s'; dense=%.10g",
                     dir, out, fmts[fm], title, nl, rows, cols, ncomp, names, layers, isnan(dense) ? -1.0 : dense);
            status = lr_cli_gnuplot(script, vars);
            if (status == LR_OK && fm == 1) printf("lrlab: wrote %s_%s.{pdf,png}\n", stem, kinds[k]);
        }
    }
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "lrlab: could not remove %s\n", dir);
    lr_table_free(T);
    lr_table_free(A);
    lr_table_free(Ly);
    if (status != LR_OK) return lr_cli_fail();
    return 0;
}
