/* Failure injection, SQLite's way: every cleanup path is run by making things fail on purpose.
 *
 *   The counting allocator.  tests/unit is linked with -Wl,--wrap for malloc, calloc, realloc
 *     and aligned_alloc, so every allocation lrlab's own code makes (lr_malloc goes through
 *     aligned_alloc) passes through the __wrap_ functions below, which count the calls
 *     (tests/test_gram.c's proof that the trial loop allocates nothing).
 *
 *   The LAPACK wrappers (core/linalg.h): each one gives what the direct LAPACKE call gives
 *     (bit for bit where both use the workspace of the same query; the SVD plans hold more
 *     workspace than LAPACKE's high-level drivers query, which changes their blocking: equal
 *     to rounding there), and its injected failure (lr_lapack_fail_after) reaches the caller
 *     as a typed error or as the recorded fallback (whiten's QR route, lr_svd's dgesvd).
 * */
#include <CUnit/CUnit.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "core/rng.h"
#include "gen/gen.h"
#include "nn/reduce.h"
#include "tests.h"

/* ---- the counting allocator ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
static long alloc_calls;
void *__wrap_malloc(size_t n)
{
    __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t s)
{
    __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
    return __real_calloc(n, s);
}
void *__wrap_realloc(void *p, size_t n)
{
    __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
    return __real_realloc(p, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n)
{
    __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
    return __real_aligned_alloc(a, n);
}

long lr_test_alloc_calls(void) { return __atomic_load_n(&alloc_calls, __ATOMIC_SEQ_CST); }

/* ---- helpers ---- */

int lr_test_rel_check(double result, double expected, double tol, const char *desc, const char *file, int line)
{
    double err = expected != 0.0 ? fabs(result - expected) / fabs(expected) : fabs(result);
    if (err <= tol) return 1; /* NaN fails */
    fprintf(stderr, "\n%s:%d: %s: observed %.17g, expected %.17g, relative error %.3g > tolerance %.3g\n",
            file, line, desc, result, expected, err, tol);
    return 0;
}

static lr_mat mat_new(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }
static void mat_free(lr_mat A) { lr_free(A.data); }

static int same_bits(lr_mat A, lr_mat B)
{
    for (size_t j = 0; j < A.cols; j++)
        if (memcmp(&LR_AT(A, 0, j), &LR_AT(B, 0, j), A.rows * sizeof(double))) return 0;
    return 1;
}

static void fill_random(lr_mat A, unsigned long seed)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, seed, 0, 0);
    lr_gen_noise(rng, A, LR_NOISE_GAUSSIAN, 1.0, 0);
    gsl_rng_free(rng);
}

/* ---- the LAPACK wrappers ---- */

static void test_fail_after_names(void)
{
    CU_ASSERT_EQUAL(lr_lapack_fail_after("dgetrf", 1), LR_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "dgetrf"));
    CU_ASSERT_EQUAL(lr_lapack_fail_after(NULL, 1), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_lapack_fail_after("dpotrf", 0), LR_OK);
}

/* Cholesky: the wrapper's factor is dpotrf's; not positive definite and injected failures
 * are LR_ESINGULAR, and the countdown fails exactly the n-th call. */
static void test_potrf_trcon(void)
{
    size_t n = 9;
    lr_mat X = mat_new(20, n), G = mat_new(n, n), G2 = mat_new(n, n);
    fill_random(X, 11);
    lr_gemm('T', 'N', 1.0, X, X, 0.0, G);
    lr_mat_copy(G2, G);
    CU_ASSERT_EQUAL(lr_potrf_lower(G), LR_OK);
    CU_ASSERT_EQUAL(LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)n, G2.data, (lapack_int)G2.ld), 0);
    CU_ASSERT(same_bits(G, G2));

    double rc = 0, rc2 = 0, work[3 * 9];
    int iwork[9];
    CU_ASSERT_EQUAL(lr_trcon_lower(G, &rc, work, iwork), LR_OK);
    CU_ASSERT_EQUAL(LAPACKE_dtrcon(LAPACK_COL_MAJOR, '1', 'L', 'N', (lapack_int)n, G2.data, (lapack_int)G2.ld, &rc2), 0);
    CU_ASSERT(rc == rc2 && rc > 0 && rc <= 1);
    lr_lapack_fail_after("dtrcon", 1);
    CU_ASSERT_EQUAL(lr_trcon_lower(G, &rc, work, iwork), LR_ELAPACK);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "dtrcon: failure injected"));

    /* Indefinite: -1 on the diagonal. */
    lr_mat_set_zero(G);
    for (size_t i = 0; i < n; i++) LR_AT(G, i, i) = i == 4 ? -1.0 : 1.0;
    CU_ASSERT_EQUAL(lr_potrf_lower(G), LR_ESINGULAR);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "leading minor 5"));

    lr_lapack_fail_after("dpotrf", 2);
    lr_gemm('T', 'N', 1.0, X, X, 0.0, G);
    CU_ASSERT_EQUAL(lr_potrf_lower(G), LR_OK);
    lr_gemm('T', 'N', 1.0, X, X, 0.0, G);
    CU_ASSERT_EQUAL(lr_potrf_lower(G), LR_ESINGULAR);
    lr_gemm('T', 'N', 1.0, X, X, 0.0, G);
    CU_ASSERT_EQUAL(lr_potrf_lower(G), LR_OK);
    CU_ASSERT_EQUAL(lr_potrf_lower((lr_mat){G.data, 3, 4, 3}), LR_EINVAL);
    mat_free(X), mat_free(G), mat_free(G2);
}

/* Householder QR (dgeqrf, dorgqr) and column-pivoted QR (dgeqp3) with the workspace their own
 * queries give: the same bits as LAPACKE's high-level calls (which query the same size). */
static void test_qr_wrappers(void)
{
    size_t m = 40, n = 13;
    lr_mat A = mat_new(m, n), A2 = mat_new(m, n), A0 = mat_new(m, n);
    fill_random(A0, 12);
    double tau[13], tau2[13];
    size_t lw = lr_geqrf_lwork(m, n), lo = lr_orgqr_lwork(m, n, n), lp = lr_geqp3_lwork(m, n);
    CU_ASSERT(lw >= n && lo >= n && lp >= 3 * n + 1);
    size_t lmax = lw > lo ? lw : lo;
    lmax = lmax > lp ? lmax : lp;
    double *work = lr_malloc(lmax * sizeof(double));

    lr_mat_copy(A, A0), lr_mat_copy(A2, A0);
    CU_ASSERT_EQUAL(lr_geqrf(A, tau, work, lw), LR_OK);
    CU_ASSERT_EQUAL(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, A2.data, (lapack_int)m, tau2), 0);
    CU_ASSERT(same_bits(A, A2) && !memcmp(tau, tau2, sizeof tau));
    CU_ASSERT_EQUAL(lr_orgqr(A, n, tau, work, lo), LR_OK);
    CU_ASSERT_EQUAL(LAPACKE_dorgqr(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)n, A2.data,
                                   (lapack_int)m, tau2), 0);
    CU_ASSERT(same_bits(A, A2));

    int jp[13] = {0};
    lapack_int jp2[13] = {0};
    lr_mat_copy(A, A0), lr_mat_copy(A2, A0);
    CU_ASSERT_EQUAL(lr_geqp3(A, jp, tau, work, lp), LR_OK);
    CU_ASSERT_EQUAL(LAPACKE_dgeqp3(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, A2.data, (lapack_int)m, jp2, tau2), 0);
    CU_ASSERT(same_bits(A, A2) && !memcmp(tau, tau2, sizeof tau) && !memcmp(jp, jp2, sizeof jp));

    /* Too small a workspace is refused before LAPACK sees it; injected failures are typed. */
    CU_ASSERT_EQUAL(lr_geqp3(A, jp, tau, work, 3 * n), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_orgqr(lr_mat_wrap(A.data, n, m), n, tau, work, lo), LR_EINVAL);
    const char *names[] = {"dgeqrf", "dorgqr", "dgeqp3"};
    for (int r = 0; r < 3; r++) {
        lr_mat_copy(A, A0);
        lr_lapack_fail_after(names[r], 1);
        int st = r == 0 ? lr_geqrf(A, tau, work, lw)
                 : r == 1 ? lr_orgqr(A, n, tau, work, lo)
                          : lr_geqp3(A, jp, tau, work, lp);
        CU_ASSERT_EQUAL(st, LR_ELAPACK);
        CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), names[r]));
        CU_ASSERT(same_bits(A, A0)); /* LAPACK was not called */
    }
    lr_free(work);
    mat_free(A), mat_free(A2), mat_free(A0);
}

/* The callers: the generator's Haar frames, the streaming QR and whiten's routes. */
static void test_qr_callers(void)
{
    gsl_rng *rng = lr_rng_alloc();
    size_t n = 30, k = 7;
    lr_mat Q = mat_new(n, k);
    double *scratch = lr_malloc(lr_gen_orthonormal_scratch(n, k) * sizeof(double));
    lr_rng_seed_unit(rng, 5, 0, 0);
    CU_ASSERT_EQUAL(lr_gen_orthonormal(rng, Q, scratch), LR_OK);
    lr_mat QtQ = mat_new(k, k);
    lr_gemm('T', 'N', 1.0, Q, Q, 0.0, QtQ);
    for (size_t i = 0; i < k; i++) LR_AT(QtQ, i, i) -= 1.0;
    CU_ASSERT(lr_mat_norm_fro(QtQ) < 1e-14);
    lr_lapack_fail_after("dgeqrf", 1);
    CU_ASSERT_EQUAL(lr_gen_orthonormal(rng, Q, scratch), LR_ELAPACK);
    lr_lapack_fail_after("dorgqr", 1);
    CU_ASSERT_EQUAL(lr_gen_orthonormal(rng, Q, scratch), LR_ELAPACK);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "dorgqr"));

    lr_stream_qr *sq = lr_stream_qr_alloc(k, 8, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sq);
    lr_mat B = mat_new(8, k);
    fill_random(B, 6);
    CU_ASSERT_EQUAL(lr_stream_qr_add(sq, B), LR_OK);
    CU_ASSERT_EQUAL(lr_stream_qr_add(sq, B), LR_OK);
    lr_lapack_fail_after("dgeqrf", 1);
    CU_ASSERT_EQUAL(lr_stream_qr_add(sq, B), LR_ELAPACK); /* the stack is full: it is re-triangularised */
    lr_stream_qr_free(sq);
    mat_free(B), mat_free(Q), mat_free(QtQ), lr_free(scratch);
    gsl_rng_free(rng);
}

/* whiten: dpotrf failing sends the fit to its recorded QR route (route 2), with the same
 * layer error as the Cholesky route; dgeqp3 or dtrcon failing is reported. */
static void test_whiten_fallback(void)
{
    size_t m = 60, n0 = 10, n1 = 8, ranks[] = {3};
    lr_mat X = mat_new(m, n0), W = mat_new(n0, n1), Y = mat_new(m, n1);
    fill_random(X, 21), fill_random(W, 22);
    lr_gemm('N', 'N', 1.0, X, W, 0.0, Y);
    lr_layer L = {0};
    L.X = X, L.W = W, L.Y = Y;
    const lr_compressor *c = &lr_compressor_whiten;
    lr_compress_ws ws = {0};
    ws.svd = lr_svd_plan_alloc(m, n0 > n1 ? n0 : n1);
    CU_ASSERT_FATAL(ws.svd && lr_arena_init(&ws.arena, c->scratch(m, n0, n1)) == LR_OK);
    lr_factors f[2];
    lr_mat A[2], Bm[2];
    for (int i = 0; i < 2; i++) {
        A[i] = mat_new(n0, 3), Bm[i] = mat_new(3, n1);
        f[i] = (lr_factors){A[i], Bm[i], 3};
    }
    lr_fit_info info0 = {0}, info2 = {0};
    CU_ASSERT_EQUAL(c->fit(&L, NULL, ranks, 1, &f[0], &ws, &info0), LR_OK);
    lr_lapack_fail_after("dpotrf", 1);
    CU_ASSERT_EQUAL(c->fit(&L, NULL, ranks, 1, &f[1], &ws, &info2), LR_OK);
    CU_ASSERT_EQUAL(info0.route, 0);
    CU_ASSERT_EQUAL(info2.route, 2);
    /* The same product X A B on both routes (rank 3 of a full-rank X W). */
    lr_mat P0 = mat_new(n0, n1), P2 = mat_new(n0, n1);
    lr_gemm('N', 'N', 1.0, A[0], Bm[0], 0.0, P0);
    lr_gemm('N', 'N', 1.0, A[1], Bm[1], 0.0, P2);
    LR_TEST_REL(lr_mat_diff_fro(P0, P2) / lr_mat_norm_fro(P0), 0.0, 1e-10, "whiten: route 2 against route 0");
    lr_lapack_fail_after("dtrcon", 1);
    CU_ASSERT_EQUAL(c->fit(&L, NULL, ranks, 1, &f[1], &ws, &info2), LR_ELAPACK);
    lr_lapack_fail_after("dpotrf", 1);
    lr_lapack_fail_after("dgeqp3", 1);
    CU_ASSERT_EQUAL(c->fit(&L, NULL, ranks, 1, &f[1], &ws, &info2), LR_ELAPACK);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "dgeqp3"));
    lr_lapack_fail_reset();
    lr_svd_plan_free(ws.svd);
    lr_arena_release(&ws.arena);
    for (int i = 0; i < 2; i++) mat_free(A[i]), mat_free(Bm[i]);
    mat_free(X), mat_free(W), mat_free(Y), mat_free(P0), mat_free(P2);
}

/* SVD drivers: dgesdd failing -> dgesvd's result, recorded; both failing -> LR_ECONV;
 * dgesvdx failing -> the whole SVD, recorded. */
static void test_svd_fail(void)
{
    size_t m = 50, n = 40, mn = 40;
    lr_svd_plan *p = lr_svd_plan_alloc(m, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    lr_mat A0 = mat_new(m, n), A = mat_new(m, n), A2 = mat_new(m, n);
    lr_mat U = mat_new(m, mn), VT = mat_new(mn, n), U2 = mat_new(m, mn), VT2 = mat_new(mn, n);
    double s[40], s2[40], sup[40];
    fill_random(A0, 31);
    int fb = 0;
    lr_mat_copy(A, A0), lr_mat_copy(A2, A0);
    lr_lapack_fail_after("dgesdd", 1);
    CU_ASSERT_EQUAL(lr_svd(p, A, s, U, VT, &fb), LR_OK);
    CU_ASSERT_EQUAL(fb, 1);
    CU_ASSERT_EQUAL(LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'S', 'S', (lapack_int)m, (lapack_int)n, A2.data,
                                   (lapack_int)m, s2, U2.data, (lapack_int)m, VT2.data, (lapack_int)mn, sup), 0);
    /* dgesvd's blocking follows its workspace, the plan's is larger than LAPACKE's: equal
     * to rounding. */
    for (size_t i = 0; i < mn; i++) LR_TEST_REL(s[i], s2[i], 1e-13, "dgesvd fallback: singular value");
    lr_mat_copy(A, A0), lr_mat_copy(A2, A0);
    CU_ASSERT_EQUAL(lr_svd(p, A, s, U, VT, &fb), LR_OK);
    CU_ASSERT_EQUAL(fb, 0);
    CU_ASSERT_EQUAL(LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)m, (lapack_int)n, A2.data, (lapack_int)m, s2,
                                   U2.data, (lapack_int)m, VT2.data, (lapack_int)mn), 0);
    for (size_t i = 0; i < mn; i++) LR_TEST_REL(s[i], s2[i], 1e-13, "dgesdd: singular value");
    lr_mat_copy(A, A0);
    lr_lapack_fail_after("dgesdd", 1);
    lr_lapack_fail_after("dgesvd", 1);
    CU_ASSERT_EQUAL(lr_svd(p, A, s, U, VT, &fb), LR_ECONV);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "both failed"));
    lr_mat_copy(A, A0);
    lr_lapack_fail_after("dgesvdx", 1);
    CU_ASSERT_EQUAL(lr_svd_top(p, A, 5, s, U, VT, &fb), LR_OK);
    CU_ASSERT_EQUAL(fb, 1);
    for (size_t i = 0; i < 5; i++) LR_TEST_REL(s[i], s2[i], 1e-13, "dgesvdx fallback: singular value");
    lr_svd_plan_free(p);
    mat_free(A0), mat_free(A), mat_free(A2), mat_free(U), mat_free(VT), mat_free(U2), mat_free(VT2);
}

/* Eigen drivers: dsyevd's pairs are LAPACKE's; dsyevr failing in each of its three uses and
 * dsyevd failing are LR_ECONV. */
static void test_eig_fail(void)
{
    size_t n = 24;
    lr_eig_plan *p = lr_eig_plan_alloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    lr_mat X = mat_new(40, n), S0 = mat_new(n, n), S = mat_new(n, n), S2 = mat_new(n, n), Z = mat_new(n, n);
    double w[24], w2[24], norm = 0;
    fill_random(X, 41);
    lr_gemm('T', 'N', 1.0, X, X, 0.0, S0);
    lr_mat_copy(S, S0), lr_mat_copy(S2, S0);
    CU_ASSERT_EQUAL(lr_eig_sym(p, S, w, Z), LR_OK);
    CU_ASSERT_EQUAL(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)n, S2.data, (lapack_int)n, w2), 0);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT(w[i] == w2[n - 1 - i]);
        CU_ASSERT(!memcmp(&LR_AT(Z, 0, i), &LR_AT(S2, 0, n - 1 - i), n * sizeof(double)));
    }
    lr_mat none = {NULL, 0, 0, 1};
    const char *who[] = {"dsyevd", "dsyevr", "dsyevr", "dsyevr"};
    for (int r = 0; r < 4; r++) {
        lr_mat_copy(S, S0);
        lr_lapack_fail_after(who[r], 1);
        int st = r == 0   ? lr_eig_sym(p, S, w, Z)
                 : r == 1 ? lr_eig_sym(p, S, w, none)
                 : r == 2 ? lr_eig_sym_top(p, S, 3, w, Z)
                          : lr_norm_op_gram(p, X, S, w, &norm);
        CU_ASSERT_EQUAL(st, LR_ECONV);
        CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), who[r]));
    }
    lr_eig_plan_free(p);
    mat_free(X), mat_free(S0), mat_free(S), mat_free(S2), mat_free(Z);
}

void lr_tests_failure(void)
{
    CU_pSuite s = CU_add_suite("failure injection", NULL, NULL);
    CU_add_test(s, "lr_lapack_fail_after refuses unknown routines", test_fail_after_names);
    CU_add_test(s, "dpotrf, dtrcon wrappers = LAPACKE; failures typed", test_potrf_trcon);
    CU_add_test(s, "dgeqrf, dorgqr, dgeqp3 wrappers = LAPACKE with queried workspace", test_qr_wrappers);
    CU_add_test(s, "QR failures reach the generator and the streaming QR", test_qr_callers);
    CU_add_test(s, "whiten: dpotrf failing takes the recorded QR route", test_whiten_fallback);
    CU_add_test(s, "SVD drivers: injected failures, fallbacks, LR_ECONV", test_svd_fail);
    CU_add_test(s, "eigen drivers: dsyevd = LAPACKE, injected failures", test_eig_fail);
}
