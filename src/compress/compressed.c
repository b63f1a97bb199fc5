/* The compressed-layer type (compressed.h): constructors, checks, apply, to_dense and the
 * storage model.
 *
 * apply never forms M: a low-rank pair costs m k (N0 + N1) flops through T = X A, then
 * T B; a sparse matrix one axpy of an X column per nonzero; a ternary matrix one axpy with
 * coefficient +-1 per nonzero trit and one scaling per output column (no multiplications
 * by the entries at all, which is the point of ternary weights).  to_dense is the plain
 * reference the tests compare apply against (X to_dense(c) by lr_gemm). */
#include <cblas.h>
#include <math.h>

#include "compress/compressed.h"
#include "core/error.h"

static void init(lr_compressed *c, lr_compressed_kind kind, size_t n0, size_t n1)
{
    *c = (lr_compressed){.kind = kind, .n0 = n0, .n1 = n1};
}

int lr_compressed_lowrank(lr_compressed *c, lr_mat A, lr_mat B)
{
    init(c, LR_COMPRESSED_LOWRANK, A.rows, B.cols);
    c->A = A, c->B = B, c->k = A.cols;
    return lr_compressed_check(c);
}

int lr_compressed_grouped(lr_compressed *c, lr_group_axis axis, size_t n0, size_t n1, size_t ngroups,
                          const size_t *start, const lr_mat *gA, const lr_mat *gB)
{
    init(c, LR_COMPRESSED_GROUPED, n0, n1);
    c->axis = axis, c->ngroups = ngroups, c->start = start, c->gA = gA, c->gB = gB;
    return lr_compressed_check(c);
}

int lr_compressed_dense(lr_compressed *c, lr_mat M)
{
    init(c, LR_COMPRESSED_DENSE, M.rows, M.cols);
    c->M = M;
    return lr_compressed_check(c);
}

int lr_compressed_sparse(lr_compressed *c, size_t n0, size_t n1, const size_t *colptr, const size_t *rowidx,
                         const double *val)
{
    init(c, LR_COMPRESSED_SPARSE, n0, n1);
    c->colptr = colptr, c->rowidx = rowidx, c->val = val;
    c->nnz = colptr ? colptr[n1] : 0;
    return lr_compressed_check(c);
}

int lr_compressed_ternary(lr_compressed *c, size_t n0, size_t n1, const signed char *T, size_t ldt,
                          const double *scale, size_t nscale)
{
    init(c, LR_COMPRESSED_TERNARY, n0, n1);
    c->T = T, c->ldt = ldt, c->scale = scale, c->nscale = nscale;
    return lr_compressed_check(c);
}

static int check_grouped(const lr_compressed *c)
{
    size_t len = c->axis == LR_GROUP_OUTPUT ? c->n1 : c->n0;
    if (c->axis != LR_GROUP_OUTPUT && c->axis != LR_GROUP_INPUT)
        LR_ERRORF(LR_EINVAL, "lr_compressed: unknown group axis %d", (int)c->axis);
    if (c->ngroups == 0 || !c->start || !c->gA || !c->gB)
        LR_ERROR(LR_EINVAL, "lr_compressed: a grouped matrix needs at least one group, its bounds and factors");
    if (c->start[0] != 0 || c->start[c->ngroups] != len)
        LR_ERRORF(LR_EINVAL, "lr_compressed: groups cover [%zu, %zu), not [0, %zu)", c->start[0],
                  c->start[c->ngroups], len);
    for (size_t j = 0; j < c->ngroups; j++) {
        size_t w = c->start[j + 1] - c->start[j];
        if (c->start[j + 1] <= c->start[j])
            LR_ERRORF(LR_EINVAL, "lr_compressed: group %zu is empty or its bounds decrease", j);
        size_t ar = c->axis == LR_GROUP_OUTPUT ? c->n0 : w, bc = c->axis == LR_GROUP_OUTPUT ? w : c->n1;
        if (c->gA[j].rows != ar || c->gB[j].cols != bc || c->gA[j].cols != c->gB[j].rows)
            LR_ERRORF(LR_EINVAL, "lr_compressed: group %zu has factors %zux%zu and %zux%zu, expected %zux k and k x%zu",
                      j, c->gA[j].rows, c->gA[j].cols, c->gB[j].rows, c->gB[j].cols, ar, bc);
    }
    return LR_OK;
}

int lr_compressed_check(const lr_compressed *c)
{
    switch (c->kind) {
    case LR_COMPRESSED_LOWRANK:
        if (c->A.rows != c->n0 || c->B.cols != c->n1 || c->A.cols != c->k || c->B.rows != c->k)
            LR_ERRORF(LR_EINVAL, "lr_compressed: factors %zux%zu and %zux%zu do not make a %zux%zu rank-%zu product",
                      c->A.rows, c->A.cols, c->B.rows, c->B.cols, c->n0, c->n1, c->k);
        return LR_OK;
    case LR_COMPRESSED_GROUPED: return check_grouped(c);
    case LR_COMPRESSED_DENSE:
        if (c->M.rows != c->n0 || c->M.cols != c->n1 || (c->n0 && c->n1 && !c->M.data))
            LR_ERROR(LR_EINVAL, "lr_compressed: dense matrix shape or storage does not agree");
        return LR_OK;
    case LR_COMPRESSED_SPARSE:
        if (!c->colptr || (c->nnz && (!c->rowidx || !c->val)) || c->colptr[0] != 0)
            LR_ERROR(LR_EINVAL, "lr_compressed: sparse matrix needs colptr (from 0), rowidx and val");
        for (size_t j = 0; j < c->n1; j++) {
            if (c->colptr[j + 1] < c->colptr[j])
                LR_ERRORF(LR_EINVAL, "lr_compressed: colptr decreases at column %zu", j);
            for (size_t p = c->colptr[j]; p < c->colptr[j + 1]; p++)
                if (c->rowidx[p] >= c->n0 || (p > c->colptr[j] && c->rowidx[p] <= c->rowidx[p - 1]))
                    LR_ERRORF(LR_EINVAL, "lr_compressed: column %zu: row index %zu out of range or not increasing",
                              j, c->rowidx[p]);
        }
        return LR_OK;
    case LR_COMPRESSED_TERNARY:
        if ((c->n0 && c->n1 && !c->T) || c->ldt < c->n0 || !c->scale || (c->nscale != 1 && c->nscale != c->n1))
            LR_ERRORF(LR_EINVAL, "lr_compressed: ternary matrix needs T (ld >= %zu) and 1 or %zu scales (got %zu)",
                      c->n0, c->n1, c->nscale);
        for (size_t j = 0; j < c->n1; j++)
            for (size_t i = 0; i < c->n0; i++) {
                signed char t = c->T[i + j * c->ldt];
                if (t < -1 || t > 1)
                    LR_ERRORF(LR_EINVAL, "lr_compressed: ternary entry (%zu, %zu) = %d is not in {-1, 0, 1}", i, j,
                              (int)t);
            }
        return LR_OK;
    }
    LR_ERRORF(LR_EINVAL, "lr_compressed: unknown kind %d", (int)c->kind);
}

int lr_compressed_all_finite(const lr_compressed *c)
{
    switch (c->kind) {
    case LR_COMPRESSED_LOWRANK: return lr_mat_all_finite(c->A) && lr_mat_all_finite(c->B);
    case LR_COMPRESSED_GROUPED:
        for (size_t j = 0; j < c->ngroups; j++)
            if (!lr_mat_all_finite(c->gA[j]) || !lr_mat_all_finite(c->gB[j])) return 0;
        return 1;
    case LR_COMPRESSED_DENSE: return lr_mat_all_finite(c->M);
    case LR_COMPRESSED_SPARSE:
        for (size_t p = 0; p < c->nnz; p++)
            if (!isfinite(c->val[p])) return 0;
        return 1;
    case LR_COMPRESSED_TERNARY:
        for (size_t j = 0; j < c->nscale; j++)
            if (!isfinite(c->scale[j])) return 0;
        return 1;
    }
    return 0;
}

size_t lr_compressed_apply_need(const lr_compressed *c, size_t m)
{
    size_t k = 0;
    if (c->kind == LR_COMPRESSED_LOWRANK) k = c->k;
    if (c->kind == LR_COMPRESSED_GROUPED)
        for (size_t j = 0; j < c->ngroups; j++) k = c->gA[j].cols > k ? c->gA[j].cols : k;
    return m * k;
}

/* Y (+)= (X A) B through T = X A in work. */
static int apply_pair(lr_mat X, lr_mat A, lr_mat B, double beta, lr_mat Y, double *work)
{
    lr_mat T = lr_mat_wrap(work, X.rows, A.cols);
    LR_TRY(lr_gemm('N', 'N', 1.0, X, A, 0.0, T));
    return lr_gemm('N', 'N', 1.0, T, B, beta, Y);
}

int lr_compressed_apply(const lr_compressed *c, lr_mat X, lr_mat Y, double *work)
{
    size_t m = X.rows;
    if (X.cols != c->n0 || Y.rows != m || Y.cols != c->n1)
        LR_ERRORF(LR_EINVAL, "lr_compressed_apply: X %zux%zu times a %zux%zu M into Y %zux%zu", X.rows, X.cols,
                  c->n0, c->n1, Y.rows, Y.cols);
    if (lr_compressed_apply_need(c, m) && !work) LR_ERROR(LR_EINVAL, "lr_compressed_apply: no workspace");
    switch (c->kind) {
    case LR_COMPRESSED_LOWRANK: return apply_pair(X, c->A, c->B, 0.0, Y, work);
    case LR_COMPRESSED_GROUPED:
        if (c->axis == LR_GROUP_INPUT && c->ngroups == 0) lr_mat_set_zero(Y);
        for (size_t j = 0; j < c->ngroups; j++) {
            size_t s = c->start[j], w = c->start[j + 1] - s;
            if (c->axis == LR_GROUP_OUTPUT)
                LR_TRY(apply_pair(X, c->gA[j], c->gB[j], 0.0, lr_mat_view(Y, 0, s, m, w), work));
            else
                LR_TRY(apply_pair(lr_mat_view(X, 0, s, m, w), c->gA[j], c->gB[j], j ? 1.0 : 0.0, Y, work));
        }
        return LR_OK;
    case LR_COMPRESSED_DENSE: return lr_gemm('N', 'N', 1.0, X, c->M, 0.0, Y);
    case LR_COMPRESSED_SPARSE:
        lr_mat_set_zero(Y);
        if (m == 0) return LR_OK;
        for (size_t j = 0; j < c->n1; j++)
            for (size_t p = c->colptr[j]; p < c->colptr[j + 1]; p++)
                cblas_daxpy((int)m, c->val[p], X.data + c->rowidx[p] * X.ld, 1, Y.data + j * Y.ld, 1);
        return LR_OK;
    case LR_COMPRESSED_TERNARY:
        lr_mat_set_zero(Y);
        if (m == 0) return LR_OK;
        for (size_t j = 0; j < c->n1; j++) {
            double *y = Y.data + j * Y.ld;
            for (size_t i = 0; i < c->n0; i++) {
                signed char t = c->T[i + j * c->ldt];
                if (t) cblas_daxpy((int)m, (double)t, X.data + i * X.ld, 1, y, 1);
            }
            cblas_dscal((int)m, c->scale[c->nscale == 1 ? 0 : j], y, 1);
        }
        return LR_OK;
    }
    LR_ERRORF(LR_EINVAL, "lr_compressed_apply: unknown kind %d", (int)c->kind);
}

int lr_compressed_to_dense(const lr_compressed *c, lr_mat M)
{
    if (M.rows != c->n0 || M.cols != c->n1)
        LR_ERRORF(LR_EINVAL, "lr_compressed_to_dense: M is %zux%zu, the compressed matrix %zux%zu", M.rows, M.cols,
                  c->n0, c->n1);
    switch (c->kind) {
    case LR_COMPRESSED_LOWRANK: return lr_gemm('N', 'N', 1.0, c->A, c->B, 0.0, M);
    case LR_COMPRESSED_GROUPED:
        for (size_t j = 0; j < c->ngroups; j++) {
            size_t s = c->start[j], w = c->start[j + 1] - s;
            lr_mat blk = c->axis == LR_GROUP_OUTPUT ? lr_mat_view(M, 0, s, c->n0, w) : lr_mat_view(M, s, 0, w, c->n1);
            LR_TRY(lr_gemm('N', 'N', 1.0, c->gA[j], c->gB[j], 0.0, blk));
        }
        return LR_OK;
    case LR_COMPRESSED_DENSE: lr_mat_copy(M, c->M); return LR_OK;
    case LR_COMPRESSED_SPARSE:
        lr_mat_set_zero(M);
        for (size_t j = 0; j < c->n1; j++)
            for (size_t p = c->colptr[j]; p < c->colptr[j + 1]; p++) LR_AT(M, c->rowidx[p], j) = c->val[p];
        return LR_OK;
    case LR_COMPRESSED_TERNARY:
        for (size_t j = 0; j < c->n1; j++) {
            double s = c->scale[c->nscale == 1 ? 0 : j];
            for (size_t i = 0; i < c->n0; i++) LR_AT(M, i, j) = (double)c->T[i + j * c->ldt] * s;
        }
        return LR_OK;
    }
    LR_ERRORF(LR_EINVAL, "lr_compressed_to_dense: unknown kind %d", (int)c->kind);
}

size_t lr_compressed_rank(const lr_compressed *c)
{
    if (c->kind == LR_COMPRESSED_LOWRANK) return c->k;
    size_t k = 0;
    if (c->kind == LR_COMPRESSED_GROUPED)
        for (size_t j = 0; j < c->ngroups; j++) k += c->gA[j].cols;
    return k;
}

double lr_compressed_params(const lr_compressed *c)
{
    switch (c->kind) {
    case LR_COMPRESSED_LOWRANK: return (double)c->k * (double)(c->n0 + c->n1);
    case LR_COMPRESSED_GROUPED: {
        double p = 0;
        for (size_t j = 0; j < c->ngroups; j++)
            p += (double)c->gA[j].cols * (double)(c->gA[j].rows + c->gB[j].cols);
        return p;
    }
    case LR_COMPRESSED_DENSE: return (double)c->n0 * (double)c->n1;
    case LR_COMPRESSED_SPARSE: return (double)c->nnz;
    case LR_COMPRESSED_TERNARY: return (double)c->n0 * (double)c->n1 + (double)c->nscale;
    }
    return NAN;
}

/* ceil(log2(n)) for n >= 1, by integer arithmetic (0 for n = 1: one choice needs no bits). */
static double bits_for(size_t n)
{
    double b = 0;
    for (size_t v = 1; v < n; v <<= 1) b += 1;
    return b;
}

double lr_compressed_bits(const lr_compressed *c)
{
    switch (c->kind) {
    case LR_COMPRESSED_LOWRANK:
    case LR_COMPRESSED_GROUPED:
    case LR_COMPRESSED_DENSE: return 64.0 * lr_compressed_params(c);
    case LR_COMPRESSED_SPARSE: {
        double bitmap = (double)c->n0 * (double)c->n1;
        double csc = (double)c->nnz * bits_for(c->n0) + (double)(c->n1 + 1) * bits_for(c->nnz + 1);
        return 64.0 * (double)c->nnz + (bitmap < csc ? bitmap : csc);
    }
    case LR_COMPRESSED_TERNARY: return (double)c->n0 * (double)c->n1 * log2(3.0) + 64.0 * (double)c->nscale;
    }
    return NAN;
}

const char *lr_compressed_kind_name(lr_compressed_kind kind)
{
    static const char *const names[] = {"lowrank", "grouped", "dense", "sparse", "ternary"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}
