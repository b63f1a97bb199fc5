/* Measured spectra for the spectral tails of the recovery experiment. */
#include "spectrum.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/stats.h"
#include "io/h5.h"

static int read_h5(const char *path, const char *dataset, double **values, size_t *n)
{
    const char *name = dataset && dataset[0] ? dataset : "spectrum";
    lr_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) LR_ERRORF(LR_EIO, "%s: cannot open as HDF5", path);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0) {
        H5Fclose(f);
        LR_ERRORF(LR_EDATA, "%s: no dataset '%s'", path, name);
    }
    hid_t sp = H5Dget_space(ds);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    int status = LR_OK;
    double *v = np > 0 ? malloc((size_t)np * sizeof(double)) : NULL;
    if (np <= 0) status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: dataset '%s' is empty", path, name);
    else if (!v) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    else if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: cannot read dataset '%s' as numbers", path, name);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(f);
    if (status != LR_OK) {
        free(v);
        return status;
    }
    *values = v;
    *n = (size_t)np;
    return LR_OK;
}

static int read_text(const char *path, double **values, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) LR_ERRORF(LR_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 64, len = 0, line = 0;
    double *v = malloc(cap * sizeof(double));
    char buf[4096];
    int status = v ? LR_OK : LR_ENOMEM;
    while (status == LR_OK && fgets(buf, sizeof buf, f)) {
        line++;
        char *hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        for (char *p = buf; *p; p++)
            if (*p == ',') *p = ' ';
        char *p = buf, *end;
        for (;;) {
            while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
            if (!*p) break;
            double x = strtod(p, &end);
            if (end == p) {
                status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s:%zu: '%.20s' is not a number", path, line, p);
                break;
            }
            if (!isfinite(x) || x < 0) {
                status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s:%zu: '%.*s' = %g is not a singular "
                                  "value (finite, >= 0)", path, line, (int)(end - p < 40 ? end - p : 40), p, x);
                break;
            }
            if (len == cap) {
                double *w = realloc(v, 2 * cap * sizeof(double));
                if (!w) {
                    status = LR_ENOMEM;
                    break;
                }
                v = w;
                cap *= 2;
            }
            v[len++] = x;
            p = end;
        }
    }
    fclose(f);
    if (status == LR_OK && len == 0) status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: no values", path);
    if (status != LR_OK) {
        free(v);
        if (status == LR_ENOMEM) LR_ERROR(LR_ENOMEM, "out of memory");
        return status;
    }
    *values = v;
    *n = len;
    return LR_OK;
}

int lr_spectrum_read(const char *path, const char *dataset, double **values, size_t *n)
{
    /* A device or a FIFO would be read forever (/dev/zero) or block (a FIFO nobody writes):
     * only a regular file is a spectrum. */
    struct stat sb;
    if (stat(path, &sb) != 0) LR_ERRORF(LR_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) LR_ERRORF(LR_EIO, "%s: not a regular file (a spectrum is a text or HDF5 file)", path);
    lr_h5_quiet();
    htri_t is_h5 = H5Fis_hdf5(path);
    LR_TRY(is_h5 > 0 ? read_h5(path, dataset, values, n) : read_text(path, values, n));
    double *v = *values;
    for (size_t i = 0; i < *n; i++)
        if (!isfinite(v[i]) || v[i] < 0) {
            /* The message first: it reads v[i]. */
            int status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: value %zu = %g is not a singular "
                                  "value (finite, >= 0)", path, i + 1, v[i]);
            free(v);
            *values = NULL;
            return status;
        }
    /* Descending: sort ascending and reverse. */
    lr_sort(v, *n);
    for (size_t i = 0, j = *n - 1; i < j; i++, j--) {
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    return LR_OK;
}
