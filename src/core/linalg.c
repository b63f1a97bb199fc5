#include "linalg.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "error.h"

struct lr_svd_plan {
    size_t max_m, max_n;
    double *work;
    lapack_int lwork;
    lapack_int *iwork;
    double *backup; /* copy of the input, for the dgesvd fallback */
    size_t fallbacks;
};

static int gesdd_fail_pending = 0;

void lr_lapack_fail_gesdd(int n) { __atomic_store_n(&gesdd_fail_pending, n, __ATOMIC_SEQ_CST); }

static int take_injected_failure(void)
{
    int cur = __atomic_load_n(&gesdd_fail_pending, __ATOMIC_SEQ_CST);
    while (cur > 0) {
        if (__atomic_compare_exchange_n(&gesdd_fail_pending, &cur, cur - 1, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return 1;
    }
    return 0;
}

/* One countdown per wrapped routine (lr_lapack_fail_after): the call that brings it from
 * 1 to 0 fails.  Atomic, so that threads of a run share one count. */
enum {
    LR_R_GESDD, LR_R_GESVD, LR_R_GESVDX, LR_R_SYEVD, LR_R_SYEVR, LR_R_POTRF, LR_R_TRCON,
    LR_R_GEQP3, LR_R_GEQRF, LR_R_ORGQR, LR_R_STEV, LR_R_STEIN, LR_R_COUNT
};
static const char *const lapack_routines[LR_R_COUNT] = {
    [LR_R_GESDD] = "dgesdd", [LR_R_GESVD] = "dgesvd", [LR_R_GESVDX] = "dgesvdx",
    [LR_R_SYEVD] = "dsyevd", [LR_R_SYEVR] = "dsyevr", [LR_R_POTRF] = "dpotrf",
    [LR_R_TRCON] = "dtrcon", [LR_R_GEQP3] = "dgeqp3", [LR_R_GEQRF] = "dgeqrf",
    [LR_R_ORGQR] = "dorgqr", [LR_R_STEV] = "dstev", [LR_R_STEIN] = "dstein",
};
static long lapack_countdown[LR_R_COUNT];

int lr_lapack_fail_after(const char *routine, long n)
{
    for (int r = 0; r < LR_R_COUNT; r++)
        if (routine && strcmp(routine, lapack_routines[r]) == 0) {
            __atomic_store_n(&lapack_countdown[r], n > 0 ? n : 0, __ATOMIC_SEQ_CST);
            return LR_OK;
        }
    LR_ERRORF(LR_EINVAL, "lr_lapack_fail_after: \"%s\" is not a wrapped LAPACK routine",
              routine ? routine : "(null)");
}

void lr_lapack_fail_reset(void)
{
    for (int r = 0; r < LR_R_COUNT; r++) __atomic_store_n(&lapack_countdown[r], 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&gesdd_fail_pending, 0, __ATOMIC_SEQ_CST);
}

static int lapack_injected(int r)
{
    long cur = __atomic_load_n(&lapack_countdown[r], __ATOMIC_SEQ_CST);
    while (cur > 0)
        if (__atomic_compare_exchange_n(&lapack_countdown[r], &cur, cur - 1, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return cur == 1;
    return 0;
}

/* The failure a routine that reports only illegal arguments (info < 0) is made to have. */
#define LR_INJECTED(name) LR_ERROR(LR_ELAPACK, name ": failure injected by a test")

static lapack_int query_lwork(char jobz, size_t m, size_t n)
{
    double w = 0.0, a = 0.0, s = 0.0, u = 0.0, vt = 0.0;
    lapack_int iw = 0;
    size_t mn = m < n ? m : n;
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, jobz, (lapack_int)m, (lapack_int)n,
                                          &a, (lapack_int)m, &s, &u, (lapack_int)m, &vt,
                                          (lapack_int)(mn ? mn : 1), &w, -1, &iw);
    lapack_int lw = info == 0 ? (lapack_int)w : 0;
    /* dgesvd's own query, so the same workspace serves the fallback. */
    double w2 = 0.0;
    info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, jobz == 'N' ? 'N' : 'S', jobz == 'N' ? 'N' : 'S',
                               (lapack_int)m, (lapack_int)n, &a, (lapack_int)m, &s, &u,
                               (lapack_int)m, &vt, (lapack_int)(mn ? mn : 1), &w2, -1);
    if (info == 0 && (lapack_int)w2 > lw) lw = (lapack_int)w2;
    return lw;
}

lr_svd_plan *lr_svd_plan_alloc(size_t max_m, size_t max_n)
{
    lr_svd_plan *p = lr_calloc(1, sizeof *p);
    if (!p) LR_ERROR_NULL(LR_ENOMEM, "out of memory for an SVD plan of %zux%zu", max_m, max_n);
    p->max_m = max_m;
    p->max_n = max_n;
    size_t mn = max_m < max_n ? max_m : max_n, mx = max_m > max_n ? max_m : max_n;
    /* LAPACK's documented minimum for jobz = 'S', in case the query is optimistic for
     * smaller shapes run through the same plan. */
    lapack_int lw = (lapack_int)(4 * mn * mn + 7 * mn + mx);
    lapack_int q1 = query_lwork('S', max_m, max_n), q2 = query_lwork('N', max_m, max_n);
    if (q1 > lw) lw = q1;
    if (q2 > lw) lw = q2;
    {
        /* dgesvdx (lr_svd_top) at the largest shape: its own query. */
        double wx = 0.0, a = 0.0, s = 0.0, u = 0.0, vt = 0.0;
        lapack_int ns = 0, iw = 0;
        if (mn > 0 &&
            LAPACKE_dgesvdx_work(LAPACK_COL_MAJOR, 'V', 'V', 'I', (lapack_int)max_m,
                                 (lapack_int)max_n, &a, (lapack_int)max_m, 0.0, 0.0, 1, 1, &ns, &s,
                                 &u, (lapack_int)max_m, &vt, (lapack_int)mn, &wx, -1, &iw) == 0 &&
            (lapack_int)wx + 1 > lw)
            lw = (lapack_int)wx + 1;
    }
    p->lwork = lw;
    p->work = lr_malloc((size_t)lw * sizeof(double));
    p->iwork = lr_malloc(12 * (mn ? mn : 1) * sizeof(lapack_int));
    p->backup = lr_malloc((max_m * max_n > 0 ? max_m * max_n : 1) * sizeof(double));
    if (!p->work || !p->iwork || !p->backup) {
        lr_svd_plan_free(p);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for an SVD plan of %zux%zu (%ld doubles of workspace)", max_m,
                      max_n, (long)lw);
    }
    return p;
}

void lr_svd_plan_free(lr_svd_plan *p)
{
    if (!p) return;
    lr_free(p->work);
    lr_free(p->iwork);
    lr_free(p->backup);
    lr_free(p);
}

size_t lr_svd_plan_fallbacks(const lr_svd_plan *p) { return p->fallbacks; }

int lr_svd(lr_svd_plan *p, lr_mat A, double *s, lr_mat U, lr_mat VT, int *used_fallback)
{
    size_t m = A.rows, n = A.cols, mn = m < n ? m : n;
    int want_vectors = U.data != NULL;
    if (used_fallback) *used_fallback = 0;
    if (m > p->max_m || n > p->max_n)
        LR_ERRORF(LR_EINVAL, "lr_svd: %zux%zu exceeds the plan's %zux%zu", m, n, p->max_m, p->max_n);
    if (want_vectors && (U.rows != m || U.cols < mn || VT.rows < mn || VT.cols != n))
        LR_ERRORF(LR_EINVAL, "lr_svd: U %zux%zu / VT %zux%zu do not fit A %zux%zu", U.rows,
                  U.cols, VT.rows, VT.cols, m, n);
    if (mn == 0) return LR_OK;
    if (!lr_mat_all_finite(A)) LR_ERROR(LR_ENUMERIC, "lr_svd: the matrix has NaN or Inf entries");

    lr_mat saved = lr_mat_wrap(p->backup, m, n);
    lr_mat_copy(saved, A);
    char jobz = want_vectors ? 'S' : 'N';
    double dummy = 0.0;
    double *u = want_vectors ? U.data : &dummy, *vt = want_vectors ? VT.data : &dummy;
    lapack_int ldu = want_vectors ? (lapack_int)U.ld : 1, ldvt = want_vectors ? (lapack_int)VT.ld : 1;

    lapack_int info;
    if (take_injected_failure() || lapack_injected(LR_R_GESDD)) info = 1;
    else
        info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, jobz, (lapack_int)m, (lapack_int)n, A.data,
                                   (lapack_int)A.ld, s, u, ldu, vt, ldvt, p->work, p->lwork,
                                   p->iwork);
    if (info < 0) LR_ERRORF(LR_ELAPACK, "dgesdd: argument %d is illegal", (int)-info);
    if (info == 0) return LR_OK;

    /* dgesdd did not converge: retry with the QR-iteration driver on the saved input. */
    lr_mat_copy(A, saved);
    p->fallbacks++;
    if (used_fallback) *used_fallback = 1;
    info = lapack_injected(LR_R_GESVD)
               ? 1
               : LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, want_vectors ? 'S' : 'N',
                                     want_vectors ? 'S' : 'N', (lapack_int)m, (lapack_int)n, A.data,
                                     (lapack_int)A.ld, s, u, ldu, vt, ldvt, p->work, p->lwork);
    if (info < 0) LR_ERRORF(LR_ELAPACK, "dgesvd: argument %d is illegal", (int)-info);
    if (info > 0)
        LR_ERRORF(LR_ECONV, "SVD of a %zux%zu matrix: dgesdd and dgesvd both failed to converge",
                  m, n);
    return LR_OK;
}

int lr_svd_top(lr_svd_plan *p, lr_mat A, size_t k, double *s, lr_mat U, lr_mat VT,
               int *used_fallback)
{
    size_t m = A.rows, n = A.cols, mn = m < n ? m : n;
    if (used_fallback) *used_fallback = 0;
    if (k > mn) k = mn;
    /* Whole spectra are cheaper by divide and conquer. */
    if (2 * k > mn || mn < 32) return lr_svd(p, A, s, U, VT, used_fallback);
    if (m > p->max_m || n > p->max_n)
        LR_ERRORF(LR_EINVAL, "lr_svd_top: %zux%zu exceeds the plan's %zux%zu", m, n, p->max_m, p->max_n);
    if (U.rows != m || U.cols < k || VT.rows < k || VT.cols != n)
        LR_ERRORF(LR_EINVAL, "lr_svd_top: U %zux%zu / VT %zux%zu do not fit A %zux%zu, k = %zu",
                  U.rows, U.cols, VT.rows, VT.cols, m, n, k);
    if (!lr_mat_all_finite(A)) LR_ERROR(LR_ENUMERIC, "lr_svd_top: the matrix has NaN or Inf entries");
    lr_mat saved = lr_mat_wrap(p->backup, m, n);
    lr_mat_copy(saved, A);
    lapack_int ns = 0;
    lapack_int info = take_injected_failure() || lapack_injected(LR_R_GESVDX)
                          ? 1
                          : LAPACKE_dgesvdx_work(LAPACK_COL_MAJOR, 'V', 'V', 'I', (lapack_int)m,
                                                 (lapack_int)n, A.data, (lapack_int)A.ld, 0.0, 0.0,
                                                 1, (lapack_int)k, &ns, s, U.data, (lapack_int)U.ld,
                                                 VT.data, (lapack_int)VT.ld, p->work, p->lwork,
                                                 p->iwork);
    if (info < 0) LR_ERRORF(LR_ELAPACK, "dgesvdx: argument %d is illegal", (int)-info);
    if (info == 0 && (size_t)ns == k) return LR_OK;
    /* Inverse iteration did not converge for some vector: the whole SVD, recorded. */
    lr_mat_copy(A, saved);
    int fb = 0;
    LR_TRY(lr_svd(p, A, s, U, VT, &fb));
    if (used_fallback) *used_fallback = 1;
    return LR_OK;
}

double lr_rank_rtol_default(size_t m, size_t n) { return (double)(m > n ? m : n) * DBL_EPSILON; }

size_t lr_numerical_rank(const double *s, size_t n, double rtol)
{
    if (n == 0 || !(s[0] > 0.0)) return 0;
    double tol = rtol * s[0];
    size_t q = 0;
    while (q < n && s[q] > tol) q++;
    return q;
}

int lr_norm_op(lr_svd_plan *p, lr_mat A, double *work_s, double *norm, int *used_fallback)
{
    lr_mat none = {NULL, 0, 0, 1};
    LR_TRY(lr_svd(p, A, work_s, none, none, used_fallback));
    *norm = (A.rows && A.cols) ? work_s[0] : 0.0;
    return LR_OK;
}

/* ---- symmetric eigendecomposition ---- */

struct lr_eig_plan {
    size_t max_n;
    double *work;
    lapack_int lwork, liwork;
    lapack_int *iwork, *isuppz;
};

lr_eig_plan *lr_eig_plan_alloc(size_t max_n)
{
    lr_eig_plan *p = lr_calloc(1, sizeof *p);
    if (!p) LR_ERROR_NULL(LR_ENOMEM, "out of memory for an eigendecomposition plan of %zu", max_n);
    size_t n = max_n ? max_n : 1;
    p->max_n = max_n;
    /* The workspace query of dsyevr for the largest size; LAPACK's documented minimum
     * (26 n doubles, 10 n integers) covers every smaller size run through the plan. */
    double wq = 0.0, a = 0.0, w = 0.0, z = 0.0;
    lapack_int iq = 0, m = 0, sup[2];
    lapack_int info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', 'A', 'L', (lapack_int)n, &a,
                                          (lapack_int)n, 0.0, 0.0, 0, 0, 0.0, &m, &w, &z,
                                          (lapack_int)n, sup, &wq, -1, &iq, -1);
    p->lwork = (lapack_int)(26 * n);
    p->liwork = (lapack_int)(10 * n);
    /* dsyevd, for all eigenpairs: 1 + 6 n + 2 n^2 doubles and 3 + 5 n integers. */
    if ((lapack_int)(1 + 6 * n + 2 * n * n) > p->lwork) p->lwork = (lapack_int)(1 + 6 * n + 2 * n * n);
    if ((lapack_int)(3 + 5 * n) > p->liwork) p->liwork = (lapack_int)(3 + 5 * n);
    if (info == 0 && (lapack_int)wq > p->lwork) p->lwork = (lapack_int)wq;
    if (info == 0 && iq > p->liwork) p->liwork = iq;
    /* dsyevd's own query as well (for n >= 16 it is the documented minimum above). */
    info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)n, &a, (lapack_int)n, &w, &wq, -1,
                               &iq, -1);
    if (info == 0 && (lapack_int)wq > p->lwork) p->lwork = (lapack_int)wq;
    if (info == 0 && iq > p->liwork) p->liwork = iq;
    p->work = lr_malloc((size_t)p->lwork * sizeof(double));
    p->iwork = lr_malloc((size_t)p->liwork * sizeof(lapack_int));
    p->isuppz = lr_malloc(2 * n * sizeof(lapack_int));
    if (!p->work || !p->iwork || !p->isuppz) {
        lr_eig_plan_free(p);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for an eigendecomposition plan of %zu", max_n);
    }
    return p;
}

void lr_eig_plan_free(lr_eig_plan *p)
{
    if (!p) return;
    lr_free(p->work);
    lr_free(p->iwork);
    lr_free(p->isuppz);
    lr_free(p);
}

/* LAPACK returns eigenvalues ascending: the first k values (and columns of Z, if it has
 * data) reversed, so that index 0 is the largest, as for singular values. */
static void reverse_pairs(double *w, size_t k, lr_mat Z)
{
    for (size_t i = 0; i < k / 2; i++) {
        double t = w[i];
        w[i] = w[k - 1 - i];
        w[k - 1 - i] = t;
        if (Z.data)
            for (size_t r = 0; r < Z.rows; r++) {
                double u = LR_AT(Z, r, i);
                LR_AT(Z, r, i) = LR_AT(Z, r, k - 1 - i);
                LR_AT(Z, r, k - 1 - i) = u;
            }
    }
}

/* The checks both eigen drivers make: A square, within the plan, Z (if it has data) n x
 * at least k, and the lower triangle finite. */
static int check_sym_input(const lr_eig_plan *p, lr_mat A, size_t k, lr_mat Z, const char *who)
{
    size_t n = A.rows;
    if (A.cols != n) LR_ERRORF(LR_EINVAL, "%s: %zux%zu is not square", who, A.rows, A.cols);
    if (n > p->max_n) LR_ERRORF(LR_EINVAL, "%s: %zu exceeds the plan's %zu", who, n, p->max_n);
    if (k > n || (Z.data && (Z.rows != n || Z.cols < k)))
        LR_ERRORF(LR_EINVAL, "%s: Z %zux%zu does not hold %zu vectors of %zux%zu", who, Z.rows, Z.cols, k, n, n);
    for (size_t j = 0; j < n; j++)
        for (size_t i = j; i < n; i++)
            if (!isfinite(LR_AT(A, i, j))) LR_ERRORF(LR_ENUMERIC, "%s: the matrix has NaN or Inf entries", who);
    return LR_OK;
}

int lr_eig_sym(lr_eig_plan *p, lr_mat A, double *w, lr_mat Z)
{
    size_t n = A.rows;
    int want = Z.data != NULL;
    LR_TRY(check_sym_input(p, A, n, Z, "lr_eig_sym"));
    if (n == 0) return LR_OK;
    lapack_int m = 0, info;
    double dummy = 0.0;
    if (want) {
        /* All pairs: divide and conquer (dsyevd) is the fastest driver here (17 against
         * dsyevr's 21 ms at n = 512); the vectors replace A and are copied to Z. */
        info = lapack_injected(LR_R_SYEVD)
                   ? 1
                   : LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)n, A.data, (lapack_int)A.ld,
                                         w, p->work, p->lwork, p->iwork, p->liwork);
        if (info < 0) LR_ERRORF(LR_ELAPACK, "dsyevd: argument %d is illegal", (int)-info);
        if (info > 0) LR_ERRORF(LR_ECONV, "dsyevd: no convergence (%d) on a %zux%zu matrix", (int)info, n, n);
        lr_mat_copy(lr_mat_view(Z, 0, 0, n, n), A);
    } else {
        info = lapack_injected(LR_R_SYEVR)
                   ? 1
                   : LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'A', 'L', (lapack_int)n, A.data,
                                         (lapack_int)A.ld, 0.0, 0.0, 0, 0, 0.0, &m, w, &dummy, 1, p->isuppz,
                                         p->work, p->lwork, p->iwork, p->liwork);
        if (info < 0) LR_ERRORF(LR_ELAPACK, "dsyevr: argument %d is illegal", (int)-info);
        if (info > 0) LR_ERRORF(LR_ECONV, "dsyevr: internal error %d on a %zux%zu matrix", (int)info, n, n);
    }
    reverse_pairs(w, n, want ? Z : (lr_mat){NULL, n, 0, 1});
    return LR_OK;
}

int lr_eig_sym_top(lr_eig_plan *p, lr_mat A, size_t k, double *w, lr_mat Z)
{
    size_t n = A.rows;
    if (!Z.data) LR_ERROR(LR_EINVAL, "lr_eig_sym_top: Z has no storage");
    LR_TRY(check_sym_input(p, A, k, Z, "lr_eig_sym_top"));
    if (k == 0) return LR_OK;
    lapack_int m = 0;
    lapack_int info = lapack_injected(LR_R_SYEVR) ? 1 : LAPACKE_dsyevr_work(
        LAPACK_COL_MAJOR, 'V', 'I', 'L', (lapack_int)n, A.data, (lapack_int)A.ld, 0.0, 0.0,
        (lapack_int)(n - k + 1), (lapack_int)n, 0.0, &m, w, Z.data, (lapack_int)Z.ld, p->isuppz,
        p->work, p->lwork, p->iwork, p->liwork);
    if (info < 0) LR_ERRORF(LR_ELAPACK, "dsyevr: argument %d is illegal", (int)-info);
    if (info > 0 || (size_t)m != k)
        LR_ERRORF(LR_ECONV, "dsyevr: %d of the %zu largest eigenpairs (info %d)", (int)m, k, (int)info);
    reverse_pairs(w, k, Z);
    return LR_OK;
}

int lr_svd_top_gram(lr_eig_plan *ep, lr_mat A, size_t k, double min_ratio, lr_mat S, double *s,
                    lr_mat U, lr_mat VT, int *accepted)
{
    size_t m = A.rows, n = A.cols, g = m < n ? m : n;
    int right = n <= m; /* eigenvectors of A^T A are right singular vectors */
    *accepted = 0;
    if (k == 0 || k > g) LR_ERRORF(LR_EINVAL, "lr_svd_top_gram: k = %zu for %zux%zu", k, m, n);
    if (S.rows < g || S.cols < g || U.rows != m || U.cols < k || VT.rows < k || VT.cols != n)
        LR_ERRORF(LR_EINVAL, "lr_svd_top_gram: S %zux%zu, U %zux%zu, VT %zux%zu for %zux%zu, k = %zu",
                  S.rows, S.cols, U.rows, U.cols, VT.rows, VT.cols, m, n, k);
    S.rows = S.cols = g;
    LR_TRY(lr_syrk(right ? 'T' : 'N', 1.0, A, 0.0, S));
    /* The eigenvectors land in U's storage (m x k holds g x k) and move to where they
     * belong before U is written. */
    lr_mat Z = lr_mat_view(U, 0, 0, g, k);
    LR_TRY(lr_eig_sym_top(ep, S, k, s, Z));
    if (!(s[k - 1] > 0.0) || !(sqrt(s[k - 1] / s[0]) >= min_ratio)) return LR_OK; /* the guard */
    if (right) {
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < k; i++) LR_AT(VT, i, j) = LR_AT(Z, j, i);
        LR_TRY(lr_gemm('N', 'T', 1.0, A, lr_mat_view(VT, 0, 0, k, n), 0.0, lr_mat_view(U, 0, 0, m, k)));
        /* Rayleigh-Ritz: A v_i = s_i u_i with s_i = ||A v_i||, more accurate than sqrt(lambda_i). */
        for (size_t j = 0; j < k; j++) {
            double nrm = cblas_dnrm2((int)m, &LR_AT(U, 0, j), 1);
            s[j] = nrm;
            for (size_t i = 0; i < m; i++) LR_AT(U, i, j) /= nrm;
        }
    } else {
        LR_TRY(lr_gemm('T', 'N', 1.0, lr_mat_view(U, 0, 0, m, k), A, 0.0, lr_mat_view(VT, 0, 0, k, n)));
        for (size_t i = 0; i < k; i++) {
            double nrm = cblas_dnrm2((int)n, &LR_AT(VT, i, 0), (int)VT.ld);
            s[i] = nrm;
            for (size_t j = 0; j < n; j++) LR_AT(VT, i, j) /= nrm;
        }
    }
    *accepted = 1;
    return LR_OK;
}

int lr_norm_op_gram(lr_eig_plan *ep, lr_mat A, lr_mat S, double *w, double *norm)
{
    /* The smaller of A^T A and A A^T: both have the same nonzero eigenvalues. */
    size_t n = A.rows < A.cols ? A.rows : A.cols;
    if (S.rows < n || S.cols < n) LR_ERRORF(LR_EINVAL, "lr_norm_op_gram: S must be at least %zux%zu", n, n);
    S.rows = S.cols = n;
    *norm = 0.0;
    if (n == 0) return LR_OK;
    if (n > ep->max_n) LR_ERRORF(LR_EINVAL, "lr_norm_op_gram: %zu exceeds the plan's %zu", n, ep->max_n);
    LR_TRY(lr_syrk(A.rows < A.cols ? 'N' : 'T', 1.0, A, 0.0, S));
    lapack_int m = 0;
    double dummy = 0.0;
    lapack_int info = lapack_injected(LR_R_SYEVR) ? 1 : LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'I', 'L', (lapack_int)n, S.data,
                                          (lapack_int)S.ld, 0.0, 0.0, (lapack_int)n, (lapack_int)n,
                                          0.0, &m, w, &dummy, 1, ep->isuppz, ep->work, ep->lwork,
                                          ep->iwork, ep->liwork);
    if (info < 0) LR_ERRORF(LR_ELAPACK, "dsyevr: argument %d is illegal", (int)-info);
    if (info > 0 || m != 1) LR_ERRORF(LR_ECONV, "dsyevr: no largest eigenvalue (info %d)", (int)info);
    *norm = w[0] > 0 ? sqrt(w[0]) : 0.0;
    return LR_OK;
}


/* ---- factorisations: each routine's own workspace query, typed errors ---- */

_Static_assert(sizeof(lapack_int) == sizeof(int), "lr_geqp3 and lr_trcon_lower take int pivots");

/* A workspace query's answer (lwork = -1 puts the optimal size in work[0]), at least min. */
static size_t lwork_answer(lapack_int info, double w, size_t min)
{
    size_t lw = info == 0 && w > 0 ? (size_t)w : 0;
    return lw > min ? lw : min;
}

int lr_potrf_lower(lr_mat A)
{
    if (A.rows != A.cols) LR_ERRORF(LR_EINVAL, "lr_potrf_lower: %zux%zu is not square", A.rows, A.cols);
    if (A.rows == 0) return LR_OK;
    lapack_int info = lapack_injected(LR_R_POTRF)
                          ? 1
                          : LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int)A.rows, A.data,
                                                (lapack_int)A.ld);
    if (info < 0) LR_ERRORF(LR_ELAPACK, "dpotrf: argument %d is illegal", (int)-info);
    if (info > 0)
        LR_ERRORF(LR_ESINGULAR, "dpotrf: the %zux%zu matrix is not positive definite (leading minor %d)",
                  A.rows, A.cols, (int)info);
    return LR_OK;
}

int lr_trcon_lower(lr_mat L, double *rcond, double *work, int *iwork)
{
    if (L.rows != L.cols) LR_ERRORF(LR_EINVAL, "lr_trcon_lower: %zux%zu is not square", L.rows, L.cols);
    *rcond = 0.0;
    if (L.rows == 0) return LR_OK;
    if (lapack_injected(LR_R_TRCON)) LR_INJECTED("dtrcon");
    lapack_int info = LAPACKE_dtrcon_work(LAPACK_COL_MAJOR, '1', 'L', 'N', (lapack_int)L.rows, L.data,
                                          (lapack_int)L.ld, rcond, work, iwork);
    if (info != 0) LR_ERRORF(LR_ELAPACK, "dtrcon: argument %d is illegal", (int)-info);
    return LR_OK;
}

size_t lr_geqp3_lwork(size_t m, size_t n)
{
    double w = 0.0, a = 0.0, tau = 0.0;
    lapack_int jpvt = 0;
    lapack_int info = LAPACKE_dgeqp3_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, &a,
                                          (lapack_int)(m ? m : 1), &jpvt, &tau, &w, -1);
    return lwork_answer(info, w, 3 * n + 1); /* LAPACK's documented minimum */
}

int lr_geqp3(lr_mat A, int *jpvt, double *tau, double *work, size_t lwork)
{
    size_t m = A.rows, n = A.cols;
    if (lwork < 3 * n + 1) LR_ERRORF(LR_EINVAL, "lr_geqp3: workspace %zu < 3 n + 1 for n = %zu", lwork, n);
    if (m == 0 || n == 0) return LR_OK;
    if (lapack_injected(LR_R_GEQP3)) LR_INJECTED("dgeqp3");
    lapack_int info = LAPACKE_dgeqp3_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, A.data,
                                          (lapack_int)A.ld, jpvt, tau, work, (lapack_int)lwork);
    if (info != 0) LR_ERRORF(LR_ELAPACK, "dgeqp3: argument %d is illegal", (int)-info);
    return LR_OK;
}

size_t lr_geqrf_lwork(size_t m, size_t n)
{
    double w = 0.0, a = 0.0, tau = 0.0;
    lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, &a,
                                          (lapack_int)(m ? m : 1), &tau, &w, -1);
    return lwork_answer(info, w, n ? n : 1);
}

int lr_geqrf(lr_mat A, double *tau, double *work, size_t lwork)
{
    size_t m = A.rows, n = A.cols;
    if (lwork < (n ? n : 1)) LR_ERRORF(LR_EINVAL, "lr_geqrf: workspace %zu < n = %zu", lwork, n);
    if (m == 0 || n == 0) return LR_OK;
    if (lapack_injected(LR_R_GEQRF)) LR_INJECTED("dgeqrf");
    lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, A.data,
                                          (lapack_int)A.ld, tau, work, (lapack_int)lwork);
    if (info != 0) LR_ERRORF(LR_ELAPACK, "dgeqrf: argument %d is illegal", (int)-info);
    return LR_OK;
}

size_t lr_orgqr_lwork(size_t m, size_t n, size_t k)
{
    double w = 0.0, a = 0.0, tau = 0.0;
    lapack_int info = LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)k,
                                          &a, (lapack_int)(m ? m : 1), &tau, &w, -1);
    return lwork_answer(info, w, n ? n : 1);
}

int lr_orgqr(lr_mat A, size_t k, const double *tau, double *work, size_t lwork)
{
    size_t m = A.rows, n = A.cols;
    if (n > m || k > n) LR_ERRORF(LR_EINVAL, "lr_orgqr: %zux%zu with k = %zu reflectors", m, n, k);
    if (lwork < (n ? n : 1)) LR_ERRORF(LR_EINVAL, "lr_orgqr: workspace %zu < n = %zu", lwork, n);
    if (n == 0) return LR_OK;
    if (lapack_injected(LR_R_ORGQR)) LR_INJECTED("dorgqr");
    lapack_int info = LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)k,
                                          A.data, (lapack_int)A.ld, tau, work, (lapack_int)lwork);
    if (info != 0) LR_ERRORF(LR_ELAPACK, "dorgqr: argument %d is illegal", (int)-info);
    return LR_OK;
}

/* ---- symmetric tridiagonal eigenproblems (the Ritz values of a Lanczos process) ---- */

int lr_stev_values(size_t n, double *d, double *e)
{
    if (n == 0) return LR_OK;
    /* dstev without vectors is dsterf: the root-free QL/QR iteration, O(n^2). */
    lapack_int info = lapack_injected(LR_R_STEV) ? 1 : LAPACKE_dstev_work(LAPACK_COL_MAJOR, 'N', (lapack_int)n, d, e, NULL, 1, NULL);
    if (info < 0) LR_ERRORF(LR_ELAPACK, "dstev: argument %d is illegal", (int)-info);
    if (info > 0) LR_ERRORF(LR_ECONV, "dstev: %d off-diagonal elements did not converge (n = %zu)", (int)info, n);
    return LR_OK;
}

int lr_stein(size_t n, const double *d, const double *e, size_t m, const double *w, double *Z, size_t ldz,
             double *work, int *iwork)
{
    if (m > n || ldz < n) LR_ERRORF(LR_EINVAL, "lr_stein: %zu vectors of length %zu, ldz %zu", m, n, ldz);
    if (m == 0) return LR_OK;
    /* One unreduced block: the caller's tridiagonal has no zero off-diagonal (a Lanczos
     * process stops at one), so every eigenvalue is in block 1, which ends at row n. */
    int *iblock = iwork, *isplit = iwork + n, *iw = iwork + 2 * n, *ifail = iwork + 3 * n;
    for (size_t i = 0; i < m; i++) iblock[i] = 1;
    isplit[0] = (int)n;
    if (lapack_injected(LR_R_STEIN)) {
        LR_ERRORF(LR_ECONV, "dstein: 1 of %zu eigenvectors did not converge (failure injected by a test)", m);
    }
    lapack_int info = LAPACKE_dstein_work(LAPACK_COL_MAJOR, (lapack_int)n, d, e, (lapack_int)m, w, iblock, isplit, Z,
                                          (lapack_int)ldz, work, iw, ifail);
    if (info < 0) LR_ERRORF(LR_ELAPACK, "dstein: argument %d is illegal", (int)-info);
    if (info > 0) LR_ERRORF(LR_ECONV, "dstein: %d of %zu eigenvectors did not converge", (int)info, m);
    return LR_OK;
}
