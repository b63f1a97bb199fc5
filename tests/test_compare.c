/* Swept seeds and `lrlab compare`'s pieces: the median's interval, the flattened config,
 * the seed derivation (a run with seed = [3, 4] holds the trials of the runs seed = 3 and
 * seed = 4) and the pooling of /points over seeds. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/stats.h"
#include "io/h5.h"
#include "run/compare.h"
#include "run/table.h"
#include "tests.h"

/* The interval's ranks are the binomial ones: rank j qualifies (P(B <= j - 1) <= 2.5%)
 * and j + 1 does not; n < 6 gives the whole range, n = 0 NaN. */
static void test_median_interval_ranks(void)
{
    double x[200];
    for (size_t i = 0; i < 200; i++) x[i] = (double)i + 1; /* x_(i) = i */
    double lo, hi;
    lr_median_interval(x, 0, 0.95, &lo, &hi);
    CU_ASSERT(isnan(lo) && isnan(hi));
    lr_median_interval(x, 5, 0.95, &lo, &hi);
    CU_ASSERT(lo == 1 && hi == 5);
    size_t ns[] = {6, 10, 40, 101, 200};
    for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
        size_t n = ns[k];
        lr_median_interval(x, n, 0.95, &lo, &hi);
        unsigned j = (unsigned)lo;
        CU_ASSERT_EQUAL(hi, (double)(n + 1 - j)); /* symmetric ranks */
        CU_ASSERT(gsl_cdf_binomial_P(j - 1, 0.5, (unsigned)n) <= 0.025);
        CU_ASSERT(gsl_cdf_binomial_P(j, 0.5, (unsigned)n) > 0.025);
    }
    /* n = 40: the textbook ranks 14 and 27. */
    lr_median_interval(x, 40, 0.95, &lo, &hi);
    CU_ASSERT(lo == 14 && hi == 27);
}

/* Coverage, whatever the distribution: exponential samples of n = 30 (median log 2); the
 * interval must hold it in at least 95% of 4000 repetitions, less 3 standard errors. */
static void test_median_interval_coverage(void)
{
    gsl_rng *r = lr_rng_alloc();
    CU_ASSERT_FATAL(r != NULL);
    lr_rng_seed_unit(r, 17, 0, 0);
    size_t reps = 4000, held = 0, n = 30;
    double x[30];
    for (size_t k = 0; k < reps; k++) {
        for (size_t i = 0; i < n; i++) x[i] = gsl_ran_exponential(r, 1.0);
        lr_sort(x, n);
        double lo, hi;
        lr_median_interval(x, n, 0.95, &lo, &hi);
        held += lo <= log(2.0) && log(2.0) <= hi;
    }
    gsl_rng_free(r);
    double cov = (double)held / (double)reps;
    CU_ASSERT(cov >= 0.95 - 3 * sqrt(0.95 * 0.05 / (double)reps));
}

static void test_config_flatten(void)
{
    lr_flat_config f;
    const char *text = "experiment = \"recovery\";\nseed = [1, 2];\n"
                       "problem : { m = 120; noise : { sigma : { geom = [0.001, 0.1, 4.0]; zip = \"s\"; }; rho = 0.5; }; };\n"
                       "compress : { methods = [\"svd_w\", \"dd_rank\"]; tol = 1e-09; monotone = true; };\n";
    CU_ASSERT_EQUAL_FATAL(lr_config_flatten(text, "t", &f), LR_OK);
    CU_ASSERT_EQUAL(f.n, 8);
    const char *want[][2] = {{"experiment", "\"recovery\""},
                             {"seed", "[1, 2]"},
                             {"problem.m", "120"},
                             {"problem.noise.sigma", "{ geom = [0.001, 0.1, 4.0]; zip = \"s\"; }"},
                             {"problem.noise.rho", "0.5"},
                             {"compress.methods", "[\"svd_w\", \"dd_rank\"]"},
                             {"compress.tol", "1e-09"},
                             {"compress.monotone", "true"}};
    for (size_t i = 0; i < 8; i++) {
        const char *v = lr_flat_config_get(&f, want[i][0]);
        CU_ASSERT(v && !strcmp(v, want[i][1]));
        if (!v || strcmp(v, want[i][1])) fprintf(stderr, "\n%s = %s (want %s)\n", want[i][0], v ? v : "NULL", want[i][1]);
    }
    CU_ASSERT(lr_flat_config_get(&f, "problem.noise") == NULL); /* a group is not a value */
    lr_flat_config_free(&f);
    CU_ASSERT_EQUAL(lr_config_flatten("a = ;\n", "bad.h5", &f), LR_EDATA);
    CU_ASSERT(strstr(lr_last_error(), "bad.h5") && strstr(lr_last_error(), "line 1"));
}

static const char seed_cfg[] = "experiment = \"recovery\"; trials = 4;\n"
                               "problem = { m = 40; N0 = 12; N1 = 10; r = [2, 3]; noise = { sigma = [0.01, 0.1]; }; };\n"
                               "compress = { methods = [\"svd_w\", \"rsvd_w\", \"dd_rank\"]; };\n";

static lr_table *read_table(const char *path, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    lr_table *t = NULL;
    if (f >= 0 && lr_h5_read_table(f, name, &t) != LR_OK) t = NULL;
    if (f >= 0) H5Fclose(f);
    return t;
}

/* seed = [3, 4] runs each seed's trials exactly as the runs seed = 3 and seed = 4 (a
 * randomised compressor's own stream included); the point column counts over the whole
 * sweep, the seed slowest. */
static void test_seed_sweep_same_trials(void)
{
    const char *sw[] = {"seed=[3,4]"}, *s3[] = {"seed=3"}, *s4[] = {"seed=4"};
    char o34[64], o3[64], o4[64];
    CU_ASSERT_EQUAL_FATAL(lr_test_run_config(seed_cfg, sw, 1, o34, sizeof o34), 0);
    CU_ASSERT_EQUAL_FATAL(lr_test_run_config(seed_cfg, s3, 1, o3, sizeof o3), 0);
    CU_ASSERT_EQUAL_FATAL(lr_test_run_config(seed_cfg, s4, 1, o4, sizeof o4), 0);
    lr_table *t34 = read_table(o34, "trials"), *t[2] = {read_table(o3, "trials"), read_table(o4, "trials")};
    CU_ASSERT_FATAL(t34 && t[0] && t[1]);
    CU_ASSERT_EQUAL_FATAL(t34->nrows, t[0]->nrows + t[1]->nrows);
    int cseed = lr_table_col(t34, "seed");
    CU_ASSERT_FATAL(cseed >= 0);
    CU_ASSERT(lr_table_col(t[0], "seed") < 0); /* an unswept seed: no column */
    size_t mismatched = 0, compared = 0;
    for (int s = 0; s < 2; s++) {
        size_t base = s ? t[0]->nrows : 0;
        for (size_t r = 0; r < t[s]->nrows; r++) {
            const double *a = lr_table_row(t34, base + r), *b = lr_table_row(t[s], r);
            CU_ASSERT_EQUAL(a[cseed], 3 + s);
            CU_ASSERT_EQUAL(a[lr_table_col(t34, "point")], b[lr_table_col(t[s], "point")] + (s ? 4 : 0));
            for (size_t c = 0; c < t[s]->ncols; c++) {
                const char *nm = t[s]->cols[c].name;
                if (!strcmp(nm, "point")) continue;
                double x = a[lr_table_col(t34, nm)], y = b[c];
                compared++;
                if (t[s]->cols[c].type == LR_COL_NAME) {
                    mismatched += strcmp(lr_table_name_at(t34, base + r, (size_t)lr_table_col(t34, nm)),
                                         lr_table_name_at(t[s], r, c)) != 0;
                } else {
                    mismatched += !(x == y || (isnan(x) && isnan(y)));
                }
            }
        }
    }
    CU_ASSERT(compared > 1000);
    CU_ASSERT_EQUAL(mismatched, 0);
    lr_table_free(t34);
    lr_table_free(t[0]);
    lr_table_free(t[1]);

    /* /points pooled (the default): one row per point of the seedless sweep, every
     * seed's trials, no seed column; /fits never along the seed. */
    lr_table *p34 = read_table(o34, "points"), *p3 = read_table(o3, "points"), *f34 = read_table(o34, "fits");
    CU_ASSERT_FATAL(p34 && p3 && f34);
    CU_ASSERT_EQUAL(p34->nrows, p3->nrows);
    CU_ASSERT(lr_table_col(p34, "seed") < 0);
    for (size_t r = 0; r < p34->nrows; r++) CU_ASSERT_EQUAL(lr_table_row(p34, r)[lr_table_col(p34, "n")], 8);
    for (size_t r = 0; r < f34->nrows; r++) {
        CU_ASSERT(strcmp(lr_table_name_at(f34, r, (size_t)lr_table_col(f34, "axis")), "seed") != 0);
        CU_ASSERT(strstr(lr_table_name_at(f34, r, (size_t)lr_table_col(f34, "fixed")), "seed") == NULL);
    }
    lr_table_free(p34);
    lr_table_free(p3);
    lr_table_free(f34);
    unlink(o34);
    unlink(o3);
    unlink(o4);

    /* report.seeds = "separate": each seed its own rows, with the seed column. */
    const char *sep[] = {"seed=[3,4]", "report.seeds=\"separate\""};
    CU_ASSERT_EQUAL_FATAL(lr_test_run_config(seed_cfg, sep, 2, o34, sizeof o34), 0);
    p34 = read_table(o34, "points");
    CU_ASSERT_FATAL(p34 != NULL);
    CU_ASSERT_EQUAL(p34->nrows, 2 * 4 * 3); /* seeds x points x compressors */
    CU_ASSERT(lr_table_col(p34, "seed") >= 0);
    for (size_t r = 0; r < p34->nrows; r++) CU_ASSERT_EQUAL(lr_table_row(p34, r)[lr_table_col(p34, "n")], 4);
    lr_table_free(p34);
    unlink(o34);
}

/* A repeated seed would run the same trials twice, a zipped one tie a seed to a value. */
static void test_seed_sweep_refused(void)
{
    const char *dup[] = {"seed=[3,5,3]"};
    char out[64];
    CU_ASSERT_EQUAL(lr_test_run_config(seed_cfg, dup, 1, out, sizeof out), LR_ECONFIG);
    CU_ASSERT(strstr(lr_last_error(), "seed 3 is listed twice") != NULL);
    const char *zip[] = {"seed={ list = [1, 2]; zip = \"z\"; }", "problem.r={ list = [2, 3]; zip = \"z\"; }"};
    CU_ASSERT_EQUAL(lr_test_run_config(seed_cfg, zip, 2, out, sizeof out), LR_ECONFIG);
    CU_ASSERT(strstr(lr_last_error(), "seed cannot be zipped") != NULL);
    unlink(out);
}

void lr_tests_compare(void)
{
    CU_pSuite s = CU_add_suite("compare", NULL, NULL);
    CU_add_test(s, "median interval: binomial ranks", test_median_interval_ranks);
    CU_add_test(s, "median interval: coverage on exponential samples", test_median_interval_coverage);
    CU_add_test(s, "a resolved config flattened key by key", test_config_flatten);
    CU_add_test(s, "seed = [3, 4] holds the trials of seed = 3 and seed = 4; /points pooled or separate",
                test_seed_sweep_same_trials);
    CU_add_test(s, "repeated or zipped seeds refused", test_seed_sweep_refused);
}
