#include "linalg.h"

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
    if (!p) return NULL;
    p->max_m = max_m;
    p->max_n = max_n;
    size_t mn = max_m < max_n ? max_m : max_n, mx = max_m > max_n ? max_m : max_n;
    /* LAPACK's documented minimum for jobz = 'S', in case the query is optimistic for
     * smaller shapes run through the same plan. */
    lapack_int lw = (lapack_int)(4 * mn * mn + 7 * mn + mx);
    lapack_int q1 = query_lwork('S', max_m, max_n), q2 = query_lwork('N', max_m, max_n);
    if (q1 > lw) lw = q1;
    if (q2 > lw) lw = q2;
    p->lwork = lw;
    p->work = lr_malloc((size_t)lw * sizeof(double));
    p->iwork = lr_malloc(8 * (mn ? mn : 1) * sizeof(lapack_int));
    p->backup = lr_malloc((max_m * max_n > 0 ? max_m * max_n : 1) * sizeof(double));
    if (!p->work || !p->iwork || !p->backup) {
        lr_svd_plan_free(p);
        return NULL;
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
    if (take_injected_failure()) info = 1;
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
    info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, want_vectors ? 'S' : 'N',
                               want_vectors ? 'S' : 'N', (lapack_int)m, (lapack_int)n, A.data,
                               (lapack_int)A.ld, s, u, ldu, vt, ldvt, p->work, p->lwork);
    if (info < 0) LR_ERRORF(LR_ELAPACK, "dgesvd: argument %d is illegal", (int)-info);
    if (info > 0)
        LR_ERRORF(LR_ECONV, "SVD of a %zux%zu matrix: dgesdd and dgesvd both failed to converge",
                  m, n);
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
