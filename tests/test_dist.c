/* Shards and their merge (run/dist.h, src/run/merge.c): --shard's parsing, that the shards
 * of any count partition the units, and that three shards of a small run, merged, give
 * the /trials of the whole run cell for cell.  The e2e tests check the command line, the
 * refusals and MPI. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "io/h5.h"
#include "run/dist.h"
#include "tests.h"

static void test_shard_parse(void)
{
    unsigned i = 99, n = 99;
    CU_ASSERT_EQUAL(lr_shard_parse("3/8", &i, &n), LR_OK);
    CU_ASSERT(i == 3 && n == 8);
    CU_ASSERT_EQUAL(lr_shard_parse("0/1", &i, &n), LR_OK);
    CU_ASSERT(i == 0 && n == 1);
    const char *bad[] = {"8/8", "-1/4", "a/4", "1/0", "1/4x", "1", "/4", "1/", "1/-4", ""};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CU_ASSERT_EQUAL(lr_shard_parse(bad[k], &i, &n), LR_EINVAL);
        CU_ASSERT(strstr(lr_last_error(), "--shard") != NULL);
    }
}

/* Every unit is in exactly one shard, and lr_shard_size counts each shard's units. */
static void test_shards_partition(void)
{
    for (unsigned n = 1; n <= 9; n++)
        for (size_t nunits = 0; nunits <= 23; nunits++) {
            size_t total = 0;
            for (unsigned i = 0; i < n; i++) {
                size_t mine = 0;
                for (size_t u = 0; u < nunits; u++) mine += lr_shard_has(u, i, n);
                CU_ASSERT_EQUAL(mine, lr_shard_size(nunits, i, n));
                total += mine;
            }
            CU_ASSERT_EQUAL(total, nunits);
        }
    CU_ASSERT(lr_shard_has(5, 0, 0) && lr_shard_size(7, 0, 0) == 7);
}

static const char dist_cfg[] = "experiment = \"recovery\";\nseed = 5;\ntrials = 7;\n"
                               "problem = { m = 30; N0 = 8; N1 = 6; r = [1, 2]; noise = { sigma = [0.01, 0.1]; }; };\n"
                               "compress = { methods = [\"svd_w\", \"dd_rank\"]; rank_offsets = [0, 1]; };\n";

static int run_shard(const char *cfg, const char *out, unsigned i, unsigned n)
{
    lr_run_options opt = {0};
    opt.config_path = cfg;
    opt.output = out;
    opt.nthreads = 1;
    opt.force = 1;
    opt.command_line = "test";
    opt.shard_index = i;
    opt.shard_count = n;
    return lr_run_main(&opt, NULL, 0);
}

/* Three shards (7 x 4 = 28 units: shards of 10, 9 and 9), merged in reverse order, hold
 * the whole run's /trials exactly; the merged file has /points. */
static void test_merge_equals_run(void)
{
    char cfg[] = "/tmp/lrlab-dist-XXXXXX";
    int fd = mkstemp(cfg);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, dist_cfg, strlen(dist_cfg)) == (ssize_t)strlen(dist_cfg));
    close(fd);
    char whole[64], part[3][64], merged[64];
    snprintf(whole, sizeof whole, "%s.h5", cfg);
    snprintf(merged, sizeof merged, "%s.merged.h5", cfg);
    CU_ASSERT_EQUAL_FATAL(run_shard(cfg, whole, 0, 0), LR_OK);
    for (unsigned i = 0; i < 3; i++) {
        snprintf(part[i], sizeof part[i], "%s.p%u.h5", cfg, i);
        CU_ASSERT_EQUAL(run_shard(cfg, part[i], i, 3), LR_OK);
    }
    const char *parts[3] = {part[2], part[1], part[0]};
    CU_ASSERT_EQUAL(lr_merge_parts(parts, 3, merged, 1, "test"), LR_OK);
    /* Two parts only: refused, nothing written. */
    char refused[80];
    snprintf(refused, sizeof refused, "%s.refused.h5", cfg);
    CU_ASSERT_EQUAL(lr_merge_parts(parts, 2, refused, 1, "test"), LR_EDATA);
    CU_ASSERT(strstr(lr_last_error(), "of shard 0/3") != NULL);
    CU_ASSERT(access(refused, F_OK) != 0);

    hid_t fw = H5Fopen(whole, H5F_ACC_RDONLY, H5P_DEFAULT), fm = H5Fopen(merged, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(fw >= 0 && fm >= 0);
    lr_table *tw = NULL, *tm = NULL, *pm = NULL;
    CU_ASSERT_EQUAL(lr_h5_read_table(fw, "trials", &tw), LR_OK);
    CU_ASSERT_EQUAL(lr_h5_read_table(fm, "trials", &tm), LR_OK);
    CU_ASSERT_EQUAL(lr_h5_read_table(fm, "points", &pm), LR_OK);
    CU_ASSERT_FATAL(tw && tm);
    CU_ASSERT_EQUAL(tw->nrows, 7 * 4 * 2 * 2);
    CU_ASSERT(tw->nrows == tm->nrows && tw->ncols == tm->ncols);
    size_t differ = 0;
    for (size_t i = 0; i < tw->nrows * tw->ncols && tw->nrows == tm->nrows && tw->ncols == tm->ncols; i++) {
        double a = tw->data[i], b = tm->data[i];
        differ += !(a == b || (isnan(a) && isnan(b)));
    }
    CU_ASSERT_EQUAL(differ, 0);
    CU_ASSERT(pm && pm->nrows > 0);
    lr_table_free(tw);
    lr_table_free(tm);
    lr_table_free(pm);
    H5Fclose(fw);
    H5Fclose(fm);
    unlink(cfg);
    unlink(whole);
    unlink(merged);
    for (unsigned i = 0; i < 3; i++) unlink(part[i]);
}

void lr_tests_dist(void)
{
    CU_pSuite s = CU_add_suite("dist", NULL, NULL);
    CU_add_test(s, "--shard I/N parsed, bad forms refused", test_shard_parse);
    CU_add_test(s, "the shards of any count partition the units", test_shards_partition);
    CU_add_test(s, "three shards merged hold the whole run's /trials", test_merge_equals_run);
}
