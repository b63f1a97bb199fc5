/* Results: a table survives the HDF5 round trip with its types, names and docs. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5.h"
#include "io/results.h"
#include "run/run.h"
#include "run/table.h"
#include "core/error.h"
#include "tests.h"

static void test_table_roundtrip(void)
{
    lr_table *t = lr_table_alloc("trials");
    int ci = lr_table_add_column(t, "point", LR_COL_INT, "index");
    int cn = lr_table_add_column(t, "compressor", LR_COL_NAME, "name");
    int cr = lr_table_add_column(t, "err", LR_COL_REAL, "error");
    int cf = lr_table_add_column(t, "held", LR_COL_FLAG, "flag");
    CU_ASSERT(ci == 0 && cn == 1 && cr == 2 && cf == 3);
    const char *names[] = {"svd_w", "dd_rank"};
    for (int i = 0; i < 1500; i++) {
        double row[4] = {i, lr_table_dict_index(t, 1, names[i % 2]), i * 1e-3 + M_PI,
                         i % 3 - 1};
        if (i == 7) row[2] = NAN;
        CU_ASSERT_EQUAL(lr_table_append(t, row), 0);
    }
    char path[] = "/tmp/lrlab-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    hid_t f = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    CU_ASSERT_EQUAL(lr_h5_write_table(f, t, "a test table"), 0);
    CU_ASSERT_EQUAL(lr_h5_attr_str(f, "schema", "x"), 0);
    H5Fclose(f);

    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    lr_table *u = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_h5_read_table(f, "trials", &u), 0);
    CU_ASSERT_EQUAL(u->nrows, 1500);
    CU_ASSERT_EQUAL(u->ncols, 4);
    CU_ASSERT_EQUAL(u->cols[0].type, LR_COL_INT);
    CU_ASSERT_EQUAL(u->cols[1].type, LR_COL_NAME);
    CU_ASSERT_EQUAL(u->cols[2].type, LR_COL_REAL);
    CU_ASSERT_EQUAL(u->cols[3].type, LR_COL_FLAG);
    int same = 1;
    for (size_t i = 0; i < 1500; i++) {
        const double *a = lr_table_row(t, i), *b = lr_table_row(u, i);
        same &= a[0] == b[0] && a[3] == b[3];
        same &= (isnan(a[2]) && isnan(b[2])) || a[2] == b[2];
        same &= !strcmp(lr_table_name_at(t, i, 1), lr_table_name_at(u, i, 1));
    }
    CU_ASSERT(same);
    char *s = lr_h5_get_attr_str(f, "schema");
    CU_ASSERT_STRING_EQUAL(s, "x");
    free(s);
    hid_t ds = H5Dopen2(f, "trials", H5P_DEFAULT);
    char *cols = lr_h5_get_attr_str(ds, "columns");
    CU_ASSERT_PTR_NOT_NULL(strstr(cols, "err: error"));
    free(cols);
    H5Dclose(ds);
    lr_table_free(u);
    u = NULL;
    CU_ASSERT_NOT_EQUAL(lr_h5_read_table(f, "missing", &u), 0);
    H5Fclose(f);
    unlink(path);
    lr_table_free(t);
    lr_table_free(u);
}

static void test_sha256(void)
{
    char hex[65];
    lr_sha256_hex("abc", hex);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Held-out samples of a rank-deficient X~ share its row space: the held-out relative error is
 * then of the size of the calibration one (a fresh row space would expose the part of M* that
 * X~ annihilates, which no compressor can see). */
static void test_heldout_shares_row_space(void)
{
    char cfg[] = "/tmp/lrlab-heldout-XXXXXX";
    int fd = mkstemp(cfg);
    CU_ASSERT_FATAL(fd >= 0);
    const char *text = "experiment = \"recovery\"; trials = 20; seed = 3;\n"
                       "problem = { m = 200; m_test = 200; N0 = 30; N1 = 20; r = 3;\n"
                       "  x = { kind = \"lowrank\"; q = 10; }; noise = { sigma = 0.01; }; };\n"
                       "compress = { methods = [\"svd_w\", \"dd_rank\"]; };\n";
    CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    char out[64];
    snprintf(out, sizeof out, "%s.h5", cfg);
    lr_run_options opt = {0};
    opt.config_path = cfg;
    opt.output = out;
    opt.nthreads = 1;
    opt.force = 1;
    opt.command_line = "test";
    CU_ASSERT_EQUAL_FATAL(lr_run_main(&opt, NULL, 0), 0);
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    lr_table *p = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_h5_read_table(f, "points", &p), 0);
    H5Fclose(f);
    int ch = lr_table_col(p, "err_heldout_rel_median"), cc = lr_table_col(p, "err_rel_median");
    for (size_t i = 0; i < p->nrows; i++) {
        double ratio = lr_table_row(p, i)[ch] / lr_table_row(p, i)[cc];
        CU_ASSERT(ratio > 0.5 && ratio < 2.0);
    }
    lr_table_free(p);
    unlink(out);
    unlink(cfg);
}

/* Axes of one zip move together: /fits still fits along each of them (the partner is not
 * held fixed), /axes records the zip and group, and the sweep has 3 points, not 9. */
static void test_fits_along_zipped_axes(void)
{
    const char *text = "experiment = \"recovery\"; trials = 6; seed = 5;\n"
                       "problem = { m = 120; N0 = { list = [20, 30, 40]; zip = \"size\"; };\n"
                       "  N1 = { list = [10, 15, 20]; zip = \"size\"; }; r = 2; noise = { sigma = 0.01; }; };\n"
                       "compress = { methods = [\"dd_rank\"]; };\n";
    char out[64];
    CU_ASSERT_EQUAL_FATAL(lr_test_run_config(text, NULL, 0, out, sizeof out), 0);
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    lr_table *fits = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_h5_read_table(f, "fits", &fits), 0);
    double points = 0, group0 = -1, group1 = -2;
    CU_ASSERT_EQUAL(lr_h5_get_attr_f64(f, "points", &points), 0);
    CU_ASSERT_EQUAL(points, 3);
    hid_t a0 = H5Dopen2(f, "/axes/0", H5P_DEFAULT), a1 = H5Dopen2(f, "/axes/1", H5P_DEFAULT);
    CU_ASSERT_EQUAL(lr_h5_get_attr_f64(a0, "group", &group0), 0);
    CU_ASSERT_EQUAL(lr_h5_get_attr_f64(a1, "group", &group1), 0);
    CU_ASSERT_EQUAL(group0, group1);
    char *zip = lr_h5_get_attr_str(a0, "zip");
    CU_ASSERT(zip && !strcmp(zip, "size"));
    free(zip);
    H5Dclose(a0);
    H5Dclose(a1);
    H5Fclose(f);
    int ca = lr_table_col(fits, "axis"), cn = lr_table_col(fits, "n");
    size_t along_n0 = 0, along_n1 = 0;
    for (size_t i = 0; i < fits->nrows; i++) {
        const char *axis = lr_table_name_at(fits, i, (size_t)ca);
        along_n0 += !strcmp(axis, "problem.N0") && lr_table_row(fits, i)[cn] == 18;
        along_n1 += !strcmp(axis, "problem.N1") && lr_table_row(fits, i)[cn] == 18;
    }
    CU_ASSERT_EQUAL(along_n0, 1); /* one group: all 3 points x 6 trials */
    CU_ASSERT_EQUAL(along_n1, 1);
    lr_table_free(fits);
    unlink(out);
}

/* Schema version 3: a string attribute is variable-length UTF-8 (h5py reads it as str), a
 * name column fixed-length UTF-8; non-ASCII text and an attribute beyond 64 KiB survive. */
static void test_string_types(void)
{
    lr_table *t = lr_table_alloc("names");
    int cn = lr_table_add_column(t, "name", LR_COL_NAME, "a name, \xcf\x83 in UTF-8");
    const char *names[] = {"dd_rank", "\xcf\x83-scaled \xc3\xa9", ""};
    for (int i = 0; i < 3; i++) {
        double row[1] = {lr_table_dict_index(t, (size_t)cn, names[i])};
        CU_ASSERT_EQUAL(lr_table_append(t, row), 0);
    }
    size_t nbig = 70000;
    char *big = malloc(nbig + 1);
    CU_ASSERT_FATAL(big != NULL);
    memset(big, 'x', nbig);
    big[nbig] = '\0';
    char path[] = "/tmp/lrlab-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    hid_t f = lr_h5_create(path, H5F_ACC_EXCL);
    CU_ASSERT_FATAL(f >= 0);
    CU_ASSERT_EQUAL(lr_h5_write_table(f, t, "names"), 0);
    CU_ASSERT_EQUAL(lr_h5_attr_str(f, "sigma", "\xcf\x83 = 0.1"), 0);
    CU_ASSERT_EQUAL(lr_h5_attr_str(f, "big", big), 0);
    CU_ASSERT_EQUAL(lr_h5_attr_str(f, "empty", ""), 0);
    H5Fclose(f);

    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    const char *attrs[] = {"sigma", "big", "empty"};
    for (int i = 0; i < 3; i++) {
        hid_t a = H5Aopen(f, attrs[i], H5P_DEFAULT), ty = H5Aget_type(a);
        CU_ASSERT(H5Tget_class(ty) == H5T_STRING && H5Tis_variable_str(ty) > 0 &&
                  H5Tget_cset(ty) == H5T_CSET_UTF8);
        H5Tclose(ty);
        H5Aclose(a);
    }
    char *v = lr_h5_get_attr_str(f, "sigma");
    CU_ASSERT(v && !strcmp(v, "\xcf\x83 = 0.1"));
    free(v);
    v = lr_h5_get_attr_str(f, "big");
    CU_ASSERT(v && strlen(v) == nbig && v[nbig - 1] == 'x');
    free(v);
    v = lr_h5_get_attr_str(f, "empty");
    CU_ASSERT(v && !strcmp(v, ""));
    free(v);
    hid_t ds = H5Dopen2(f, "names", H5P_DEFAULT), ct = H5Dget_type(ds), mt = H5Tget_member_type(ct, 0);
    CU_ASSERT(H5Tget_class(mt) == H5T_STRING && H5Tis_variable_str(mt) == 0 && H5Tget_cset(mt) == H5T_CSET_UTF8);
    char *cols = lr_h5_get_attr_str(ds, "columns");
    CU_ASSERT(cols && strstr(cols, "name: a name, \xcf\x83 in UTF-8"));
    free(cols);
    H5Tclose(mt);
    H5Tclose(ct);
    H5Dclose(ds);
    lr_table *u = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_h5_read_table(f, "names", &u), 0);
    for (size_t i = 0; i < 3; i++) CU_ASSERT_STRING_EQUAL(lr_table_name_at(u, i, 0), names[i]);
    H5Fclose(f);
    unlink(path);
    lr_table_free(u);
    lr_table_free(t);
    free(big);
}

/* Files of schema versions 1 and 2 (fixed-length ASCII attributes and names) and another
 * writer's variable-length or full-width NULLPAD names are read as before. */
static void test_legacy_strings(void)
{
    char path[] = "/tmp/lrlab-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    hid_t f = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t sp = H5Screate(H5S_SCALAR), at = H5Tcopy(H5T_C_S1);
    H5Tset_size(at, 14); /* "lrlab.results" and its NUL, ASCII: what version 2 wrote */
    hid_t a = H5Acreate2(f, "schema", at, sp, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(H5Awrite(a, at, "lrlab.results") >= 0);
    H5Aclose(a);
    H5Tclose(at);
    H5Sclose(sp);
    /* A table of three name members: fixed ASCII NULLTERM (version 2), fixed NULLPAD filled
     * to its full width, variable-length UTF-8. */
    typedef struct { char a[8]; char b[4]; const char *c; } row_t;
    row_t rows[2] = {{"svd_w", {'a', 'b', 'c', 'd'}, "\xcf\x83"}, {"dd_rank", {'x', 0, 0, 0}, ""}};
    hid_t ta = H5Tcopy(H5T_C_S1), tb = H5Tcopy(H5T_C_S1), tc = H5Tcopy(H5T_C_S1);
    H5Tset_size(ta, 8);
    H5Tset_size(tb, 4);
    H5Tset_strpad(tb, H5T_STR_NULLPAD);
    H5Tset_size(tc, H5T_VARIABLE);
    H5Tset_cset(tc, H5T_CSET_UTF8);
    hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(row_t));
    H5Tinsert(ct, "a", offsetof(row_t, a), ta);
    H5Tinsert(ct, "b", offsetof(row_t, b), tb);
    H5Tinsert(ct, "c", offsetof(row_t, c), tc);
    hsize_t dims[1] = {2};
    hid_t ds_sp = H5Screate_simple(1, dims, NULL);
    hid_t ds = H5Dcreate2(f, "old", ct, ds_sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(H5Dwrite(ds, ct, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
    H5Dclose(ds);
    H5Sclose(ds_sp);
    H5Tclose(ct);
    H5Tclose(ta);
    H5Tclose(tb);
    H5Tclose(tc);
    H5Fclose(f);

    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *v = lr_h5_get_attr_str(f, "schema");
    CU_ASSERT(v && !strcmp(v, "lrlab.results"));
    free(v);
    lr_table *u = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_h5_read_table(f, "old", &u), 0);
    CU_ASSERT_EQUAL(u->ncols, 3);
    CU_ASSERT(u->cols[0].type == LR_COL_NAME && u->cols[1].type == LR_COL_NAME && u->cols[2].type == LR_COL_NAME);
    CU_ASSERT_STRING_EQUAL(lr_table_name_at(u, 0, 0), "svd_w");
    CU_ASSERT_STRING_EQUAL(lr_table_name_at(u, 1, 0), "dd_rank");
    CU_ASSERT_STRING_EQUAL(lr_table_name_at(u, 0, 1), "abcd");
    CU_ASSERT_STRING_EQUAL(lr_table_name_at(u, 1, 1), "x");
    CU_ASSERT_STRING_EQUAL(lr_table_name_at(u, 0, 2), "\xcf\x83");
    CU_ASSERT_STRING_EQUAL(lr_table_name_at(u, 1, 2), "");
    lr_table_free(u);
    H5Fclose(f);
    unlink(path);
}

void lr_tests_results(void)
{
    CU_pSuite s = CU_add_suite("results", NULL, NULL);
    CU_add_test(s, "table HDF5 round trip keeps types, names, NaN and docs", test_table_roundtrip);
    CU_add_test(s, "string attributes variable-length UTF-8, names fixed-length UTF-8", test_string_types);
    CU_add_test(s, "fixed-length ASCII strings of older files, foreign name members", test_legacy_strings);
    CU_add_test(s, "SHA-256 of the config text", test_sha256);
    CU_add_test(s, "held-out samples share a rank-deficient X~'s row space", test_heldout_shares_row_space);
    CU_add_test(s, "fits along zipped axes; /axes records the zip", test_fits_along_zipped_axes);
}
