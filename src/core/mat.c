#include "mat.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define LR_ALIGN 64

static long alloc_fail_countdown = 0;

void lr_fail_alloc_after(long n) { __atomic_store_n(&alloc_fail_countdown, n, __ATOMIC_SEQ_CST); }

static int injected_alloc_failure(void)
{
    if (__atomic_load_n(&alloc_fail_countdown, __ATOMIC_SEQ_CST) <= 0) return 0;
    return __atomic_sub_fetch(&alloc_fail_countdown, 1, __ATOMIC_SEQ_CST) == 0;
}

void *lr_malloc(size_t bytes)
{
    if (injected_alloc_failure()) LR_ERROR_NULL(LR_ENOMEM, "out of memory for %zu bytes (injected)", bytes);
    if (bytes == 0) bytes = LR_ALIGN;
    size_t rounded = (bytes + LR_ALIGN - 1) / LR_ALIGN * LR_ALIGN;
    void *p = aligned_alloc(LR_ALIGN, rounded);
    if (!p) LR_ERROR_NULL(LR_ENOMEM, "out of memory for %zu bytes", bytes);
    return p;
}

void *lr_calloc(size_t n, size_t size)
{
    if (size && n > (size_t)-1 / size) LR_ERROR_NULL(LR_ENOMEM, "out of memory: %zu x %zu bytes overflow", n, size);
    void *p = lr_malloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

void lr_free(void *p) { free(p); }

lr_mat lr_mat_view(lr_mat A, size_t i, size_t j, size_t rows, size_t cols)
{
    lr_mat v = {A.data + i + j * A.ld, rows, cols, A.ld};
    return v;
}

lr_mat lr_mat_wrap(double *data, size_t rows, size_t cols)
{
    lr_mat v = {data, rows, cols, rows ? rows : 1};
    return v;
}

void lr_mat_copy(lr_mat dst, lr_mat src)
{
    for (size_t j = 0; j < src.cols; j++)
        memcpy(dst.data + j * dst.ld, src.data + j * src.ld, src.rows * sizeof(double));
}

void lr_mat_set_zero(lr_mat A)
{
    for (size_t j = 0; j < A.cols; j++) memset(A.data + j * A.ld, 0, A.rows * sizeof(double));
}

double lr_mat_norm_fro(lr_mat A)
{
    /* dnrm2 per column, combined with scaling, to avoid overflow on large entries. */
    double scale = 0.0, ssq = 1.0;
    for (size_t j = 0; j < A.cols; j++) {
        double c = cblas_dnrm2((int)A.rows, A.data + j * A.ld, 1);
        if (c == 0.0) continue;
        if (scale < c) {
            ssq = 1.0 + ssq * (scale / c) * (scale / c);
            scale = c;
        } else {
            ssq += (c / scale) * (c / scale);
        }
    }
    return scale * sqrt(ssq);
}

double lr_mat_diff_fro(lr_mat A, lr_mat B)
{
    double s = 0.0;
    for (size_t j = 0; j < A.cols; j++) {
        const double *a = A.data + j * A.ld, *b = B.data + j * B.ld;
        for (size_t i = 0; i < A.rows; i++) {
            double d = a[i] - b[i];
            s += d * d;
        }
    }
    return sqrt(s);
}

int lr_mat_all_finite(lr_mat A)
{
    for (size_t j = 0; j < A.cols; j++)
        for (size_t i = 0; i < A.rows; i++)
            if (!isfinite(A.data[i + j * A.ld])) return 0;
    return 1;
}

void lr_mat_axpy(double alpha, lr_mat B, lr_mat A)
{
    for (size_t j = 0; j < A.cols; j++)
        cblas_daxpy((int)A.rows, alpha, B.data + j * B.ld, 1, A.data + j * A.ld, 1);
}

void lr_mat_scale_cols(lr_mat A, const double *d)
{
    for (size_t j = 0; j < A.cols; j++) cblas_dscal((int)A.rows, d[j], A.data + j * A.ld, 1);
}

int lr_gemm(char ta, char tb, double alpha, lr_mat A, lr_mat B, double beta, lr_mat C)
{
    size_t am = ta == 'N' ? A.rows : A.cols, ak = ta == 'N' ? A.cols : A.rows;
    size_t bk = tb == 'N' ? B.rows : B.cols, bn = tb == 'N' ? B.cols : B.rows;
    if (ak != bk || am != C.rows || bn != C.cols)
        LR_ERRORF(LR_EINVAL, "lr_gemm: shapes %zux%zu (%c) * %zux%zu (%c) -> %zux%zu do not agree",
                  A.rows, A.cols, ta, B.rows, B.cols, tb, C.rows, C.cols);
    if (C.rows == 0 || C.cols == 0) return LR_OK;
    if (ak == 0) {
        if (beta == 0.0) lr_mat_set_zero(C);
        else for (size_t j = 0; j < C.cols; j++) cblas_dscal((int)C.rows, beta, C.data + j * C.ld, 1);
        return LR_OK;
    }
    cblas_dgemm(CblasColMajor, ta == 'N' ? CblasNoTrans : CblasTrans,
                tb == 'N' ? CblasNoTrans : CblasTrans, (int)am, (int)bn, (int)ak, alpha, A.data,
                (int)A.ld, B.data, (int)B.ld, beta, C.data, (int)C.ld);
    return LR_OK;
}

int lr_syrk(char trans, double alpha, lr_mat A, double beta, lr_mat C)
{
    size_t n = trans == 'T' ? A.cols : A.rows, k = trans == 'T' ? A.rows : A.cols;
    if (C.rows != n || C.cols != n)
        LR_ERRORF(LR_EINVAL, "lr_syrk: %zux%zu (%c) gives %zux%zu, not %zux%zu", A.rows, A.cols,
                  trans, n, n, C.rows, C.cols);
    if (n == 0) return LR_OK;
    if (k == 0) {
        for (size_t j = 0; j < n; j++)
            for (size_t i = j; i < n; i++) LR_AT(C, i, j) *= beta;
        return LR_OK;
    }
    cblas_dsyrk(CblasColMajor, CblasLower, trans == 'T' ? CblasTrans : CblasNoTrans, (int)n,
                (int)k, alpha, A.data, (int)A.ld, beta, C.data, (int)C.ld);
    return LR_OK;
}

void lr_mat_symmetrize(lr_mat C)
{
    for (size_t j = 0; j < C.cols; j++)
        for (size_t i = j + 1; i < C.rows; i++) LR_AT(C, j, i) = LR_AT(C, i, j);
}

/* ---- arena ---- */

#define LR_ALIGN_DOUBLES (LR_ALIGN / sizeof(double))

size_t lr_arena_need(size_t rows, size_t cols)
{
    size_t n = rows * cols;
    return (n + LR_ALIGN_DOUBLES - 1) / LR_ALIGN_DOUBLES * LR_ALIGN_DOUBLES + LR_ALIGN_DOUBLES;
}

int lr_arena_init(lr_arena *a, size_t doubles)
{
    a->base = lr_malloc(doubles * sizeof(double) + LR_ALIGN);
    a->cap = a->base ? doubles : 0;
    a->used = 0;
    if (!a->base) LR_ERRORF(LR_ENOMEM, "cannot allocate a workspace of %zu doubles", doubles);
    return LR_OK;
}

void lr_arena_release(lr_arena *a)
{
    lr_free(a->base);
    a->base = NULL;
    a->cap = a->used = 0;
}

void lr_arena_reset(lr_arena *a) { a->used = 0; }

double *lr_arena_vec(lr_arena *a, size_t n)
{
    size_t need = lr_arena_need(n, 1);
    if (a->used + need > a->cap) return NULL;
    double *p = a->base + a->used;
    a->used += need;
    return p;
}

lr_mat lr_arena_mat(lr_arena *a, size_t rows, size_t cols)
{
    lr_mat M = {lr_arena_vec(a, rows * cols), rows, cols, rows ? rows : 1};
    return M;
}
