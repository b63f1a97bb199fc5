/* Measurement of compressed layers: the plain reference and the nested per-rank fast
 * path (the maths: measure.h). */
#include "measure/measure.h"

#include <cblas.h>
#include <math.h>

#include "core/error.h"

static size_t nz1(size_t v) { return v ? v : 1; }

/* Errors of factors A (n0a x k), B (k x n1) on a factored layer: ||X(AB - W)||,
 * ||X A B - Y||, ||AB - W||.  The plain reference path. */
int lr_measure_layer(const lr_layer *L, lr_mat A, lr_mat B, double *err_layer, double *err_y,
                          double *err_w)
{
    size_t r = L->X.rows, n0 = L->W.rows, n1 = L->W.cols, k = A.cols;
    double *e = lr_malloc(nz1(r * n1) * sizeof(double)), *w = lr_malloc(n0 * n1 * sizeof(double));
    double *xa = lr_malloc((r * (k ? k : 1)) * sizeof(double));
    int s = e && w && xa ? LR_OK : LR_ENOMEM;
    lr_mat E = lr_mat_wrap(e, r, n1), M = lr_mat_wrap(w, n0, n1), XA = lr_mat_wrap(xa, r, k);
    if (s == LR_OK) {
        lr_mat_copy(M, L->W);
        if (k) s = lr_gemm('N', 'N', -1.0, A, B, 1.0, M); /* M = W - AB */
    }
    if (s == LR_OK) {
        *err_w = lr_mat_norm_fro(M);
        s = lr_gemm('N', 'N', 1.0, L->X, M, 0.0, E);
    }
    if (s == LR_OK) {
        *err_layer = lr_mat_norm_fro(E);
        lr_mat_copy(E, L->Y);
        if (k) s = lr_gemm('N', 'N', 1.0, L->X, A, 0.0, XA);
        if (s == LR_OK && k) s = lr_gemm('N', 'N', -1.0, XA, B, 1.0, E);
        *err_y = lr_mat_norm_fro(E);
    }
    lr_free(e);
    lr_free(w);
    lr_free(xa);
    if (s == LR_ENOMEM) LR_ERROR(LR_ENOMEM, "out of memory measuring errors");
    return s;
}

int lr_measure_rank_errors(const lr_layer *L, lr_compressor_plan *plan, size_t point, const size_t *ranks,
                           size_t nranks, int force_plain, gsl_rng *rng, double *err_layer, double *err_y,
                           double *err_w, size_t *kout, int *route, int *fallback)
{
    const lr_compressor *comp = plan->comp;
    size_t r = L->X.rows, n0 = L->W.rows, n1 = L->W.cols;
    size_t kmax = 0;
    for (size_t i = 0; i < nranks; i++) kmax = ranks[i] > kmax ? ranks[i] : kmax;
    if (!kmax) return LR_OK;
    double *a = lr_malloc(n0 * kmax * sizeof(double)), *b = lr_malloc(kmax * n1 * sizeof(double));
    if (!a || !b) {
        lr_free(a);
        lr_free(b);
        LR_ERROR(LR_ENOMEM, "out of memory for factors");
    }
    lr_compressed f = {.A = lr_mat_wrap(a, n0, kmax), .B = lr_mat_wrap(b, kmax, n1)};
    lr_fit_info info = {.gap = NAN, .lambda = NAN};
    int s = LR_OK;
    *route = 0;
    *fallback = 0;
    if (!comp->nested || force_plain) {
        for (size_t i = 0; i < nranks && s == LR_OK; i++) {
            f.A = lr_mat_wrap(a, n0, ranks[i]);
            f.B = lr_mat_wrap(b, ranks[i], n1);
            s = lr_compressor_execute(plan, point, L, &ranks[i], 1, &f, &info, rng);
            if (s != LR_OK) break;
            kout[i] = f.k;
            lr_mat A = lr_mat_view(f.A, 0, 0, n0, f.k), B = lr_mat_view(f.B, 0, 0, f.k, n1);
            B.ld = f.B.ld;
            s = lr_measure_layer(L, A, B, &err_layer[i], &err_y[i], &err_w[i]);
            *route |= info.route;
            *fallback |= info.svd_fallback;
        }
        lr_free(a);
        lr_free(b);
        return s;
    }
    s = lr_compressor_execute(plan, point, L, &kmax, 1, &f, &info, rng);
    *route = info.route;
    *fallback = info.svd_fallback;
    size_t kp = f.k;
    /* XA = X A (r x kp); residuals E = X W - X A_j B_j, Ey = Y - ..., Ew = W - A_j B_j. */
    double *xa = lr_malloc((r * (kp ? kp : 1)) * sizeof(double)), *e = lr_malloc(nz1(r * n1) * sizeof(double));
    double *ey = lr_malloc(nz1(r * n1) * sizeof(double)), *ew = lr_malloc(n0 * n1 * sizeof(double));
    if (s == LR_OK && (!xa || !e || !ey || !ew)) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    lr_mat A = lr_mat_view(f.A, 0, 0, n0, kp);
    lr_mat XA = lr_mat_wrap(xa, r, kp), E = lr_mat_wrap(e, r, n1), Ey = lr_mat_wrap(ey, r, n1), Ew = lr_mat_wrap(ew, n0, n1);
    if (s == LR_OK && kp) s = lr_gemm('N', 'N', 1.0, L->X, A, 0.0, XA);
    if (s == LR_OK) s = lr_gemm('N', 'N', 1.0, L->X, L->W, 0.0, E);
    if (s == LR_OK) {
        lr_mat_copy(Ey, L->Y);
        lr_mat_copy(Ew, L->W);
        size_t next = 0;
        for (size_t j = 0; j <= kp && next < nranks; j++) {
            if (j > 0) {
                /* Subtract the j-th rank-one term (column j-1 of XA / A, row j-1 of B). */
                const double *bj = &LR_AT(f.B, j - 1, 0);
                int ldb = (int)f.B.ld;
                cblas_dger(CblasColMajor, (int)r, (int)n1, -1.0, &LR_AT(XA, 0, j - 1), 1, bj, ldb, E.data, (int)E.ld);
                cblas_dger(CblasColMajor, (int)r, (int)n1, -1.0, &LR_AT(XA, 0, j - 1), 1, bj, ldb, Ey.data, (int)Ey.ld);
                cblas_dger(CblasColMajor, (int)n0, (int)n1, -1.0, &LR_AT(A, 0, j - 1), 1, bj, ldb, Ew.data, (int)Ew.ld);
            }
            while (next < nranks && (ranks[next] == j || (j == kp && ranks[next] > kp))) {
                err_layer[next] = lr_mat_norm_fro(E);
                err_y[next] = lr_mat_norm_fro(Ey);
                err_w[next] = lr_mat_norm_fro(Ew);
                kout[next] = j;
                next++;
            }
        }
    }
    lr_free(xa);
    lr_free(e);
    lr_free(ey);
    lr_free(ew);
    lr_free(a);
    lr_free(b);
    return s;
}

int lr_measure_truth(const lr_truth *t, lr_mat A, lr_mat B, lr_mat E, lr_mat XA, lr_mat Mh, lr_truth_errors *out)
{
    size_t m = t->X.rows, n1 = B.cols, k = A.cols, mt = t->Xt.rows;
    if (A.rows != t->X.cols || B.rows != k || n1 != t->Zs.cols || XA.cols < k || XA.rows < m || E.rows < m)
        LR_ERRORF(LR_EINVAL, "lr_measure_truth: A %zux%zu, B %zux%zu against X~ %zux%zu, scratch %zux%zu",
                  A.rows, A.cols, B.rows, B.cols, m, t->X.cols, XA.rows, XA.cols);
    lr_mat XAk = lr_mat_view(XA, 0, 0, m, k), Ek = lr_mat_view(E, 0, 0, m, n1);
    LR_TRY(lr_gemm('N', 'N', 1.0, t->X, A, 0.0, XAk));
    LR_TRY(lr_gemm('N', 'N', 1.0, XAk, B, 0.0, Ek));
    out->err_fro = lr_mat_diff_fro(Ek, t->Zs);
    out->err_layer = lr_mat_diff_fro(Ek, t->XW);
    out->err_pre = out->err_fro;
    if (t->relu) {
        double ss = 0.0;
        for (size_t jj = 0; jj < n1; jj++)
            for (size_t ii = 0; ii < m; ii++) {
                double e = LR_AT(Ek, ii, jj), z = LR_AT(t->Zs, ii, jj);
                double d = (e > 0 ? e : 0.0) - (z > 0 ? z : 0.0);
                ss += d * d;
            }
        out->err_fro = sqrt(ss);
    }
    LR_TRY(lr_gemm('N', 'N', 1.0, A, B, 0.0, Mh));
    out->err_weight = lr_mat_diff_fro(Mh, t->Ms);
    out->err_heldout_rel = NAN;
    if (mt) {
        lr_mat XtA = lr_mat_view(XA, 0, 0, mt, k), Et = lr_mat_view(E, 0, 0, mt, n1);
        LR_TRY(lr_gemm('N', 'N', 1.0, t->Xt, A, 0.0, XtA));
        LR_TRY(lr_gemm('N', 'N', 1.0, XtA, B, 0.0, Et));
        out->err_heldout_rel = lr_mat_diff_fro(Et, t->Zt) / t->zt_norm;
    }
    return LR_OK;
}
