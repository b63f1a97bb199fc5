/* Streaming reduction of a layer problem to a small isometric one.
 *
 * A layer problem (docs/theory.md section 1) is X~ (m x N0), W (N0 x N1), Y (m x N1).  Every
 * error lrlab measures on it is a Frobenius norm of a matrix of the form X~ Z - Y c
 * (c = 0 or 1), and every compressor here (svd_w, dd_rank, whiten, act_scaled) reads
 * X~ and Y only through X~^T X~, X~^T Y and column statistics of X~.  So if
 *   [X~ | Y] = Q R,   Q (m x r) with orthonormal columns,  r = min(m, N0 + N1),
 * then with X_r = R[:, :N0] and Y_r = R[:, N0:] we have, for every Z and c,
 *   ||X~ Z - c Y||_F = ||X_r Z - c Y_r||_F,
 * and (X_r, W, Y_r) is the same problem with r <= N0 + N1 rows instead of m.  R is built
 * by a streaming (blocked) QR: rows arrive in blocks, are stacked under the current R,
 * and the stack is re-triangularised by Householder QR (dgeqrf) whenever it is full.
 * Memory is O((N0 + N1)^2 + block * (N0 + N1)), whatever m is: this is how lrlab reads
 * activations that do not fit in memory.  While at most N0 + N1 rows have arrived no QR
 * is done at all: the data are their own reduction.
 *
 * Biases are folded in as docs/theory.md says: X~ gets a column of ones (N0 -> N0 + 1) and W
 * the row b^T.  The column means of |X~| (for act_scaled) are accumulated on the way. */
#ifndef LR_NN_REDUCE_H
#define LR_NN_REDUCE_H

#include <stddef.h>

#include "core/mat.h"

typedef struct lr_stream_qr lr_stream_qr;

/* n columns; rows arrive in blocks of at most block_rows; total_rows (if known, else 0)
 * bounds the buffer. */
lr_stream_qr *lr_stream_qr_alloc(size_t n, size_t block_rows, size_t total_rows);
void lr_stream_qr_free(lr_stream_qr *q);
/* Append the rows of B (rows x n). */
int lr_stream_qr_add(lr_stream_qr *q, lr_mat B);
/* R (min(seen, n) x n, R^T R = A^T A for the rows A added so far); a view into q. */
int lr_stream_qr_result(lr_stream_qr *q, lr_mat *R);
size_t lr_stream_qr_rows_seen(const lr_stream_qr *q);
/* Householder re-triangularisations done so far (0: the data were kept as they are). */
size_t lr_stream_qr_compressions(const lr_stream_qr *q);

/* The reduced problem of one layer. */
typedef struct lr_reduced {
    size_t m;       /* rows of the original X~ */
    size_t n0, n1;  /* original inputs and outputs */
    size_t n0a;     /* columns of the reduced X: n0 + 1 with a folded bias */
    int bias;
    size_t r;       /* rows of the reduced problem */
    lr_mat X, Y;    /* r x n0a and r x n1 views into R */
    double *absmean; /* n0a: mean_k |X~_ki| over the m original rows */
    double y_sq;    /* ||Y||_F^2 */
    lr_stream_qr *qr;
    double *scratch; /* one block of [X~, 1, Y] */
    size_t block;
} lr_reduced;

int lr_reduced_init(lr_reduced *rd, size_t n0, size_t n1, int bias, size_t block_rows,
                    size_t total_rows);
/* Add rows: X block (b x n0), Y block (b x n1), b <= block_rows. */
int lr_reduced_add(lr_reduced *rd, lr_mat Xb, lr_mat Yb);
/* Finish: sets r, X, Y, m and turns the sums into means. */
int lr_reduced_finish(lr_reduced *rd);
void lr_reduced_release(lr_reduced *rd);

#endif
