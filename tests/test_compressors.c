/* The compressor registry (src/compress/list.h, registry.c): every entry of compress/list.h
 * is in lr_compressors[], found by its name and listed by lr_compressor_name_at; unknown
 * names are refused (NULL) rather than trusted; the roles that replace name tests are
 * where the experiments expect them. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compress/compress.h"
#include "core/error.h"
#include "core/rng.h"
#include "gen/gen.h"
#include "io/config.h"
#include "tests.h"

static const char *const listed[] = {
#define LR_COMPRESSOR(name) #name,
#include "compress/list.h"
#undef LR_COMPRESSOR
};
#define NLISTED (sizeof listed / sizeof listed[0])

static void test_registry_follows_list(void)
{
    size_t n = 0;
    while (lr_compressors[n]) n++;
    CU_ASSERT_EQUAL(n, NLISTED);
    for (size_t i = 0; i < NLISTED; i++) {
        const lr_compressor *c = lr_compressor_find(listed[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_PTR_EQUAL(c, lr_compressors[i]);
        CU_ASSERT_STRING_EQUAL(c->name, listed[i]);
        CU_ASSERT_STRING_EQUAL(lr_compressor_name_at(i), listed[i]);
        CU_ASSERT(c->plan_alloc && c->execute && c->plan_free && c->description && c->description[0]);
        for (size_t j = 0; j < i; j++) CU_ASSERT(strcmp(listed[i], listed[j]) != 0);
    }
    CU_ASSERT_PTR_NULL(lr_compressor_name_at(NLISTED));
    CU_ASSERT_PTR_NULL(lr_compressor_name_at((size_t)-1));
}

static void test_registry_refuses_unknown(void)
{
    CU_ASSERT_PTR_NULL(lr_compressor_find("no_such_compressor"));
    CU_ASSERT_PTR_NULL(lr_compressor_find(""));
    CU_ASSERT_PTR_NULL(lr_compressor_find(NULL));
    CU_ASSERT_PTR_NULL(lr_compressor_find("SVD_W")); /* names are case-sensitive */
}

/* The roles the experiments ask for instead of names: one data-agnostic baseline (what
 * `dd <= da` compares with), and it is data-agnostic; Theorem 2(a)'s subject is covered
 * by a theorem and data-driven. */
static void test_registry_roles(void)
{
    size_t nbase = 0, nls = 0;
    for (size_t i = 0; lr_compressors[i]; i++) {
        const lr_compressor *c = lr_compressors[i];
        if (lr_compressor_has_role(c, LR_ROLE_BASELINE)) {
            nbase++;
            CU_ASSERT_EQUAL(c->data_driven, 0);
        }
        if (lr_compressor_has_role(c, LR_ROLE_RANK_LS)) {
            nls++;
            CU_ASSERT(lr_compressor_has_role(c, LR_ROLE_THEORY));
            CU_ASSERT_EQUAL(c->data_driven, 1);
        }
    }
    CU_ASSERT_EQUAL(nbase, 1);
    CU_ASSERT_EQUAL(nls, 1);
    CU_ASSERT_EQUAL(lr_compressor_has_role(NULL, LR_ROLE_BASELINE), 0);
    CU_ASSERT_EQUAL(lr_compressor_has_role(&lr_compressor_svd_w, LR_ROLE_NONE), 0);
    const lr_compressor *comps[3] = {&lr_compressor_dd_rank, &lr_compressor_whiten, &lr_compressor_svd_w};
    CU_ASSERT_EQUAL(lr_compressor_with_role(comps, 3, LR_ROLE_BASELINE), 2);
    CU_ASSERT_EQUAL(lr_compressor_with_role(comps, 2, LR_ROLE_BASELINE), 2); /* none: n */
    CU_ASSERT_EQUAL(lr_compressor_with_role(comps, 3, LR_ROLE_THEORY | LR_ROLE_RANK_LS), 0);
}

/* ---- plans ---- */

static lr_mat cmat(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }

typedef struct shape_case {
    const char *what;
    size_t m, n0, n1;
    lr_x_kind kind;
    size_t q;
    double cond;
} shape_case;

/* Tall, wide outputs, fewer samples than inputs, rank-deficient X~, graded X~. */
static const shape_case cases[] = {
    {"tall", 40, 12, 8, LR_X_GAUSSIAN, 12, 1},
    {"wide", 30, 10, 20, LR_X_GAUSSIAN, 10, 1},
    {"m < N0", 8, 14, 10, LR_X_GAUSSIAN, 8, 1},
    {"rank-deficient X~", 30, 12, 9, LR_X_LOWRANK, 5, 1},
    {"graded X~", 30, 12, 9, LR_X_SPECTRUM, 12, 1e6},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* A layer problem: X~ of the case's kind, W Gaussian, Y = X~ W + 0.1 G, X~ factored. */
typedef struct cfix {
    lr_layer L;
    lr_layer_ws ws;
} cfix;

static void cfix_make(cfix *f, const shape_case *c, unsigned seed, const lr_mat *W_from)
{
    memset(f, 0, sizeof *f);
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, seed);
    size_t m = c->m, n0 = c->n0, n1 = c->n1, mn = m < n0 ? m : n0;
    f->L.X = cmat(m, n0), f->L.W = cmat(n0, n1), f->L.Y = cmat(m, n1);
    double *scr = lr_calloc(lr_gen_x_scratch(m, n0, c->q) + 1, sizeof(double));
    CU_ASSERT_EQUAL(lr_gen_x(g, f->L.X, c->kind, c->q, c->cond, scr), LR_OK);
    lr_free(scr);
    if (W_from) lr_mat_copy(f->L.W, *W_from);
    else lr_gen_noise(g, f->L.W, LR_NOISE_GAUSSIAN, 1.0, 0);
    lr_gen_noise(g, f->L.Y, LR_NOISE_GAUSSIAN, 0.1, 0);
    lr_gemm('N', 'N', 1.0, f->L.X, f->L.W, 1.0, f->L.Y);
    f->L.Ux = cmat(m, mn), f->L.Vx = cmat(n0, mn), f->L.sx = lr_calloc(mn + 1, sizeof(double));
    f->L.sigma = 0.1;
    f->ws.svd = lr_svd_plan_alloc(m > n0 ? m : n0, n0);
    lr_arena_init(&f->ws.arena, lr_layer_factor_x_scratch(m, n0) + lr_arena_need(mn, n0));
    CU_ASSERT_EQUAL(lr_layer_factor_x(&f->L, lr_rank_rtol_default(m, n0), &f->ws), LR_OK);
    gsl_rng_free(g);
}

static void cfix_free(cfix *f)
{
    lr_free(f->L.X.data), lr_free(f->L.W.data), lr_free(f->L.Y.data), lr_free(f->L.Ux.data);
    lr_free(f->L.Vx.data), lr_free(f->L.sx), lr_free(f->L.UtY.data);
    lr_svd_plan_free(f->ws.svd);
    lr_arena_release(&f->ws.arena);
}

/* Factor storage for ranks[0..n): min(N0, N1) columns each (what a rank-adaptive one needs). */
static void out_alloc(lr_compressed *out, size_t n, size_t n0, size_t n1)
{
    size_t full = n0 < n1 ? n0 : n1;
    for (size_t i = 0; i < n; i++) out[i] = (lr_compressed){.A = cmat(n0, full), .B = cmat(full, n1)};
}

static void out_free(lr_compressed *out, size_t n)
{
    for (size_t i = 0; i < n; i++) lr_free(out[i].A.data), lr_free(out[i].B.data);
}

/* A swept compressor key gives each sweep point its own value: compress.lambda = [0, 1e6]
 * makes dd_svt return P Y's full rank at point 0 and the zero matrix at point 1. */
static void test_plan_per_point(void)
{
    lr_config *cfg = NULL;
    const char *ov[] = {"compress.lambda=[0.0, 1.0e6]"};
    CU_ASSERT_EQUAL_FATAL(lr_config_read_string(&cfg, "", "per-point test", ov, 1), LR_OK);
    const lr_key *schemas[LR_NCOMPRESSORS];
    size_t ns = lr_compressor_schemas(schemas, LR_NCOMPRESSORS);
    CU_ASSERT_EQUAL_FATAL(lr_config_validate(cfg, schemas, ns), LR_OK);
    CU_ASSERT_EQUAL(lr_config_npoints(cfg), 2);
    cfix f;
    cfix_make(&f, &cases[0], 3, NULL);
    lr_layer_shape sh = {cases[0].m, cases[0].n0, cases[0].n1};
    lr_compressor_plan *p = lr_compressor_plan_alloc(&lr_compressor_dd_svt, &sh, cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    size_t k = 3;
    lr_compressed o[1];
    out_alloc(o, 1, sh.n0, sh.n1);
    lr_fit_info info = {0};
    CU_ASSERT_EQUAL(lr_compressor_execute(p, 0, &f.L, &k, 1, o, &info, NULL), LR_OK);
    CU_ASSERT_EQUAL(info.lambda, 0.0);
    CU_ASSERT_EQUAL(o[0].k, cases[0].n1 < f.L.q ? cases[0].n1 : f.L.q);
    o[0].A.cols = o[0].B.rows = sh.n0 < sh.n1 ? sh.n0 : sh.n1;
    CU_ASSERT_EQUAL(lr_compressor_execute(p, 1, &f.L, &k, 1, o, &info, NULL), LR_OK);
    CU_ASSERT_EQUAL(info.lambda, 1e6);
    CU_ASSERT_EQUAL(o[0].k, 0);
    /* A point the plan was not read for is refused. */
    CU_ASSERT_EQUAL(lr_compressor_execute(p, 2, &f.L, &k, 1, o, &info, NULL), LR_EINVAL);
    out_free(o, 1);
    lr_compressor_plan_free(p);
    cfix_free(&f);
    lr_config_free(cfg);
}

/* The compressors' own streams: a function of (seed, point, trial, compressor) only, and
 * not the unit's stream. */
static void test_streams(void)
{
    gsl_rng *a = lr_rng_alloc(), *b = lr_rng_alloc(), *u = lr_rng_alloc();
    lr_compressor_seed_stream(a, 9, 2, 5, 1);
    lr_compressor_seed_stream(b, 9, 2, 5, 1);
    lr_rng_seed_unit(u, 9, 2, 5);
    unsigned long x = gsl_rng_get(a), y = gsl_rng_get(b), z = gsl_rng_get(u);
    CU_ASSERT_EQUAL(x, y);
    CU_ASSERT(x != z);
    lr_compressor_seed_stream(b, 9, 2, 5, 2);
    CU_ASSERT(gsl_rng_get(b) != x);
    gsl_rng_free(a), gsl_rng_free(b), gsl_rng_free(u);
}

void lr_tests_compressors(void)
{
    CU_pSuite s = CU_add_suite("compressors", NULL, NULL);
    CU_add_test(s, "registry: lr_compressors[] follows compress/list.h", test_registry_follows_list);
    CU_add_test(s, "registry: unknown names are refused", test_registry_refuses_unknown);
    CU_add_test(s, "registry: roles (one baseline, Theorem 2(a)'s subject)", test_registry_roles);
    CU_add_test(s, "plans: a swept key gives each point its value", test_plan_per_point);
    CU_add_test(s, "plans: the compressors' own random streams", test_streams);
}

/* ---- helpers for the compressor tests of other files (tests.h) ---- */

int lr_test_fit(const lr_compressor *c, const lr_layer *L, const char *settings, const size_t *ranks,
                size_t nranks, lr_compressed *out, lr_fit_info *info)
{
    char buf[1024], *items[16];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", settings ? settings : "");
    for (char *tok = strtok(buf, ";"); tok && n < 16; tok = strtok(NULL, ";"))
        if (*tok) items[n++] = tok;
    lr_config *cfg = NULL;
    int s = lr_config_read_string(&cfg, "", "test settings", (const char *const *)items, n);
    const lr_key *schemas[LR_NCOMPRESSORS];
    size_t ns = lr_compressor_schemas(schemas, LR_NCOMPRESSORS);
    if (s == LR_OK) s = lr_config_validate(cfg, schemas, ns);
    lr_layer_shape sh = {L->X.rows, L->W.rows, L->W.cols};
    lr_compressor_plan *p = NULL;
    if (s == LR_OK && !(p = lr_compressor_plan_alloc(c, &sh, cfg))) s = LR_ENOMEM;
    gsl_rng *rng = lr_rng_alloc();
    lr_compressor_seed_stream(rng, 1, 0, 0, 0);
    if (s == LR_OK) s = lr_compressor_execute(p, 0, L, ranks, nranks, out, info, rng);
    gsl_rng_free(rng);
    lr_compressor_plan_free(p);
    lr_config_free(cfg);
    return s;
}
