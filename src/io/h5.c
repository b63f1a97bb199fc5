#include "h5.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void lr_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* Files lrlab writes use the HDF5 1.8 format or later: only it stores an attribute larger
 * than 64 KiB (a long config or name), which the 1.6 format cannot hold, so a run would
 * fail at its very end.  HDF5 1.8 (2008) and every h5py read it. */
hid_t lr_h5_create(const char *path, unsigned flags)
{
    /* One property list for the process, never closed: no HDF5 call may follow a failed
     * H5Fcreate before lr_h5_error_reason has read the error stack. */
    static hid_t fapl = -1;
    if (fapl < 0) {
        fapl = H5Pcreate(H5P_FILE_ACCESS);
        if (fapl < 0) return -1;
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    }
    return H5Fcreate(path, flags, H5P_DEFAULT, fapl);
}

/* HDF5's file drivers record the errno of a failed system call in their error message as
 * "errno = N" (a format HDF5's sources keep for callers that read it). */
static herr_t find_errno(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    int *err = data;
    const char *p = e->desc ? strstr(e->desc, "errno = ") : NULL;
    if (p && *err == 0) *err = atoi(p + strlen("errno = "));
    return 0;
}

const char *lr_h5_error_reason(void)
{
    int err = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, find_errno, &err); /* H5Ewalk2 keeps the stack */
    return err > 0 ? strerror(err) : "an HDF5 error with no system error";
}

static size_t name_width(const lr_column *c)
{
    size_t w = 1;
    for (size_t d = 0; d < c->ndict; d++)
        if (strlen(c->dict[d]) + 1 > w) w = strlen(c->dict[d]) + 1;
    return w;
}

static hid_t member_type(const lr_column *c, size_t *size)
{
    switch (c->type) {
    case LR_COL_INT: *size = 4; return H5Tcopy(H5T_NATIVE_INT32);
    case LR_COL_FLAG: *size = 1; return H5Tcopy(H5T_NATIVE_INT8);
    case LR_COL_REAL: *size = 8; return H5Tcopy(H5T_NATIVE_DOUBLE);
    case LR_COL_NAME: {
        /* Fixed-length UTF-8, as wide as the column's longest name.  Variable-length
         * strings would gain nothing for Python: h5py (3.7, Debian 12) returns the members
         * of a compound dataset as bytes whether they are fixed or variable length (its
         * .asstr() works on string datasets only, not on compound ones), so a reader
         * decodes either way (python/lrlab does).  Fixed length keeps the rows contiguous
         * in the chunk, so deflate compresses the names with the numbers, and numpy reads
         * them as one 'S' array instead of an array of Python objects. */
        hid_t s = H5Tcopy(H5T_C_S1);
        *size = name_width(c);
        H5Tset_size(s, *size);
        H5Tset_strpad(s, H5T_STR_NULLTERM);
        H5Tset_cset(s, H5T_CSET_UTF8);
        return s;
    }
    }
    return -1;
}

int lr_h5_write_table(hid_t loc, const lr_table *t, const char *doc)
{
    if (t->failed) LR_ERRORF(LR_ENOMEM, "table %s: out of memory for its columns or names", t->name);
    size_t *offset = calloc(t->ncols + 1, sizeof *offset);
    hid_t *mtype = calloc(t->ncols + 1, sizeof *mtype);
    if (!offset || !mtype) {
        free(offset);
        free(mtype);
        LR_ERROR(LR_ENOMEM, "out of memory writing a table");
    }
    size_t rowsize = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        size_t sz = 0;
        mtype[c] = member_type(&t->cols[c], &sz);
        offset[c] = rowsize;
        rowsize += sz;
    }
    hid_t ctype = H5Tcreate(H5T_COMPOUND, rowsize ? rowsize : 1);
    for (size_t c = 0; c < t->ncols; c++) H5Tinsert(ctype, t->cols[c].name, offset[c], mtype[c]);

    unsigned char *buf = calloc(t->nrows ? t->nrows : 1, rowsize ? rowsize : 1);
    int status = LR_OK;
    if (!buf) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory writing %s", t->name);
    for (size_t i = 0; buf && i < t->nrows; i++) {
        const double *row = lr_table_row(t, i);
        unsigned char *p = buf + i * rowsize;
        for (size_t c = 0; c < t->ncols; c++) {
            switch (t->cols[c].type) {
            case LR_COL_INT: {
                /* a missing value (NaN) is stored as INT32_MIN, read back as NaN (lr_h5_read_table);
                 * casting NaN to an integer would be undefined behaviour */
                int32_t v = isfinite(row[c]) && fabs(row[c]) < 2147483647.0 ? (int32_t)row[c] : LR_H5_INT_MISSING;
                memcpy(p + offset[c], &v, 4);
                break;
            }
            case LR_COL_FLAG: {
                int8_t v = (int8_t)row[c];
                memcpy(p + offset[c], &v, 1);
                break;
            }
            case LR_COL_REAL: memcpy(p + offset[c], &row[c], 8); break;
            case LR_COL_NAME: {
                const char *s = lr_table_name_at(t, i, c);
                memcpy(p + offset[c], s, strlen(s));
                break;
            }
            }
        }
    }
    if (status == LR_OK) {
        hsize_t dims[1] = {t->nrows}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {1024};
        hid_t space = H5Screate_simple(1, dims, maxdims);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 1, chunk);
        H5Pset_deflate(dcpl, 4);
        hid_t ds = H5Dcreate2(loc, t->name, ctype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (ds < 0 || (t->nrows && H5Dwrite(ds, ctype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0))
            status = lr_error(LR_EIO, __FILE__, __LINE__, "cannot write dataset /%s: %s", t->name,
                              lr_h5_error_reason());
        if (ds >= 0 && status == LR_OK) {
            size_t len = 1;
            for (size_t c = 0; c < t->ncols; c++)
                len += strlen(t->cols[c].name) + strlen(t->cols[c].doc) + 4;
            char *cols = malloc(len), *q = cols;
            for (size_t c = 0; cols && c < t->ncols; c++)
                q += sprintf(q, "%s: %s\n", t->cols[c].name, t->cols[c].doc);
            if (cols) {
                *q = '\0';
                status = lr_h5_attr_str(ds, "columns", cols);
            } else {
                status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory for the columns of /%s", t->name);
            }
            free(cols);
            if (status == LR_OK && doc) status = lr_h5_attr_str(ds, "description", doc);
            if (status == LR_OK) status = lr_h5_attr_i64(ds, "int_missing", LR_H5_INT_MISSING);
        }
        if (ds >= 0) H5Dclose(ds);
        H5Pclose(dcpl);
        H5Sclose(space);
    }
    free(buf);
    H5Tclose(ctype);
    for (size_t c = 0; c < t->ncols; c++) H5Tclose(mtype[c]);
    free(mtype);
    free(offset);
    return status;
}

/* Column c of a table from a string member of type mt: fixed length (what lrlab writes:
 * UTF-8 since schema version 3, ASCII before) or variable length (another writer's).  The
 * memory type takes the member's character set: HDF5 converts between strings of one
 * set only. */
static int read_name_column(hid_t ds, const char *table, hid_t mt, lr_table *t, size_t c, size_t n)
{
    int vlen = H5Tis_variable_str(mt) > 0;
    size_t w = vlen ? sizeof(char *) : H5Tget_size(mt);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, vlen ? H5T_VARIABLE : w);
    H5Tset_cset(st, H5Tget_cset(mt));
    if (!vlen) H5Tset_strpad(st, H5T_STR_NULLPAD); /* a full-width name keeps its last byte */
    hid_t one = H5Tcreate(H5T_COMPOUND, w);
    H5Tinsert(one, t->cols[c].name, 0, st);
    char *sbuf = calloc(n ? n : 1, w);
    char *tmp = vlen ? NULL : malloc(w + 1);
    int status = LR_OK;
    if (!sbuf || (!vlen && !tmp))
        status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory reading /%s.%s", table, t->cols[c].name);
    else if (n && H5Dread(ds, one, H5S_ALL, H5S_ALL, H5P_DEFAULT, sbuf) < 0) {
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "cannot read /%s.%s", table, t->cols[c].name);
        vlen = 0; /* nothing to reclaim */
    }
    for (size_t i = 0; status == LR_OK && i < n; i++) {
        const char *v;
        if (vlen) {
            char *p;
            memcpy(&p, sbuf + i * w, sizeof p);
            v = p ? p : "";
        } else {
            memcpy(tmp, sbuf + i * w, w);
            tmp[w] = '\0';
            v = tmp;
        }
        int idx = lr_table_dict_index(t, c, v);
        if (idx < 0) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory reading /%s.%s", table, t->cols[c].name);
        lr_table_row(t, i)[c] = idx;
    }
    if (vlen && sbuf && n) {
        hid_t space = H5Dget_space(ds);
        H5Dvlen_reclaim(one, space, H5P_DEFAULT, sbuf);
        H5Sclose(space);
    }
    free(tmp);
    free(sbuf);
    H5Tclose(one);
    H5Tclose(st);
    return status;
}

int lr_h5_read_table(hid_t loc, const char *name, lr_table **out)
{
    *out = NULL;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0) LR_ERRORF(LR_EDATA, "no dataset /%s", name);
    hid_t ftype = H5Dget_type(ds), space = H5Dget_space(ds);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    int status = LR_OK;
    lr_table *t = lr_table_alloc(name);
    if (H5Tget_class(ftype) != H5T_COMPOUND || n < 0 || !t)
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "/%s is not a table", name);
    int nmembers = status == LR_OK ? H5Tget_nmembers(ftype) : 0;
    for (int c = 0; status == LR_OK && c < nmembers; c++) {
        char *mname = H5Tget_member_name(ftype, (unsigned)c);
        hid_t mt = H5Tget_member_type(ftype, (unsigned)c);
        H5T_class_t cls = H5Tget_class(mt);
        lr_col_type type = cls == H5T_STRING ? LR_COL_NAME
                           : cls == H5T_FLOAT ? LR_COL_REAL
                           : H5Tget_size(mt) == 1 ? LR_COL_FLAG
                                                  : LR_COL_INT;
        if (lr_table_add_column(t, mname, type, "") < 0) status = LR_ENOMEM;
        H5Tclose(mt);
        H5free_memory(mname);
    }
    if (status == LR_OK && lr_table_reserve(t, (size_t)n ? (size_t)n : 1) != LR_OK) status = LR_ENOMEM;
    if (status == LR_OK) {
        t->nrows = (size_t)n;
        double *col = malloc(((size_t)n ? (size_t)n : 1) * sizeof(double));
        for (int c = 0; col && status == LR_OK && c < nmembers; c++) {
            hid_t mt = H5Tget_member_type(ftype, (unsigned)c);
            if (t->cols[c].type == LR_COL_NAME) {
                status = read_name_column(ds, name, mt, t, (size_t)c, (size_t)n);
            } else {
                hid_t one = H5Tcreate(H5T_COMPOUND, sizeof(double));
                H5Tinsert(one, t->cols[c].name, 0, H5T_NATIVE_DOUBLE);
                if (n && H5Dread(ds, one, H5S_ALL, H5S_ALL, H5P_DEFAULT, col) < 0)
                    status = lr_error(LR_EDATA, __FILE__, __LINE__, "cannot read /%s.%s", name, t->cols[c].name);
                for (hssize_t i = 0; status == LR_OK && i < n; i++)
                    lr_table_row(t, (size_t)i)[c] =
                        t->cols[c].type == LR_COL_INT && col[i] == (double)LR_H5_INT_MISSING ? NAN : col[i];
                H5Tclose(one);
            }
            H5Tclose(mt);
        }
        if (!col) status = LR_ENOMEM;
        free(col);
    }
    H5Sclose(space);
    H5Tclose(ftype);
    H5Dclose(ds);
    if (status != LR_OK) {
        lr_table_free(t);
        return status;
    }
    *out = t;
    return LR_OK;
}

static int write_attr(hid_t obj, const char *name, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a >= 0 ? H5Awrite(a, type, value) : -1;
    const char *why = e < 0 ? lr_h5_error_reason() : NULL; /* before H5Aclose clears it */
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    if (e < 0) LR_ERRORF(LR_EIO, "cannot write attribute %s: %s", name, why);
    return LR_OK;
}

/* Variable-length UTF-8 (schema version 3): h5py returns such an attribute as str, where a
 * fixed-length one (versions 1 and 2) comes back as bytes that every script must decode.
 * HDF5 1.8 reads variable-length strings (1.6 did), and the text lives in the global heap,
 * so an attribute of any length fits the object header. */
int lr_h5_attr_str(hid_t obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int s = write_attr(obj, name, t, &value);
    H5Tclose(t);
    return s;
}

int lr_h5_attr_i64(hid_t obj, const char *name, long long value)
{
    int64_t v = value;
    return write_attr(obj, name, H5T_NATIVE_INT64, &v);
}

int lr_h5_attr_f64(hid_t obj, const char *name, double value)
{
    return write_attr(obj, name, H5T_NATIVE_DOUBLE, &value);
}

char *lr_h5_get_attr_str(hid_t obj, const char *name)
{
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a);
    char *out = NULL;
    /* Results files are lrlab's own (a damaged dump, whose variable-length descriptors
     * cannot be trusted, is read through dump.c's probe instead). */
    if (H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0) {
        /* Schema version 3 on: variable length, UTF-8. */
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char *s = NULL;
        if (H5Aread(a, mt, &s) >= 0) out = strdup(s ? s : "");
        if (s) {
            hid_t sp = H5Screate(H5S_SCALAR);
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, &s);
            H5Sclose(sp);
        }
        H5Tclose(mt);
    } else if (H5Tget_class(ft) == H5T_STRING) {
        /* Versions 1 and 2 (and tests/mkdump --set-string): fixed length. */
        size_t n = H5Tget_size(ft);
        hid_t mt = H5Tcopy(ft); /* same size and character set as stored */
        out = calloc(n + 2, 1);
        if (out && H5Aread(a, mt, out) < 0) {
            free(out);
            out = NULL;
        }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
    return out;
}

int lr_h5_get_attr_f64(hid_t obj, const char *name, double *value)
{
    if (H5Aexists(obj, name) <= 0) LR_ERRORF(LR_EDATA, "attribute %s is missing", name);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    herr_t e = H5Aread(a, H5T_NATIVE_DOUBLE, value);
    H5Aclose(a);
    if (e < 0) LR_ERRORF(LR_EDATA, "cannot read attribute %s", name);
    return LR_OK;
}

int lr_h5_write_vector(hid_t loc, const char *name, const double *v, size_t n)
{
    hsize_t dims[1] = {n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t ds = H5Dcreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = ds >= 0 && n ? H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) : (ds >= 0 ? 0 : -1);
    const char *why = e < 0 ? lr_h5_error_reason() : NULL; /* before H5Dclose clears it */
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(space);
    if (e < 0) LR_ERRORF(LR_EIO, "cannot write dataset %s: %s", name, why);
    return LR_OK;
}
