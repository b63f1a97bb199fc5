/* Figures of a `real_layers` results file (the experiment's plot hook, `lrlab plot FILE`):
 *   STEM_spectra.*   per layer, singular values of W, X and X W, each divided by its
 *                    largest (log scale), against their index;
 *   STEM_error.*     per layer, the relative layer error ||X~ M - X~ W||_F / ||X~ W||_F
 *                    against the rank for every compressor (measured, from the layer
 *                    stage of /trials), the optimum tau_k(X~W) / ||X~W|| (grey) and
 *                    Theorem 2(a) with the noise-level estimate for dd_rank (dashed);
 *   STEM_accuracy.*  test accuracy of the sequentially compressed network against its
 *                    parameter ratio, per compressor, with the dense accuracy (grey).
 * Data go through plain-text blocks in a gnuplot session (src/plot/gnuplot.h) to
 * plots/real_*.gp; each figure's data also beside it as STEM_<figure>.tsv.  A compressor
 * has its fixed colour (lr_gp_compressor_colour), the bound dd_rank's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/h5.h"
#include "io/results_file.h"
#include "plot/gnuplot.h"
#include "report_plot.h"

static int read_vec(hid_t g, const char *name, double **v, size_t *n)
{
    *v = NULL, *n = 0;
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

/* spec_L.dat: the spectra of W, X and X W of layer l (0-based), one block each. */
static int write_spectra(const lr_gp_session *gs, hid_t sg, size_t l)
{
    char name[64], gname[32];
    snprintf(name, sizeof name, "spec_%zu.dat", l + 1);
    FILE *f = lr_gp_session_fopen(gs, name);
    if (!f) return LR_EIO;
    snprintf(gname, sizeof gname, "%03zu", l);
    hid_t lg = sg >= 0 ? H5Gopen2(sg, gname, H5P_DEFAULT) : -1;
    const char *which[3] = {"W", "X", "XW"};
    int status = LR_OK;
    for (int w = 0; w < 3 && lg >= 0; w++) {
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
    if (fclose(f) != 0 && status == LR_OK) status = lr_error(LR_EIO, __FILE__, __LINE__, "%s/%s: cannot write", gs->dir, name);
    return status;
}

/* err_L.dat: layer l's relative error against the rank, one block per compressor, then
 * the optimum tau_k / ||X W|| and Theorem 2(a) with sigma-hat for dd_rank. */
static int write_errors(const lr_gp_session *gs, const lr_table *T, size_t l)
{
    int cc = lr_table_col(T, "compressor"), cs = lr_table_col(T, "stage"), cli = lr_table_col(T, "layer_index");
    int ck = lr_table_col(T, "k"), ce = lr_table_col(T, "err_layer_rel"), ct = lr_table_col(T, "tau_k");
    int cz = lr_table_col(T, "z_norm"), cb = lr_table_col(T, "thm2a_hat");
    if (cc < 0 || cs < 0 || cli < 0 || ck < 0 || ce < 0 || ct < 0 || cz < 0 || cb < 0)
        LR_ERROR(LR_EDATA, "/trials lacks a column of the real_layers figures");
    size_t ncomp = T->cols[cc].ndict;
    char name[64];
    snprintf(name, sizeof name, "err_%zu.dat", l + 1);
    FILE *f = lr_gp_session_fopen(gs, name);
    if (!f) return LR_EIO;
    for (size_t c = 0; c <= ncomp + 1; c++) {
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
    if (fclose(f) != 0) LR_ERRORF(LR_EIO, "%s/%s: cannot write", gs->dir, name);
    return LR_OK;
}

/* acc.dat: accuracy against parameter ratio, one block per compressor of /trials. */
static int write_accuracy(const lr_gp_session *gs, const lr_table *T, const lr_table *A)
{
    int cc = lr_table_col(T, "compressor"), ac = lr_table_col(A, "compressor");
    if (cc < 0 || ac < 0) LR_ERROR(LR_EDATA, "/accuracy or /trials has no compressor column");
    FILE *f = lr_gp_session_fopen(gs, "acc.dat");
    if (!f) return LR_EIO;
    for (size_t c = 0; c < T->cols[cc].ndict; c++) {
        fprintf(f, "\"%s\"\n", T->cols[cc].dict[c]);
        for (size_t i = 0; i < A->nrows; i++)
            if (!strcmp(lr_table_name_at(A, i, (size_t)ac), T->cols[cc].dict[c]))
                fprintf(f, "%.10g %.10g\n", lr_rf_num(A, i, "param_ratio"), lr_rf_num(A, i, "accuracy"));
        fprintf(f, "\n\n");
    }
    if (fclose(f) != 0) LR_ERRORF(LR_EIO, "%s/acc.dat: cannot write", gs->dir);
    return LR_OK;
}

/* STEM_<figure>.tsv: the data files figure k (0 spectra, 1 error, 2 accuracy) is drawn from. */
static int export_data(const lr_gp_session *gs, int k, size_t nl, const char *stem)
{
    static const char *const what[3] = {
        "singular values of W, X and X W of each layer (file spec_L: layer L), divided by the largest",
        "relative layer error ||X M - X W||_F / ||X W||_F against the rank k, per compressor, with the optimum "
        "tau_k(XW) / ||XW|| and Theorem 2(a)'s bound for dd_rank (file err_L: layer L)",
        "test accuracy of the sequentially compressed network against its parameter ratio, per compressor"};
    static const char *const cols[3] = {"index\tsigma_i/sigma_1", "rank_k\trelative_error", "param_ratio\taccuracy"};
    char (*files)[32] = calloc(nl ? nl : 1, sizeof *files);
    const char **names = calloc(nl ? nl : 1, sizeof *names);
    int status = files && names ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    size_t n = k == 2 ? 1 : nl;
    for (size_t l = 0; status == LR_OK && l < n; l++) {
        snprintf(files[l], sizeof files[l], k == 0 ? "spec_%zu.dat" : k == 1 ? "err_%zu.dat" : "acc.dat", l + 1);
        names[l] = files[l];
    }
    static const char *const kinds[3] = {"spectra", "error", "accuracy"};
    char out[4200];
    snprintf(out, sizeof out, "%s_%s.tsv", stem, kinds[k]);
    if (status == LR_OK) status = lr_gp_export_tsv(gs, names, n, what[k], cols[k], out);
    free(files);
    free(names);
    return status;
}

/* Draw the three figures from the data files; one "wrote" line per figure to log. */
static int draw(const lr_results_file *rf, const lr_gp_session *gs, const lr_table *T, const lr_table *Ly,
                int have_acc, const char *stem, const char *plots_dir, FILE *log)
{
    size_t nl = Ly->nrows;
    int cc = lr_table_col(T, "compressor");
    size_t ncomp = T->cols[cc].ndict;
    char names[2048] = "", layers[4096] = "";
    for (size_t c = 0; c < ncomp; c++)
        if (strlen(names) + strlen(T->cols[cc].dict[c]) + 2 < sizeof names) {
            strcat(names, T->cols[cc].dict[c]);
            strcat(names, " ");
        }
    for (size_t l = 0; l < nl; l++) {
        char lname[64];
        snprintf(lname, sizeof lname, "%s_%s(%.0fx%.0f) ", lr_rf_str(Ly, l, "layer"), lr_rf_str(Ly, l, "kind"),
                 lr_rf_num(Ly, l, "N0"), lr_rf_num(Ly, l, "N1"));
        if (strlen(layers) + strlen(lname) < sizeof layers) strcat(layers, lname);
    }
    /* At most 3 panels a row, and room for one more: the error figure's legend panel. */
    int cols = nl < 3 ? (int)nl + 1 : 3, rows = (int)((nl + 1 + (size_t)cols - 1) / (size_t)cols);
    char title[600];
    lr_rf_title(rf, title, sizeof title);
    double dense = NAN;
    lr_h5_get_attr_f64(rf->file, "accuracy_dense", &dense);
    const char *fmts[] = {"pdf", "png"}, *kinds[] = {"spectra", "error", "accuracy"};
    char ccomp[2048];
    lr_gp_compressor_colours(names, ccomp, sizeof ccomp);
    lr_plot_style style;
    lr_plot_style_read(rf->config, &style);
    lr_gp_vars v;
    lr_gp_vars_init(&v);
    int status = LR_OK;
    for (int k = 0; k < 3 && status == LR_OK; k++) {
        if (k == 2 && !have_acc) continue;
        status = export_data(gs, k, nl, stem);
        for (int fm = 0; fm < 2 && status == LR_OK; fm++) {
            char script[64], out[4200];
            snprintf(script, sizeof script, "real_%s.gp", kinds[k]);
            snprintf(out, sizeof out, "%s_%s.%s", stem, kinds[k], fmts[fm]);
            lr_gp_vars_clear(&v);
            lr_gp_vars_style(&v, &style, plots_dir);
            lr_gp_vars_str(&v, "ccomp", ccomp);
            lr_gp_vars_str(&v, "dir", gs->dir);
            lr_gp_vars_str(&v, "out", out);
            lr_gp_vars_str(&v, "fmt", fmts[fm]);
            lr_gp_vars_str(&v, "title", title);
            lr_gp_vars_num(&v, "nl", "%zu", nl);
            lr_gp_vars_num(&v, "rows", "%d", rows);
            lr_gp_vars_num(&v, "cols", "%d", cols);
            lr_gp_vars_num(&v, "ncomp", "%zu", ncomp);
            lr_gp_vars_str(&v, "comps", names);
            lr_gp_vars_str(&v, "layers", layers);
            lr_gp_vars_num(&v, "dense", "%.10g", isnan(dense) ? -1.0 : dense);
            status = lr_gp_run(plots_dir, script, &v);
            if (status == LR_OK && fm == 1 && log) fprintf(log, "lrlab: wrote %s_%s.{pdf,png}\n", stem, kinds[k]);
        }
    }
    lr_gp_vars_free(&v);
    return status;
}

int lr_real_layers_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log)
{
    lr_table *T = NULL, *A = NULL, *Ly = NULL;
    int status = lr_h5_read_table(rf->file, "trials", &T);
    if (status == LR_OK) status = lr_h5_read_table(rf->file, "layers", &Ly);
    if (status == LR_OK && lr_table_col(T, "compressor") < 0)
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: /trials has no compressor column", rf->path);
    int have_acc = status == LR_OK && H5Lexists(rf->file, "accuracy", H5P_DEFAULT) > 0 &&
                   lr_h5_read_table(rf->file, "accuracy", &A) == LR_OK;
    lr_gp_session gs = {""};
    if (status == LR_OK) status = lr_gp_session_open(&gs);
    hid_t sg = status == LR_OK ? H5Gopen2(rf->file, "spectra", H5P_DEFAULT) : -1;
    for (size_t l = 0; status == LR_OK && l < Ly->nrows; l++) {
        status = write_spectra(&gs, sg, l);
        if (status == LR_OK) status = write_errors(&gs, T, l);
    }
    if (sg >= 0) H5Gclose(sg);
    if (status == LR_OK && have_acc) {
        status = write_accuracy(&gs, T, A);
        have_acc = A->nrows > 0;
    }
    if (status == LR_OK) status = draw(rf, &gs, T, Ly, have_acc, stem, plots_dir, log);
    lr_gp_session_close(&gs);
    lr_table_free(T);
    lr_table_free(A);
    lr_table_free(Ly);
    return status;
}
