/* Failure injection, SQLite's way: every cleanup path is run by making things fail on purpose.
 *
 *   The counting allocator.  tests/unit is linked with -Wl,--wrap for malloc, calloc, realloc,
 *     aligned_alloc, free and strdup, so every allocation lrlab's own code makes (lr_malloc
 *     goes through aligned_alloc) passes through the __wrap_ functions below: they count the
 *     calls (tests/test_gram.c's proof that the trial loop allocates nothing), can make the
 *     n-th one return NULL, and, while tracking is on, keep every live block in a table so
 *     that a leak is seen (with the address of the caller that made it).  Allocations inside
 *     the shared libraries (HDF5, libconfig, GSL, OpenBLAS, libgomp, and glibc's own, as in
 *     fopen or open_memstream) are not wrapped: --wrap rewrites only the references of the
 *     objects linked into this binary.  They are neither failed nor counted here.
 *
 *   The LAPACK wrappers (core/linalg.h): each one gives what the direct LAPACKE call gives
 *     (bit for bit where both use the workspace of the same query; the SVD plans hold more
 *     workspace than LAPACKE's high-level drivers query, which changes their blocking: equal
 *     to rounding there), and its injected failure (lr_lapack_fail_after) reaches the caller
 *     as a typed error or as the recorded fallback (whiten's QR route, lr_svd's dgesvd).
 *
 *   The allocation-failure sweep: a small `recovery` run and a small `real_layers` run
 *     (lr_run_main, one thread, so the order of allocations is fixed) with the n-th
 *     allocation failing, for n = 1, 2, ... until the run succeeds (and then writes the
 *     reference's /trials).  Every failed run must return LR_ENOMEM with an "out of memory"
 *     message, leave no results file and no temporary file, and free every block it
 *     allocated.  A run that fails after its checkpoint log was created leaves the log (the
 *     documented behaviour: `--resume` continues it); then a resume without failures must
 *     write the /trials and /points of an uninterrupted run, bit for bit.  The sweeps print
 *     how many allocation points they covered; LR_SWEEP_VERBOSE=1 prints every message. */
#define _GNU_SOURCE /* dladdr */
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <hdf5.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compress/compress.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "core/rng.h"
#include "dumpgen.h"
#include "gen/gen.h"
#include "io/dump.h"
#include "io/h5.h"
#include "nn/reduce.h"
#include "run/run.h"
#include "tests.h"

/* ---- the counting, failing, tracking allocator ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void __real_free(void *p);

static long alloc_calls;      /* every wrapped allocation call */
static long alloc_fail_at;    /* > 0: the call that brings it to 0 returns NULL */
static int alloc_tracking;    /* record live blocks */
static int alloc_failed;      /* an injected failure happened since the last reset */
static void *alloc_failed_caller; /* and where */


#define LIVE_BUCKETS 4096
typedef struct live_block {
    void *p;
    size_t bytes;
    long seq;
    void *caller;
    struct live_block *next;
} live_block;
static live_block *live[LIVE_BUCKETS];
static long live_count;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t bucket(const void *p) { return ((uintptr_t)p >> 4) % LIVE_BUCKETS; }

static void live_add(void *p, size_t bytes, long seq, void *caller)
{
    if (!p || !__atomic_load_n(&alloc_tracking, __ATOMIC_SEQ_CST)) return;
    live_block *b = __real_malloc(sizeof *b);
    if (!b) abort();
    *b = (live_block){p, bytes, seq, caller, NULL};
    pthread_mutex_lock(&live_lock);
    b->next = live[bucket(p)];
    live[bucket(p)] = b;
    live_count++;
    pthread_mutex_unlock(&live_lock);
}

/* Forget p if it is tracked (blocks from before tracking, or from a shared library, are not). */
static void live_remove(void *p)
{
    if (!p) return;
    pthread_mutex_lock(&live_lock);
    for (live_block **b = &live[bucket(p)]; *b; b = &(*b)->next)
        if ((*b)->p == p) {
            live_block *d = *b;
            *b = d->next;
            __real_free(d);
            live_count--;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

/* Count the call; 1 when it is the one to fail. */
static int alloc_enter(void *caller)
{
    long seq = __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_SEQ_CST);
    (void)seq;
    long cur = __atomic_load_n(&alloc_fail_at, __ATOMIC_SEQ_CST);
    while (cur > 0)
        if (__atomic_compare_exchange_n(&alloc_fail_at, &cur, cur - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            if (cur == 1) {
                __atomic_store_n(&alloc_failed, 1, __ATOMIC_SEQ_CST);
                alloc_failed_caller = caller;

                return 1;
            }
            break;
        }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    if (alloc_enter(__builtin_return_address(0))) return NULL;
    void *p = __real_malloc(n);
    live_add(p, n, alloc_calls, __builtin_return_address(0));
    return p;
}
void *__wrap_calloc(size_t n, size_t s)
{
    if (alloc_enter(__builtin_return_address(0))) return NULL;
    void *p = __real_calloc(n, s);
    live_add(p, n * s, alloc_calls, __builtin_return_address(0));
    return p;
}
void *__wrap_realloc(void *p, size_t n)
{
    if (alloc_enter(__builtin_return_address(0))) return NULL; /* p stays valid, as realloc leaves it */
    void *q = __real_realloc(p, n);
    if (q || n == 0) live_remove(p);
    live_add(q, n, alloc_calls, __builtin_return_address(0));
    return q;
}
void *__wrap_aligned_alloc(size_t a, size_t n)
{
    if (alloc_enter(__builtin_return_address(0))) return NULL;
    void *p = __real_aligned_alloc(a, n);
    live_add(p, n, alloc_calls, __builtin_return_address(0));
    return p;
}
char *__wrap_strdup(const char *s)
{
    if (alloc_enter(__builtin_return_address(0))) return NULL;
    size_t n = strlen(s) + 1;
    char *p = __real_malloc(n);
    if (p) memcpy(p, s, n);
    live_add(p, n, alloc_calls, __builtin_return_address(0));
    return p;
}
void __wrap_free(void *p)
{
    live_remove(p);
    __real_free(p);
}

long lr_test_alloc_calls(void) { return __atomic_load_n(&alloc_calls, __ATOMIC_SEQ_CST); }

/* Start counting from a clean table: the n-th allocation from now fails (0: none). */
static void alloc_arm(long n)
{
    __atomic_store_n(&alloc_failed, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&alloc_tracking, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&alloc_fail_at, n, __ATOMIC_SEQ_CST);
}

/* Where an allocation was made, for addr2line: the binary and the offset in it. */
static void where_is(void *caller)
{
    Dl_info info;
    if (caller && dladdr(caller, &info) && info.dli_fname)
        fprintf(stderr, " (made at addr2line -f -e %s %#lx)\n", info.dli_fname,
                (unsigned long)((char *)caller - (char *)info.dli_fbase - 1));
    else
        fprintf(stderr, " (made at %p)\n", caller);
}

/* Stop failing and tracking; return the number of blocks still live, printing the first few. */
static long alloc_disarm(const char *what, long n)
{
    __atomic_store_n(&alloc_fail_at, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&alloc_tracking, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&live_lock);
    long leaked = live_count, shown = 0;
    for (size_t i = 0; i < LIVE_BUCKETS; i++) {
        while (live[i]) {
            live_block *b = live[i];
            if (shown++ < 5) {
                fprintf(stderr, "\n%s, allocation %ld failing: %zu bytes leaked", what, n, b->bytes);
                where_is(b->caller);
            }
            live[i] = b->next;
            __real_free(b);
        }
    }
    live_count = 0;
    pthread_mutex_unlock(&live_lock);
    return leaked;
}

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
    lr_compressed f[2];
    lr_mat A[2], Bm[2];
    for (int i = 0; i < 2; i++) {
        A[i] = mat_new(n0, 3), Bm[i] = mat_new(3, n1);
        f[i] = (lr_compressed){.A = A[i], .B = Bm[i]};
    }
    lr_fit_info info0 = {0}, info2 = {0};
    CU_ASSERT_EQUAL(lr_test_fit(c, &L, NULL, ranks, 1, &f[0], &info0), LR_OK);
    lr_lapack_fail_after("dpotrf", 1);
    CU_ASSERT_EQUAL(lr_test_fit(c, &L, NULL, ranks, 1, &f[1], &info2), LR_OK);
    CU_ASSERT_EQUAL(info0.route, 0);
    CU_ASSERT_EQUAL(info2.route, 2);
    /* The same product X A B on both routes (rank 3 of a full-rank X W). */
    lr_mat P0 = mat_new(n0, n1), P2 = mat_new(n0, n1);
    lr_gemm('N', 'N', 1.0, A[0], Bm[0], 0.0, P0);
    lr_gemm('N', 'N', 1.0, A[1], Bm[1], 0.0, P2);
    LR_TEST_REL(lr_mat_diff_fro(P0, P2) / lr_mat_norm_fro(P0), 0.0, 1e-10, "whiten: route 2 against route 0");
    lr_lapack_fail_after("dtrcon", 1);
    CU_ASSERT_EQUAL(lr_test_fit(c, &L, NULL, ranks, 1, &f[1], &info2), LR_ELAPACK);
    lr_lapack_fail_after("dpotrf", 1);
    lr_lapack_fail_after("dgeqp3", 1);
    CU_ASSERT_EQUAL(lr_test_fit(c, &L, NULL, ranks, 1, &f[1], &info2), LR_ELAPACK);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "dgeqp3"));
    lr_lapack_fail_reset();
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

/* ---- the allocation-failure sweep ---- */

static int file_exists(const char *p) { return access(p, F_OK) == 0; }

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int ok = a && b, c;
    while (ok && (c = fgetc(a)) != EOF) ok = fputc(c, b) != EOF;
    if (a) fclose(a);
    if (b && fclose(b) != 0) ok = 0;
    return ok;
}

static lr_table *read_table(const char *path, const char *name)
{
    lr_table *t = NULL;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return NULL;
    if (lr_h5_read_table(f, name, &t) != LR_OK) t = NULL;
    H5Fclose(f);
    return t;
}

static int same_table(const lr_table *a, const lr_table *b)
{
    return a && b && a->nrows == b->nrows && a->ncols == b->ncols &&
           !memcmp(a->data, b->data, a->nrows * a->ncols * sizeof(double));
}

typedef struct sweep_result {
    long points;   /* allocation points: failed runs before the first that succeeded */
    long failures; /* runs that broke a rule (each printed) */
    long resumed;  /* distinct checkpoint logs left by failed runs, each resumed to the identical tables */
    long resume_points; /* allocation points of a --resume from a complete log */
} sweep_result;

static int run_once(const char *cfg, const char *const *ov, size_t nov, const char *out, int resume)
{
    lr_run_options opt = {0};
    opt.config_path = cfg;
    opt.overrides = ov;
    opt.noverrides = nov;
    opt.output = out;
    opt.nthreads = 1;
    opt.force = !resume;
    opt.resume = resume;
    opt.progress = 0;
    opt.command_line = "test_failure";
    return lr_run_main(&opt, NULL, 0);
}

/* What a resume starts from is the checkpoint log alone (the failed run freed everything
 * else), and with one thread the units are logged in a fixed order: the log's length says
 * which units it holds (its bytes also hold fit times, which differ from run to run). */
static void *log_state(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (void *)(uintptr_t)(sb.st_size + 1) : NULL;
}

/* 1 if site is in the list, else added (while there is room). */
static int seen_site(void **sites, size_t *n, void *site)
{
    for (size_t i = 0; i < *n; i++)
        if (sites[i] == site) return 1;
    if (*n < 2048) sites[(*n)++] = site;
    return 0;
}

/* The rules for a run whose n-th allocation failed; prints what broke them. */
static int clean_failure(const char *what, const char *phase, long n, int st, const char *out, const char *tmp,
                         long leaked)
{
    const char *msg = lr_last_error();
    int ok = st == LR_ENOMEM && (strstr(msg, "out of memory") || strstr(msg, "cannot allocate")) &&
             !file_exists(out) && !file_exists(tmp) && leaked == 0;
    if (getenv("LR_SWEEP_VERBOSE")) {
        fprintf(stderr, "%s%s %ld: %s", what, phase, n, msg);
        where_is(alloc_failed_caller);
    }
    if (!ok) {
        fprintf(stderr, "\n%s%s, allocation %ld failing: status %d (%s), message \"%s\", results file %s, "
                        "temporary file %s, %ld blocks leaked\n",
                what, phase, n, st, lr_strerror(st), msg, file_exists(out) ? "LEFT" : "none",
                file_exists(tmp) ? "LEFT" : "none", leaked);
        where_is(alloc_failed_caller);
    }
    return ok;
}

/* The checkpoint's own path: a run that failed after logging every unit (allocation
 * log_n) leaves its log; resume it with allocation m failing, m = 1, 2, ... until the
 * resume succeeds.  Each failed resume must also keep the log for the next one. */
static void resume_sweep_from(const char *what, const char *cfg, const char *const *ov, size_t nov, long log_n,
                              const lr_table *rt, const lr_table *rp, const char *second, sweep_result *res)
{
    char out[256], tmp[300], partial[300], saved[310];
    snprintf(out, sizeof out, "%s.out.h5", cfg);
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    snprintf(partial, sizeof partial, "%s.partial", out);
    snprintf(saved, sizeof saved, "%s.saved", partial);
    unlink(out), unlink(partial), unlink(tmp);
    alloc_arm(log_n);
    run_once(cfg, ov, nov, out, 0);
    alloc_disarm(what, log_n);
    CU_ASSERT_FATAL(file_exists(partial) && rename(partial, saved) == 0);
    for (long m = 1; m < 1000000; m++) {
        if (!copy_file(saved, partial)) {
            res->failures++;
            break;
        }
        unlink(out), unlink(tmp);
        alloc_arm(m);
        int st = run_once(cfg, ov, nov, out, 1);
        int injected = __atomic_load_n(&alloc_failed, __ATOMIC_SEQ_CST);
        long leaked = alloc_disarm(what, m);
        if (!injected) {
            lr_table *t = read_table(out, "trials"), *p = read_table(out, second);
            int same = st == LR_OK && same_table(t, rt) && same_table(p, rp) && !file_exists(partial);
            if (!same) {
                res->failures++;
                fprintf(stderr, "\n%s: the resume that went through %s\n", what,
                        st == LR_OK ? "wrote different tables" : lr_last_error());
            }
            lr_table_free(t), lr_table_free(p);
            break;
        }
        res->resume_points++;
        if (!clean_failure(what, " --resume", m, st, out, tmp, leaked) || !file_exists(partial)) {
            if (!file_exists(partial)) fprintf(stderr, "\n%s --resume, allocation %ld failing: the log is gone\n", what, m);
            res->failures++;
        }
    }
    unlink(saved);
}

/* `second`: a summary table that must also come out identical (recovery's /points,
 * real_layers' /accuracy). */
static void sweep(const char *what, const char *cfg, const char *const *ov, size_t nov, int resume_sweep,
                  const char *second, sweep_result *res)
{
    char out[256], ref[256], tmp[300], partial[300];
    void *sites[2048];
    size_t nsites = 0;
    long last_log_n = 0; /* the last n that left a checkpoint log */
    snprintf(out, sizeof out, "%s.out.h5", cfg);
    snprintf(ref, sizeof ref, "%s.ref.h5", cfg);
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    snprintf(partial, sizeof partial, "%s.partial", out);
    memset(res, 0, sizeof *res);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* The reference, and a clean run must free everything too. */
    alloc_arm(0);
    int st = run_once(cfg, ov, nov, ref, 0);
    long leaked = alloc_disarm(what, 0);
    if (st != LR_OK) fprintf(stderr, "\n%s: the reference run failed: %s\n", what, lr_last_error());
    CU_ASSERT_EQUAL_FATAL(st, LR_OK);
    CU_ASSERT_EQUAL(leaked, 0);
    lr_table *rt = read_table(ref, "trials"), *rp = read_table(ref, second);
    CU_ASSERT_FATAL(rt && rp && rt->nrows > 0);

    for (long n = 1; n < 1000000; n++) {
        unlink(out), unlink(partial), unlink(tmp);
        lr_clear_error();
        alloc_arm(n);
        st = run_once(cfg, ov, nov, out, 0);
        int injected = __atomic_load_n(&alloc_failed, __ATOMIC_SEQ_CST);
        leaked = alloc_disarm(what, n);
        if (!injected) {
            /* Fewer than n allocations: the run went through; it must be the reference. */
            CU_ASSERT_EQUAL(st, LR_OK);
            lr_table *t = read_table(out, "trials");
            CU_ASSERT(same_table(t, rt));
            lr_table_free(t);
            break;
        }
        res->points++;
        if (!clean_failure(what, "", n, st, out, tmp, leaked)) res->failures++;
        if (file_exists(partial)) last_log_n = n;
        if (file_exists(partial) && !seen_site(sites, &nsites, log_state(partial))) {
            /* A checkpoint is the documented state of an interrupted run: resuming it must
             * give what the uninterrupted run gave.  Once per distinct log (the runs that
             * fail after the same units were logged leave the same records, and a resume
             * from them is the same computation). */
            int rs = run_once(cfg, ov, nov, out, 1);
            lr_table *t = read_table(out, "trials"), *p = read_table(out, second);
            int same = rs == LR_OK && same_table(t, rt) && same_table(p, rp) && !file_exists(partial);
            if (same) res->resumed++;
            else {
                res->failures++;
                fprintf(stderr, "\n%s, allocation %ld failing: the resume %s\n", what, n,
                        rs == LR_OK ? "wrote different tables" : lr_last_error());
            }
            lr_table_free(t), lr_table_free(p);
        }
    }
    if (resume_sweep && last_log_n) resume_sweep_from(what, cfg, ov, nov, last_log_n, rt, rp, second, res);
    unlink(out), unlink(partial), unlink(tmp), unlink(ref);
    lr_table_free(rt), lr_table_free(rp);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "\n[%s: %ld allocation points, %ld distinct checkpoint logs resumed, %ld allocation points "
                    "of --resume, %.1f s]\n", what, res->points, res->resumed, res->resume_points,
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    CU_ASSERT(res->points > 0);
    CU_ASSERT_EQUAL(res->failures, 0);
}

static int write_text(char *path, const char *text)
{
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    return ok ? 0 : -1;
}

/* Two sweep points x two trials, two compressors at two ranks, both kinds of bound, held-out
 * rows and the streamed Gram route: every stage of a run, in a few milliseconds. */
static void test_sweep_recovery(void)
{
    char cfg[] = "/tmp/lrlab-sweep-rec-XXXXXX";
    CU_ASSERT_FATAL(write_text(cfg, "experiment = \"recovery\"; seed = 5; trials = 3;\n"
                                    "problem = { m = 40; m_test = 10; N0 = 8; N1 = 6; r = 2; block_rows = 16;\n"
                                    "  noise = { sigma = { geom = [1.0e-3, 1.0e-2, 2.0]; }; }; };\n"
                                    "compress = { methods = [\"svd_w\", \"dd_rank\"]; rank_offsets = [0, 1];\n"
                                    "  route = \"gram\"; };\n"
                                    "bounds = { names = [\"thm1a\", \"thm1b\"]; };\n") == 0);
    const char *ov[] = {"trials=2"};
    sweep_result r;
    sweep("recovery", cfg, ov, 1, 1, "points", &r);
    unlink(cfg);
}

/* The small dump of tests/dumpgen.c (6 -> 5 -> 3), two compressors at two ranks, one budget:
 * the dump's checks, the reduction, the per-layer stage, the sequential stage and the
 * network's accuracy, and the experiment's own tables. */
static void test_sweep_real_layers(void)
{
    char dump[] = "/tmp/lrlab-sweep-dump-XXXXXX", cfg[] = "/tmp/lrlab-sweep-real-XXXXXX";
    int fd = mkstemp(dump);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_FATAL(lr_dumpgen_write(dump, LR_DUMPGEN_GOOD) == 0);
    char text[512];
    snprintf(text, sizeof text,
             "experiment = \"real_layers\";\n"
             "dump = \"%s\";\n"
             "layers = { ranks = [1, 2]; };\n"
             "compress = { methods = [\"dd_rank\", \"whiten\"]; };\n"
             "network = { budgets = [0.6]; };\n", dump);
    CU_ASSERT_FATAL(write_text(cfg, text) == 0);
    const char *ov[] = {"network.batch=16"};
    sweep_result r;
    /* The sweep counts this process's allocations; the dump's probe would make some of
     * them in a child, where a failure is not seen here (the probe has its own tests). */
    lr_dump_set_probe(0, 0);
    sweep("real_layers", cfg, ov, 1, 0, "accuracy", &r);
    lr_dump_set_probe(LR_DUMP_PROBE_IDLE, LR_DUMP_PROBE_MEMORY);
    unlink(cfg);
    unlink(dump);
}

/* LAPACK failing inside a whole run: dgesdd's first call falls back to dgesvd and the run
 * records it in /trials (svd_fallback) with errors equal to the reference's to rounding;
 * dsyevd failing on the Gram route is LR_ECONV with its message and no results file. */
static void test_lapack_in_run(void)
{
    char cfg[] = "/tmp/lrlab-lapack-run-XXXXXX";
    CU_ASSERT_FATAL(write_text(cfg, "experiment = \"recovery\"; seed = 5; trials = 2;\n"
                                    "problem = { m = 40; N0 = 8; N1 = 6; r = 2;\n"
                                    "  noise = { sigma = 1.0e-2; }; };\n"
                                    "compress = { methods = [\"svd_w\", \"dd_rank\"]; };\n") == 0);
    char out[96], ref[96], tmp[110];
    snprintf(out, sizeof out, "%s.out.h5", cfg);
    snprintf(ref, sizeof ref, "%s.ref.h5", cfg);
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    CU_ASSERT_EQUAL_FATAL(run_once(cfg, NULL, 0, ref, 0), LR_OK);
    lr_lapack_fail_after("dgesdd", 1);
    CU_ASSERT_EQUAL_FATAL(run_once(cfg, NULL, 0, out, 0), LR_OK);
    lr_table *a = read_table(ref, "trials"), *b = read_table(out, "trials");
    CU_ASSERT_FATAL(a && b && a->nrows == b->nrows && a->ncols == b->ncols);
    int cf = lr_table_col(b, "svd_fallback"), ce = lr_table_col(b, "err_fro");
    size_t fallbacks = 0;
    for (size_t i = 0; i < b->nrows; i++) {
        fallbacks += lr_table_row(b, i)[cf] == 1.0;
        LR_TEST_REL(lr_table_row(b, i)[ce], lr_table_row(a, i)[ce], 1e-10, "err_fro after the dgesvd fallback");
    }
    CU_ASSERT(fallbacks >= 1);
    lr_table_free(a), lr_table_free(b);

    const char *ov[] = {"compress.route=\"gram\""};
    unlink(out);
    lr_lapack_fail_after("dsyevd", 1);
    CU_ASSERT_EQUAL(run_once(cfg, ov, 1, out, 0), LR_ECONV);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "dsyevd"));
    CU_ASSERT(!file_exists(out) && !file_exists(tmp));
    lr_lapack_fail_reset();
    char partial[120];
    snprintf(partial, sizeof partial, "%s.partial", out);
    unlink(out), unlink(partial), unlink(ref), unlink(cfg);
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
    CU_add_test(s, "LAPACK failing inside a run: recorded fallback, clean error", test_lapack_in_run);
    CU_add_test(s, "allocation-failure sweep: recovery", test_sweep_recovery);
    CU_add_test(s, "allocation-failure sweep: real_layers", test_sweep_real_layers);
}
