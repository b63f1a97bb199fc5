/* Linear-algebra plans: thin SVD with LAPACK's divide-and-conquer driver, sized once.
 *
 * lr_svd_plan holds the LAPACK workspace for every problem up to (max_m x max_n), so a
 * trial loop never allocates.  dgesdd can fail to converge (info > 0) on some hard
 * matrices; the plan then restores the input and runs dgesvd (QR iteration), and
 * reports that it did, so the caller records the fallback in the results.
 *
 * The range of X (m x n) is described by its thin SVD X = U S V^T truncated at the
 * numerical rank q = #{ s_i > tol }, tol = rtol * s_1 with rtol a recorded parameter
 * (default max(m, n) * eps, as LAPACK and numpy use).  From it: the projector
 * P = U_q U_q^T onto range(X) and the pseudo-inverse X^+ = V_q S_q^{-1} U_q^T. */
#ifndef LR_CORE_LINALG_H
#define LR_CORE_LINALG_H

#include <stddef.h>

#include "mat.h"

typedef struct lr_svd_plan lr_svd_plan;

lr_svd_plan *lr_svd_plan_alloc(size_t max_m, size_t max_n);
void lr_svd_plan_free(lr_svd_plan *p);

/* Thin SVD of A (m x n, destroyed): s[min(m,n)] descending, U (m x min) and VT (min x n)
 * may be NULL data pointers for values only.  *used_fallback is set to 1 when dgesdd
 * failed and dgesvd produced the result.  Returns LR_ECONV if both drivers fail. */
int lr_svd(lr_svd_plan *p, lr_mat A, double *s, lr_mat U, lr_mat VT, int *used_fallback);

/* The k largest singular triplets only (dgesvdx: bisection and inverse iteration on the
 * bidiagonal form), s[k] descending, U (m x k), VT (k x n); A destroyed.  When k is more
 * than half of min(m, n) the whole thin SVD (lr_svd) is cheaper and is used instead.  If
 * dgesvdx fails, the whole SVD is taken and *used_fallback set.  Plain reference: lr_svd. */
int lr_svd_top(lr_svd_plan *p, lr_mat A, size_t k, double *s, lr_mat U, lr_mat VT,
               int *used_fallback);

/* Number of fallbacks this plan has taken since it was made. */
size_t lr_svd_plan_fallbacks(const lr_svd_plan *p);

/* Tests: make the next n calls to dgesdd (and dgesvdx) report non-convergence. */
void lr_lapack_fail_gesdd(int n);

/* Tests (SQLite's failure injection): the n-th call from now (n >= 1; 0 switches it off)
 * of one wrapped routine fails -- "dgesdd", "dgesvd", "dgesvdx", "dsyevd", "dsyevr",
 * "dpotrf", "dtrcon", "dgeqp3", "dgeqrf", "dorgqr", "dstev" or "dstein"; LR_EINVAL for any other name.  A
 * routine that can report trouble (info > 0: no convergence, not positive definite) is
 * made to report it, so the caller's recorded fallback runs; one that can only report an
 * illegal argument returns LR_ELAPACK "...: failure injected by a test".  The countdowns
 * are atomic, so a run's threads share them.  lr_lapack_fail_reset switches all off. */
int lr_lapack_fail_after(const char *routine, long n);
void lr_lapack_fail_reset(void);

/* Default relative rank tolerance max(m, n) * DBL_EPSILON. */
double lr_rank_rtol_default(size_t m, size_t n);
/* Numerical rank: #{ s_i > rtol * s_0 } of descending s. */
size_t lr_numerical_rank(const double *s, size_t n, double rtol);

/* Operator (spectral) norm of A (destroyed) via the plan. */
int lr_norm_op(lr_svd_plan *p, lr_mat A, double *work_s, double *norm, int *used_fallback);

/* Symmetric eigendecomposition plan, sized once for n <= max_n: A (n x n, lower triangle
 * read, destroyed) = Z diag(w) Z^T with w DESCENDING (LAPACK returns ascending; the plan
 * reverses both, so that index 0 is the largest, as for singular values).  All pairs by
 * divide and conquer (dsyevd); Z may be a NULL data pointer for values only (dsyevr). */
typedef struct lr_eig_plan lr_eig_plan;
lr_eig_plan *lr_eig_plan_alloc(size_t max_n);
void lr_eig_plan_free(lr_eig_plan *p);
int lr_eig_sym(lr_eig_plan *p, lr_mat A, double *w, lr_mat Z);
/* The k largest eigenpairs only (dsyevr, range I: MRRR on the tridiagonal form, k vectors
 * back-transformed), w[k] descending, Z (n x k); A destroyed.  Plain reference: lr_eig_sym. */
int lr_eig_sym_top(lr_eig_plan *p, lr_mat A, size_t k, double *w, lr_mat Z);

/* The k largest singular triplets of A (m x n, not modified) through its Gram matrix:
 * the top-k eigenvectors V of A^T A (or U of A A^T, whichever is smaller; S is scratch of
 * at least min(m, n) square), then Rayleigh-Ritz: u_i = A v_i / s_i with s_i = ||A v_i||,
 * so that U diag(s) VT = A V V^T exactly.  Cost: one dsyrk and a partial symmetric
 * eigendecomposition, about half of dgesvdx's time at 512 x 512, k = 64.  Squaring
 * resolves s_i only to ~eps (s_1 / s_i)^2 relative, so the guard refuses (*accepted = 0,
 * A untouched) when s_k / s_1 < min_ratio: the caller takes lr_svd_top then.  The
 * truncation A V_k V_k^T is far less sensitive than s_k itself (a subspace error within a
 * cluster of nearly equal singular values changes it only to second order): on the
 * benchmark's kind of instances every error agrees with the exact SVD's to 2e-10 down to
 * s_k / s_1 = 6e-5 (bench/README.md). */
int lr_svd_top_gram(lr_eig_plan *ep, lr_mat A, size_t k, double min_ratio, lr_mat S, double *s,
                    lr_mat U, lr_mat VT, int *accepted);

/* ||A||_op = sqrt(lambda_max(A^T A)) from S = A^T A or A A^T, whichever is smaller (S: at
 * least min(rows, cols) square scratch, w: as many values) and the largest eigenvalue alone (dsyevr, range I): a fraction of the cost of
 * the singular values, and as accurate for the LARGEST one (relative error ~ eps, while
 * squaring only hurts the small ones).  Plain reference: lr_norm_op. */
int lr_norm_op_gram(lr_eig_plan *ep, lr_mat A, lr_mat S, double *w, double *norm);

/* ---- factorisations, each through a wrapper that can be made to fail ----
 * Workspaces come from each routine's own query (lwork = -1), made once where a plan or an
 * arena is sized: the *_lwork functions return doubles (never less than LAPACK's
 * documented minimum) and do not allocate.  info < 0 is a bug (LR_ELAPACK). */

/* Cholesky factor A = L L^T in A's lower triangle (dpotrf).  LR_ESINGULAR when A is not
 * numerically positive definite (info > 0): the caller decides the fallback. */
int lr_potrf_lower(lr_mat A);
/* Reciprocal 1-norm condition number of the lower-triangular L (dtrcon); work: 3 n
 * doubles, iwork: n ints. */
int lr_trcon_lower(lr_mat L, double *rcond, double *work, int *iwork);
/* Column-pivoted QR A P = Q R in place (dgeqp3): jpvt[n] (0 = free column, 1-based
 * pivots out), tau[min(m, n)], work[lwork] with lwork >= lr_geqp3_lwork(m, n). */
size_t lr_geqp3_lwork(size_t m, size_t n);
int lr_geqp3(lr_mat A, int *jpvt, double *tau, double *work, size_t lwork);
/* Householder QR in place (dgeqrf): tau[min(m, n)], lwork >= lr_geqrf_lwork(m, n). */
size_t lr_geqrf_lwork(size_t m, size_t n);
int lr_geqrf(lr_mat A, double *tau, double *work, size_t lwork);
/* The first n columns of Q from k reflectors of lr_geqrf (dorgqr), A m x n, k <= n <= m;
 * lwork >= lr_orgqr_lwork(m, n, k). */
size_t lr_orgqr_lwork(size_t m, size_t n, size_t k);
int lr_orgqr(lr_mat A, size_t k, const double *tau, double *work, size_t lwork);

/* ---- symmetric tridiagonal eigenproblems (Ritz values of Lanczos processes) ----
 * T = tridiag(e, d, e): d[n] the diagonal, e[n - 1] the off-diagonal. */

/* All eigenvalues of T, ascending, into d (dstev without vectors: dsterf, O(n^2)); e is
 * destroyed.  LR_ECONV when the iteration fails (info > 0). */
int lr_stev_values(size_t n, double *d, double *e);
/* The eigenvectors of T (no zero off-diagonal) for the m eigenvalues w[m] (ascending, as
 * lr_stev_values returns them), by inverse iteration (dstein, O(n) each): Z (n x m, leading
 * dimension ldz >= n); d and e are not modified.  work: 5 n doubles, iwork: 3 n + m ints.
 * LR_ECONV when a vector does not converge (info > 0). */
int lr_stein(size_t n, const double *d, const double *e, size_t m, const double *w, double *Z, size_t ldz,
             double *work, int *iwork);

#endif
