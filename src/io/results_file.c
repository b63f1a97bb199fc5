#include "io/results_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/h5.h"
#include "io/results.h"

static double attr_num(hid_t f, const char *name)
{
    double v = NAN;
    if (lr_h5_get_attr_f64(f, name, &v) != LR_OK) v = NAN;
    return v;
}

int lr_results_open(const char *path, lr_results_file *rf)
{
    memset(rf, 0, sizeof *rf);
    lr_h5_quiet();
    if (H5Fis_hdf5(path) <= 0) LR_ERRORF(LR_EDATA, "%s: not an HDF5 file (or cannot be read)", path);
    rf->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (rf->file < 0) LR_ERRORF(LR_EIO, "%s: cannot open", path);
    rf->path = strdup(path);
    if (!rf->path) {
        H5Fclose(rf->file);
        rf->file = -1;
        LR_ERRORF(LR_ENOMEM, "%s: out of memory", path);
    }
    char *schema = lr_h5_get_attr_str(rf->file, "schema");
    int ok = schema && !strcmp(schema, LR_RESULTS_SCHEMA);
    free(schema);
    if (!ok) {
        H5Fclose(rf->file);
        rf->file = -1;
        free(rf->path);
        rf->path = NULL;
        LR_ERRORF(LR_EDATA, "%s: not an lrlab results file (root attribute schema != %s)", path,
                  LR_RESULTS_SCHEMA);
    }
    rf->experiment = lr_h5_get_attr_str(rf->file, "experiment");
    rf->name = lr_h5_get_attr_str(rf->file, "name");
    rf->config_sha256 = lr_h5_get_attr_str(rf->file, "config_sha256");
    rf->utc_time = lr_h5_get_attr_str(rf->file, "utc_time");
    rf->blas_core = lr_h5_get_attr_str(rf->file, "blas_core");
    rf->config_file = lr_h5_get_attr_str(rf->file, "config_file");
    rf->warnings = lr_h5_get_attr_str(rf->file, "warnings"); /* NULL in files before issue 14 */
    rf->seed = attr_num(rf->file, "seed");
    rf->trials = attr_num(rf->file, "trials");
    rf->threads = attr_num(rf->file, "threads");
    rf->wall_seconds = attr_num(rf->file, "wall_seconds");
    rf->fallbacks = attr_num(rf->file, "svd_fallbacks");
    /* /points and /fits exist only for experiments whose rows they summarise. */
    int s = LR_OK;
    if (H5Lexists(rf->file, "points", H5P_DEFAULT) > 0) s = lr_h5_read_table(rf->file, "points", &rf->points);
    if (s == LR_OK && H5Lexists(rf->file, "fits", H5P_DEFAULT) > 0)
        s = lr_h5_read_table(rf->file, "fits", &rf->fits);
    if (s == LR_OK) s = lr_h5_read_table(rf->file, "bounds", &rf->bounds);
    if (s == LR_OK && H5Lexists(rf->file, "shape", H5P_DEFAULT) > 0)
        s = lr_h5_read_table(rf->file, "shape", &rf->shape);
    rf->config = lr_h5_get_attr_str(rf->file, "config");
    if (s != LR_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lr_last_error());
        lr_results_close(rf);
        LR_ERRORF(LR_EDATA, "%s: %s", path, msg);
    }
    return LR_OK;
}

void lr_results_close(lr_results_file *rf)
{
    lr_table_free(rf->points);
    lr_table_free(rf->fits);
    lr_table_free(rf->shape);
    free(rf->config);
    lr_table_free(rf->bounds);
    free(rf->experiment);
    free(rf->name);
    free(rf->config_sha256);
    free(rf->utc_time);
    free(rf->blas_core);
    free(rf->config_file);
    free(rf->warnings);
    free(rf->path);
    if (rf->file >= 0 && rf->file) H5Fclose(rf->file);
    memset(rf, 0, sizeof *rf);
}

double lr_rf_num(const lr_table *t, size_t row, const char *col)
{
    int c = lr_table_col(t, col);
    return c < 0 ? NAN : lr_table_row(t, row)[c];
}

const char *lr_rf_str(const lr_table *t, size_t row, const char *col)
{
    int c = lr_table_col(t, col);
    return c < 0 ? "" : lr_table_name_at(t, row, (size_t)c);
}

double lr_rf_bound(const lr_table *t, size_t row, const char *bound, const char *suffix)
{
    char col[256];
    snprintf(col, sizeof col, "%s_%s", bound, suffix);
    return lr_rf_num(t, row, col);
}

const char *lr_rf_title(const lr_results_file *rf, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", rf->experiment, rf->name && rf->name[0] ? ": " : "", rf->name ? rf->name : "");
    return buf;
}
