/* Lanczos processes with full reorthogonalization (Lanczos 1950; the block form: Golub and
 * Underwood 1977, Cullum and Donath 1974; the error analysis: Paige 1971 and Parlett, "The
 * Symmetric Eigenvalue Problem", 1980/1998, chapters 11 and 13; Golub and Van Loan,
 * "Matrix Computations", 4th ed., section 10.1).
 *
 * The process.  From an orthonormal start block Q_1 (n x b), each step multiplies the last
 * block by A, orthogonalizes the product W against ALL the blocks so far and factors what
 * is left, W = Q_{j+1} B_j (B_j upper triangular).  After J steps, with Q = [Q_1 .. Q_J]
 * (n x N, N = J b) and T = Q^T A Q, block tridiagonal with diagonal blocks A_j = Q_j^T A Q_j
 * and off-diagonal blocks B_j,
 *   A Q = Q T + Q_{J+1} B_J E_J^T + D,                                          (1)
 * E_J the last b columns of the N x N identity and D the parts of W that were dropped as
 * rounding noise (below).  For b = 1 T is tridiagonal: alpha_j on the diagonal, beta_j off
 * it.  The orthogonalization is classical Gram-Schmidt run twice against the whole basis
 * ("twice is enough": Kahan, in Parlett 1980 section 6.9; Giraud, Langou, Rozloznik and van
 * den Eshof 2005), two matrix-vector (b = 1) or matrix-matrix products per pass, so the
 * basis stays orthogonal to working precision and no spurious copies of converged Ritz
 * values appear, at 4 n N flops per vector against the product's 2 n^2.
 *
 * Ritz pairs and residuals.  For an eigenpair T s = theta s (||s|| = 1) the Ritz vector
 * y = Q s has, by (1), ||A y - theta y|| <= ||B_J s_J|| + ||D||_F, s_J the last b entries of
 * s (for b = 1: |beta_J s_N|).  For symmetric A a unit y with residual r has an eigenvalue
 * within r of theta (Krylov-Bogoliubov; Parlett 1980, theorem 4.5.1), and its angle to the
 * eigenvector of an eigenvalue separated from the rest of the spectrum by gap is at most
 * r / gap (Davis-Kahan).  By interlacing (T is a compression of A) the k-th largest Ritz
 * value is at most the k-th largest eigenvalue, and the smallest at least lambda_min.
 *
 * The norm (b = 1).  ||A||_2 = max(|lambda_max|, |lambda_min|): the two ends.  With theta_1,
 * theta_N the extreme Ritz values and r_1, r_N their residual bounds,
 *   L = max(|theta_1|, |theta_N|) <= ||A||_2   (interlacing: a rigorous lower bound),
 *   U = max(|theta_1| + r_1, |theta_N| + r_N),
 * U being an upper bound once each end's Ritz value approximates that end's eigenvalue (the
 * eigenvalue within r_e of theta_e is then the extreme one; this is the one assumption of
 * every Krylov stop rule: nothing in a Krylov space shows an eigenvector the start vector
 * missed).  The process stops when U - L <= tol L and returns L.  Both ends count: a
 * matrix whose largest magnitude is at the bottom (||A|| = |lambda_min|), or whose ends are
 * nearly equal in magnitude, is decided only when the bracket is.  The Ritz values are all
 * of T's eigenvalues (dstev without vectors, O(N^2)); the two residuals come from the
 * bottom entries of the two extreme eigenvectors of T (dstein, inverse iteration, O(N)),
 * so a step's test costs O(N^2), far less than its product.  The residual bound bounds
 * the eigenvalue error itself, without a gap estimate: the error is in practice much
 * smaller, about r^2 / gap (Parlett 1980, theorem 11.7.1), and at the default tolerance at
 * rounding level.  Measured (bench/spec_bench.c, tol = 1e-11): the kernels of a two-class
 * mixture, X^T X and the CK of a quadratic layer, and the error matrix K - K~, whose top is
 * a spike, stop in 9 to 12 steps at n = 1024 and 2048; a GOE matrix, all bulk, in 109 and
 * 153.
 *
 * The top k (block size b = k).  A single-vector Krylov space holds one vector of each
 * eigenspace, so a multiple eigenvalue among the top k would be returned once and the k-th
 * slot filled by the next eigenvalue, with small residuals: nothing would show it.  A block
 * of k start vectors holds up to k of each, which is all the top k can need.  The Ritz
 * pairs are T's top k (dsyevr with an index range on the small dense T, N x N); the
 * process stops when every one of them has residual bound at most tol times the largest of
 * |theta_1|, |theta_k| and the norms ||A q|| seen so far, each a lower bound of ||A||_2 (so
 * the test is never looser than tol ||A||_2).  The check costs O(N^3) while a step costs
 * O(n^2 b), so it runs only when the steps since the last one have cost as much as it
 * does: at every step while N^3 is small against n^2 b, and checks never more than double
 * the work (nor delay the stop by more than a check's worth of steps).  The block needs
 * more vectors than a single-vector process would (its Krylov polynomials have degree
 * N / b): 150 to 230 for the top 4 of the kernels above, 330 to 440 on GOE matrices; and,
 * OpenBLAS's product of a matrix with 4 columns being about as fast as 4 dsymv, each costs
 * as much.  That is the price of finding multiple eigenvalues.
 *
 * Breakdown and deflation.  When a column of W has, after both passes, norm at most
 * n eps max ||A q|| (the rounding level of the product), the Krylov space is numerically
 * invariant in that direction: the column is dropped into D (its norm counted in the
 * residual bounds above) and replaced by a fresh start vector orthogonalized against the
 * whole basis (a zero off-diagonal entry in B_J); so rank-deficient matrices and exact zero
 * eigenvalues of any multiplicity are handled.  For b = 1 the process needs no such step:
 * beta_J = 0 makes both residuals 0 and the bracket closes.
 *
 * Deterministic start vectors.  Entry i of start vector c is a splitmix64 hash (Steele, Lea
 * and Flood 2014) of (c, i), of magnitude in [1/2, 1) and a hashed sign: a fixed vector, no
 * RNG stream, with every entry nonzero, so a NaN or Inf anywhere in the lower triangle
 * reaches the first product's alpha (and is reported) and no structured matrix is likely
 * to have an eigenvector orthogonal to it (which a constant vector, orthogonal to every
 * centred direction, would risk). */
#include "lanczos.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "linalg.h"

struct lr_lanczos_plan {
    size_t max_n, max_k;
    size_t kdim; /* the most Lanczos vectors: min(max_steps, max_n) */
    size_t bk;   /* the largest block, max(max_k, 1) */
    size_t cap;  /* basis columns: kdim + bk (the next block is stored after the last) */
    double *Q;   /* max_n x cap: the basis */
    double *small;
    double *H, *H2;          /* cap x bk: the projections of a block on the basis, two passes */
    double *g, *g2;          /* cap each: the same for one vector */
    double *al, *be, *d, *e; /* kdim + 1 each: the tridiagonal T and dstev's copy of it */
    double *zt, *work;       /* (kdim + 1) x 2: T's extreme eigenvectors; dstein's 5 (kdim + 1) */
    int *iwork;              /* dstein's 3 (kdim + 1) + 2 */
    double *T, *Tc, *S;      /* block: T (cap x cap, ld cap), its copy for dsyevr, Ritz vectors (cap x bk) */
    double *theta, *R, *rs;  /* block: Ritz values (cap), B_J (bk x bk), a within-block pass (bk) */
    lr_eig_plan *teig;       /* block: dsyevr for T */
};

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

void lr_lanczos_plan_free(lr_lanczos_plan *p)
{
    if (!p) return;
    lr_free(p->Q);
    lr_free(p->small);
    lr_free(p->iwork);
    lr_eig_plan_free(p->teig);
    lr_free(p);
}

lr_lanczos_plan *lr_lanczos_plan_alloc(size_t max_n, size_t max_k, size_t max_steps)
{
    if (max_n == 0 || max_steps == 0)
        LR_ERROR_NULL(LR_EINVAL, "lr_lanczos_plan_alloc: max_n = %zu and max_steps = %zu must be positive", max_n,
                      max_steps);
    if (max_k > max_n) LR_ERROR_NULL(LR_EINVAL, "lr_lanczos_plan_alloc: max_k = %zu > max_n = %zu", max_k, max_n);
    lr_lanczos_plan *p = lr_calloc(1, sizeof *p);
    if (!p) LR_ERROR_NULL(LR_ENOMEM, "out of memory for a Lanczos plan (n = %zu)", max_n);
    p->max_n = max_n;
    p->max_k = max_k;
    p->kdim = min_sz(max_steps, max_n);
    p->bk = max_k ? max_k : 1;
    p->cap = p->kdim + p->bk;
    size_t cap = p->cap, bk = p->bk, t = p->kdim + 1;
    size_t nd = 2 * cap * bk + 2 * cap + 4 * t + 2 * t + 5 * t;
    if (max_k) nd += 2 * cap * cap + cap * bk + cap + bk * bk + bk;
    p->Q = lr_malloc(max_n * cap * sizeof(double));
    p->small = lr_malloc(nd * sizeof(double));
    p->iwork = lr_malloc((3 * t + 2) * sizeof(int));
    if (max_k) p->teig = lr_eig_plan_alloc(cap);
    if (!p->Q || !p->small || !p->iwork || (max_k && !p->teig)) {
        lr_lanczos_plan_free(p);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for a Lanczos plan (n = %zu, %zu vectors)", max_n, cap);
    }
    double *s = p->small;
    p->H = s, s += cap * bk;
    p->H2 = s, s += cap * bk;
    p->g = s, s += cap;
    p->g2 = s, s += cap;
    p->al = s, s += t;
    p->be = s, s += t;
    p->d = s, s += t;
    p->e = s, s += t;
    p->zt = s, s += 2 * t;
    p->work = s, s += 5 * t;
    if (max_k) {
        p->T = s, s += cap * cap;
        p->Tc = s, s += cap * cap;
        p->S = s, s += cap * bk;
        p->theta = s, s += cap;
        p->R = s, s += bk * bk;
        p->rs = s, s += bk;
    }
    return p;
}

size_t lr_lanczos_plan_max_steps(const lr_lanczos_plan *p) { return p->kdim; }

/* splitmix64's output function of key (Steele, Lea and Flood 2014), as a number of
 * magnitude in [1/2, 1) with a sign from the low bit. */
static double hashed_entry(uint64_t key)
{
    uint64_t z = key + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    double u = (double)(z >> 12) * 0x1.0p-52;
    return (z & 1u ? -1.0 : 1.0) * (0.5 + 0.5 * u);
}

/* Start vector number c (0, 1, ... in a run): a fixed function of (c, i). */
static void start_vector(double *q, size_t n, size_t c)
{
    for (size_t i = 0; i < n; i++) q[i] = hashed_entry(((uint64_t)c << 32) ^ (uint64_t)i);
}

/* W (n x c, leading dimension n) -= Qb (Qb^T W), twice, Qb the n x N matrix at Qb (leading
 * dimension n); both passes' coefficients summed into G (N x c, leading dimension ldg);
 * G2 is scratch of the same shape. */
static void orth2(size_t n, size_t N, const double *Qb, double *W, size_t c, double *G, size_t ldg, double *G2)
{
    if (N == 0) return;
    for (int pass = 0; pass < 2; pass++) {
        double *P = pass ? G2 : G;
        if (c == 1) {
            cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)N, 1.0, Qb, (int)n, W, 1, 0.0, P, 1);
            cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, (int)N, -1.0, Qb, (int)n, P, 1, 1.0, W, 1);
        } else {
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)N, (int)c, (int)n, 1.0, Qb, (int)n, W, (int)n,
                        0.0, P, (int)ldg);
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)c, (int)N, -1.0, Qb, (int)n, P,
                        (int)ldg, 1.0, W, (int)n);
        }
    }
    for (size_t j = 0; j < c; j++)
        for (size_t i = 0; i < N; i++) G[i + j * ldg] += G2[i + j * ldg];
}

static int check_args(const lr_lanczos_plan *p, lr_mat A, double tol, size_t max_steps, const char *who)
{
    if (A.rows != A.cols) LR_ERRORF(LR_EINVAL, "%s: %zux%zu is not square", who, A.rows, A.cols);
    if (A.rows == 0 || A.rows > p->max_n)
        LR_ERRORF(LR_EINVAL, "%s: n = %zu outside the plan's [1, %zu]", who, A.rows, p->max_n);
    if (!(tol > 0.0 && tol < 1.0)) LR_ERRORF(LR_EINVAL, "%s: tol = %g outside (0, 1)", who, tol);
    if (max_steps == 0) LR_ERRORF(LR_EINVAL, "%s: max_steps must be positive", who);
    return LR_OK;
}

int lr_lanczos_norm(lr_lanczos_plan *p, lr_mat A, double tol, size_t max_steps, double *norm, lr_lanczos_result *res)
{
    LR_TRY(check_args(p, A, tol, max_steps, "lr_lanczos_norm"));
    size_t n = A.rows, kmax = min_sz(min_sz(max_steps, p->kdim), n);
    *res = (lr_lanczos_result){0};
    *norm = 0.0;
    double *Q = p->Q;
    start_vector(Q, n, 0);
    cblas_dscal((int)n, 1.0 / cblas_dnrm2((int)n, Q, 1), Q, 1);
    for (size_t j = 0; j < kmax; j++) {
        size_t N = j + 1;
        double *q = Q + j * n, *w = Q + N * n;
        cblas_dsymv(CblasColMajor, CblasLower, (int)n, 1.0, A.data, (int)A.ld, q, 1, 0.0, w, 1);
        orth2(n, N, Q, w, 1, p->g, N, p->g2);
        double a = p->g[j], b = cblas_dnrm2((int)n, w, 1);
        if (!isfinite(a) || !isfinite(b)) LR_ERROR(LR_ENUMERIC, "lr_lanczos_norm: the matrix has NaN or Inf entries");
        p->al[j] = a;
        p->be[j] = b;
        res->steps = N;
        /* All Ritz values (dstev destroys its copy), then the extreme ones' eigenvectors. */
        memcpy(p->d, p->al, N * sizeof(double));
        memcpy(p->e, p->be, (N - 1) * sizeof(double));
        int s = lr_stev_values(N, p->d, p->e);
        if (s == LR_ECONV) return LR_OK; /* not converged: the caller's dense driver takes over */
        LR_TRY(s);
        double ends[2] = {p->d[0], p->d[N - 1]};
        size_t ne = N > 1 ? 2 : 1;
        s = lr_stein(N, p->al, p->be, ne, ends, p->zt, N, p->work, p->iwork);
        if (s == LR_ECONV) return LR_OK;
        LR_TRY(s);
        double r0 = b * fabs(p->zt[N - 1]), r1 = b * fabs(p->zt[N - 1 + (ne - 1) * N]);
        double L = fmax(fabs(ends[0]), fabs(ends[1])), U = fmax(fabs(ends[0]) + r0, fabs(ends[1]) + r1);
        *norm = L;
        res->bound = L > 0.0 ? (U - L) / L : (U > L ? INFINITY : 0.0);
        if (U - L <= tol * L) {
            res->converged = 1;
            return LR_OK;
        }
        /* U > L means a residual, so beta_N > 0: the next vector exists. */
        cblas_dscal((int)n, 1.0 / b, w, 1);
    }
    return LR_OK;
}

/* T[0:N, 0:N]'s lower triangle into the dense Tc (leading dimension N). */
static void copy_T(const lr_lanczos_plan *p, size_t N)
{
    for (size_t j = 0; j < N; j++)
        memcpy(p->Tc + j * N + j, p->T + j * p->cap + j, (N - j) * sizeof(double));
}

int lr_lanczos_top(lr_lanczos_plan *p, lr_mat A, size_t k, double tol, size_t max_steps, double *w, lr_mat Z,
                   lr_lanczos_result *res)
{
    LR_TRY(check_args(p, A, tol, max_steps, "lr_lanczos_top"));
    size_t n = A.rows, b = k;
    if (k == 0 || k > p->max_k || 2 * k > n)
        LR_ERRORF(LR_EINVAL, "lr_lanczos_top: k = %zu outside [1, min(plan's %zu, n / 2 = %zu)]", k, p->max_k, n / 2);
    if (Z.data && (Z.rows != n || Z.cols < k))
        LR_ERRORF(LR_EINVAL, "lr_lanczos_top: Z is %zux%zu for %zu vectors of length %zu", Z.rows, Z.cols, k, n);
    *res = (lr_lanczos_result){0};
    /* The Krylov dimension stays at most n - b, so that the next block always has room. */
    size_t Ncap = min_sz(min_sz(max_steps, p->kdim), n - b);
    Ncap -= Ncap % b;
    if (Ncap < b) return LR_OK;
    size_t ld = p->cap;
    double *Q = p->Q, *T = p->T, *R = p->R;
    for (size_t j = 0; j < Ncap + b; j++) memset(T + j * ld, 0, (Ncap + b) * sizeof(double));
    for (size_t c = 0; c < b; c++) {
        double *q = Q + c * n;
        start_vector(q, n, c);
        orth2(n, c, Q, q, 1, p->g, c, p->g2);
        cblas_dscal((int)n, 1.0 / cblas_dnrm2((int)n, q, 1), q, 1);
    }
    double scale = 0.0, disc2 = 0.0, since = 0.0;
    for (size_t J = 1;; J++) {
        size_t N = J * b, j0 = N - b;
        double *Qj = Q + j0 * n, *W = Q + N * n;
        if (b == 1)
            cblas_dsymv(CblasColMajor, CblasLower, (int)n, 1.0, A.data, (int)A.ld, Qj, 1, 0.0, W, 1);
        else /* the full matrix: dgemm beats dsymm on thin blocks (OpenBLAS 0.3.21, 2 to 8 columns) */
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)b, (int)n, 1.0, A.data, (int)A.ld, Qj,
                        (int)n, 0.0, W, (int)n);
        for (size_t c = 0; c < b; c++) {
            double nc = cblas_dnrm2((int)n, W + c * n, 1);
            if (!isfinite(nc)) LR_ERROR(LR_ENUMERIC, "lr_lanczos_top: the matrix has NaN or Inf entries");
            scale = fmax(scale, nc);
        }
        orth2(n, N, Q, W, b, p->H, N, p->H2);
        for (size_t c = 0; c < b; c++)
            for (size_t r = 0; r < b; r++)
                T[(j0 + r) + (j0 + c) * ld] = 0.5 * (p->H[(j0 + r) + c * N] + p->H[(j0 + c) + r * N]);
        /* W = Q_{J+1} B_J, column by column, dropping what is rounding noise. */
        double delta = (double)n * DBL_EPSILON * scale;
        memset(R, 0, b * b * sizeof(double));
        for (size_t c = 0; c < b; c++) {
            double *wc = W + c * n;
            orth2(n, c, W, wc, 1, R + c * b, b, p->rs);
            double nu = cblas_dnrm2((int)n, wc, 1);
            if (nu > delta) {
                R[c + c * b] = nu;
                cblas_dscal((int)n, 1.0 / nu, wc, 1);
                continue;
            }
            disc2 += nu * nu;
            res->deflated++;
            start_vector(wc, n, N + c);
            orth2(n, N + c, Q, wc, 1, p->g, N + c, p->g2);
            double nr = cblas_dnrm2((int)n, wc, 1);
            if (!(nr > 0.0)) return LR_OK; /* no room left (cannot happen below n - b) */
            cblas_dscal((int)n, 1.0 / nr, wc, 1);
        }
        for (size_t c = 0; c < b; c++)
            for (size_t r = 0; r <= c; r++) T[(N + r) + (j0 + c) * ld] = T[(j0 + c) + (N + r) * ld] = R[r + c * b];
        res->steps = N;
        /* Check when the steps since the last check cost as much as a check: the product
         * and both passes, 2 n^2 b + 8 n N b flops, against dsyevr on T, about 2 N^3 (its
         * 4/3 N^3 reduction at the lower rate of small matrices). */
        int last = N + b > Ncap;
        since += 2.0 * (double)n * (double)n * (double)b + 8.0 * (double)n * (double)N * (double)b;
        if (!(since >= 2.0 * (double)N * (double)N * (double)N || last)) continue;
        since = 0.0;
        copy_T(p, N);
        lr_mat Tc = lr_mat_wrap(p->Tc, N, N), S = lr_mat_wrap(p->S, N, k);
        int s = lr_eig_sym_top(p->teig, Tc, k, p->theta, S);
        if (s == LR_ECONV) return LR_OK;
        LR_TRY(s);
        double sc = fmax(scale, fmax(fabs(p->theta[0]), fabs(p->theta[k - 1]))), rmax = 0.0;
        for (size_t i = 0; i < k; i++) {
            const double *sl = p->S + i * N + j0; /* the last b entries of Ritz vector i */
            double acc = 0.0;
            for (size_t r = 0; r < b; r++) {
                double v = 0.0;
                for (size_t c = r; c < b; c++) v += R[r + c * b] * sl[c];
                acc += v * v;
            }
            rmax = fmax(rmax, sqrt(acc));
        }
        double bound = rmax + sqrt(disc2);
        res->bound = sc > 0.0 ? bound / sc : (bound > 0.0 ? INFINITY : 0.0);
        if (bound <= tol * sc) {
            res->converged = 1;
            if (w) memcpy(w, p->theta, k * sizeof(double));
            if (Z.data)
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, (int)N, 1.0, Q, (int)n, p->S,
                            (int)N, 0.0, Z.data, (int)Z.ld);
            return LR_OK;
        }
        if (last) return LR_OK;
    }
}
