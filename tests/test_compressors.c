/* The compressor registry (src/compress/list.h, registry.c) and the contract every
 * registered compressor must keep (FFTW's self-tests: properties, not golden numbers).
 *
 * Registry: every entry of compress/list.h is in lr_compressors[], found by its name and
 * listed by lr_compressor_name_at; unknown names are refused (NULL) rather than trusted;
 * the roles that replace name tests are where the experiments expect them.
 *
 * Contract (test_contract), for each compressor with one plan sized for the largest of
 * five seeded hard shapes (tall; N1 > N0; m < N0; rank-deficient X~; X~ graded to
 * condition 1e6) at k = 1, 3 and min(N0, N1):
 *   - execute succeeds and allocates nothing (the --wrap malloc counters of test_gram.c);
 *   - every output is a consistent LOWRANK lr_compressed with finite factors and
 *     k <= the requested rank (<= min(N0, N1) for rank-adaptive ones);
 *   - rank_adaptive: every rank holds the same result; nested: the rank-k result is the
 *     leading k columns of A and rows of B of the next larger rank;
 *   - the same call with the same stream gives the same bits;
 *   - data_driven = 0: other calibration data (same W) give the same result;
 *   - gram_ok: with X~, Y and Ux filled with NaN and U_q^T Y supplied, the same result;
 *   - the declared optimum (lr_optimality) is attained, against plain SVDs;
 *   - a problem larger than the plan is refused.
 * A new compressor is tested by registering it. */
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

/* ---- the contract: every registered compressor on seeded hard shapes ---- */

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
static const lr_layer_shape largest = {40, 14, 20};

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

static void product(const lr_compressed *c, lr_mat M) { CU_ASSERT_EQUAL(lr_compressed_to_dense(c, M), LR_OK); }

static double rel(lr_mat A, lr_mat B)
{
    double n = lr_mat_norm_fro(B);
    return lr_mat_diff_fro(A, B) / (n > 0 ? n : 1.0);
}

static int run(lr_compressor_plan *p, const lr_layer *L, const size_t *ranks, size_t nr, lr_compressed *out,
               lr_fit_info *info, long *allocs)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_compressor_seed_stream(rng, 17, 3, 4, 0);
    for (size_t i = 0; i < nr; i++) {
        size_t full = L->W.rows < L->W.cols ? L->W.rows : L->W.cols;
        out[i].A.cols = out[i].B.rows = full;
    }
    *info = (lr_fit_info){.gap = NAN, .lambda = NAN, .converged = -1};
    long before = lr_test_alloc_calls();
    int s = lr_compressor_execute(p, 0, L, ranks, nr, out, info, rng);
    *allocs = lr_test_alloc_calls() - before;
    gsl_rng_free(rng);
    return s;
}

/* The optimum the compressor declares, by plain SVDs, against what it achieved at out->k. */
static void check_optimal(const lr_compressor *c, const shape_case *sc, const lr_layer *L, const lr_compressed *out)
{
    size_t m = L->X.rows, n0 = L->W.rows, n1 = L->W.cols, k = out->k, q = L->q;
    if (c->optimal == LR_OPTIMAL_NONE) return;
    if (c->optimal == LR_OPTIMAL_LAYER && q < n0) return; /* optimal only with full column rank */
    lr_mat M = cmat(n0, n1), T = cmat(m > n0 ? m : n0, n1);
    product(out, M);
    lr_svd_plan *sp = lr_svd_plan_alloc(m > n0 ? m : n0, n1 > n0 ? n1 : n0);
    double s[64] = {0}, got = NAN, want = NAN;
    lr_mat none = {NULL, 0, 0, 1};
    if (c->optimal == LR_OPTIMAL_WEIGHTS) {
        got = lr_mat_diff_fro(M, L->W);
        lr_mat Wc = lr_mat_view(T, 0, 0, n0, n1);
        lr_mat_copy(Wc, L->W);
        lr_svd(sp, Wc, s, none, none, NULL);
        double t = 0;
        for (size_t i = k; i < (n0 < n1 ? n0 : n1); i++) t += s[i] * s[i];
        want = sqrt(t);
    } else {
        /* R = X~ M against Y (response) or X~ W (layer). */
        lr_mat XM = cmat(m, n1), Tg = cmat(m, n1);
        lr_gemm('N', 'N', 1.0, L->X, M, 0.0, XM);
        if (c->optimal == LR_OPTIMAL_LAYER) {
            lr_gemm('N', 'N', 1.0, L->X, L->W, 0.0, Tg);
            got = lr_mat_diff_fro(XM, Tg);
            lr_svd(sp, Tg, s, none, none, NULL);
            double t = 0;
            for (size_t i = k; i < (m < n1 ? m : n1); i++) t += s[i] * s[i];
            want = sqrt(t);
        } else {
            got = lr_mat_diff_fro(XM, L->Y);
            /* P Y = U_q U_q^T Y; ||(I - P) Y||^2 + tau_k(P Y)^2. */
            lr_mat Uq = lr_mat_view(L->Ux, 0, 0, m, q), B = cmat(q ? q : 1, n1);
            B.rows = q;
            lr_gemm('T', 'N', 1.0, Uq, L->Y, 0.0, B);
            lr_gemm('N', 'N', 1.0, Uq, B, 0.0, Tg);
            double ip = lr_mat_diff_fro(Tg, L->Y);
            lr_svd(sp, Tg, s, none, none, NULL);
            double t = ip * ip;
            for (size_t i = k; i < (m < n1 ? m : n1); i++) t += s[i] * s[i];
            want = sqrt(t);
            lr_free(B.data);
        }
        lr_free(XM.data), lr_free(Tg.data);
    }
    CU_ASSERT(fabs(got - want) <= 1e-9 * (1 + want));
    if (!(fabs(got - want) <= 1e-9 * (1 + want)))
        fprintf(stderr, "\n  %s on %s at k = %zu: error %.17g, optimum %.17g\n", c->name, sc->what, k, got, want);
    lr_svd_plan_free(sp);
    lr_free(M.data), lr_free(T.data);
}

static void contract_one(const lr_compressor *c, lr_compressor_plan *p, const shape_case *sc, unsigned seed)
{
    cfix f;
    cfix_make(&f, sc, seed, NULL);
    lr_layer *L = &f.L;
    size_t n0 = sc->n0, n1 = sc->n1, full = n0 < n1 ? n0 : n1;
    size_t ranks[3] = {1, 3, full}; /* k = 1 and k = min(N0, N1) */
    lr_compressed out[3], again[3];
    out_alloc(out, 3, n0, n1), out_alloc(again, 3, n0, n1);
    lr_fit_info info;
    long allocs = 0;
    int s = run(p, L, ranks, 3, out, &info, &allocs);
    CU_ASSERT_EQUAL(s, LR_OK);
    if (s != LR_OK) fprintf(stderr, "\n  %s on %s: %s\n", c->name, sc->what, lr_last_error());
    CU_ASSERT_EQUAL(allocs, 0); /* the plan sized for the largest shape serves this one */
    lr_mat M = cmat(n0, n1), M2 = cmat(n0, n1);
    for (size_t i = 0; s == LR_OK && i < 3; i++) {
        CU_ASSERT_EQUAL(out[i].kind, LR_COMPRESSED_LOWRANK);
        CU_ASSERT_EQUAL(lr_compressed_check(&out[i]), LR_OK);
        CU_ASSERT(lr_compressed_all_finite(&out[i]));
        CU_ASSERT(out[i].k <= (c->rank_adaptive ? full : ranks[i]));
        if (c->rank_adaptive && i > 0) { /* one result in every rank */
            CU_ASSERT_EQUAL(out[i].k, out[0].k);
            product(&out[0], M), product(&out[i], M2);
            CU_ASSERT_EQUAL(lr_mat_diff_fro(M, M2), 0.0);
        }
        if (c->nested && i > 0) { /* rank k_{i-1} is the leading part of rank k_i */
            size_t k = out[i - 1].k;
            CU_ASSERT(k <= out[i].k);
            lr_compressed lead = out[i];
            lr_factors_set_rank(&lead, k);
            product(&out[i - 1], M), product(&lead, M2);
            CU_ASSERT(rel(M2, M) <= 1e-12);
        }
        check_optimal(c, sc, L, &out[i]);
    }
    /* Deterministic given the stream: the same call again gives the same bits. */
    s = run(p, L, ranks, 3, again, &info, &allocs);
    CU_ASSERT_EQUAL(s, LR_OK);
    for (size_t i = 0; s == LR_OK && i < 3; i++) {
        product(&out[i], M), product(&again[i], M2);
        CU_ASSERT_EQUAL(lr_mat_diff_fro(M, M2), 0.0);
    }
    /* data_driven = 0: other calibration data, the same W, the same result. */
    if (!c->data_driven) {
        cfix g;
        cfix_make(&g, sc, seed + 1000, &L->W);
        s = run(p, &g.L, ranks, 3, again, &info, &allocs);
        CU_ASSERT_EQUAL(s, LR_OK);
        for (size_t i = 0; s == LR_OK && i < 3; i++) {
            product(&out[i], M), product(&again[i], M2);
            CU_ASSERT_EQUAL(lr_mat_diff_fro(M, M2), 0.0);
        }
        cfix_free(&g);
    }
    /* gram_ok: X~, Y and Ux poisoned with NaN, U_q^T Y supplied: the same result. */
    if (c->gram_ok) {
        size_t m = sc->m, q = L->q;
        lr_layer G = *L;
        G.X = cmat(m, n0), G.Y = cmat(m, n1), G.Ux = cmat(m, L->Ux.cols);
        G.Ux.cols = L->Ux.cols;
        for (size_t j = 0; j < n0; j++)
            for (size_t r = 0; r < m; r++) LR_AT(G.X, r, j) = NAN;
        for (size_t j = 0; j < n1; j++)
            for (size_t r = 0; r < m; r++) LR_AT(G.Y, r, j) = NAN;
        for (size_t j = 0; j < G.Ux.cols; j++)
            for (size_t r = 0; r < m; r++) LR_AT(G.Ux, r, j) = NAN;
        G.UtY = cmat(q ? q : 1, n1);
        G.UtY.rows = q;
        lr_gemm('T', 'N', 1.0, lr_mat_view(L->Ux, 0, 0, m, q), L->Y, 0.0, G.UtY);
        G.gram_route = 1;
        s = run(p, &G, ranks, 3, again, &info, &allocs);
        CU_ASSERT_EQUAL(s, LR_OK);
        for (size_t i = 0; s == LR_OK && i < 3; i++) {
            CU_ASSERT(lr_compressed_all_finite(&again[i]));
            product(&out[i], M), product(&again[i], M2);
            CU_ASSERT(rel(M2, M) <= 1e-12);
        }
        lr_free(G.X.data), lr_free(G.Y.data), lr_free(G.Ux.data), lr_free(G.UtY.data);
    }
    lr_free(M.data), lr_free(M2.data);
    out_free(out, 3), out_free(again, 3);
    cfix_free(&f);
}

/* Every registered compressor, one plan (keys at their defaults) sized for the largest
 * of the hard shapes, run on each of them. */
static void test_contract(void)
{
    for (size_t ci = 0; lr_compressors[ci]; ci++) {
        const lr_compressor *c = lr_compressors[ci];
        lr_compressor_plan *p = lr_compressor_plan_alloc(c, &largest, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        for (size_t k = 0; k < NCASES; k++) contract_one(c, p, &cases[k], 100 + (unsigned)(17 * k + ci));
        /* A problem larger than the plan is refused, not overrun. */
        shape_case big = {"too large", 41, 15, 21, LR_X_GAUSSIAN, 15, 1};
        cfix f;
        cfix_make(&f, &big, 5, NULL);
        size_t k1 = 1;
        lr_compressed o[1];
        out_alloc(o, 1, big.n0, big.n1);
        lr_fit_info info = {0};
        CU_ASSERT_EQUAL(lr_compressor_execute(p, 0, &f.L, &k1, 1, o, &info, NULL), LR_EINVAL);
        out_free(o, 1);
        cfix_free(&f);
        lr_compressor_plan_free(p);
    }
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

/* ---- rsvd_w against the exact truncation ---- */

/* W (n0 x n1) with singular values sv[0..r) (random singular vectors). */
static lr_mat spectrum_w(unsigned seed, size_t n0, size_t n1, const double *sv, size_t r)
{
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, seed);
    lr_mat W = cmat(n0, n1);
    double *scr = lr_calloc(lr_gen_with_spectrum_scratch(n0, n1, r) + 1, sizeof(double));
    CU_ASSERT_EQUAL(lr_gen_with_spectrum(g, W, sv, r, scr), LR_OK);
    lr_free(scr);
    gsl_rng_free(g);
    return W;
}

/* rsvd_w at ranks[0..n) with oversampling p and q power iterations, stream `trial`. */
static void rsvd_fit(const lr_layer *L, int p, int q, size_t trial, const size_t *ranks, size_t n, lr_compressed *out)
{
    char set[128];
    snprintf(set, sizeof set, "compress.rsvd.oversample=%d;compress.rsvd.power_iters=%d", p, q);
    lr_config *cfg = NULL;
    char *items[2] = {set, strchr(set, ';') + 1};
    *strchr(set, ';') = 0;
    CU_ASSERT_EQUAL_FATAL(lr_config_read_string(&cfg, "", "rsvd test", (const char *const *)items, 2), LR_OK);
    const lr_key *schemas[LR_NCOMPRESSORS];
    CU_ASSERT_EQUAL_FATAL(lr_config_validate(cfg, schemas, lr_compressor_schemas(schemas, LR_NCOMPRESSORS)), LR_OK);
    lr_layer_shape sh = {1, L->W.rows, L->W.cols};
    lr_compressor_plan *pl = lr_compressor_plan_alloc(&lr_compressor_rsvd_w, &sh, cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    gsl_rng *rng = lr_rng_alloc();
    lr_compressor_seed_stream(rng, 2011, 0, trial, 0);
    lr_fit_info info = {0};
    for (size_t i = 0; i < n; i++) out[i].A.cols = out[i].B.rows = L->W.rows < L->W.cols ? L->W.rows : L->W.cols;
    CU_ASSERT_EQUAL(lr_compressor_execute(pl, 0, L, ranks, n, out, &info, rng), LR_OK);
    gsl_rng_free(rng);
    lr_compressor_plan_free(pl);
    lr_config_free(cfg);
}

static double tail(const double *sv, size_t r, size_t k)
{
    double t = 0;
    for (size_t j = k; j < r; j++) t += sv[j] * sv[j];
    return sqrt(t);
}

static double werr(const lr_layer *L, const lr_compressed *c)
{
    lr_mat M = cmat(L->W.rows, L->W.cols);
    product(c, M);
    double e = lr_mat_diff_fro(M, L->W);
    lr_free(M.data);
    return e;
}

/* rank W = 4 <= k: the exact truncation (= W), even without oversampling or power steps. */
static void test_rsvd_exact_rank(void)
{
    double sv[4] = {5, 3, 2, 1e-3};
    lr_layer L = {.W = spectrum_w(1, 30, 20, sv, 4), .X = {NULL, 1, 30, 1}};
    size_t ranks[3] = {2, 4, 6};
    lr_compressed o[3], e[3];
    out_alloc(o, 3, 30, 20), out_alloc(e, 3, 30, 20);
    CU_ASSERT_EQUAL(lr_test_fit(&lr_compressor_svd_w, &L, NULL, ranks, 3, e, &(lr_fit_info){0}), LR_OK);
    lr_mat M = cmat(30, 20), Me = cmat(30, 20);
    for (int pq = 0; pq < 2; pq++) {
        rsvd_fit(&L, pq ? 10 : 0, pq ? 2 : 0, 0, ranks + 1, 2, o + 1);
        for (size_t i = 1; i < 3; i++) {
            product(&o[i], M), product(&e[i], Me);
            CU_ASSERT(rel(M, Me) < 1e-12);
            CU_ASSERT(rel(M, L.W) < 1e-12);
        }
    }
    lr_free(M.data), lr_free(Me.data), lr_free(L.W.data);
    out_free(o, 3), out_free(e, 3);
}

/* HMT's bound in expectation (q = 0): mean ||W - M||_F^2 over 60 streams is at most
 * (2 + k / (p - 1)) tau_k^2, for a slowly decaying spectrum sigma_j = 1 / j. */
static void test_rsvd_hmt_bound(void)
{
    size_t n0 = 40, n1 = 30, r = 30, k = 5;
    double sv[30];
    for (size_t j = 0; j < r; j++) sv[j] = 1.0 / (double)(j + 1);
    lr_layer L = {.W = spectrum_w(2, n0, n1, sv, r), .X = {NULL, 1, n0, 1}};
    lr_compressed o[1];
    out_alloc(o, 1, n0, n1);
    double t = tail(sv, r, k);
    int ps[2] = {2, 5};
    for (int a = 0; a < 2; a++) {
        double sum = 0, worst = 0;
        for (size_t trial = 0; trial < 60; trial++) {
            rsvd_fit(&L, ps[a], 0, trial, &k, 1, o);
            double e = werr(&L, &o[0]);
            CU_ASSERT(e >= t * (1 - 1e-12)); /* never below the optimum (Eckart-Young) */
            sum += e * e;
            worst = e > worst ? e : worst;
        }
        double bound = (2.0 + (double)k / (ps[a] - 1.0)) * t * t;
        CU_ASSERT(sum / 60 <= bound);
        fprintf(stderr, "[rsvd p=%d q=0: mean err^2 / tau_k^2 = %.3f, HMT bound %.3f, worst err / tau_k %.3f] ",
                ps[a], sum / 60 / (t * t), bound / (t * t), worst / t);
    }
    out_free(o, 1);
    lr_free(L.W.data);
}

/* A decaying spectrum (sigma_j = 0.8^j) with the default p = 10, q = 2: within 1e-6 of the
 * optimal tail in every one of 20 streams (measured: 6.4e-10). */
static void test_rsvd_near_optimal(void)
{
    size_t n0 = 50, n1 = 40, r = 40, k = 6;
    double sv[40];
    for (size_t j = 0; j < r; j++) sv[j] = pow(0.8, (double)j);
    lr_layer L = {.W = spectrum_w(3, n0, n1, sv, r), .X = {NULL, 1, n0, 1}};
    lr_compressed o[1];
    out_alloc(o, 1, n0, n1);
    double t = tail(sv, r, k), worst = 0;
    for (size_t trial = 0; trial < 20; trial++) {
        rsvd_fit(&L, 10, 2, trial, &k, 1, o);
        double e = werr(&L, &o[0]) / t;
        worst = e > worst ? e : worst;
    }
    CU_ASSERT(worst < 1 + 1e-6);
    fprintf(stderr, "[rsvd p=10 q=2 on 0.8^j: worst err / tau_k - 1 = %.2e] ", worst - 1);
    out_free(o, 1);
    lr_free(L.W.data);
}

/* Each rank from its own k + p columns of one Omega: rank 5 alone = rank 5 next to rank 2;
 * and not nested: rank 2 is not the leading part of rank 5. */
static void test_rsvd_ranks(void)
{
    size_t n0 = 40, n1 = 30, r = 30;
    double sv[30];
    for (size_t j = 0; j < r; j++) sv[j] = 1.0 / (double)(j + 1);
    lr_layer L = {.W = spectrum_w(4, n0, n1, sv, r), .X = {NULL, 1, n0, 1}};
    size_t two[2] = {2, 5}, five = 5;
    lr_compressed o[2], a[1];
    out_alloc(o, 2, n0, n1), out_alloc(a, 1, n0, n1);
    rsvd_fit(&L, 3, 0, 7, two, 2, o);
    rsvd_fit(&L, 3, 0, 7, &five, 1, a);
    lr_mat M = cmat(n0, n1), M2 = cmat(n0, n1);
    product(&o[1], M), product(&a[0], M2);
    CU_ASSERT_EQUAL(lr_mat_diff_fro(M, M2), 0.0);
    lr_compressed lead = o[1];
    lr_factors_set_rank(&lead, 2);
    product(&o[0], M), product(&lead, M2);
    CU_ASSERT(rel(M, M2) > 1e-6);
    CU_ASSERT_EQUAL(lr_compressor_rsvd_w.nested, 0);
    lr_free(M.data), lr_free(M2.data), lr_free(L.W.data);
    out_free(o, 2), out_free(a, 1);
}

void lr_tests_compressors(void)
{
    CU_pSuite s = CU_add_suite("compressors", NULL, NULL);
    CU_add_test(s, "registry: lr_compressors[] follows compress/list.h", test_registry_follows_list);
    CU_add_test(s, "registry: unknown names are refused", test_registry_refuses_unknown);
    CU_add_test(s, "registry: roles (one baseline, Theorem 2(a)'s subject)", test_registry_roles);
    CU_add_test(s, "contract: every compressor on tall, wide, m < N0, rank-deficient and graded X~",
                test_contract);
    CU_add_test(s, "plans: a swept key gives each point its value", test_plan_per_point);
    CU_add_test(s, "plans: the compressors' own random streams", test_streams);
    CU_add_test(s, "rsvd_w: exact truncation when rank W <= k", test_rsvd_exact_rank);
    CU_add_test(s, "rsvd_w: mean error within HMT's bound (q = 0)", test_rsvd_hmt_bound);
    CU_add_test(s, "rsvd_w: near-optimal on a decaying spectrum with power iterations", test_rsvd_near_optimal);
    CU_add_test(s, "rsvd_w: each rank its own sketch prefix; not nested", test_rsvd_ranks);
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
