/* Dense column-major matrices, views, and the allocation wrappers that tests can make fail.
 *
 * An lr_mat is a value: a pointer to storage plus its shape and leading dimension.  It
 * owns nothing; storage comes from lr_malloc'd buffers or from an lr_arena, a block
 * sized once per plan from which a trial takes its matrices without calling malloc. */
#ifndef LR_CORE_MAT_H
#define LR_CORE_MAT_H

#include <stddef.h>

typedef struct lr_mat {
    double *data;
    size_t rows, cols, ld; /* element (i, j) is data[i + j * ld] */
} lr_mat;

#define LR_AT(A, i, j) ((A).data[(size_t)(i) + (size_t)(j) * (A).ld])

/* A view of rows [i, i + rows) and columns [j, j + cols) of A (no copy). */
lr_mat lr_mat_view(lr_mat A, size_t i, size_t j, size_t rows, size_t cols);
/* Wrap a contiguous column-major buffer. */
lr_mat lr_mat_wrap(double *data, size_t rows, size_t cols);

void lr_mat_copy(lr_mat dst, lr_mat src);             /* shapes must agree */
void lr_mat_set_zero(lr_mat A);
double lr_mat_norm_fro(lr_mat A);
/* ||A - B||_F without forming A - B. */
double lr_mat_diff_fro(lr_mat A, lr_mat B);
int lr_mat_all_finite(lr_mat A);
/* A <- A + alpha * B */
void lr_mat_axpy(double alpha, lr_mat B, lr_mat A);
/* Scale column j of A by d[j]. */
void lr_mat_scale_cols(lr_mat A, const double *d);

/* C <- alpha op(A) op(B) + beta C through CBLAS; checks shapes.  ta/tb: 'N' or 'T'. */
int lr_gemm(char ta, char tb, double alpha, lr_mat A, lr_mat B, double beta, lr_mat C);

/* C <- alpha A^T A + beta C (trans 'T', A is k x n) or alpha A A^T + beta C (trans 'N', A
 * is n x k) through CBLAS dsyrk: half the flops of the GEMM, and only the lower triangle
 * of C is referenced and written (lr_mat_symmetrize copies it to the upper one). */
int lr_syrk(char trans, double alpha, lr_mat A, double beta, lr_mat C);
void lr_mat_symmetrize(lr_mat C);

/* ---- allocation (64-byte aligned), failure-injectable ---- */
void *lr_malloc(size_t bytes);
void *lr_calloc(size_t n, size_t size);
void lr_free(void *p);
/* Tests: make the n-th allocation from now fail (n >= 1); 0 switches it off. */
void lr_fail_alloc_after(long n);

/* A bump allocator over one block. */
typedef struct lr_arena {
    double *base;
    size_t cap, used; /* in doubles */
} lr_arena;

int lr_arena_init(lr_arena *a, size_t doubles);
void lr_arena_release(lr_arena *a);
void lr_arena_reset(lr_arena *a);
/* A matrix from the arena (64-byte aligned, contents undefined); data is NULL when the
 * arena is too small, which is a sizing bug the caller reports. */
lr_mat lr_arena_mat(lr_arena *a, size_t rows, size_t cols);
double *lr_arena_vec(lr_arena *a, size_t n);
/* Doubles needed for a matrix of this size, alignment padding included. */
size_t lr_arena_need(size_t rows, size_t cols);

#endif
