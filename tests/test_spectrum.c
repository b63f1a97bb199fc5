/* Tests of the spectrum reader's messages on bad values (src/io/spectrum.c): the file,
 * the line (text) or the index (HDF5), and the bad value as written. */
#include <CUnit/CUnit.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "io/spectrum.h"
#include "tests.h"

/* Write text to a fresh temporary file; path receives its name. */
static void write_text(char *path, const char *text)
{
    strcpy(path, "/tmp/lrlab-spectrum-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

/* lr_spectrum_read(path) fails with LR_EDATA, leaves *values NULL, and its message holds
 * every one of words. */
static void expect_bad(const char *path, const char *const *words)
{
    double *v = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(lr_spectrum_read(path, NULL, &v, &n), LR_EDATA);
    CU_ASSERT_PTR_NULL(v);
    const char *msg = lr_last_error();
    for (size_t i = 0; words[i]; i++) {
        int found = strstr(msg, words[i]) != NULL;
        CU_ASSERT(found);
        if (!found) fprintf(stderr, "\n  message '%s' lacks '%s'\n", msg, words[i]);
    }
}

static void test_spectrum_bad_text(void)
{
    char path[64], where[80];
    write_text(path, "# a layer\n3.5, 1.25\n10 nan 2 # comment\n");
    snprintf(where, sizeof where, "%s:3:", path);
    expect_bad(path, (const char *const[]){where, "'nan'", "finite, >= 0", NULL});
    unlink(path);
    write_text(path, "1\n\n2 -0.25\n");
    snprintf(where, sizeof where, "%s:3:", path);
    expect_bad(path, (const char *const[]){where, "'-0.25'", NULL});
    unlink(path);
    write_text(path, "1 inf\n");
    snprintf(where, sizeof where, "%s:1:", path);
    expect_bad(path, (const char *const[]){where, "'inf'", NULL});
    unlink(path);
}

static void test_spectrum_bad_h5(void)
{
    char path[64];
    write_text(path, "");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    /* 64 values, the bad one far from the start of the freed block. */
    double v[64];
    for (int i = 0; i < 64; i++) v[i] = 64 - i;
    v[40] = NAN;
    hsize_t dims[1] = {64};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t ds = H5Dcreate2(f, "spectrum", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(f);
    char where[80];
    snprintf(where, sizeof where, "%s: value 41 = nan", path);
    expect_bad(path, (const char *const[]){where, NULL});
    unlink(path);
}

void lr_tests_spectrum(void)
{
    CU_pSuite s = CU_add_suite("io/spectrum: bad values", NULL, NULL);
    CU_add_test(s, "text: the message names the file, the line and the value", test_spectrum_bad_text);
    CU_add_test(s, "HDF5: the message names the file, the index and the value", test_spectrum_bad_h5);
}
