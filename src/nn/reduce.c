/* Streaming QR reduction of a layer problem (the maths is in reduce.h). */
#include "reduce.h"

#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/linalg.h"

struct lr_stream_qr {
    size_t n, cap, rows, seen, compressions;
    double *S; /* cap x n, column-major, ld = cap */
    double *tau, *work;
    size_t lwork;
};

lr_stream_qr *lr_stream_qr_alloc(size_t n, size_t block_rows, size_t total_rows)
{
    if (n == 0 || block_rows == 0)
        LR_ERROR_NULL(LR_EINVAL, "lr_stream_qr_alloc: %zu columns, blocks of %zu rows", n, block_rows);
    lr_stream_qr *q = lr_calloc(1, sizeof *q);
    if (!q) LR_ERROR_NULL(LR_ENOMEM, "out of memory for a streaming QR of %zu columns", n);
    q->n = n;
    q->cap = n + block_rows;
    if (total_rows && total_rows < q->cap) q->cap = total_rows;
    q->S = lr_malloc(q->cap * n * sizeof(double));
    q->tau = lr_malloc(n * sizeof(double));
    q->lwork = lr_geqrf_lwork(q->cap, n);
    q->work = lr_malloc(q->lwork * sizeof(double));
    if (!q->S || !q->tau || !q->work) {
        size_t cap = q->cap;
        lr_stream_qr_free(q);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for a streaming QR of %zu x %zu", cap, n);
    }
    return q;
}

void lr_stream_qr_free(lr_stream_qr *q)
{
    if (!q) return;
    lr_free(q->S);
    lr_free(q->tau);
    lr_free(q->work);
    lr_free(q);
}

/* Re-triangularise the stack: afterwards it holds min(rows, n) rows of R. */
static int compress(lr_stream_qr *q)
{
    if (q->rows <= q->n) return LR_OK;
    LR_TRY(lr_geqrf((lr_mat){q->S, q->rows, q->n, q->cap}, q->tau, q->work, q->lwork));
    /* Keep the upper triangle of the first n rows; what lies below holds reflectors. */
    for (size_t j = 0; j < q->n; j++)
        for (size_t i = j + 1; i < q->n; i++) q->S[i + j * q->cap] = 0.0;
    q->rows = q->n;
    q->compressions++;
    return LR_OK;
}

int lr_stream_qr_add(lr_stream_qr *q, lr_mat B)
{
    if (B.cols != q->n) LR_ERRORF(LR_EINVAL, "lr_stream_qr_add: %zu columns, expected %zu", B.cols, q->n);
    size_t done = 0;
    while (done < B.rows) {
        if (q->rows == q->cap) {
            LR_TRY(compress(q));
            if (q->rows == q->cap)
                LR_ERRORF(LR_EINVAL, "lr_stream_qr_add: more rows than the %zu announced", q->cap);
        }
        size_t take = B.rows - done, space = q->cap - q->rows;
        if (take > space) take = space;
        for (size_t j = 0; j < q->n; j++)
            for (size_t i = 0; i < take; i++) q->S[q->rows + i + j * q->cap] = LR_AT(B, done + i, j);
        q->rows += take;
        done += take;
    }
    q->seen += B.rows;
    return LR_OK;
}

int lr_stream_qr_result(lr_stream_qr *q, lr_mat *R)
{
    LR_TRY(compress(q));
    R->data = q->S;
    R->rows = q->rows;
    R->cols = q->n;
    R->ld = q->cap;
    return LR_OK;
}

size_t lr_stream_qr_rows_seen(const lr_stream_qr *q) { return q->seen; }
size_t lr_stream_qr_compressions(const lr_stream_qr *q) { return q->compressions; }

int lr_reduced_init(lr_reduced *rd, size_t n0, size_t n1, int bias, size_t block_rows,
                    size_t total_rows)
{
    memset(rd, 0, sizeof *rd);
    rd->n0 = n0;
    rd->n1 = n1;
    rd->bias = bias != 0;
    rd->n0a = n0 + (size_t)rd->bias;
    rd->block = block_rows;
    rd->qr = lr_stream_qr_alloc(rd->n0a + n1, block_rows, total_rows);
    rd->absmean = lr_calloc(rd->n0a, sizeof(double));
    rd->scratch = lr_malloc(block_rows * (rd->n0a + n1) * sizeof(double));
    if (!rd->qr || !rd->absmean || !rd->scratch) {
        lr_reduced_release(rd);
        LR_ERROR(LR_ENOMEM, "out of memory for a layer reduction");
    }
    return LR_OK;
}

int lr_reduced_add(lr_reduced *rd, lr_mat Xb, lr_mat Yb)
{
    size_t b = Xb.rows, n0 = rd->n0, n1 = rd->n1, n0a = rd->n0a;
    if (b != Yb.rows || b > rd->block || Xb.cols != n0 || Yb.cols != n1)
        LR_ERRORF(LR_EINVAL, "lr_reduced_add: blocks %zux%zu and %zux%zu for a %zu -> %zu layer "
                  "(block %zu)", Xb.rows, Xb.cols, Yb.rows, Yb.cols, n0, n1, rd->block);
    lr_mat S = lr_mat_wrap(rd->scratch, b, n0a + n1);
    for (size_t j = 0; j < n0; j++) {
        double s = 0;
        for (size_t i = 0; i < b; i++) {
            double v = LR_AT(Xb, i, j);
            LR_AT(S, i, j) = v;
            s += fabs(v);
        }
        rd->absmean[j] += s;
    }
    if (rd->bias) {
        for (size_t i = 0; i < b; i++) LR_AT(S, i, n0) = 1.0;
        rd->absmean[n0] += (double)b;
    }
    for (size_t j = 0; j < n1; j++)
        for (size_t i = 0; i < b; i++) {
            double v = LR_AT(Yb, i, j);
            LR_AT(S, i, n0a + j) = v;
            rd->y_sq += v * v;
        }
    rd->m += b;
    return lr_stream_qr_add(rd->qr, S);
}

int lr_reduced_finish(lr_reduced *rd)
{
    lr_mat R;
    LR_TRY(lr_stream_qr_result(rd->qr, &R));
    rd->r = R.rows;
    rd->X = lr_mat_view(R, 0, 0, R.rows, rd->n0a);
    rd->Y = lr_mat_view(R, 0, rd->n0a, R.rows, rd->n1);
    for (size_t j = 0; j < rd->n0a; j++) rd->absmean[j] /= rd->m ? (double)rd->m : 1.0;
    return LR_OK;
}

void lr_reduced_release(lr_reduced *rd)
{
    lr_stream_qr_free(rd->qr);
    lr_free(rd->absmean);
    lr_free(rd->scratch);
    memset(rd, 0, sizeof *rd);
}
