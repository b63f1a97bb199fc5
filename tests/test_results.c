/* Results: a table survives the HDF5 round trip with its types, names and docs. */
#include <CUnit/CUnit.h>
#include <math.h>
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

void lr_tests_results(void)
{
    CU_pSuite s = CU_add_suite("results", NULL, NULL);
    CU_add_test(s, "table HDF5 round trip keeps types, names, NaN and docs", test_table_roundtrip);
    CU_add_test(s, "SHA-256 of the config text", test_sha256);
    CU_add_test(s, "held-out samples share a rank-deficient X~'s row space", test_heldout_shares_row_space);
    CU_add_test(s, "fits along zipped axes; /axes records the zip", test_fits_along_zipped_axes);
}
