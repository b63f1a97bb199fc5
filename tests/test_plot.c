/* Tests of the gnuplot layer (src/plot/gnuplot.h): a variable reaches gnuplot exactly as
 * given, quotes included; a failing script's output becomes the message; data blocks come
 * out sorted by x under their titles; tics, name lists and the curve limit; a session
 * leaves nothing behind. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "plot/gnuplot.h"
#include "tests.h"

static char *slurp(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

static void write_script(const lr_gp_session *s, const char *name, const char *text)
{
    FILE *f = lr_gp_session_fopen(s, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* gnuplot prints the string variables back: they arrive unchanged, with a quote, a
 * double quote, a dollar sign and a backslash in them (no shell on the way). */
static void test_vars_reach_gnuplot(void)
{
    lr_gp_session s;
    CU_ASSERT_EQUAL_FATAL(lr_gp_session_open(&s), LR_OK);
    write_script(&s, "echo.gp", "set print dir.'/echo.txt'\nprint title\nprint n + 1\nprint x * 2\n");
    const char *title = "it's \"quoted\", $HOME `x` \\ σ";
    lr_gp_vars v;
    lr_gp_vars_init(&v);
    lr_gp_vars_str(&v, "dir", s.dir);
    lr_gp_vars_str(&v, "title", title);
    lr_gp_vars_num(&v, "n", "%d", 41);
    lr_gp_vars_num(&v, "x", "%g", 0.25);
    CU_ASSERT_EQUAL(lr_gp_run(s.dir, "echo.gp", &v), LR_OK);
    char *out = slurp(s.dir, "echo.txt"), want[256];
    snprintf(want, sizeof want, "%s\n42\n0.5\n", title);
    CU_ASSERT_PTR_NOT_NULL(out);
    if (out) CU_ASSERT_STRING_EQUAL(out, want);
    free(out);
    /* A failing script: LR_EIO, and gnuplot's own complaint in the message. */
    write_script(&s, "bad.gp", "plot sin(x) with nonesuchstyle\n");
    lr_gp_vars_clear(&v);
    CU_ASSERT_EQUAL(lr_gp_run(s.dir, "bad.gp", &v), LR_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "gnuplot failed on"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "bad.gp"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "nonesuchstyle"));
    lr_gp_vars_free(&v);
    char dir[64];
    snprintf(dir, sizeof dir, "%s", s.dir);
    lr_gp_session_close(&s);
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(dir, &st), 0); /* the session's directory and files are gone */
}

/* Curves: one per key, rows sorted by x when written, titles as block headers, colour and
 * point-type words for word(); at most max - 1 curves. */
static void test_curves(void)
{
    lr_gp_session s;
    CU_ASSERT_EQUAL_FATAL(lr_gp_session_open(&s), LR_OK);
    lr_gp_curves set = {.max = 4};
    lr_gp_curve *a = lr_gp_curves_get(&set, "dd_rank|", "dd_rank measured", 1, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    lr_gp_curve_add(&set, a, 3, 30, 29, 31);
    lr_gp_curve_add(&set, a, 1, 10, 9, 11);
    CU_ASSERT_PTR_EQUAL(lr_gp_curves_get(&set, "dd_rank|", "ignored", 5, 5), a);
    lr_gp_curve_add(&set, a, 2, 20, 19, 21);
    lr_gp_curve *b = lr_gp_curves_get(&set, "thm1a|r=2", "thm1a bound", 2, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    lr_gp_curve_add(&set, b, 1, 100, 100, 100);
    CU_ASSERT(lr_gp_curves_has_prefix(&set, "thm1a"));
    CU_ASSERT(!lr_gp_curves_has_prefix(&set, "thm1"));
    CU_ASSERT_PTR_NOT_NULL(lr_gp_curves_get(&set, "third", "third", 0, 0));
    CU_ASSERT_PTR_NULL(lr_gp_curves_get(&set, "fourth", "fourth", 0, 0)); /* max 4: 3 curves */
    CU_ASSERT_EQUAL(lr_gp_curves_write(&s, "c.dat", &set), LR_OK);
    char *out = slurp(s.dir, "c.dat");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_STRING_EQUAL(out, "\"dd_rank measured\" \"dd_rank|\"\n1 10 9 11 1\n2 20 19 21 1\n3 30 29 31 1\n\n\n"
                                "\"thm1a bound\" \"thm1a|r=2\"\n1 100 100 100 2\n\n\n"
                                "\"third\" \"third\"\n\n\n");
    free(out);
    /* The data export: one row per data row, named by file and curve key, under a header. */
    char tsv[4200];
    snprintf(tsv, sizeof tsv, "%s/c.tsv", s.dir);
    const char *files[] = {"c.dat"};
    CU_ASSERT_EQUAL(lr_gp_export_tsv(&s, files, 1, "what it is", "x\ty\tlo\thi\tcolour", tsv), LR_OK);
    out = slurp(s.dir, "c.tsv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_STRING_EQUAL(out, "# what it is\nfile\tseries\tx\ty\tlo\thi\tcolour\n"
                                "c\tdd_rank|\t1\t10\t9\t11\t1\nc\tdd_rank|\t2\t20\t19\t21\t1\n"
                                "c\tdd_rank|\t3\t30\t29\t31\t1\nc\tthm1a|r=2\t1\t100\t100\t100\t2\n");
    free(out);
    const char *missing[] = {"nonesuch.dat"};
    CU_ASSERT_EQUAL(lr_gp_export_tsv(&s, missing, 1, "x", "x", tsv), LR_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "nonesuch.dat"));
    /* A compressor's colour is fixed by its name, not by the order a figure meets it. */
    CU_ASSERT_EQUAL(lr_gp_compressor_colour("svd_w"), 0);
    CU_ASSERT_EQUAL(lr_gp_compressor_colour("dd_rank"), 1);
    CU_ASSERT_EQUAL(lr_gp_compressor_colour("some_new_one"), lr_gp_compressor_colour("some_new_one"));
    char cw[128];
    lr_gp_compressor_colours("dd_rank svd_w", cw, sizeof cw);
    snprintf(tsv, sizeof tsv, "%s %s ", lr_gp_colour(1), lr_gp_colour(0));
    CU_ASSERT_STRING_EQUAL(cw, tsv);
    lr_gp_vars v;
    lr_gp_vars_init(&v);
    lr_gp_vars_curve_words(&v, "c", &set, 0);
    lr_gp_vars_curve_words(&v, "p", &set, 1);
    char want[256];
    snprintf(want, sizeof want, "c='%s %s %s '; p='7 0 0 '", lr_gp_colour(1), lr_gp_colour(2), lr_gp_colour(0));
    CU_ASSERT_STRING_EQUAL(v.text, want);
    lr_gp_curves_clear(&set);
    lr_gp_vars_clear(&v);
    lr_gp_vars_curve_words(&v, "c", &set, 0); /* empty: one placeholder word */
    CU_ASSERT_STRING_EQUAL(v.text, "c='#000000'");
    lr_gp_vars_free(&v);
    lr_gp_curves_free(&set);
    lr_gp_session_close(&s);
}

static void test_tics_and_names(void)
{
    char out[128];
    const double x[] = {2000, 1000, 2000, 4000, 1000};
    lr_gp_tics(x, 5, 12, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "1000 2000 4000");
    lr_gp_tics(x, 5, 2, out, sizeof out); /* three distinct values, two allowed */
    CU_ASSERT_STRING_EQUAL(out, "");
    lr_gp_tics(x, 5, 12, out, 8); /* does not fit */
    CU_ASSERT_STRING_EQUAL(out, "");
    lr_gp_names l = {0};
    CU_ASSERT_EQUAL(lr_gp_names_index(&l, "b"), 0);
    CU_ASSERT_EQUAL(lr_gp_names_index(&l, "a"), 1);
    CU_ASSERT_EQUAL(lr_gp_names_index(&l, "b"), 0);
    for (int i = 0; i < 40; i++) {
        char n[16];
        snprintf(n, sizeof n, "n%d", i);
        CU_ASSERT_EQUAL(lr_gp_names_index(&l, n), i + 2);
    }
    CU_ASSERT_EQUAL(l.status, LR_OK);
    lr_gp_names_free(&l);
    char dir[4096];
    setenv("LRLAB_PLOTS_DIR", "/nonexistent", 1);
    CU_ASSERT_EQUAL(lr_gp_plots_dir("no_such_script.gp", dir, sizeof dir), LR_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "LRLAB_PLOTS_DIR"));
    unsetenv("LRLAB_PLOTS_DIR");
    CU_ASSERT_EQUAL(lr_gp_plots_dir("error.gp", dir, sizeof dir), LR_OK);
}

void lr_tests_plot(void)
{
    CU_pSuite s = CU_add_suite("plot (gnuplot layer)", NULL, NULL);
    CU_add_test(s, "variables reach gnuplot unchanged; a failing script's output is the message",
                test_vars_reach_gnuplot);
    CU_add_test(s, "curve sets: one per key, sorted blocks, colour and point words, the limit", test_curves);
    CU_add_test(s, "tics at distinct sorted values, name lists, the scripts' directory", test_tics_and_names);
}
