/* What a compressor returns: a compressed replacement M (N0 x N1) of a layer's weights W,
 * in one of several representations, with the three things every measurement needs:
 *
 *   lr_compressed_apply(c, X, Y, work)   Y = X M for an m x N0 X, without forming M
 *                                        (cost of the representation, not of N0 N1 per row);
 *   lr_compressed_to_dense(c, M)         M itself, the plain reference of apply;
 *   lr_compressed_params / _bits         the storage cost.
 *
 * Kinds (notation of docs/theory.md: X is m x N0, W and M are N0 x N1, Y = X M is m x N1):
 *
 *   LOWRANK   M = A B, A N0 x k, B k x N1 (k may be 0: M = 0).
 *   GROUPED   one low-rank pair per channel group (ALDS-style).  The groups split one axis
 *             into contiguous blocks given by start[0] = 0 < start[1] < ... < start[g] = the
 *             axis length:
 *               LR_GROUP_OUTPUT  columns (output channels): M = [A_1 B_1 | ... | A_g B_g],
 *                                A_j N0 x k_j, B_j k_j x (start[j+1] - start[j]);
 *               LR_GROUP_INPUT   rows (input channels): M = [A_1 B_1; ...; A_g B_g],
 *                                A_j (start[j+1] - start[j]) x k_j, B_j k_j x N1,
 *                                so Y = sum_j X[:, group j] A_j B_j.
 *             ALDS (Liebenwein et al. 2021) slices a layer's input channels, i.e. the rows
 *             of our N0 x N1 W: LR_GROUP_INPUT.
 *   DENSE     M stored as is.
 *   SPARSE    a masked matrix: the nonzeros of M in compressed sparse column form,
 *             column j holding rows rowidx[colptr[j] .. colptr[j+1]) (strictly increasing)
 *             with values val[...]; nnz = colptr[N1].
 *   TERNARY   M = T diag(s): entries of T in {-1, 0, +1} (one signed char each, column-major
 *             with leading dimension ldt), and either one scale per output column
 *             (nscale = N1, s_j) or one scale for all (nscale = 1).
 *
 * The struct holds views of caller-owned storage (the compressor's plan owns it), like
 * lr_mat: constructing, applying and densifying never allocate.
 *
 * Bit model of lr_compressed_bits (what a paper's "compression ratio" would count):
 *   - every real number (factor entry, dense entry, sparse value, scale) is a 64-bit double;
 *   - a ternary entry costs log2(3) = 1.585 bits, its information content (packing 5 trits
 *     per byte reaches 1.6);
 *   - a sparse mask costs the cheaper of a bitmap (N0 N1 bits) and CSC indices
 *     (nnz ceil(log2 N0) bits of row indices + (N1 + 1) ceil(log2(nnz + 1)) bits of column
 *     pointers);
 *   - group boundaries and ranks are shape metadata and cost nothing (as N0, N1 and k do).
 * lr_compressed_params counts stored numbers: factor/dense/sparse values, plus, for a
 * ternary matrix, its N0 N1 entries and its scales. */
#ifndef LR_COMPRESS_COMPRESSED_H
#define LR_COMPRESS_COMPRESSED_H

#include <stddef.h>

#include "core/mat.h"

typedef enum lr_compressed_kind {
    LR_COMPRESSED_LOWRANK = 0,
    LR_COMPRESSED_GROUPED,
    LR_COMPRESSED_DENSE,
    LR_COMPRESSED_SPARSE,
    LR_COMPRESSED_TERNARY,
} lr_compressed_kind;

typedef enum lr_group_axis { LR_GROUP_OUTPUT = 0, LR_GROUP_INPUT = 1 } lr_group_axis;

typedef struct lr_compressed {
    lr_compressed_kind kind;
    size_t n0, n1;
    /* LOWRANK: A (n0 x k), B (k x n1); k = A.cols = B.rows. */
    lr_mat A, B;
    size_t k;
    /* GROUPED: ngroups pairs gA[j], gB[j] over the blocks start[j] .. start[j+1] of `axis`. */
    lr_group_axis axis;
    size_t ngroups;
    const size_t *start; /* ngroups + 1 */
    const lr_mat *gA, *gB;
    /* DENSE */
    lr_mat M;
    /* SPARSE (CSC) */
    size_t nnz;
    const size_t *colptr; /* n1 + 1 */
    const size_t *rowidx; /* nnz */
    const double *val;    /* nnz */
    /* TERNARY */
    const signed char *T;
    size_t ldt;
    const double *scale;
    size_t nscale; /* 1 or n1 */
} lr_compressed;

/* Constructors over caller-owned storage (no copy).  Each checks its dimensions and
 * contents (see lr_compressed_check) and returns LR_EINVAL with the reason otherwise. */
int lr_compressed_lowrank(lr_compressed *c, lr_mat A, lr_mat B);
int lr_compressed_grouped(lr_compressed *c, lr_group_axis axis, size_t n0, size_t n1, size_t ngroups,
                          const size_t *start, const lr_mat *gA, const lr_mat *gB);
int lr_compressed_dense(lr_compressed *c, lr_mat M);
int lr_compressed_sparse(lr_compressed *c, size_t n0, size_t n1, const size_t *colptr, const size_t *rowidx,
                         const double *val);
int lr_compressed_ternary(lr_compressed *c, size_t n0, size_t n1, const signed char *T, size_t ldt,
                          const double *scale, size_t nscale);

/* Consistency of c: shapes agree, group blocks partition the axis, CSC row indices are in
 * range and strictly increasing per column, ternary entries are in {-1, 0, +1}.  Values are
 * not required to be finite (lr_compressed_all_finite says whether they are). */
int lr_compressed_check(const lr_compressed *c);
int lr_compressed_all_finite(const lr_compressed *c);

/* Doubles of workspace lr_compressed_apply needs for an m-row X (0 for dense, sparse and
 * ternary; m times the largest rank for the low-rank kinds). */
size_t lr_compressed_apply_need(const lr_compressed *c, size_t m);
/* Y = X M, X m x n0, Y m x n1 (overwritten), work: lr_compressed_apply_need doubles. */
int lr_compressed_apply(const lr_compressed *c, lr_mat X, lr_mat Y, double *work);
/* M = the dense n0 x n1 matrix c represents (overwritten). */
int lr_compressed_to_dense(const lr_compressed *c, lr_mat M);

/* The largest rank of a low-rank kind (the sum of the groups' ranks for GROUPED); 0 else. */
size_t lr_compressed_rank(const lr_compressed *c);
/* Storage cost: numbers stored, and bits by the model above. */
double lr_compressed_params(const lr_compressed *c);
double lr_compressed_bits(const lr_compressed *c);
const char *lr_compressed_kind_name(lr_compressed_kind kind);

#endif
