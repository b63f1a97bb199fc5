/* Bounds against the registry: every bound that holds always is run on seeded instances of
 * its theorem's setting, through the whole `lrlab run` path, and must hold in every row it
 * is checked on (and be checked on some: a bound that is never evaluated proves nothing).
 * The setting of each bound is listed here; a registered always-bound without one fails
 * the test, so a new bound cannot join the registry untested.  Also: the check at zero
 * noise (the bound is 0 and the error rounding), and bounds whose declared assumptions the
 * noise does not meet (NaN unless bounds.outside_assumptions, and recorded in /bounds). */
#include <CUnit/CUnit.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds/bounds.h"
#include "core/error.h"
#include "io/h5.h"
#include "run/run.h"
#include "tests.h"

/* The setting of each always-bound: a recovery config (overrides on a base) in which the
 * theorem's assumptions hold, with the compressor the bound is about; or, for a bound on a
 * quantity recovery's rows do not record (the ALDS bounds on err_op_rel), a function that
 * evaluates and checks it through the registry on seeded instances of its own. */
typedef struct bound_setting {
    const char *bound;
    const char *config;
    void (*check)(const lr_bound *b, size_t *checked, size_t *violated, size_t *rows);
} bound_setting;

#define BASE "experiment = \"recovery\"; trials = 12; seed = 11;\n"

static const bound_setting settings[] = {
    {"thm1a", BASE "problem = { m = 80; N0 = 20; N1 = 16; r = [1, 3]; noise = { sigma = [0.0, 1e-3, 0.3]; }; };\n"
              "compress = { methods = [\"dd_rank\"]; rank_offsets = [0, 2]; };\n"
              "bounds = { names = [\"thm1a\"]; };\n", NULL},
    {"thm1d", BASE "problem = { m = 60; N0 = 12; N1 = 30; r = 2; noise = { sigma = [0.0, 0.05]; }; };\n"
              "compress = { methods = [\"dd_rank\"]; rank_offsets = [0, 3]; };\n"
              "bounds = { names = [\"thm1d\"]; };\n", NULL},
    {"thm2a", BASE "problem = { m = 70; N0 = 18; N1 = 14; r = 2; x = { kind = \"lowrank\"; q = 12; };\n"
              "  signal = { tail = { kind = \"power\"; alpha = 1.0; level = 0.2; }; };\n"
              "  noise = { sigma = [0.0, 0.01, 0.2]; }; };\n"
              "compress = { methods = [\"dd_rank\"]; rank_offsets = [-1, 0, 3]; };\n"
              "bounds = { names = [\"thm2a\"]; };\n", NULL},
    {"thm2b", BASE "problem = { m = 70; N0 = 18; N1 = 14; r = 2;\n"
              "  signal = { tail = { kind = \"exp\"; beta = 0.7; level = 0.1; }; };\n"
              "  noise = { sigma = [1e-3, 0.05]; }; };\n"
              "compress = { methods = [\"dd_svt\"]; };\n"
              "bounds = { names = [\"thm2b\"]; };\n", NULL},
    {"thm2c", BASE "problem = { m = 50; N0 = 10; N1 = 8; r = 2; noise = { sigma = [1e-3, 0.05]; }; };\n"
              "compress = { methods = [\"dd_nuc\"]; tol = 1e-12; };\n"
              "bounds = { names = [\"thm2c\"]; };\n", NULL},
    {"alds_lower", NULL, lr_test_alds_bound_rows},
    {"alds_l2", NULL, lr_test_alds_bound_rows},
    {"alds_sqrtk", NULL, lr_test_alds_bound_rows},
    {"lq_l1", NULL, lr_test_lq_bound_rows},
    {"lq_l2", NULL, lr_test_lq_bound_rows},
    {"lq_degrade", NULL, lr_test_lq_bound_rows},
};

int lr_test_run_config(const char *text, const char *const *overrides, size_t noverrides, char *out,
                       size_t outlen)
{
    char cfg[] = "/tmp/lrlab-test-XXXXXX";
    int fd = mkstemp(cfg);
    if (fd < 0) return LR_EIO;
    ssize_t len = (ssize_t)strlen(text);
    int ok = write(fd, text, (size_t)len) == len;
    close(fd);
    snprintf(out, outlen, "%s.h5", cfg);
    lr_run_options opt = {0};
    opt.config_path = cfg;
    opt.overrides = overrides;
    opt.noverrides = noverrides;
    opt.output = out;
    opt.nthreads = 1;
    opt.force = 1;
    opt.progress = 0;
    opt.command_line = "test";
    int status = ok ? lr_run_main(&opt, NULL, 0) : LR_EIO;
    if (status != LR_OK) fprintf(stderr, "\n%s\n", lr_last_error());
    unlink(cfg);
    return status;
}

/* Run a config given as text; returns its /trials (and /bounds if asked), NULL on failure. */
static lr_table *run_text(const char *text, const char *const *overrides, size_t noverrides,
                          lr_table **bounds)
{
    char out[64];
    lr_table *t = NULL;
    if (lr_test_run_config(text, overrides, noverrides, out, sizeof out) == LR_OK) {
        hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0) {
            if (lr_h5_read_table(f, "trials", &t) != LR_OK) t = NULL;
            if (bounds && lr_h5_read_table(f, "bounds", bounds) != LR_OK) *bounds = NULL;
            H5Fclose(f);
        }
    }
    unlink(out);
    return t;
}

static const bound_setting *setting_of(const char *name)
{
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (!strcmp(settings[i].bound, name)) return &settings[i];
    return NULL;
}

static void test_always_bounds_hold(void)
{
    for (size_t b = 0; lr_bounds[b]; b++) {
        const lr_bound *bd = lr_bounds[b];
        if (bd->kind != LR_BOUND_ALWAYS) continue;
        const bound_setting *st = setting_of(bd->name);
        CU_ASSERT_PTR_NOT_NULL(st); /* a registered always-bound needs its setting here */
        if (!st) {
            fprintf(stderr, "\nbound %s has no seeded setting in tests/test_bounds_hold.c\n", bd->name);
            continue;
        }
        if (st->check) {
            size_t checked = 0, violated = 0, rows = 0;
            st->check(bd, &checked, &violated, &rows);
            if (violated || !checked)
                fprintf(stderr, "\n%s: %zu of %zu checked rows violated\n", bd->name, violated, checked);
            CU_ASSERT_EQUAL(violated, 0);
            CU_ASSERT(checked > 0 && checked == rows); /* every row is inside the theorem's setting */
            continue;
        }
        lr_table *t = run_text(st->config, NULL, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        char held[64];
        snprintf(held, sizeof held, "%s_held", bd->name);
        int ch = lr_table_col(t, held);
        CU_ASSERT_FATAL(ch >= 0);
        size_t checked = 0, violated = 0;
        for (size_t i = 0; i < t->nrows; i++) {
            double h = lr_table_row(t, i)[ch];
            if (h == 1 || h == 0) checked++;
            if (h == 0) violated++;
        }
        if (violated || !checked)
            fprintf(stderr, "\n%s: %zu of %zu checked rows violated\n", bd->name, violated, checked);
        CU_ASSERT_EQUAL(violated, 0);
        CU_ASSERT(checked * 2 >= t->nrows); /* most rows are inside the theorem's setting */
        lr_table_free(t);
    }
}

/* At sigma = 0, Theorem 1(a)'s bound is 0 and dd_rank's error is rounding (~1e-15 of
 * ||Z*||_F): the check must call that held, not violated. */
static void test_zero_noise_is_not_a_violation(void)
{
    static const char *const ov[] = {"problem.noise.sigma=0.0"};
    lr_table *t = run_text(settings[0].config, ov, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    int cv = lr_table_col(t, "thm1a"), ch = lr_table_col(t, "thm1a_held"), ce = lr_table_col(t, "err_fro");
    size_t held = 0, positive = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        const double *row = lr_table_row(t, i);
        CU_ASSERT_EQUAL(row[cv], 0.0);
        if (row[ch] == 1) held++;
        CU_ASSERT(row[ch] != 0);
        if (row[ce] > 0) positive++;
    }
    CU_ASSERT(held > 0);
    CU_ASSERT(positive > 0); /* the errors are rounding, not exact zeros: the case at stake */
    lr_table_free(t);
}

/* Student t noise: thm1b (about i.i.d. Gaussian G) is NaN in every row and /bounds says it
 * was not evaluated; with bounds.outside_assumptions it is evaluated and /bounds says so. */
static void test_unmet_assumptions(void)
{
    static const char *const cfg = BASE
        "problem = { m = 60; N0 = 12; N1 = 10; r = 2; noise = { kind = \"student_t\"; df = 4.0; sigma = 0.01; }; };\n"
        "compress = { methods = [\"dd_rank\"]; };\n"
        "bounds = { names = [\"thm1a\", \"thm1b\"]; };\n";
    static const char *const outside[] = {"bounds.outside_assumptions=true"};
    for (int o = 0; o < 2; o++) {
        lr_table *bounds = NULL;
        lr_table *t = run_text(cfg, outside, (size_t)o, &bounds);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bounds);
        int ca = lr_table_col(t, "thm1a"), cb = lr_table_col(t, "thm1b");
        for (size_t i = 0; i < t->nrows; i++) {
            CU_ASSERT(isfinite(lr_table_row(t, i)[ca]));
            CU_ASSERT(o ? isfinite(lr_table_row(t, i)[cb]) : isnan(lr_table_row(t, i)[cb]));
        }
        int cn = lr_table_col(bounds, "name"), cm = lr_table_col(bounds, "assumptions_met"),
            ce = lr_table_col(bounds, "evaluated");
        CU_ASSERT_FATAL(cn >= 0 && cm >= 0 && ce >= 0);
        CU_ASSERT_EQUAL_FATAL(bounds->nrows, 2);
        for (size_t i = 0; i < 2; i++) {
            int is_b = !strcmp(lr_table_name_at(bounds, i, (size_t)cn), "thm1b");
            CU_ASSERT_EQUAL(lr_table_row(bounds, i)[cm], is_b ? 0 : 1);
            CU_ASSERT_EQUAL(lr_table_row(bounds, i)[ce], is_b && !o ? 0 : 1);
        }
        lr_table_free(bounds);
        lr_table_free(t);
    }
}

void lr_tests_bounds_hold(void)
{
    CU_pSuite s = CU_add_suite("bounds against the registry", NULL, NULL);
    CU_add_test(s, "every always-bound holds on seeded instances of its setting", test_always_bounds_hold);
    CU_add_test(s, "a zero bound at sigma = 0 is held by a rounding-size error", test_zero_noise_is_not_a_violation);
    CU_add_test(s, "unmet assumptions: NaN and recorded, or evaluated when asked", test_unmet_assumptions);
}
