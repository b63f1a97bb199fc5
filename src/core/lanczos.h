/* Lanczos processes with full reorthogonalization for a few eigenvalues of a symmetric
 * matrix: its spectral norm (single-vector) and its m largest eigenpairs (block).
 *
 * A dense symmetric eigensolver (dsyevr, dsyevd) reduces the matrix to tridiagonal form
 * first: 4/3 n^3 flops, half of them in matrix-vector products, whatever the number of
 * eigenvalues wanted.  A Lanczos process reads the matrix only through products A q: N of
 * them cost 2 n^2 N flops, and full reorthogonalization 4 n N^2 more, so that for the few
 * extreme eigenvalues of a matrix with N << n it is O(n^2 N) (lanczos.c derives the stop
 * rules).  It stops when an a-posteriori residual bound is below a relative tolerance, or
 * reports that it did not converge within max_steps vectors: the caller then takes a dense
 * driver and records that it did (src/ntk/equiv.h does).
 *
 * Deterministic: the start vectors are a fixed function of their index (a splitmix64 hash,
 * no RNG stream), so the result is a function of the matrix alone, whatever the number of
 * threads of the run around it; with BLAS on one thread (as the runner sets it) it is
 * bit-identical from run to run. */
#ifndef LR_CORE_LANCZOS_H
#define LR_CORE_LANCZOS_H

#include <stddef.h>

#include "mat.h"

/* The default relative tolerance of the stop rules: a decade below the 1e-10 to which the
 * results must agree with a dense driver's.  The residual bound puts SOME eigenvalue within
 * tol ||A||_2 of the Ritz value; in a cluster at the top narrower than that it can be a
 * neighbour of the extreme one, a few residuals away (at tol = 1e-10, a triple eigenvalue
 * spread over 2e-10 relative gave a norm 2.0e-10 short).  Away from such clusters the error
 * is about the square of the residual over the gap, at rounding level (the tests print it). */
#define LR_LANCZOS_TOL 1e-11
/* The default largest Krylov dimension (Lanczos vectors, block steps x block size). */
#define LR_LANCZOS_MAX_STEPS 512

typedef struct lr_lanczos_plan lr_lanczos_plan;

/* Workspace for n <= max_n, blocks of up to max_k vectors (0: the norm only) and at most
 * max_steps vectors (the basis is n x (min(max_steps, max_n) + max(max_k, 1))). */
lr_lanczos_plan *lr_lanczos_plan_alloc(size_t max_n, size_t max_k, size_t max_steps);
void lr_lanczos_plan_free(lr_lanczos_plan *p);
/* The plan's limits (what it was made for). */
size_t lr_lanczos_plan_max_steps(const lr_lanczos_plan *p);

/* What one run did. */
typedef struct lr_lanczos_result {
    int converged;   /* 1: the stop rule held; 0: not within max_steps, or the tridiagonal
                        (block: small dense) Ritz solver failed -- the caller falls back */
    size_t steps;    /* Lanczos vectors used (the Krylov dimension reached) */
    double bound;    /* the stop rule's bound at the end, relative (see lanczos.c) */
    size_t deflated; /* block process: columns replaced by fresh start vectors */
} lr_lanczos_result;

/* ||A||_2 = max |lambda_i(A)| of a symmetric n x n A (lower triangle read, A not modified)
 * by a single-vector Lanczos process with full reorthogonalization, at most max_steps
 * vectors (<= the plan's), stopping when the bracket of ||A||_2 that the two extreme Ritz
 * values and their residuals give is within tol relative (lanczos.c).  *norm is the
 * largest |Ritz value|, never more than ||A||_2 (interlacing).  LR_ENUMERIC when A has NaN
 * or Inf entries; a run that does not converge returns LR_OK with res->converged = 0 and
 * *norm the last estimate. */
int lr_lanczos_norm(lr_lanczos_plan *p, lr_mat A, double tol, size_t max_steps, double *norm,
                    lr_lanczos_result *res);

/* The k largest eigenvalues w[k] (descending; w may be NULL) of a symmetric n x n A (BOTH triangles read,
 * A not modified) and, if Z has storage, their eigenvectors (n x k), by a block Lanczos
 * process of block size k (multiplicities up to k are found), at most max_steps vectors,
 * stopping when every one of the k Ritz pairs has residual ||A z - theta z|| <= tol
 * ||A||_2 (an eigenvalue within that distance; the vector within residual / gap).
 * Requires k <= the plan's max_k and k + k <= n.  Not converged: LR_OK, res->converged = 0,
 * w and Z unset. */
int lr_lanczos_top(lr_lanczos_plan *p, lr_mat A, size_t k, double tol, size_t max_steps, double *w, lr_mat Z,
                   lr_lanczos_result *res);

#endif
