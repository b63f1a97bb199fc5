/* LoD's linear recovery truths and subspace measures (the maths is in lod_check.h). */
#include "nn/lod_check.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/mat.h"

#define ROW CblasRowMajor

void lr_lod_truth_free(lr_lod_truth *t)
{
    if (!t) return;
    lr_free(t->P), lr_free(t->s), lr_free(t->R), lr_free(t->Qr);
    memset(t, 0, sizeof *t);
}

int lr_lod_orth(const double *M, size_t rows, size_t ld, size_t b, double *Q)
{
    if (b == 0 || b > rows) LR_ERRORF(LR_EINVAL, "lr_lod_orth: %zu columns of %zu rows", b, rows);
    double tau[b];
    for (size_t i = 0; i < rows; i++) memcpy(Q + i * b, M + i * ld, b * sizeof(double));
    if (LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (int)rows, (int)b, Q, (int)b, tau) != 0)
        LR_ERROR(LR_ENUMERIC, "lr_lod_orth: QR failed");
    double rmax = 0.0;
    for (size_t j = 0; j < b; j++) rmax = fmax(rmax, fabs(Q[j * b + j]));
    for (size_t j = 0; j < b; j++)
        if (!(fabs(Q[j * b + j]) > 1e-14 * rmax))
            LR_ERRORF(LR_ENUMERIC, "lr_lod_orth: column %zu of %zu is (numerically) in the span of the ones before it", j + 1, b);
    if (LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (int)rows, (int)b, (int)b, Q, (int)b, tau) != 0)
        LR_ERROR(LR_ENUMERIC, "lr_lod_orth: forming Q failed");
    return LR_OK;
}

double lr_lod_sin_max(const double *Q1, const double *Q2, size_t rows, size_t b)
{
    double *G = lr_malloc(b * b * sizeof(double)), *D = lr_malloc(rows * b * sizeof(double));
    double *sv = lr_malloc(b * sizeof(double)), *work = lr_malloc(b * sizeof(double));
    double out = NAN;
    if (G && D && sv && work) {
        /* D = Q1 - Q2 (Q2^T Q1): Q1's part outside span(Q2) */
        cblas_dgemm(ROW, CblasTrans, CblasNoTrans, (int)b, (int)b, (int)rows, 1.0, Q2, (int)b, Q1, (int)b, 0.0, G, (int)b);
        memcpy(D, Q1, rows * b * sizeof(double));
        cblas_dgemm(ROW, CblasNoTrans, CblasNoTrans, (int)rows, (int)b, (int)b, -1.0, Q2, (int)b, G, (int)b, 1.0, D, (int)b);
        size_t mn = rows < b ? rows : b;
        if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (int)rows, (int)b, D, (int)b, sv, NULL, 1, NULL, 1, work) == 0 && mn)
            out = fmin(sv[0], 1.0);
    }
    lr_free(G), lr_free(D), lr_free(sv), lr_free(work);
    return out;
}

void lr_lod_truth_map(const lr_lod_truth *t, size_t b, double *W)
{
    /* W_b = P_b diag(s_b) R_b */
    memset(W, 0, t->m * t->d * sizeof(double));
    for (size_t c = 0; c < b; c++) cblas_dger(ROW, (int)t->m, (int)t->d, t->s[c], t->P + c, (int)t->r, t->R + c * t->d, 1, W, (int)t->d);
}

int lr_lod_truth_compute(const double *X, const double *Y, size_t n, size_t d, size_t m, size_t r, lr_lod_truth *t)
{
    memset(t, 0, sizeof *t);
    size_t mn = m < d ? m : d;
    if (r == 0 || r > mn || n == 0) LR_ERRORF(LR_EINVAL, "lr_lod_truth_compute: rank %zu of a %zu x %zu map from %zu samples", r, m, d, n);
    t->d = d, t->m = m, t->r = r;
    double *S = lr_malloc(d * d * sizeof(double)), *ev = lr_malloc(d * sizeof(double));
    double *Sih = lr_calloc(d * d, sizeof(double)), *C = lr_malloc(m * d * sizeof(double));
    double *B = lr_malloc(m * d * sizeof(double)), *U = lr_malloc(m * mn * sizeof(double));
    double *VT = lr_malloc(mn * d * sizeof(double)), *sv = lr_malloc(mn * sizeof(double)), *work = lr_malloc(mn * sizeof(double));
    t->P = lr_malloc(m * r * sizeof(double)), t->s = lr_malloc(r * sizeof(double));
    t->R = lr_malloc(r * d * sizeof(double)), t->Qr = lr_malloc(d * r * sizeof(double));
    int status = LR_OK;
    if (!S || !ev || !Sih || !C || !B || !U || !VT || !sv || !work || !t->P || !t->s || !t->R || !t->Qr) {
        status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "lr_lod_truth_compute: no memory");
        goto done;
    }
    /* S = X^T X / n = E diag(ev) E^T; S^{-1/2} = E diag(ev^{-1/2}) E^T */
    cblas_dgemm(ROW, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)n, 1.0 / (double)n, X, (int)d, X, (int)d, 0.0, S, (int)d);
    if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (int)d, S, (int)d, ev) != 0) {
        status = lr_error(LR_ENUMERIC, __FILE__, __LINE__, "lr_lod_truth_compute: eigendecomposition of X^T X / n failed");
        goto done;
    }
    if (!(ev[0] > 1e-12 * ev[d - 1])) {
        status = lr_error(LR_ENUMERIC, __FILE__, __LINE__,
                          "lr_lod_truth_compute: the input covariance is singular (eigenvalues %.3g .. %.3g): no unique answer",
                          ev[0], ev[d - 1]);
        goto done;
    }
    for (size_t k = 0; k < d; k++) {
        double w = 1.0 / sqrt(ev[k]);
        cblas_dger(ROW, (int)d, (int)d, w, S + k, (int)d, S + k, (int)d, Sih, (int)d);
    }
    /* B = C S^{-1/2}, C = Y^T X / n */
    cblas_dgemm(ROW, CblasTrans, CblasNoTrans, (int)m, (int)d, (int)n, 1.0 / (double)n, Y, (int)m, X, (int)d, 0.0, C, (int)d);
    cblas_dgemm(ROW, CblasNoTrans, CblasNoTrans, (int)m, (int)d, (int)d, 1.0, C, (int)d, Sih, (int)d, 0.0, B, (int)d);
    if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (int)m, (int)d, B, (int)d, sv, U, (int)mn, VT, (int)d, work) != 0) {
        status = lr_error(LR_ENUMERIC, __FILE__, __LINE__, "lr_lod_truth_compute: SVD of C S^{-1/2} did not converge");
        goto done;
    }
    for (size_t c = 0; c + 1 < r + (r < mn); c++)
        if (!(sv[c] - sv[c + 1] > 1e-8 * sv[0])) {
            status = lr_error(LR_ENUMERIC, __FILE__, __LINE__,
                              "lr_lod_truth_compute: singular values %zu and %zu of C S^{-1/2} coincide (%.6g, %.6g): the nested "
                              "subspaces are not unique",
                              c + 1, c + 2, sv[c], sv[c + 1]);
            goto done;
        }
    for (size_t i = 0; i < m; i++) memcpy(t->P + i * r, U + i * mn, r * sizeof(double));
    memcpy(t->s, sv, r * sizeof(double));
    cblas_dgemm(ROW, CblasNoTrans, CblasNoTrans, (int)r, (int)d, (int)d, 1.0, VT, (int)d, Sih, (int)d, 0.0, t->R, (int)d);
    /* Qr: the nested row spaces, QR of R^T (its first b columns span R_b's rows) */
    for (size_t i = 0; i < d; i++)
        for (size_t c = 0; c < r; c++) B[i * r + c] = t->R[c * d + i];
    status = lr_lod_orth(B, d, r, r, t->Qr);
done:
    lr_free(S), lr_free(ev), lr_free(Sih), lr_free(C), lr_free(B), lr_free(U), lr_free(VT), lr_free(sv), lr_free(work);
    if (status != LR_OK) lr_lod_truth_free(t);
    return status;
}
