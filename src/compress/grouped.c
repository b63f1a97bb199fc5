/* ALDS's per-layer kernel (grouped.h): the SVDs of a layer's channel groups, the bounds
 * on the error of their truncations, and the true error by power iteration.
 *
 * Liebenwein, Maalouf, Gal, Feldman, Rus, "Compressing Neural Networks: Towards
 * Determining the Optimal Layer-wise Decomposition" (NeurIPS 2021); docs/theory.md section 4.
 *
 * The maths, in lrlab's orientation (W is N0 x N1; grouped.h):
 *   W = [W_1; ...; W_k] (k row blocks of whole input channels), W^ = [[W_1]_j; ...; [W_k]_j],
 *   E = W^ - W = [E_1; ...; E_k], E_i = [W_i]_j - W_i.
 *   Eckart-Young-Mirsky per group: ||E_i||_2 = alpha_{i,j+1} (0 once j reaches W_i's rank).
 *   Lower bound: a row block's norm is at most the whole matrix's, so
 *       ||E||_2 >= max_i ||E_i||_2 = max_i alpha_{i,j+1}.
 *   Upper bounds: ||E v||^2 = sum_i ||E_i v||^2 <= sum_i alpha_{i,j+1}^2 ||v||^2, so
 *       ||E||_2 <= (sum_i alpha_{i,j+1}^2)^{1/2} <= sqrt(k) max_i alpha_{i,j+1}.
 *   Dividing by alpha_1 = ||W||_2 gives docs/theory.md's chain for eps = ||E||_2 / ||W||_2; at
 *   k = 1 all three are sigma_{j+1}(W) / sigma_1(W) = eps.
 *
 * The true error.  eps^2 alpha_1^2 is the largest eigenvalue of E^T E = sum_i E_i^T E_i
 * (N1 x N1; docs/theory.md's sum_i E_i E_i^T in its transposed orientation).  E_i is the tail
 * of W_i's SVD, E_i = -U_i,t diag(alpha_i,t) V_i,t^T over the indices t > j, and U_i's
 * columns are orthonormal, so
 *       E_i^T E_i = T_i^T T_i,   T_i = diag(alpha_i,t) V_i,t^T = rows j+1 .. mn of B-side
 * storage diag(alpha_i) V_i^T (what lr_alds_spectra.SVT holds).  The power iteration
 * applies E^T E as w = sum_i T_i^T (T_i v): 4 (k (mn - j)) N1 flops per product, no U, no
 * E, no N1 x N1 matrix.  lr_alds_error_dense is the plain reference: E = W - W^ formed,
 * applied as E then E^T (4 N0 N1 flops per product); the tests check one against the
 * other and both against the exact ||E||_2 from LAPACK.
 *
 * The start vector is the top right singular vector of E_{i*}, the group with the largest
 * alpha_{i,j+1}: v_0 = V_{i*}[:, j+1], a row of SVT.  Its Rayleigh quotient
 *       v_0^T E^T E v_0 = sum_i ||E_i v_0||^2 >= ||E_{i*} v_0||^2 = alpha_{i*,j+1}^2,
 * and the Rayleigh quotients r_t = v_t^T M v_t of the power iteration v_{t+1} = M v_t /
 * ||M v_t|| never decrease for a positive semidefinite M (r_{t+1} = m_3 / m_2 >= m_2 / m_1
 * = r_t for the moments m_p = v_0^T M^p v_0 of a nonnegative spectral measure), while
 * each is at most the largest eigenvalue.  So every estimate lies between the lower bound
 * and the true eps, up to rounding: it approaches the truth from below.
 *
 * Stopping rule (tol is relative, on eps).  Late in the iteration the increments
 * d_t = r_t - r_{t-1} shrink geometrically, d_t ~ q d_{t-1} with q = (lambda_2 /
 * lambda_1)^2, so the increase still to come is about d_t q / (1 - q).  The iteration
 * stops when that, as a relative increase of eps = sqrt(r) / alpha_1, is at most tol
 * (q from the last two increments, when 0 < q < 1), or when r stops increasing (d_t <= 0:
 * an eigenvector to rounding).  A plain rule d_t <= tol r would leave an error about
 * 1 / (1 - q) times larger than tol when lambda_2 is close to lambda_1, as it is when two
 * groups have nearly equal alpha_{i,j+1}.  On every (k <= 16, j < mn) of the shipped
 * layers (data/, 1449 of them) at tol = 1e-10 the extrapolated rule left a relative error of
 * at most 1.74 tol, always from below.  As for any power iteration, a start with almost no
 * component along the top eigenvector could make the increments look converged early.
 *
 * Cost: the iteration count grows like log(tol) / log(q) and q is close to 1 when groups'
 * tails are alike, so tabulating the true error of every (k, j) of a wide layer is
 * expensive: fashion_cnn's 392 x 512 layer (k = 1, 2, 4, 7, 8, 14: 825 rows) takes about
 * 2.5e5 products at tol = 1e-10, 9 to 13 s on one core of the development machine, while
 * its bounds need only the singular values (0.13 to 0.22 s). */
#include "compress/grouped.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/linalg.h"

struct lr_grouped_plan {
    size_t max_n0, max_n1;
    lr_svd_plan *svd;
    double *wc;      /* max_n0 x max_n1: a group's copy for LAPACK; the dense reference's E */
    double *alpha;   /* max_n0: every group's singular values (k mn <= N0) */
    double *u;       /* max_n0 x min(max_n0, max_n1): the stacked U_i */
    double *svt;     /* max_n0 x max_n1: the stacked diag(alpha_i) V_i^T (k mn <= N0 rows) */
    double *v, *w;   /* max_n1: the power iteration's vectors */
    double *y;       /* max_n0: T v (or E v), and lr_alds_norm's singular values */
    size_t *start;   /* max_n0 + 1: the group boundaries of lr_alds_factors */
    lr_mat *ga, *gb; /* max_n0: the factor views of lr_alds_factors */
};

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

void lr_grouped_plan_free(lr_grouped_plan *p)
{
    if (!p) return;
    lr_svd_plan_free(p->svd);
    lr_free(p->wc), lr_free(p->alpha), lr_free(p->u), lr_free(p->svt);
    lr_free(p->v), lr_free(p->w), lr_free(p->y);
    lr_free(p->start), lr_free(p->ga), lr_free(p->gb);
    lr_free(p);
}

lr_grouped_plan *lr_grouped_plan_alloc(size_t max_n0, size_t max_n1)
{
    if (max_n0 == 0 || max_n1 == 0) LR_ERROR_NULL(LR_EINVAL, "lr_grouped_plan_alloc: empty layer %zux%zu", max_n0, max_n1);
    lr_grouped_plan *p = lr_calloc(1, sizeof *p);
    if (!p) LR_ERROR_NULL(LR_ENOMEM, "out of memory for an ALDS plan of %zux%zu", max_n0, max_n1);
    p->max_n0 = max_n0, p->max_n1 = max_n1;
    size_t d = sizeof(double);
    p->svd = lr_svd_plan_alloc(max_n0, max_n1);
    p->wc = lr_malloc(max_n0 * max_n1 * d);
    p->alpha = lr_malloc(max_n0 * d);
    p->u = lr_malloc(max_n0 * min_sz(max_n0, max_n1) * d);
    p->svt = lr_malloc(max_n0 * max_n1 * d);
    p->v = lr_malloc(max_n1 * d), p->w = lr_malloc(max_n1 * d), p->y = lr_malloc(max_n0 * d);
    p->start = lr_malloc((max_n0 + 1) * sizeof *p->start);
    p->ga = lr_malloc(max_n0 * sizeof *p->ga), p->gb = lr_malloc(max_n0 * sizeof *p->gb);
    if (!p->svd || !p->wc || !p->alpha || !p->u || !p->svt || !p->v || !p->w || !p->y || !p->start || !p->ga ||
        !p->gb) {
        lr_grouped_plan_free(p);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for an ALDS plan of %zux%zu", max_n0, max_n1);
    }
    return p;
}

static int check_layer(const lr_grouped_plan *p, lr_mat W, const char *who)
{
    if (W.rows == 0 || W.cols == 0 || !W.data) LR_ERRORF(LR_EINVAL, "%s: empty layer %zux%zu", who, W.rows, W.cols);
    if (W.rows > p->max_n0 || W.cols > p->max_n1)
        LR_ERRORF(LR_EINVAL, "%s: W %zux%zu exceeds the plan's %zux%zu", who, W.rows, W.cols, p->max_n0, p->max_n1);
    return LR_OK;
}

int lr_alds_norm(lr_grouped_plan *p, lr_mat W, double *alpha1)
{
    LR_TRY(check_layer(p, W, "lr_alds_norm"));
    lr_mat Wc = lr_mat_wrap(p->wc, W.rows, W.cols);
    lr_mat_copy(Wc, W);
    return lr_norm_op(p->svd, Wc, p->y, alpha1, NULL);
}

int lr_alds_spectra_compute(lr_grouped_plan *p, lr_mat W, size_t c, size_t k, double alpha1, int vectors,
                            lr_alds_spectra *s)
{
    LR_TRY(check_layer(p, W, "lr_alds_spectra_compute"));
    size_t n0 = W.rows, n1 = W.cols;
    if (c == 0 || n0 % c)
        LR_ERRORF(LR_EINVAL, "lr_alds_spectra_compute: %zu input channels do not divide N0 = %zu", c, n0);
    if (k == 0 || c % k)
        LR_ERRORF(LR_EINVAL, "lr_alds_spectra_compute: k = %zu groups do not divide c = %zu channels", k, c);
    if (!(alpha1 >= 0) || !isfinite(alpha1))
        LR_ERRORF(LR_EINVAL, "lr_alds_spectra_compute: alpha1 = %g is not a norm", alpha1);
    size_t rows = n0 / k, mn = min_sz(rows, n1);
    *s = (lr_alds_spectra){.n0 = n0, .n1 = n1, .c = c, .k = k, .rows = rows, .mn = mn, .alpha1 = alpha1,
                           .alpha = p->alpha, .vectors = vectors != 0};
    lr_mat none = {NULL, 0, 0, 1};
    s->U = vectors ? (lr_mat){p->u, n0, mn, n0} : none;
    s->SVT = vectors ? (lr_mat){p->svt, k * mn, n1, k * mn} : none;
    lr_mat Wc = lr_mat_wrap(p->wc, rows, n1);
    for (size_t i = 0; i < k; i++) {
        double *a = p->alpha + i * mn;
        lr_mat_copy(Wc, lr_mat_view(W, i * rows, 0, rows, n1)); /* lr_svd destroys its input */
        lr_mat Ui = vectors ? lr_mat_view(s->U, i * rows, 0, rows, mn) : none;
        lr_mat VTi = vectors ? lr_mat_view(s->SVT, i * mn, 0, mn, n1) : none;
        int fb = 0;
        LR_TRY(lr_svd(p->svd, Wc, a, Ui, VTi, &fb));
        s->svd_fallbacks += (size_t)fb;
        /* B-side storage diag(alpha_i) V_i^T: row t of the block scaled by alpha_{i,t+1}. */
        for (size_t t = 0; vectors && t < mn; t++) cblas_dscal((int)n1, a[t], VTi.data + t, (int)VTi.ld);
    }
    return LR_OK;
}

/* The three bounds from max_i a_i and sum_i a_i^2 (the one place their formulas are). */
static double bound_from(lr_alds_bound_kind which, double mx, double ss, size_t k, double alpha1)
{
    switch (which) {
    case LR_ALDS_LOWER: return mx / alpha1;
    case LR_ALDS_L2: return sqrt(ss) / alpha1;
    case LR_ALDS_SQRTK: return sqrt((double)k) * mx / alpha1;
    }
    return NAN;
}

double lr_alds_bound_of(lr_alds_bound_kind which, const double *alpha_next, size_t k, double alpha1)
{
    if (!alpha_next || k == 0) return NAN;
    double mx = 0.0, ss = 0.0;
    for (size_t i = 0; i < k; i++) {
        double a = alpha_next[i];
        if (!(a >= 0)) return NAN; /* singular values: a NaN or negative one is a caller's bug */
        mx = a > mx ? a : mx;
        ss += a * a;
    }
    return bound_from(which, mx, ss, k, alpha1);
}

void lr_alds_alpha_next(const lr_alds_spectra *s, size_t j, double *alpha_next)
{
    for (size_t i = 0; i < s->k; i++) alpha_next[i] = j < s->mn ? s->alpha[i * s->mn + j] : 0.0;
}

double lr_alds_bound(const lr_alds_spectra *s, size_t j, lr_alds_bound_kind which)
{
    if (j > s->mn) return NAN;
    double mx = 0.0, ss = 0.0;
    for (size_t i = 0; i < s->k && j < s->mn; i++) {
        double a = s->alpha[i * s->mn + j];
        mx = a > mx ? a : mx;
        ss += a * a;
    }
    return bound_from(which, mx, ss, s->k, s->alpha1);
}

size_t lr_alds_params(size_t n0, size_t n1, size_t k, size_t j) { return j * (k * n1 + n0); }

int lr_alds_stays_dense(size_t n0, size_t n1, size_t k, size_t j) { return lr_alds_params(n0, n1, k, j) >= n0 * n1; }

int lr_alds_factors(lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, lr_compressed *out)
{
    if (!s->vectors || s->U.data != p->u || s->SVT.data != p->svt)
        LR_ERROR(LR_EINVAL, "lr_alds_factors: the spectra need vectors, computed by this plan");
    if (j > s->mn) LR_ERRORF(LR_EINVAL, "lr_alds_factors: rank %zu exceeds the groups' %zu", j, s->mn);
    for (size_t i = 0; i < s->k; i++) {
        p->start[i] = i * s->rows;
        p->ga[i] = lr_mat_view(s->U, i * s->rows, 0, s->rows, j);
        p->gb[i] = lr_mat_view(s->SVT, i * s->mn, 0, j, s->n1);
    }
    p->start[s->k] = s->n0;
    return lr_compressed_grouped(out, LR_GROUP_INPUT, s->n0, s->n1, s->k, p->start, p->ga, p->gb);
}

/* ---- the true error ---- */

/* One product w = M v with M = E^T E, and r = v^T M v = ||E v||^2 (v of unit norm). */
typedef void alds_op(const lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, lr_mat E, const double *v,
                     double *w, double *r);

/* The fast path: w = sum_i T_i^T (T_i v), T_i the rows j .. mn - 1 of group i's block of SVT. */
static void op_tails(const lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, lr_mat E, const double *v,
                     double *w, double *r)
{
    (void)E;
    int t = (int)(s->mn - j), n1 = (int)s->n1, ld = (int)s->SVT.ld;
    double rr = 0.0;
    for (size_t i = 0; i < s->k; i++) {
        const double *Ti = s->SVT.data + i * s->mn + j;
        cblas_dgemv(CblasColMajor, CblasNoTrans, t, n1, 1.0, Ti, ld, v, 1, 0.0, p->y, 1);
        rr += cblas_ddot(t, p->y, 1, p->y, 1);
        cblas_dgemv(CblasColMajor, CblasTrans, t, n1, 1.0, Ti, ld, p->y, 1, i ? 1.0 : 0.0, w, 1);
    }
    *r = rr;
}

/* The plain reference: y = E v, w = E^T y with E formed. */
static void op_dense(const lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, lr_mat E, const double *v,
                     double *w, double *r)
{
    (void)s, (void)j;
    int m = (int)E.rows, n = (int)E.cols, ld = (int)E.ld;
    cblas_dgemv(CblasColMajor, CblasNoTrans, m, n, 1.0, E.data, ld, v, 1, 0.0, p->y, 1);
    *r = cblas_ddot(m, p->y, 1, p->y, 1);
    cblas_dgemv(CblasColMajor, CblasTrans, m, n, 1.0, E.data, ld, p->y, 1, 0.0, w, 1);
}

/* eps exact without iterating: no tail (j = mn) or a zero one.  Otherwise 0, with p->v set
 * to the start vector (the unit row j of SVT in the group of the largest alpha_{i,j+1}). */
static int error_start(lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, lr_alds_error_info *info)
{
    *info = (lr_alds_error_info){.eps = 0.0 / s->alpha1, .iterations = 0, .converged = 1, .remaining = 0.0};
    if (j == s->mn) return 1;
    size_t best = 0;
    for (size_t i = 1; i < s->k; i++)
        if (s->alpha[i * s->mn + j] > s->alpha[best * s->mn + j]) best = i;
    if (!(s->alpha[best * s->mn + j] > 0)) return 1;
    int n1 = (int)s->n1, ld = (int)s->SVT.ld;
    const double *row = s->SVT.data + best * s->mn + j;
    cblas_dcopy(n1, row, ld, p->v, 1);
    cblas_dscal(n1, 1.0 / cblas_dnrm2(n1, p->v, 1), p->v, 1);
    return 0;
}

static void power_iterate(lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, lr_mat E, alds_op *op, double tol,
                          int max_iter, lr_alds_error_info *info)
{
    int n1 = (int)s->n1;
    double best = 0.0, prev = 0.0, dprev = 0.0, remaining = NAN;
    int converged = 0, it;
    for (it = 1; it <= max_iter; it++) {
        double r;
        op(p, s, j, E, p->v, p->w, &r);
        if (r > best) best = r;
        if (it >= 2) {
            double d = r - prev;
            if (!(d > 0)) { /* no increase: an eigenvector, to rounding */
                converged = 1, remaining = 0.0;
                break;
            }
            if (it >= 3) {
                double q = d / dprev;
                remaining = NAN;
                if (q > 0 && q < 1) {
                    /* Increase of r still to come, relative, then as an increase of sqrt(r). */
                    double rel = d * q / (1.0 - q) / r;
                    remaining = rel / (sqrt(1.0 + rel) + 1.0);
                    if (remaining <= tol) {
                        converged = 1;
                        break;
                    }
                }
            }
            dprev = d;
        }
        prev = r;
        double nw = cblas_dnrm2(n1, p->w, 1);
        if (!(nw > 0)) { /* M v = 0, so r = 0 = the largest eigenvalue along this start */
            converged = 1, remaining = 0.0;
            break;
        }
        cblas_dcopy(n1, p->w, 1, p->v, 1);
        cblas_dscal(n1, 1.0 / nw, p->v, 1);
    }
    info->iterations = it > max_iter ? max_iter : it;
    info->converged = converged;
    info->remaining = remaining;
    info->eps = sqrt(best) / s->alpha1;
}

static int check_error_args(const lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, double tol, int max_iter,
                            const char *who)
{
    if (!s->vectors || s->SVT.data != p->svt)
        LR_ERRORF(LR_EINVAL, "%s: the spectra need vectors, computed by this plan", who);
    if (j > s->mn) LR_ERRORF(LR_EINVAL, "%s: rank %zu exceeds the groups' %zu", who, j, s->mn);
    if (!(tol >= 0) || max_iter < 1)
        LR_ERRORF(LR_EINVAL, "%s: tolerance %g must be >= 0 and max_iter %d >= 1", who, tol, max_iter);
    return LR_OK;
}

int lr_alds_error(lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, double tol, int max_iter,
                  lr_alds_error_info *info)
{
    LR_TRY(check_error_args(p, s, j, tol, max_iter, "lr_alds_error"));
    if (error_start(p, s, j, info)) return LR_OK;
    lr_mat none = {NULL, 0, 0, 1};
    power_iterate(p, s, j, none, op_tails, tol, max_iter, info);
    return LR_OK;
}

int lr_alds_error_dense(lr_grouped_plan *p, const lr_alds_spectra *s, size_t j, lr_mat W, lr_mat What, double tol,
                        int max_iter, lr_alds_error_info *info)
{
    LR_TRY(check_error_args(p, s, j, tol, max_iter, "lr_alds_error_dense"));
    if (W.rows != s->n0 || W.cols != s->n1 || What.rows != s->n0 || What.cols != s->n1)
        LR_ERRORF(LR_EINVAL, "lr_alds_error_dense: W %zux%zu and What %zux%zu, the spectra's layer %zux%zu", W.rows,
                  W.cols, What.rows, What.cols, s->n0, s->n1);
    if (error_start(p, s, j, info)) return LR_OK;
    lr_mat E = lr_mat_wrap(p->wc, s->n0, s->n1);
    lr_mat_copy(E, W);
    lr_mat_axpy(-1.0, What, E);
    power_iterate(p, s, j, E, op_dense, tol, max_iter, info);
    return LR_OK;
}
