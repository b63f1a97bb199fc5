/* Tests of io/config: reading, overrides, schema validation, defaults and sweep axes.
 *
 * Every error test checks that the one-line message names the file (or the override),
 * the line and the key, since that message is all a user sees before the run stops. */
#include "core/error.h"
#include "io/config.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libconfig 1.5 reads an integer literal beyond 32 bits without the L suffix modulo 2^32
 * (seed = 9999999999 became 1410065407): refused with the place and the remedy, in a
 * file's text and in an override, while 32-bit ends, L literals, reals, strings, comments
 * and names with digits pass. */
static void test_int_literal_overflow(void)
{
    static const char *const bad[] = {"seed = 9999999999;", "seed = 2147483648;", "x = -2147483649;",
                                      "a = [1, 99999999999];", "g = { lin = [1, 5000000000, 3]; };"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lr_config *cfg = NULL;
        CU_ASSERT_EQUAL(lr_config_read_string(&cfg, bad[i], "t.cfg", NULL, 0), LR_ECONFIG);
        CU_ASSERT_PTR_NULL(cfg);
        CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "t.cfg:1: integer"));
        CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "L for a 64-bit integer"));
    }
    static const char *const good[] = {"seed = 2147483647; x = -2147483648;", "seed = 9999999999L;",
                                       "s = 9999999999.0; t = 1e12; u = 5e+20;", "name = \"12345678901\";",
                                       "# 99999999999\nr2 = 3; /* 88888888888 */ h = 0xFFFFFFFF;"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        lr_config *cfg = NULL;
        CU_ASSERT_EQUAL(lr_config_read_string(&cfg, good[i], "t.cfg", NULL, 0), LR_OK);
        lr_config_free(cfg);
    }
    static const char *const ov[] = {"seed=9999999999"};
    lr_config *cfg = NULL;
    CU_ASSERT_EQUAL(lr_config_read_string(&cfg, "seed = 1;", "t.cfg", ov, 1), LR_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "command line 'seed=9999999999': integer 9999999999"));
    lr_config *line3 = NULL;
    CU_ASSERT_EQUAL(lr_config_read_string(&line3, "a = 1;\n\nb = 4294967296;\n", "t.cfg", NULL, 0), LR_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "t.cfg:3: integer 4294967296"));
}

void lr_tests_config(void);

static const lr_key schema_main[] = {
    {.path = "name", .type = LR_KEY_STRING, .def = NAN, .def_str = "run", .doc = "run name"},
    {.path = "seed", .type = LR_KEY_INT, .def = 1, .min = 0, .max = 1e9, .doc = "seed"},
    {.path = "trials", .type = LR_KEY_INT, .def = 10, .min = 1, .max = 1e9, .doc = "trials"},
    {.path = "problem.m", .type = LR_KEY_INT, .sweepable = 1, .required = 1, .def = NAN,
     .min = 1, .max = 1e6, .doc = "rows"},
    {.path = "problem.r", .type = LR_KEY_INT, .sweepable = 1, .def = 2, .min = 1, .max = 1000,
     .doc = "rank"},
    {.path = "problem.noise.kind", .type = LR_KEY_STRING, .def = NAN, .def_str = "gaussian",
     .choices = "gaussian|rademacher|student_t", .doc = "noise law"},
    {.path = "problem.noise.sigma", .type = LR_KEY_REAL, .sweepable = 1, .def = 0.1, .min = 0,
     .max = INFINITY, .doc = "noise level"},
    {.path = "problem.verbose", .type = LR_KEY_BOOL, .def = 0, .doc = "chatty"},
    {.path = "ranks", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[1, 2]", .min = 0,
     .max = 100, .doc = "ranks"},
    {.path = "methods", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[\"svd_w\"]",
     .choices = "svd_w|dd_rank|random", .doc = "methods"},
    {.path = "tol", .type = LR_KEY_REAL, .def = NAN, .min = 0, .max = 1, .doc = "optional"},
    {.path = NULL},
};

static const lr_key schema_out[] = {
    {.path = "out.dir", .type = LR_KEY_STRING, .def = NAN, .def_str = "runs", .doc = "dir"},
    {.path = "out.level", .type = LR_KEY_INT, .sweepable = 1, .def = 0, .min = 0, .max = 9,
     .doc = "level"},
    {.path = NULL},
};

static const lr_key *const schemas1[] = {schema_main};
static const lr_key *const schemas2[] = {schema_main, schema_out};

/* Whether the last error message contains `sub`; prints it otherwise to ease debugging. */
static int msg_has(const char *sub)
{
    if (strstr(lr_last_error(), sub)) return 1;
    fprintf(stderr, "\n  message \"%s\" lacks \"%s\"\n", lr_last_error(), sub);
    return 0;
}

static int msg_is(const char *want)
{
    if (strcmp(lr_last_error(), want) == 0) return 1;
    fprintf(stderr, "\n  message \"%s\"\n  expected \"%s\"\n", lr_last_error(), want);
    return 0;
}

/* Read `text` as "t.cfg" with overrides and validate against schemas1; the config is
 * freed unless `out` is given. */
static int check_text(const char *text, const char *const *ov, size_t nov, lr_config **out)
{
    lr_config *cfg = NULL;
    lr_clear_error();
    int rc = lr_config_read_string(&cfg, text, "t.cfg", ov, nov);
    if (rc == LR_OK) rc = lr_config_validate(cfg, schemas1, 1);
    if (out)
        *out = cfg;
    else
        lr_config_free(cfg);
    return rc;
}

static int close_to(double a, double b) { return fabs(a - b) <= 1e-12 * fmax(1, fabs(b)); }

/* Writes `text` to a fresh file under `dir` (or /tmp) and returns its malloc'd name. */
static char *write_temp(const char *dir, const char *text)
{
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/lrlab_cfg_XXXXXX", dir ? dir : "/tmp");
    int fd = mkstemp(tmpl);
    if (fd < 0) return NULL;
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        close(fd);
        unlink(tmpl);
        return NULL;
    }
    close(fd);
    return strdup(tmpl);
}

/* ---- reading ---------------------------------------------------------------------- */

static void test_syntax_error_string(void)
{
    lr_config *cfg = NULL;
    int rc = lr_config_read_string(&cfg, "a = 1;\nb = ;\n", "s.cfg", NULL, 0);
    CU_ASSERT_EQUAL(rc, LR_ECONFIG);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT(msg_has("s.cfg:2: "));
    CU_ASSERT(msg_has("syntax error"));
    CU_ASSERT_PTR_NULL(strchr(lr_last_error(), '\n'));
}

static void test_missing_file(void)
{
    lr_config *cfg = NULL;
    const char *path = "/tmp/lrlab_no_such_dir_xyz/none.cfg";
    int rc = lr_config_read(&cfg, path, NULL, 0);
    CU_ASSERT_EQUAL(rc, LR_EIO);
    CU_ASSERT_PTR_NULL(cfg);
    char want[512];
    snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
    CU_ASSERT(msg_is(want));
}

static void test_file_syntax_error(void)
{
    char *path = write_temp(NULL, "seed = 1;\n\nproblem = { m = ; };\ntrials = 2;\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    lr_config *cfg = NULL;
    int rc = lr_config_read(&cfg, path, NULL, 0);
    CU_ASSERT_EQUAL(rc, LR_ECONFIG);
    char want[600];
    snprintf(want, sizeof want, "%s:3: ", path);
    CU_ASSERT(msg_has(want));
    unlink(path);
    free(path);
}

static void test_file_read_and_where(void)
{
    char *path = write_temp(NULL, "seed = 5;\nproblem = {\n  m = 40;\n};\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    lr_config *cfg = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_config_read(&cfg, path, NULL, 0), LR_OK);
    CU_ASSERT_EQUAL(lr_config_validate(cfg, schemas1, 1), LR_OK);
    CU_ASSERT_STRING_EQUAL(lr_config_filename(cfg), path);
    char buf[600], want[600];
    snprintf(want, sizeof want, "%s:3: key 'problem.m'", path);
    CU_ASSERT_STRING_EQUAL(lr_config_where(cfg, "problem.m", buf, sizeof buf), want);
    snprintf(want, sizeof want, "%s: key 'trials'", path);
    CU_ASSERT_STRING_EQUAL(lr_config_where(cfg, "trials", buf, sizeof buf), want);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.m"), 40);
    lr_config_free(cfg);
    unlink(path);
    free(path);
}

static void test_include_relative(void)
{
    char dir[] = "/tmp/lrlab_inc_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char inc[600], top[600];
    snprintf(inc, sizeof inc, "%s/common.cfg", dir);
    snprintf(top, sizeof top, "%s/top.cfg", dir);
    FILE *f = fopen(inc, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("seed = 99;\nnosie = 1;\n", f);
    fclose(f);
    f = fopen(top, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("@include \"common.cfg\"\nproblem = { m = 8; };\n", f);
    fclose(f);

    /* The working directory is not `dir`, so only the include dir can find common.cfg. */
    lr_config *cfg = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_config_read(&cfg, top, NULL, 0), LR_OK);
    CU_ASSERT_EQUAL(lr_config_validate(cfg, schemas1, 1), LR_ECONFIG);
    lr_config_free(cfg);

    /* The unknown key sits in the included file: the message must name that file. */
    char want[700];
    snprintf(want, sizeof want, "common.cfg:2: key 'nosie' is not known");
    CU_ASSERT(msg_has(want));

    f = fopen(inc, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("seed = 99;\n", f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(lr_config_read(&cfg, top, NULL, 0), LR_OK);
    CU_ASSERT_EQUAL(lr_config_validate(cfg, schemas1, 1), LR_OK);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "seed"), 99);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.m"), 8);
    lr_config_free(cfg);
    unlink(inc);
    unlink(top);
    rmdir(dir);
}

static void test_peek_string(void)
{
    lr_config *cfg = NULL;
    CU_ASSERT_EQUAL_FATAL(
        lr_config_read_string(&cfg, "experiment = \"rank_sweep\";\nseed = 3;\n", "t.cfg", NULL, 0),
        LR_OK);
    CU_ASSERT_STRING_EQUAL(lr_config_peek_string(cfg, "experiment"), "rank_sweep");
    CU_ASSERT_PTR_NULL(lr_config_peek_string(cfg, "seed"));
    CU_ASSERT_PTR_NULL(lr_config_peek_string(cfg, "absent"));
    lr_config_free(cfg);
}

/* ---- validation errors -------------------------------------------------------------- */

static void test_unknown_key_hint(void)
{
    const char *text = "problem = {\n  m = 5;\n  nosie = 0.2;\n};\n";
    CU_ASSERT_EQUAL(check_text(text, NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:3: key 'problem.nosie' is not known (did you mean 'problem.noise'?)"));

    text = "problem = { m = 5; noise = { sigam = 0.2; }; };\n";
    CU_ASSERT_EQUAL(check_text(text, NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_has("t.cfg:1: key 'problem.noise.sigam' is not known "
                      "(did you mean 'problem.noise.sigma'?)"));

    text = "problem = { m = 5; };\nsed = 3;\n";
    CU_ASSERT_EQUAL(check_text(text, NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:2: key 'sed' is not known (did you mean 'seed'?)"));

    /* Nothing is close: no hint rather than a silly one. */
    text = "problem = { m = 5; };\nzzzzzzzz = 3;\n";
    CU_ASSERT_EQUAL(check_text(text, NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:2: key 'zzzzzzzz' is not known"));
}

static void test_nearest_key(void)
{
    CU_ASSERT_STRING_EQUAL(lr_config_nearest_key(schemas1, 1, "problem.noise.sigmaa"),
                           "problem.noise.sigma");
    CU_ASSERT_STRING_EQUAL(lr_config_nearest_key(schemas2, 2, "out.levle"), "out.level");
    CU_ASSERT_STRING_EQUAL(lr_config_nearest_key(schemas1, 1, "trails"), "trials");
    CU_ASSERT_PTR_NULL(lr_config_nearest_key(schemas1, 1, "qqqqqqqqqq"));
}

static void test_int_type(void)
{
    CU_ASSERT_EQUAL(check_text("problem = { m = 5;\n r = 4.0; };\n", NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_has("t.cfg:2: key 'problem.r' must be an integer"));

    CU_ASSERT_EQUAL(check_text("problem = { m = 5;\n r = \"four\"; };\n", NULL, 0, NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:2: key 'problem.r' must be an integer, got a string"));

    /* 64-bit literals are integers too. */
    lr_config *cfg;
    CU_ASSERT_EQUAL(check_text("problem = { m = 5L; };\n", NULL, 0, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.m"), 5);
    lr_config_free(cfg);
}

static void test_real_bool_types(void)
{
    lr_config *cfg;
    CU_ASSERT_EQUAL(check_text("problem = { m = 5; noise = { sigma = 1; }; };\n", NULL, 0, &cfg),
                    LR_OK);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.noise.sigma"), 1.0);
    lr_config_free(cfg);

    CU_ASSERT_EQUAL(check_text("problem = { m = 5;\nverbose = 1; };\n", NULL, 0, NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_has("t.cfg:2: key 'problem.verbose' must be true or false"));

    CU_ASSERT_EQUAL(check_text("problem = { m = 5;\nverbose = true; };\n", NULL, 0, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.verbose"), 1.0);
    lr_config_free(cfg);

    CU_ASSERT_EQUAL(check_text("problem = { m = 5;\nnoise = { sigma = \"x\"; }; };\n", NULL, 0,
                               NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_has("t.cfg:2: key 'problem.noise.sigma' must be a number, got a string"));
}

static void test_choices(void)
{
    const char *text = "problem = {\n m = 5;\n noise = {\n  kind = \"gaus\";\n };\n};\n";
    CU_ASSERT_EQUAL(check_text(text, NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:4: key 'problem.noise.kind' = \"gaus\" is not one of "
                     "gaussian|rademacher|student_t"));

    lr_config *cfg;
    text = "problem = { m = 5; noise = { kind = \"student_t\"; }; };\n";
    CU_ASSERT_EQUAL(check_text(text, NULL, 0, &cfg), LR_OK);
    CU_ASSERT_STRING_EQUAL(lr_config_str(cfg, "problem.noise.kind"), "student_t");
    lr_config_free(cfg);
}

/* A test registry standing in for the compressor, bound and experiment registries. */
static const char *const reg_words[] = {"alpha", "beta", "gamma_2"};
static const char *reg_names(size_t i)
{
    return i < sizeof reg_words / sizeof reg_words[0] ? reg_words[i] : NULL;
}
static const char *no_names(size_t i)
{
    (void)i;
    return NULL;
}

static const lr_key schema_reg[] = {
    {.path = "kind", .type = LR_KEY_STRING, .def = NAN, .def_str = "beta", .doc = "kind",
     .names = reg_names},
    {.path = "kinds", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[\"alpha\"]",
     .doc = "kinds", .names = reg_names},
    /* .names wins over a stale .choices. */
    {.path = "both", .type = LR_KEY_STRING, .def = NAN, .def_str = "gamma_2",
     .choices = "alpha|delta", .doc = "both", .names = reg_names},
    {.path = "none", .type = LR_KEY_STRING, .def = NAN, .doc = "empty registry",
     .names = no_names},
    {.path = NULL},
};

static int check_reg(const char *text)
{
    const lr_key *const sc[] = {schema_reg};
    lr_config *cfg = NULL;
    lr_clear_error();
    int rc = lr_config_read_string(&cfg, text, "r.cfg", NULL, 0);
    if (rc == LR_OK) rc = lr_config_validate(cfg, sc, 1);
    lr_config_free(cfg);
    return rc;
}

static void test_registry_names(void)
{
    CU_ASSERT(lr_key_allows(&schema_reg[0], "gamma_2"));
    CU_ASSERT(!lr_key_allows(&schema_reg[0], "gamma"));
    CU_ASSERT(!lr_key_allows(&schema_reg[2], "delta"));
    CU_ASSERT(!lr_key_allows(&schema_reg[3], "alpha"));
    CU_ASSERT(lr_key_allows(&schema_main[0], "anything"));
    CU_ASSERT(lr_key_allows(&schema_main[5], "rademacher"));
    char buf[64];
    CU_ASSERT_STRING_EQUAL(lr_key_choices_text(&schema_reg[0], buf, sizeof buf),
                           "alpha|beta|gamma_2");
    CU_ASSERT_STRING_EQUAL(lr_key_choices_text(&schema_reg[3], buf, sizeof buf), "");
    CU_ASSERT_STRING_EQUAL(lr_key_choices_text(&schema_main[5], buf, sizeof buf),
                           "gaussian|rademacher|student_t");
    CU_ASSERT_PTR_NULL(lr_key_choices_text(&schema_main[0], buf, sizeof buf));
    char small[8];
    CU_ASSERT_STRING_EQUAL(lr_key_choices_text(&schema_reg[0], small, sizeof small), "alpha|b");

    /* Defaults come from the registry; a valid file passes. */
    CU_ASSERT_EQUAL(check_reg("kind = \"alpha\";\nkinds = [\"beta\", \"gamma_2\"];\n"), LR_OK);
    CU_ASSERT_EQUAL(check_reg("kind = \"delta\";\n"), LR_ECONFIG);
    CU_ASSERT(msg_is("r.cfg:1: key 'kind' = \"delta\" is not one of alpha|beta|gamma_2"));
    CU_ASSERT_EQUAL(check_reg("kinds = [\"beta\", \"gama_2\"];\n"), LR_ECONFIG);
    CU_ASSERT(msg_is("r.cfg:1: key 'kinds' element 2 = \"gama_2\" is not one of "
                     "alpha|beta|gamma_2"));
    CU_ASSERT_EQUAL(check_reg("both = \"delta\";\n"), LR_ECONFIG);
    CU_ASSERT(msg_is("r.cfg:1: key 'both' = \"delta\" is not one of alpha|beta|gamma_2"));
    CU_ASSERT_EQUAL(check_reg("both = \"beta\";\n"), LR_OK);
    CU_ASSERT_EQUAL(check_reg("none = \"beta\";\n"), LR_ECONFIG);
    CU_ASSERT(msg_is("r.cfg:1: key 'none' = \"beta\" is not allowed: no names are registered"));

    /* A default outside the registry is a schema bug, caught at validation. */
    const lr_key bad[] = {
        {.path = "kind", .type = LR_KEY_STRING, .def = NAN, .def_str = "omega", .doc = "kind",
         .names = reg_names},
        {.path = NULL},
    };
    const lr_key *const sc[] = {bad};
    lr_config *cfg = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_config_read_string(&cfg, "", "r.cfg", NULL, 0), LR_OK);
    CU_ASSERT_EQUAL(lr_config_validate(cfg, sc, 1), LR_ECONFIG);
    CU_ASSERT(msg_is("schema default: key 'kind' = \"omega\" is not one of alpha|beta|gamma_2"));
    lr_config_free(cfg);
}

static void test_range(void)
{
    const char *text = "problem = {\n m = 5;\n noise = { sigma = -1; };\n};\n";
    CU_ASSERT_EQUAL(check_text(text, NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:3: key 'problem.noise.sigma' = -1 is out of range [0, inf)"));

    /* Inclusive ends. */
    CU_ASSERT_EQUAL(check_text("problem = { m = 1; };\ntrials = 1;\n", NULL, 0, NULL), LR_OK);
    CU_ASSERT_EQUAL(check_text("problem = { m = 1; };\ntrials = 0;\n", NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:2: key 'trials' = 0 is out of range [1, 1e+09]"));
}

/* Issue 10: a bound of 1e300 or more is the schemas' way of saying "no bound"; it used to
 * be printed as [2, 1e+300], and a lower bound such as 2.000001 as a misleading 2. */
static const lr_key schema_open[] = {
    {.path = "df", .type = LR_KEY_REAL, .def = 5, .min = 2.000001, .max = 1e300, .doc = "df"},
    {.path = "scale", .type = LR_KEY_REAL, .def = 1, .min = 1e-300, .max = 1e300, .doc = "s"},
    {.path = "shift", .type = LR_KEY_REAL, .def = 0, .min = -1e300, .max = 4, .doc = "shift"},
    {.path = "free", .type = LR_KEY_REAL, .def = 0, .min = -INFINITY, .max = INFINITY,
     .doc = "any"},
    {.path = "seed", .type = LR_KEY_INT, .def = 1, .min = 0, .max = 4294967295.0, .doc = "s"},
    {.path = "n", .type = LR_KEY_INT, .def = 1, .min = 1, .max = 1000, .doc = "n"},
    {.path = "any", .type = LR_KEY_REAL, .def = 0, .doc = "no range given"},
    {.path = NULL},
};

static void test_range_text(void)
{
    char buf[128];
    const char *want[] = {"[2.000001, inf)", "[1e-300, inf)", "(-inf, 4]", "(-inf, inf)",
                          "[0, 4294967295]", "[1, 1000]", ""};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CU_ASSERT_STRING_EQUAL(lr_key_range_text(&schema_open[i], buf, sizeof buf), want[i]);
    /* A short buffer is cut, never overrun. */
    char small[6];
    CU_ASSERT_EQUAL(strlen(lr_key_range_text(&schema_open[0], small, sizeof small)), 5);

    /* The messages use the same text. */
    const lr_key *const sc[] = {schema_open};
    struct {
        const char *text, *msg;
    } cases[] = {
        {"df = 2.0;\n", "t.cfg:1: key 'df' = 2 is out of range [2.000001, inf)"},
        {"seed = 1;\nscale = 0.0;\n", "t.cfg:2: key 'scale' = 0 is out of range [1e-300, inf)"},
        {"shift = 5.0;\n", "t.cfg:1: key 'shift' = 5 is out of range (-inf, 4]"},
        {"seed = -1;\n", "t.cfg:1: key 'seed' = -1 is out of range [0, 4294967295]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lr_config *cfg = NULL;
        lr_clear_error();
        CU_ASSERT_EQUAL_FATAL(lr_config_read_string(&cfg, cases[i].text, "t.cfg", NULL, 0), LR_OK);
        CU_ASSERT_EQUAL(lr_config_validate(cfg, sc, 1), LR_ECONFIG);
        CU_ASSERT(msg_is(cases[i].msg));
        lr_config_free(cfg);
    }
}

/* libconfig reads 1e999 as inf; such a value used to pass a key with no upper bound. */
static void test_overflow_refused(void)
{
    CU_ASSERT_EQUAL(check_text("problem = { m = 5;\n noise = { sigma = 1e999; }; };\n", NULL, 0,
                               NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:2: key 'problem.noise.sigma' = inf is not a finite number"));
    CU_ASSERT_EQUAL(check_text("problem = { m = 5;\n noise = { sigma = [0.1, 1e999]; }; };\n",
                               NULL, 0, NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:2: key 'problem.noise.sigma' element 2 = inf is not a finite number"));
    const lr_key *const sc[] = {schema_open};
    lr_config *cfg = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_config_read_string(&cfg, "any = -1e999;\n", "t.cfg", NULL, 0), LR_OK);
    CU_ASSERT_EQUAL(lr_config_validate(cfg, sc, 1), LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:1: key 'any' = -inf is not a finite number"));
    lr_config_free(cfg);
}

static void test_not_sweepable(void)
{
    CU_ASSERT_EQUAL(check_text("problem = { m = 5; };\nseed = [1, 2];\n", NULL, 0, NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:2: key 'seed' cannot be swept"));
    CU_ASSERT_EQUAL(check_text("problem = { m = 5; };\nseed = { lin = [1, 2, 2]; };\n", NULL, 0,
                               NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:2: key 'seed' cannot be swept"));
}

static void test_required_missing(void)
{
    CU_ASSERT_EQUAL(check_text("seed = 2;\nproblem = { r = 3; };\n", NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg: required key 'problem.m' is missing"));
}

static void test_group_expected(void)
{
    CU_ASSERT_EQUAL(check_text("seed = 2;\nproblem = 3;\n", NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_has("t.cfg:2: key 'problem' must be a group"));
}

static void test_lists(void)
{
    lr_config *cfg;
    const char *text = "problem = { m = 5; };\nranks = [0, 3, 7];\n"
                       "methods = (\"dd_rank\", \"random\");\n";
    CU_ASSERT_EQUAL_FATAL(check_text(text, NULL, 0, &cfg), LR_OK);
    const long *iv = NULL;
    CU_ASSERT_EQUAL(lr_config_int_list(cfg, "ranks", &iv), 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(iv);
    CU_ASSERT(iv[0] == 0 && iv[1] == 3 && iv[2] == 7);
    const char *const *sv = NULL;
    CU_ASSERT_EQUAL(lr_config_str_list(cfg, "methods", &sv), 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sv);
    CU_ASSERT_STRING_EQUAL(sv[0], "dd_rank");
    CU_ASSERT_STRING_EQUAL(sv[1], "random");
    /* A list key is not an axis. */
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 0);
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 1);
    lr_config_free(cfg);

    CU_ASSERT_EQUAL(check_text("problem = { m = 5; };\nranks = [0, 300];\n", NULL, 0, NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:2: key 'ranks' element 2 = 300 is out of range [0, 100]"));
    CU_ASSERT_EQUAL(check_text("problem = { m = 5; };\nranks = (1, 2.5);\n", NULL, 0, NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_has("t.cfg:2: key 'ranks' element 2 must be an integer"));
    CU_ASSERT_EQUAL(check_text("problem = { m = 5; };\nranks = 3;\n", NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_has("t.cfg:2: key 'ranks' must be a list"));
    CU_ASSERT_EQUAL(check_text("problem = { m = 5; };\nmethods = [\"svd\"];\n", NULL, 0, NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_is("t.cfg:2: key 'methods' element 1 = \"svd\" is not one of "
                     "svd_w|dd_rank|random"));
}

/* ---- axes ------------------------------------------------------------------------------ */

static void test_geom_axis(void)
{
    lr_config *cfg;
    const char *text = "problem = { m = { geom = [10, 1000, 3]; };\n"
                       " noise = { sigma = { geom = [1e-4, 0.1, 4.0]; }; }; };\n";
    CU_ASSERT_EQUAL_FATAL(check_text(text, NULL, 0, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 2);
    CU_ASSERT_STRING_EQUAL(lr_config_axis_path(cfg, 0), "problem.m");
    CU_ASSERT_STRING_EQUAL(lr_config_axis_path(cfg, 1), "problem.noise.sigma");
    CU_ASSERT_EQUAL(lr_config_axis_len(cfg, 0), 3);
    CU_ASSERT_EQUAL(lr_config_axis_value(cfg, 0, 0), 10);
    CU_ASSERT_EQUAL(lr_config_axis_value(cfg, 0, 1), 100);
    CU_ASSERT_EQUAL(lr_config_axis_value(cfg, 0, 2), 1000);
    CU_ASSERT_EQUAL(lr_config_axis_len(cfg, 1), 4);
    /* Ends are exact; the inside is log-spaced. */
    CU_ASSERT(lr_config_axis_value(cfg, 1, 0) == 1e-4);
    CU_ASSERT(lr_config_axis_value(cfg, 1, 3) == 0.1);
    CU_ASSERT(close_to(lr_config_axis_value(cfg, 1, 1), 1e-3));
    CU_ASSERT(close_to(lr_config_axis_value(cfg, 1, 2), 1e-2));
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 12);
    lr_config_free(cfg);

    /* The list form allows an integer count with real ends. */
    CU_ASSERT_EQUAL_FATAL(
        check_text("problem = { m = 5; noise = { sigma = { geom = (1e-4, 0.1, 4); }; }; };\n",
                   NULL, 0, &cfg),
        LR_OK);
    CU_ASSERT_EQUAL(lr_config_axis_len(cfg, 0), 4);
    CU_ASSERT(lr_config_axis_value(cfg, 0, 3) == 0.1);
    lr_config_free(cfg);

    /* libconfig rejects mixed arrays; the message says how to write them. */
    CU_ASSERT_EQUAL(check_text("problem = { m = 5;\n noise = { sigma = { geom = [1e-4, 0.1, 4]; "
                               "}; }; };\n",
                               NULL, 0, NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_has("t.cfg:2: mismatched element type in array"));
    CU_ASSERT(msg_has("13.0"));

    /* n = 1 gives lo. */
    CU_ASSERT_EQUAL_FATAL(
        check_text("problem = { m = 5; noise = { sigma = { geom = [0.3, 7.0, 1.0]; }; }; };\n", NULL,
                   0, &cfg),
        LR_OK);
    CU_ASSERT_EQUAL(lr_config_axis_len(cfg, 0), 1);
    CU_ASSERT(lr_config_axis_value(cfg, 0, 0) == 0.3);
    CU_ASSERT(lr_config_num(cfg, 0, "problem.noise.sigma") == 0.3);
    lr_config_free(cfg);
}

static void test_lin_axis(void)
{
    lr_config *cfg;
    const char *text = "problem = { m = 5; r = { lin = [1, 10, 4]; };\n"
                       " noise = { sigma = { lin = [0, 1, 5]; }; }; };\n";
    CU_ASSERT_EQUAL_FATAL(check_text(text, NULL, 0, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 2);
    double r[] = {1, 4, 7, 10}, s[] = {0, 0.25, 0.5, 0.75, 1};
    for (size_t i = 0; i < 4; i++) CU_ASSERT(lr_config_axis_value(cfg, 0, i) == r[i]);
    for (size_t i = 0; i < 5; i++) CU_ASSERT(close_to(lr_config_axis_value(cfg, 1, i), s[i]));
    CU_ASSERT(lr_config_axis_value(cfg, 1, 4) == 1.0);
    CU_ASSERT(isnan(lr_config_axis_value(cfg, 1, 5)));
    CU_ASSERT(isnan(lr_config_axis_value(cfg, 2, 0)));
    lr_config_free(cfg);

    CU_ASSERT_EQUAL_FATAL(check_text("problem = { m = { lin = [3, 9, 1]; }; };\n", NULL, 0, &cfg),
                          LR_OK);
    CU_ASSERT_EQUAL(lr_config_axis_len(cfg, 0), 1);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.m"), 3);
    lr_config_free(cfg);
}

static void test_list_axis(void)
{
    lr_config *cfg;
    CU_ASSERT_EQUAL_FATAL(
        check_text("problem = { m = 5; noise = { sigma = (0.5, 2, 1e-3); }; };\n", NULL, 0, &cfg),
        LR_OK);
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 1);
    CU_ASSERT_EQUAL(lr_config_axis_of(cfg, "problem.noise.sigma"), 0);
    CU_ASSERT_EQUAL(lr_config_axis_of(cfg, "problem.m"), -1);
    CU_ASSERT(lr_config_axis_value(cfg, 0, 0) == 0.5);
    CU_ASSERT(lr_config_axis_value(cfg, 0, 1) == 2.0);
    CU_ASSERT(lr_config_axis_value(cfg, 0, 2) == 1e-3);
    lr_config_free(cfg);
}

static void test_axis_errors(void)
{
    struct {
        const char *text, *msg;
    } cases[] = {
        {"problem = { m = 5;\n r = { lin = [1, 10, 3]; }; };\n",
         "t.cfg:2: key 'problem.r' (lin axis value) = 5.5 is not an integer"},
        {"problem = { m = 5;\n r = { geom = [1, 3, 5]; }; };\n",
         "t.cfg:2: key 'problem.r' geom axis repeats the value 1 after rounding"},
        {"problem = { m = 5;\n noise = { sigma = { geom = [0, 1, 3]; }; }; };\n",
         "t.cfg:2: key 'problem.noise.sigma.geom' needs lo > 0 and hi > 0"},
        {"problem = { m = 5;\n r = { geom = [1, 8, 0]; }; };\n",
         "t.cfg:2: key 'problem.r.geom' needs a count n that is an integer >= 1"},
        {"problem = { m = 5;\n r = { geom = (1, 8, 2.5); }; };\n",
         "t.cfg:2: key 'problem.r.geom' needs a count n that is an integer >= 1"},
        {"problem = { m = 5;\n r = { geom = [1, 8]; }; };\n",
         "t.cfg:2: key 'problem.r.geom' must be [lo, hi, n]"},
        {"problem = { m = 5;\n r = { geom = [1, 8, 4]; lin = [1, 8, 8]; }; };\n",
         "t.cfg:2: key 'problem.r' is a group, so it must hold exactly one of"},
        {"problem = { m = 5;\n r = { gem = [1, 8, 4]; }; };\n",
         "t.cfg:2: key 'problem.r.gem' is not known (did you mean 'problem.r.geom'?)"},
        {"problem = { m = 5;\n r = [1, 2000]; };\n",
         "t.cfg:2: key 'problem.r' element 2 = 2000 is out of range [1, 1000]"},
        {"problem = { m = 5;\n r = (1, 2.5); };\n",
         "t.cfg:2: key 'problem.r' element 2 must be an integer"},
        {"problem = { m = 5;\n r = (1, \"x\"); };\n",
         "t.cfg:2: key 'problem.r' element 2 must be an integer, got a string"},
        {"problem = { m = 5;\n r = []; };\n", "t.cfg:2: key 'problem.r' is an empty sweep list"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(check_text(cases[i].text, NULL, 0, NULL), LR_ECONFIG);
        CU_ASSERT(msg_has(cases[i].msg));
    }
    /* The geom midpoint 70.7 rounds to 71 and is in range; only hi = 5000 is out. */
    CU_ASSERT_EQUAL(check_text("problem = { m = 5;\n r = { geom = [1, 5000, 3]; }; };\n", NULL,
                               0, NULL),
                    LR_ECONFIG);
    CU_ASSERT(msg_has("= 5000 is out of range [1, 1000]"));
}

static void test_cartesian_product(void)
{
    lr_config *cfg;
    /* The file order (sigma, r, m) differs from the schema order (m, r, sigma). */
    const char *text = "problem = { noise = { sigma = [0.1, 0.2]; };\n"
                       " r = [1, 2, 3];\n m = [10, 20]; };\nseed = 4;\n";
    CU_ASSERT_EQUAL_FATAL(check_text(text, NULL, 0, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 3);
    CU_ASSERT_STRING_EQUAL(lr_config_axis_path(cfg, 0), "problem.m");
    CU_ASSERT_STRING_EQUAL(lr_config_axis_path(cfg, 1), "problem.r");
    CU_ASSERT_STRING_EQUAL(lr_config_axis_path(cfg, 2), "problem.noise.sigma");
    CU_ASSERT_EQUAL(lr_config_axis_of(cfg, "problem.r"), 1);
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 12);
    const double m[] = {10, 20}, r[] = {1, 2, 3}, s[] = {0.1, 0.2};
    int seen[12] = {0};
    for (size_t p = 0; p < 12; p++) {
        size_t im = lr_config_axis_index(cfg, 0, p), ir = lr_config_axis_index(cfg, 1, p),
               is = lr_config_axis_index(cfg, 2, p);
        /* Mixed radix, last axis fastest. */
        CU_ASSERT_EQUAL(im, p / 6);
        CU_ASSERT_EQUAL(ir, (p / 2) % 3);
        CU_ASSERT_EQUAL(is, p % 2);
        CU_ASSERT_EQUAL(lr_config_num(cfg, p, "problem.m"), m[im]);
        CU_ASSERT_EQUAL(lr_config_num(cfg, p, "problem.r"), r[ir]);
        CU_ASSERT_EQUAL(lr_config_num(cfg, p, "problem.noise.sigma"), s[is]);
        CU_ASSERT_EQUAL(lr_config_num(cfg, p, "seed"), 4);
        seen[im * 6 + ir * 2 + is]++;
    }
    for (size_t p = 0; p < 12; p++) CU_ASSERT_EQUAL(seen[p], 1);
    CU_ASSERT(isnan(lr_config_num(cfg, 12, "problem.m")));
    lr_config_free(cfg);
}

/* ---- zip axes ------------------------------------------------------------------------ */

static const lr_key schema_zip[] = {
    {.path = "a", .type = LR_KEY_INT, .sweepable = 1, .def = 1, .min = 1, .max = 1e6, .doc = "a"},
    {.path = "b", .type = LR_KEY_REAL, .sweepable = 1, .def = 0, .min = 0, .max = 1e300,
     .doc = "b"},
    {.path = "g.c", .type = LR_KEY_INT, .sweepable = 1, .def = 1, .min = 1, .max = 1e6,
     .doc = "c"},
    {.path = "g.d", .type = LR_KEY_REAL, .sweepable = 1, .def = 0, .min = 0, .max = 1e300,
     .doc = "d"},
    {.path = "e", .type = LR_KEY_REAL, .sweepable = 1, .def = 0, .min = 0, .max = 1e300,
     .doc = "e"},
    {.path = "seed", .type = LR_KEY_INT, .def = 1, .min = 0, .max = 1e9, .doc = "seed"},
    {.path = NULL},
};

static int check_zip(const char *text, const char *const *ov, size_t nov, lr_config **out)
{
    const lr_key *const sc[] = {schema_zip};
    lr_config *cfg = NULL;
    lr_clear_error();
    int rc = lr_config_read_string(&cfg, text, "z.cfg", ov, nov);
    if (rc == LR_OK) rc = lr_config_validate(cfg, sc, 1);
    if (out && rc == LR_OK)
        *out = cfg;
    else
        lr_config_free(cfg);
    return rc;
}

/* Two zips and a plain axis: e and a move together ("x"), g.c and g.d ("y"), b alone.
 * Groups follow the schema order of their first axis: x (a), b, y (g.c). */
static void test_zip_numbering(void)
{
    const char *text = "e = { list = [0.5, 0.25]; zip = \"x\"; };\n"
                       "g = { d = { lin = [0.0, 1.0, 3.0]; zip = \"y\"; };\n"
                       "      c = { list = [7, 8, 9]; zip = \"y\"; }; };\n"
                       "a = { geom = [10, 1000, 2]; zip = \"x\"; };\n"
                       "b = [1.5, 2.5];\n";
    lr_config *cfg = NULL;
    CU_ASSERT_EQUAL_FATAL(check_zip(text, NULL, 0, &cfg), LR_OK);
    /* Every swept key is still an axis, in schema order. */
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 5);
    const char *paths[] = {"a", "b", "g.c", "g.d", "e"};
    const size_t groups[] = {0, 1, 2, 2, 0}, lens[] = {2, 2, 3, 3, 2};
    const char *zips[] = {"x", NULL, "y", "y", "x"};
    for (size_t i = 0; i < 5; i++) {
        CU_ASSERT_STRING_EQUAL(lr_config_axis_path(cfg, i), paths[i]);
        CU_ASSERT_EQUAL(lr_config_axis_group(cfg, i), groups[i]);
        CU_ASSERT_EQUAL(lr_config_axis_len(cfg, i), lens[i]);
        const char *z = lr_config_axis_zip(cfg, i);
        CU_ASSERT(zips[i] ? z && !strcmp(z, zips[i]) : !z);
    }
    CU_ASSERT_EQUAL(lr_config_ngroups(cfg), 3);
    CU_ASSERT_EQUAL(lr_config_axis_group(cfg, 5), SIZE_MAX);
    CU_ASSERT_PTR_NULL(lr_config_axis_zip(cfg, 5));
    /* 2 x 2 x 3 points, mixed radix over the groups, the last group fastest. */
    CU_ASSERT_EQUAL_FATAL(lr_config_npoints(cfg), 12);
    const double a[] = {10, 1000}, e[] = {0.5, 0.25}, b[] = {1.5, 2.5}, c[] = {7, 8, 9},
                 d[] = {0, 0.5, 1};
    int seen[12] = {0};
    for (size_t p = 0; p < 12; p++) {
        size_t ix = p / 6, ib = (p / 3) % 2, iy = p % 3;
        CU_ASSERT_EQUAL(lr_config_axis_index(cfg, 0, p), ix);
        CU_ASSERT_EQUAL(lr_config_axis_index(cfg, 4, p), ix);
        CU_ASSERT_EQUAL(lr_config_axis_index(cfg, 1, p), ib);
        CU_ASSERT_EQUAL(lr_config_axis_index(cfg, 2, p), iy);
        CU_ASSERT_EQUAL(lr_config_axis_index(cfg, 3, p), iy);
        CU_ASSERT_EQUAL(lr_config_num(cfg, p, "a"), a[ix]);
        CU_ASSERT_EQUAL(lr_config_num(cfg, p, "e"), e[ix]);
        CU_ASSERT_EQUAL(lr_config_num(cfg, p, "b"), b[ib]);
        CU_ASSERT_EQUAL(lr_config_num(cfg, p, "g.c"), c[iy]);
        CU_ASSERT(close_to(lr_config_num(cfg, p, "g.d"), d[iy]));
        seen[ix * 6 + ib * 3 + iy]++;
    }
    for (size_t p = 0; p < 12; p++) CU_ASSERT_EQUAL(seen[p], 1);

    /* The resolved text keeps the zips and re-validates to the same sweep. */
    lr_config *again = NULL;
    CU_ASSERT_EQUAL_FATAL(check_zip(lr_config_text(cfg), NULL, 0, &again), LR_OK);
    CU_ASSERT_EQUAL(lr_config_npoints(again), 12);
    CU_ASSERT_EQUAL(lr_config_ngroups(again), 3);
    for (size_t p = 0; p < 12; p++)
        for (size_t i = 0; i < 5; i++)
            CU_ASSERT_EQUAL(lr_config_axis_index(again, i, p), lr_config_axis_index(cfg, i, p));
    CU_ASSERT_STRING_EQUAL(lr_config_text(again), lr_config_text(cfg));
    lr_config_free(again);
    lr_config_free(cfg);
}

/* Without zips, the group form { list = ...; } and the numbering are those of before. */
static void test_zip_plain_and_single(void)
{
    lr_config *cfg = NULL, *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(check_zip("a = [1, 2];\nb = { list = (0.5, 1, 2); };\n"
                                    "e = { lin = [0.0, 1.0, 2.0]; };\n",
                                    NULL, 0, &cfg),
                          LR_OK);
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 3);
    CU_ASSERT_EQUAL(lr_config_ngroups(cfg), 3);
    CU_ASSERT_EQUAL_FATAL(lr_config_npoints(cfg), 12);
    for (size_t p = 0; p < 12; p++) {
        CU_ASSERT_EQUAL(lr_config_axis_index(cfg, 0, p), p / 6);
        CU_ASSERT_EQUAL(lr_config_axis_index(cfg, 1, p), (p / 2) % 3);
        CU_ASSERT_EQUAL(lr_config_axis_index(cfg, 2, p), p % 2);
        CU_ASSERT_EQUAL(lr_config_axis_group(cfg, 1), 1);
    }
    CU_ASSERT_EQUAL(lr_config_axis_value(cfg, 1, 1), 1.0);

    /* A zip of one axis is a plain axis: same points, same numbering. */
    CU_ASSERT_EQUAL_FATAL(check_zip("a = [1, 2];\nb = { list = (0.5, 1, 2); zip = \"solo\"; };\n"
                                    "e = { lin = [0.0, 1.0, 2.0]; };\n",
                                    NULL, 0, &ref),
                          LR_OK);
    CU_ASSERT_EQUAL(lr_config_ngroups(ref), 3);
    CU_ASSERT_EQUAL(lr_config_npoints(ref), 12);
    CU_ASSERT_STRING_EQUAL(lr_config_axis_zip(ref, 1), "solo");
    for (size_t p = 0; p < 12; p++)
        for (size_t i = 0; i < 3; i++) {
            CU_ASSERT_EQUAL(lr_config_axis_index(ref, i, p), lr_config_axis_index(cfg, i, p));
            CU_ASSERT_EQUAL(lr_config_axis_group(ref, i), i);
        }
    lr_config_free(ref);
    lr_config_free(cfg);

    /* A zip of axes of length 1 is one point. */
    CU_ASSERT_EQUAL_FATAL(check_zip("a = { list = [5]; zip = \"z\"; };\n"
                                    "b = { geom = [2.0, 9.0, 1.0]; zip = \"z\"; };\n",
                                    NULL, 0, &cfg),
                          LR_OK);
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 1);
    CU_ASSERT_EQUAL(lr_config_ngroups(cfg), 1);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "b"), 2.0);
    lr_config_free(cfg);
}

static void test_zip_errors(void)
{
    struct {
        const char *text, *msg;
    } cases[] = {
        {"seed = 1;\na = { lin = [100, 400, 4]; zip = \"size\"; };\n"
         "g = {\n c = { list = [50, 100, 150]; zip = \"size\"; }; };\n",
         "z.cfg:4: key 'g.c' has 3 values but key 'a' (z.cfg:2) has 4: the axes with "
         "zip = \"size\" move together and need the same number of values"},
        {"a = [1, 2];\nb = { list = [1.0, 2.0]; zip = 3; };\n",
         "z.cfg:2: key 'b.zip' must be a string (the name of the zip), got an integer"},
        {"a = [1, 2];\nb = { list = [1.0, 2.0]; zip = \"\"; };\n",
         "z.cfg:2: key 'b.zip' must not be empty"},
        {"a = [1, 2];\nb = { list = [1.0, 2.0]; zp = \"x\"; };\n",
         "z.cfg:2: key 'b.zp' is not known (did you mean 'b.zip'?)"},
        {"a = [1, 2];\nb = { lst = [1.0, 2.0]; };\n",
         "z.cfg:2: key 'b.lst' is not known (did you mean 'b.list'?)"},
        {"a = [1, 2];\nb = { zip = \"x\"; };\n",
         "z.cfg:2: key 'b' is a group, so it must hold exactly one of 'geom = [lo, hi, n]', "
         "'lin = [lo, hi, n]' or 'list = [a, b, ...]' (and optionally 'zip = \"name\"')"},
        {"a = [1, 2];\nb = { list = [1.0]; lin = [1.0, 2.0, 2.0]; };\n",
         "z.cfg:2: key 'b' is a group, so it must hold exactly one of"},
        {"a = [1, 2];\nb = { list = 2.0; };\n",
         "z.cfg:2: key 'b.list' must be a list [a, b, ...], got a real number"},
        {"a = [1, 2];\nb = { list = []; };\n", "z.cfg:2: key 'b.list' is an empty sweep list"},
        {"a = { list = [1, 0]; zip = \"x\"; };\n",
         "z.cfg:1: key 'a.list' element 2 = 0 is out of range [1, 1e+06]"},
        {"seed = { list = [1, 2]; zip = \"x\"; };\n", "z.cfg:1: key 'seed' cannot be swept"},
        /* A tag on one axis only, close to another tag: a typo, not a zip of one. */
        {"a = { list = [1, 2]; zip = \"size\"; };\nb = { list = [1.0, 2.0]; zip = \"size\"; };\n"
         "e = { list = [1.0, 2.0]; zip = \"sise\"; };\n",
         "z.cfg:3: key 'e' is the only axis with zip = \"sise\" (did you mean \"size\", the zip "
         "of key 'a'?)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(check_zip(cases[i].text, NULL, 0, NULL), LR_ECONFIG);
        CU_ASSERT(msg_has(cases[i].msg));
    }
}

static void test_zip_overrides(void)
{
    const char *text = "a = { list = [1, 2, 3]; zip = \"size\"; };\n"
                       "b = { list = [0.1, 0.2, 0.3]; zip = \"size\"; };\n"
                       "e = [5.0, 6.0];\n";
    lr_config *cfg = NULL;
    CU_ASSERT_EQUAL_FATAL(check_zip(text, NULL, 0, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 6);
    lr_config_free(cfg);

    /* An override joins a plain axis to the zip. */
    const char *ov1[] = {"e={ list = [5.0, 6.0, 7.0]; zip = \"size\"; }"};
    CU_ASSERT_EQUAL_FATAL(check_zip(text, ov1, 1, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 3);
    CU_ASSERT_EQUAL(lr_config_ngroups(cfg), 1);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 2, "e"), 7.0);
    CU_ASSERT(close_to(lr_config_num(cfg, 2, "b"), 0.3));
    lr_config_free(cfg);

    /* An override of one member of a group: the zip tag alone. */
    const char *ov2[] = {"b.zip=other"};
    CU_ASSERT_EQUAL_FATAL(check_zip(text, ov2, 1, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 18);
    CU_ASSERT_STRING_EQUAL(lr_config_axis_zip(cfg, 1), "other");
    lr_config_free(cfg);

    /* Replacing one zipped axis by a scalar leaves a zip of one axis. */
    const char *ov3[] = {"b=0.5"};
    CU_ASSERT_EQUAL_FATAL(check_zip(text, ov3, 1, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 2);
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 6);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 5, "b"), 0.5);
    lr_config_free(cfg);

    /* A length mismatch from the command line names the override. */
    const char *ov4[] = {"b={ list = [0.1, 0.2]; zip = \"size\"; }"};
    CU_ASSERT_EQUAL(check_zip(text, ov4, 1, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("command line 'b={ list = [0.1, 0.2]; zip = \"size\"; }': key 'b' has 2 "
                     "values but key 'a' (z.cfg:1) has 3: the axes with zip = \"size\" move "
                     "together and need the same number of values"));
    const char *ov5[] = {"a.list=[1, 2]"};
    CU_ASSERT_EQUAL(check_zip(text, ov5, 1, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("z.cfg:2: key 'b' has 3 values but key 'a' (command line 'a.list=[1, 2]') "
                     "has 2: the axes with zip = \"size\" move together and need the same "
                     "number of values"));
}

static void test_multiple_schemas(void)
{
    lr_config *cfg = NULL;
    const char *text = "out = { level = [1, 2]; };\nproblem = { m = [3, 4, 5]; };\n";
    CU_ASSERT_EQUAL_FATAL(lr_config_read_string(&cfg, text, "t.cfg", NULL, 0), LR_OK);
    CU_ASSERT_EQUAL_FATAL(lr_config_validate(cfg, schemas2, 2), LR_OK);
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 2);
    CU_ASSERT_STRING_EQUAL(lr_config_axis_path(cfg, 0), "problem.m");
    CU_ASSERT_STRING_EQUAL(lr_config_axis_path(cfg, 1), "out.level");
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 6);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 1, "out.level"), 2);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 2, "problem.m"), 4);
    CU_ASSERT_STRING_EQUAL(lr_config_str(cfg, "out.dir"), "runs");
    lr_config_free(cfg);

    /* The second schema's keys are unknown to the first alone. */
    CU_ASSERT_EQUAL(check_text(text, NULL, 0, NULL), LR_ECONFIG);
    CU_ASSERT(msg_has("t.cfg:1: key 'out' is not known"));
}

/* ---- overrides -------------------------------------------------------------------------- */

static void test_override_scalar(void)
{
    lr_config *cfg;
    const char *ov[] = {"seed=7", "problem.noise.kind=rademacher", "name=\"my run\""};
    CU_ASSERT_EQUAL_FATAL(check_text("seed = 1;\nproblem = { m = 5; };\n", ov, 3, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "seed"), 7);
    CU_ASSERT(lr_config_given(cfg, "seed"));
    CU_ASSERT_STRING_EQUAL(lr_config_str(cfg, "problem.noise.kind"), "rademacher");
    CU_ASSERT_STRING_EQUAL(lr_config_str(cfg, "name"), "my run");
    char buf[256];
    CU_ASSERT_STRING_EQUAL(lr_config_where(cfg, "seed", buf, sizeof buf),
                           "command line 'seed=7': key 'seed'");
    CU_ASSERT_STRING_EQUAL(lr_config_where(cfg, "problem.m", buf, sizeof buf),
                           "t.cfg:2: key 'problem.m'");
    lr_config_free(cfg);
}

static void test_override_nested_creates_groups(void)
{
    lr_config *cfg;
    const char *ov[] = {"problem.noise.sigma=0.5", "problem.m=12"};
    CU_ASSERT_EQUAL_FATAL(check_text("seed = 1;\n", ov, 2, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.noise.sigma"), 0.5);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.m"), 12);
    CU_ASSERT(lr_config_given(cfg, "problem.noise.sigma"));
    CU_ASSERT_STRING_EQUAL(lr_config_str(cfg, "problem.noise.kind"), "gaussian");
    lr_config_free(cfg);

    /* A whole group as one override, replacing the file's group. */
    const char *ov2[] = {"problem={ m = 9; r = 4; }"};
    CU_ASSERT_EQUAL_FATAL(check_text("problem = { m = 5; r = 3; verbose = true; };\n", ov2, 1,
                                     &cfg),
                          LR_OK);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.m"), 9);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.r"), 4);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.verbose"), 0);
    char buf[256];
    CU_ASSERT_STRING_EQUAL(lr_config_where(cfg, "problem.r", buf, sizeof buf),
                           "command line 'problem={ m = 9; r = 4; }': key 'problem.r'");
    lr_config_free(cfg);
}

static void test_override_axis(void)
{
    lr_config *cfg;
    const char *ov[] = {"problem.r=[1,2]"};
    CU_ASSERT_EQUAL_FATAL(check_text("problem = { m = 5; r = 3; };\n", ov, 1, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 1);
    CU_ASSERT_STRING_EQUAL(lr_config_axis_path(cfg, 0), "problem.r");
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 2);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.r"), 1);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 1, "problem.r"), 2);
    lr_config_free(cfg);

    const char *ov2[] = {"problem.m={ geom = [10, 1000, 3]; }"};
    CU_ASSERT_EQUAL_FATAL(check_text("problem = { m = 5; };\n", ov2, 1, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_axis_value(cfg, 0, 1), 100);
    lr_config_free(cfg);
}

static void test_override_errors(void)
{
    const char *base = "problem = { m = 5; };\n";
    const char *ov1[] = {"seed=abc"};
    CU_ASSERT_EQUAL(check_text(base, ov1, 1, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("command line 'seed=abc': key 'seed' must be an integer, got a string"));

    const char *ov2[] = {"trials=0"};
    CU_ASSERT_EQUAL(check_text(base, ov2, 1, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("command line 'trials=0': key 'trials' = 0 is out of range [1, 1e+09]"));

    const char *ov3[] = {"problem.nosie=1"};
    CU_ASSERT_EQUAL(check_text(base, ov3, 1, NULL), LR_ECONFIG);
    CU_ASSERT(msg_is("command line 'problem.nosie=1': key 'problem.nosie' is not known "
                     "(did you mean 'problem.noise'?)"));

    /* A group that only exists because of an override is blamed on that override. */
    const char *ov4[] = {"solver.tol=1"};
    CU_ASSERT_EQUAL(check_text(base, ov4, 1, NULL), LR_ECONFIG);
    CU_ASSERT(msg_has("command line 'solver.tol=1': key 'solver' is not known"));

    /* Malformed overrides are caught when reading. */
    const char *bad[] = {"seed", "=3", "seed=1 2", "seed=", "a..b=1", "seed=1; trials=2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lr_config *cfg = NULL;
        CU_ASSERT_EQUAL(lr_config_read_string(&cfg, base, "t.cfg", &bad[i], 1), LR_ECONFIG);
        CU_ASSERT_PTR_NULL(cfg);
        char want[128];
        snprintf(want, sizeof want, "command line '%s'", bad[i]);
        CU_ASSERT(msg_has(want));
    }

    /* Descending into a scalar is refused rather than silently replacing it. */
    const char *ov5[] = {"problem.m.x=1"};
    lr_config *cfg = NULL;
    CU_ASSERT_EQUAL(lr_config_read_string(&cfg, base, "t.cfg", ov5, 1), LR_ECONFIG);
    CU_ASSERT(msg_is("command line 'problem.m.x=1': key 'problem.m' is an integer, not a group"));
}

/* ---- defaults and resolved text ----------------------------------------------------- */

static void test_defaults_and_text(void)
{
    lr_config *cfg;
    CU_ASSERT_EQUAL_FATAL(check_text("problem = { m = 5; };\n", NULL, 0, &cfg), LR_OK);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "trials"), 10);
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.r"), 2);
    CU_ASSERT(close_to(lr_config_num(cfg, 0, "problem.noise.sigma"), 0.1));
    CU_ASSERT_EQUAL(lr_config_num(cfg, 0, "problem.verbose"), 0);
    CU_ASSERT_STRING_EQUAL(lr_config_str(cfg, "name"), "run");
    CU_ASSERT(lr_config_given(cfg, "problem.m"));
    CU_ASSERT(!lr_config_given(cfg, "trials"));
    /* Optional without default stays absent. */
    CU_ASSERT(!lr_config_given(cfg, "tol"));
    CU_ASSERT(isnan(lr_config_num(cfg, 0, "tol")));
    const long *iv;
    CU_ASSERT_EQUAL(lr_config_int_list(cfg, "ranks", &iv), 2);
    CU_ASSERT(iv[0] == 1 && iv[1] == 2);
    const char *const *sv;
    CU_ASSERT_EQUAL(lr_config_str_list(cfg, "methods", &sv), 1);
    CU_ASSERT_STRING_EQUAL(sv[0], "svd_w");
    char buf[256];
    CU_ASSERT_STRING_EQUAL(lr_config_where(cfg, "trials", buf, sizeof buf), "t.cfg: key 'trials'");

    /* The resolved text holds every default with its type and parses back. */
    const char *text = lr_config_text(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    config_t lc;
    config_init(&lc);
    CU_ASSERT_FATAL(config_read_string(&lc, text) == CONFIG_TRUE);
    const config_setting_t *s = config_lookup(&lc, "trials");
    CU_ASSERT(s && config_setting_type(s) == CONFIG_TYPE_INT && config_setting_get_int(s) == 10);
    s = config_lookup(&lc, "problem.noise.sigma");
    CU_ASSERT(s && config_setting_type(s) == CONFIG_TYPE_FLOAT &&
              close_to(config_setting_get_float(s), 0.1));
    s = config_lookup(&lc, "problem.verbose");
    CU_ASSERT(s && config_setting_type(s) == CONFIG_TYPE_BOOL);
    s = config_lookup(&lc, "problem.noise.kind");
    CU_ASSERT(s && strcmp(config_setting_get_string(s), "gaussian") == 0);
    s = config_lookup(&lc, "methods");
    CU_ASSERT(s && config_setting_length(s) == 1);
    CU_ASSERT_PTR_NULL(config_lookup(&lc, "tol"));
    config_destroy(&lc);
    lr_config_free(cfg);

    /* The text re-validates to the same configuration. */
    CU_ASSERT_EQUAL_FATAL(check_text("problem = { m = 5; };\n", NULL, 0, &cfg), LR_OK);
    lr_config *again = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_config_read_string(&again, lr_config_text(cfg), "r.cfg", NULL, 0),
                          LR_OK);
    CU_ASSERT_EQUAL(lr_config_validate(again, schemas1, 1), LR_OK);
    CU_ASSERT_STRING_EQUAL(lr_config_text(again), lr_config_text(cfg));
    lr_config_free(again);
    lr_config_free(cfg);
}

static void test_accessors_robust(void)
{
    lr_config *cfg = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_config_read_string(&cfg, "problem = { m = 5; };\n", "t.cfg", NULL, 0),
                          LR_OK);
    /* Before validation. */
    CU_ASSERT(isnan(lr_config_num(cfg, 0, "problem.m")));
    CU_ASSERT_PTR_NULL(lr_config_str(cfg, "name"));
    CU_ASSERT_PTR_NULL(lr_config_text(cfg));
    CU_ASSERT_EQUAL(lr_config_naxes(cfg), 0);
    CU_ASSERT_EQUAL(lr_config_validate(cfg, schemas1, 1), LR_OK);
    /* Keys outside the schema. */
    CU_ASSERT(isnan(lr_config_num(cfg, 0, "nope.x")));
    CU_ASSERT_PTR_NULL(lr_config_str(cfg, "nope"));
    CU_ASSERT_PTR_NULL(lr_config_str(cfg, "problem.m"));
    const long *iv = (const long *)1;
    CU_ASSERT_EQUAL(lr_config_int_list(cfg, "nope", &iv), 0);
    CU_ASSERT_PTR_NULL(iv);
    const char *const *sv = NULL;
    CU_ASSERT_EQUAL(lr_config_str_list(cfg, "ranks", &sv), 0);
    CU_ASSERT_EQUAL(lr_config_axis_of(cfg, "nope"), -1);
    CU_ASSERT_PTR_NULL(lr_config_axis_path(cfg, 0));
    CU_ASSERT_EQUAL(lr_config_axis_len(cfg, 3), 0);
    CU_ASSERT(!lr_config_given(cfg, "nope"));
    /* Validation happens once per object. */
    CU_ASSERT_EQUAL(lr_config_validate(cfg, schemas1, 1), LR_EINVAL);
    lr_config_free(cfg);
    lr_config_free(NULL);
}

void lr_tests_config(void)
{
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    if (!s) return;
    CU_add_test(s, "integer literals beyond 32 bits refused (libconfig would wrap them)", test_int_literal_overflow);
    CU_add_test(s, "syntax error in a string", test_syntax_error_string);
    CU_add_test(s, "missing file", test_missing_file);
    CU_add_test(s, "syntax error in a file", test_file_syntax_error);
    CU_add_test(s, "file read and where", test_file_read_and_where);
    CU_add_test(s, "@include relative to the file", test_include_relative);
    CU_add_test(s, "peek string", test_peek_string);
    CU_add_test(s, "unknown key and hint", test_unknown_key_hint);
    CU_add_test(s, "nearest key", test_nearest_key);
    CU_add_test(s, "integer type", test_int_type);
    CU_add_test(s, "real and bool types", test_real_bool_types);
    CU_add_test(s, "string choices", test_choices);
    CU_add_test(s, "names from a registry", test_registry_names);
    CU_add_test(s, "range", test_range);
    CU_add_test(s, "open ranges print as [lo, inf)", test_range_text);
    CU_add_test(s, "a value that overflows to inf is refused", test_overflow_refused);
    CU_add_test(s, "not sweepable", test_not_sweepable);
    CU_add_test(s, "required key missing", test_required_missing);
    CU_add_test(s, "group expected", test_group_expected);
    CU_add_test(s, "int and string lists", test_lists);
    CU_add_test(s, "geom axis", test_geom_axis);
    CU_add_test(s, "lin axis", test_lin_axis);
    CU_add_test(s, "list axis", test_list_axis);
    CU_add_test(s, "axis errors", test_axis_errors);
    CU_add_test(s, "cartesian product", test_cartesian_product);
    CU_add_test(s, "zip: two zips and a plain axis, numbering", test_zip_numbering);
    CU_add_test(s, "zip: plain group form and a zip of one axis", test_zip_plain_and_single);
    CU_add_test(s, "zip: errors with file:line", test_zip_errors);
    CU_add_test(s, "zip: overrides", test_zip_overrides);
    CU_add_test(s, "multiple schemas", test_multiple_schemas);
    CU_add_test(s, "override scalar", test_override_scalar);
    CU_add_test(s, "override nested key", test_override_nested_creates_groups);
    CU_add_test(s, "override makes an axis", test_override_axis);
    CU_add_test(s, "override errors", test_override_errors);
    CU_add_test(s, "defaults and resolved text", test_defaults_and_text);
    CU_add_test(s, "accessors are robust", test_accessors_robust);
}
