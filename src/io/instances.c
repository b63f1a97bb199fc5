/* Instance files (see instances.h for the layout). */
#include "instances.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/h5.h"

struct lr_instances {
    hid_t file;
};

static const char layout_doc[] =
    "one group /p<point:05>/t<trial:06> per unit; float64 datasets in natural row-major "
    "orientation: X (m x N0) calibration inputs X~, M (N0 x N1) true weights M*, G (m x N1) "
    "pre-activation noise (model weight: G = X~ E), W (N0 x N1) the layer (preact: "
    "X~^+ (X~ M* + G); weight: M* + E); group attributes give the trial's parameters";

int lr_instances_open(lr_instances **out, const char *path, int force, const char *experiment,
                      const char *config_text, unsigned long long seed, size_t trials,
                      size_t points)
{
    *out = NULL;
    struct stat sb;
    if (!force && stat(path, &sb) == 0)
        LR_ERRORF(LR_EEXIST, "%s exists: use --force to overwrite it", path);
    lr_h5_quiet();
    hid_t f = lr_h5_create(path, H5F_ACC_TRUNC);
    if (f < 0) LR_ERRORF(LR_EIO, "%s: cannot create the instances file", path);
    lr_instances *ins = calloc(1, sizeof *ins);
    if (!ins) {
        H5Fclose(f);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    ins->file = f;
    int s = lr_h5_attr_str(f, "schema", "lrlab.instances");
    if (s == LR_OK) s = lr_h5_attr_i64(f, "schema_version", 2);
    if (s == LR_OK) s = lr_h5_attr_str(f, "experiment", experiment);
    if (s == LR_OK) s = lr_h5_attr_str(f, "config", config_text);
    if (s == LR_OK) s = lr_h5_attr_i64(f, "seed", (long long)seed);
    if (s == LR_OK) s = lr_h5_attr_i64(f, "trials", (long long)trials);
    if (s == LR_OK) s = lr_h5_attr_i64(f, "points", (long long)points);
    if (s == LR_OK) s = lr_h5_attr_str(f, "layout", layout_doc);
    if (s != LR_OK) {
        lr_instances_close(ins);
        return s;
    }
    *out = ins;
    return LR_OK;
}

int lr_instances_close(lr_instances *ins)
{
    if (!ins) return LR_OK;
    herr_t e = H5Fclose(ins->file);
    free(ins);
    if (e < 0) LR_ERROR(LR_EIO, "cannot close the instances file");
    return LR_OK;
}

/* The unit's group, created on first use. */
static hid_t unit_group(lr_instances *ins, size_t point, size_t trial)
{
    char path[64], top[16];
    snprintf(top, sizeof top, "p%05zu", point);
    snprintf(path, sizeof path, "p%05zu/t%06zu", point, trial);
    /* HDF5 keeps an error stack per thread: silence this one too. */
    lr_h5_quiet();
    /* H5Lexists needs every intermediate group to exist: ask level by level. */
    if (H5Lexists(ins->file, top, H5P_DEFAULT) > 0 && H5Lexists(ins->file, path, H5P_DEFAULT) > 0)
        return H5Gopen2(ins->file, path, H5P_DEFAULT);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(ins->file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    if (g >= 0) {
        double pt = (double)point, tr = (double)trial;
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t a1 = H5Acreate2(g, "point", H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT);
        hid_t a2 = H5Acreate2(g, "trial", H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a1, H5T_NATIVE_DOUBLE, &pt);
        H5Awrite(a2, H5T_NATIVE_DOUBLE, &tr);
        H5Aclose(a1);
        H5Aclose(a2);
        H5Sclose(sp);
    }
    return g;
}

static int put_locked(lr_instances *ins, size_t point, size_t trial, const char *name, lr_mat A,
                      size_t row0, size_t total_rows)
{
    if (row0 + A.rows > total_rows)
        LR_ERRORF(LR_EINVAL, "instances: rows %zu..%zu of %s exceed %zu", row0, row0 + A.rows,
                  name, total_rows);
    hid_t g = unit_group(ins, point, trial);
    if (g < 0) LR_ERRORF(LR_EIO, "instances: cannot create the group of unit (%zu, %zu)", point, trial);
    hid_t ds;
    hsize_t dims[2] = {total_rows, A.cols};
    if (H5Lexists(g, name, H5P_DEFAULT) > 0) ds = H5Dopen2(g, name, H5P_DEFAULT);
    else {
        hid_t sp = H5Screate_simple(2, dims, NULL);
        ds = H5Dcreate2(g, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Sclose(sp);
    }
    H5Gclose(g);
    if (ds < 0) LR_ERRORF(LR_EIO, "instances: cannot create dataset %s", name);
    /* Column-major block -> row-major rows. */
    double *buf = malloc((A.rows * A.cols > 0 ? A.rows * A.cols : 1) * sizeof(double));
    if (!buf) {
        H5Dclose(ds);
        LR_ERROR(LR_ENOMEM, "out of memory saving an instance");
    }
    for (size_t i = 0; i < A.rows; i++)
        for (size_t j = 0; j < A.cols; j++) buf[i * A.cols + j] = LR_AT(A, i, j);
    hsize_t start[2] = {row0, 0}, count[2] = {A.rows, A.cols};
    hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(2, count, NULL);
    herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (e >= 0 && A.rows > 0 && A.cols > 0) e = H5Dwrite(ds, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(ds);
    free(buf);
    if (e < 0) LR_ERRORF(LR_EIO, "instances: cannot write %s of unit (%zu, %zu)", name, point, trial);
    return LR_OK;
}

int lr_instances_put(lr_instances *ins, size_t point, size_t trial, const char *name, lr_mat A,
                     size_t row0, size_t total_rows)
{
    if (!ins) return LR_OK;
    int s;
    /* The Debian HDF5 library is not thread-safe: one writer at a time. */
#pragma omp critical(lr_hdf5)
    s = put_locked(ins, point, trial, name, A, row0, total_rows);
    return s;
}

static int attr_locked(lr_instances *ins, size_t point, size_t trial, const char *name,
                       const double *v, size_t n, const char *str)
{
    hid_t g = unit_group(ins, point, trial);
    if (g < 0) LR_ERRORF(LR_EIO, "instances: cannot create the group of unit (%zu, %zu)", point, trial);
    int s = LR_OK;
    if (str) s = lr_h5_attr_str(g, name, str);
    else {
        hsize_t d = n;
        hid_t sp = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &d, NULL);
        hid_t a = H5Acreate2(g, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT);
        if (a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, v) < 0)
            s = lr_error(LR_EIO, __FILE__, __LINE__, "instances: cannot write attribute %s", name);
        if (a >= 0) H5Aclose(a);
        H5Sclose(sp);
    }
    H5Gclose(g);
    return s;
}

int lr_instances_attr(lr_instances *ins, size_t point, size_t trial, const char *name,
                      const double *v, size_t n)
{
    if (!ins) return LR_OK;
    int s;
#pragma omp critical(lr_hdf5)
    s = attr_locked(ins, point, trial, name, v, n, NULL);
    return s;
}

int lr_instances_attr_str(lr_instances *ins, size_t point, size_t trial, const char *name,
                          const char *value)
{
    if (!ins) return LR_OK;
    int s;
#pragma omp critical(lr_hdf5)
    s = attr_locked(ins, point, trial, name, NULL, 0, value);
    return s;
}
