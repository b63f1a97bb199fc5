/* rsvd_w: data-agnostic randomized truncated SVD of the weights, M ~ [W]_k.
 *
 * Halko, Martinsson and Tropp, "Finding structure with randomness: probabilistic
 * algorithms for constructing approximate matrix decompositions", SIAM Review 53(2),
 * 2011.  Stage A is their Algorithm 4.4 (randomized subspace iteration), stage B their
 * Algorithm 5.1 (direct SVD), followed by truncation to rank k (their section 9.3):
 *
 *   l = min(k + p, min(N0, N1))                      p = compress.rsvd.oversample
 *   Omega: N1 x l, i.i.d. N(0, 1)
 *   Q_0 R_0 = W Omega                                (QR: dgeqrf + dorgqr)
 *   for j = 1 .. q:                                  q = compress.rsvd.power_iters
 *       Q~_j R~_j = W^T Q_{j-1},   Q_j R_j = W Q~_j  (re-orthonormalised at every step, so
 *                                                     the columns do not all collapse onto
 *                                                     the top singular vector in rounding)
 *   B = Q^T W (l x N1) = Ub S V^T,   A = Q Ub_k S_k (N0 x k),   B_k = V_k^T.
 *
 * What it guarantees (HMT Theorem 10.5 and section 9.3): for q = 0 and p >= 2,
 *   E ||(I - Q Q^T) W||_F^2 <= (1 + k / (p - 1)) tau_k(W)^2,   tau_k^2 = sum_{j>k} sigma_j^2,
 * and since ||W - Q [B]_k||_F^2 = ||(I - Q Q^T) W||_F^2 + ||B - [B]_k||_F^2 with
 * sigma_j(B) <= sigma_j(W),
 *   E ||W - M||_F^2 <= (2 + k / (p - 1)) tau_k(W)^2.
 * Power iterations apply the method to (W W^T)^q W, whose singular values decay like
 * sigma_j^(2q+1): for a decaying spectrum the error is then close to the optimum tau_k.
 * When rank W <= l (in particular rank W <= k), range(W Omega) = range(W) with probability
 * one and M is the exact truncation [W]_k up to rounding.
 *
 * Randomness: Omega is drawn column by column from the compressor's own stream (see
 * compress.h), once per execute with the largest l of the requested ranks; rank k uses its
 * first k + p columns.  So the rank-k result does not depend on which other ranks were
 * requested, but the results at different ranks come from different sketches: the
 * compressor is not nested (the rank-k factors are not the leading part of the rank-k'
 * ones), and it is not optimal in any norm.  It uses W only (gram_ok). */
#include <gsl/gsl_randist.h>
#include <lapacke.h>

#include "compress.h"
#include "core/error.h"

typedef struct rsvd_params {
    int oversample, power_iters;
} rsvd_params;

typedef struct rsvd_mats {
    lr_mat Om, Y, Yt, B, Ub, VbT;
    double *tau, *s, *work;
} rsvd_mats;

/* Doubles of LAPACK workspace for the QRs (dgeqrf and dorgqr of up to rows x l, queried). */
static size_t rsvd_lwork(size_t rows, size_t l)
{
    if (!rows || !l) return 1;
    double q1 = 0, q2 = 0, a = 0, t = 0;
    lapack_int r = (lapack_int)rows, c = (lapack_int)l;
    if (LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, r, c, &a, r, &t, &q1, -1) != 0) q1 = 0;
    if (LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, r, c, c, &a, r, &t, &q2, -1) != 0) q2 = 0;
    double q = q1 > q2 ? q1 : q2;
    return q > (double)l ? (size_t)q : l;
}

/* The carve-up of one execute with sketch size l; plan_alloc sizes the arena by running it
 * without one at l = min(N0, N1). */
static size_t rsvd_carve(lr_arena *a, size_t n0, size_t n1, size_t l, size_t lwork, rsvd_mats *w)
{
    size_t need = 0;
    w->Om = lr_carve_mat(a, &need, n1, l);
    w->Y = lr_carve_mat(a, &need, n0, l);
    w->Yt = lr_carve_mat(a, &need, n1, l);
    w->B = lr_carve_mat(a, &need, l, n1);
    w->Ub = lr_carve_mat(a, &need, l, l);
    w->VbT = lr_carve_mat(a, &need, l, n1);
    w->tau = lr_carve_vec(a, &need, l);
    w->s = lr_carve_vec(a, &need, l);
    w->work = lr_carve_vec(a, &need, lwork);
    return need;
}

static const lr_key rsvd_keys[] = {
    {.path = "compress.rsvd.oversample", .type = LR_KEY_INT, .sweepable = 1, .def = 10, .min = 0, .max = 1e6,
     .doc = "rsvd_w: oversampling p, sketch size k + p (HMT's bound needs p >= 2)"},
    {.path = "compress.rsvd.power_iters", .type = LR_KEY_INT, .sweepable = 1, .def = 2, .min = 0, .max = 1000,
     .doc = "rsvd_w: power iterations q, each re-orthonormalised (HMT Algorithm 4.4)"},
    {0},
};

static lr_compressor_plan *rsvd_plan_alloc(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg)
{
    size_t n0 = max->n0, n1 = max->n1, mn = n0 < n1 ? n0 : n1, rows = n0 > n1 ? n0 : n1;
    rsvd_mats w;
    size_t lwork = rsvd_lwork(rows, mn);
    size_t need = rsvd_carve(NULL, n0, n1, mn, lwork, &w);
    lr_compressor_plan *p =
        lr_compressor_plan_new(c, max, cfg, need, mn ? mn : 1, n1 ? n1 : 1, sizeof(rsvd_params), 0);
    if (!p) return NULL;
    for (size_t pt = 0; pt < p->npoints; pt++) {
        rsvd_params *v = lr_compressor_params(p, pt);
        v->oversample = (int)lr_compressor_key_num(c, cfg, pt, "compress.rsvd.oversample");
        v->power_iters = (int)lr_compressor_key_num(c, cfg, pt, "compress.rsvd.power_iters");
    }
    return p;
}

/* A := Q of A's thin QR (rows x l, rows >= l). */
static int orthonormalise(lr_mat A, double *tau, double *work, size_t lwork)
{
    lapack_int r = (lapack_int)A.rows, c = (lapack_int)A.cols, ld = (lapack_int)A.ld;
    lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, r, c, A.data, ld, tau, work, (lapack_int)lwork);
    if (info != 0) LR_ERRORF(LR_ELAPACK, "rsvd_w: dgeqrf: argument %d is illegal", (int)-info);
    info = LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, r, c, c, A.data, ld, tau, work, (lapack_int)lwork);
    if (info != 0) LR_ERRORF(LR_ELAPACK, "rsvd_w: dorgqr: argument %d is illegal", (int)-info);
    return LR_OK;
}

/* One rank: stage A on the first l columns of Omega, stage B, truncation to k. */
static int rsvd_rank(lr_compressor_plan *p, const lr_layer *L, const rsvd_mats *w, size_t lwork, size_t l, size_t k,
                     int q, lr_compressed *out, lr_fit_info *info)
{
    size_t n0 = L->W.rows, n1 = L->W.cols;
    lr_mat Om = lr_mat_view(w->Om, 0, 0, n1, l), Y = lr_mat_view(w->Y, 0, 0, n0, l);
    lr_mat Yt = lr_mat_view(w->Yt, 0, 0, n1, l), B = lr_mat_view(w->B, 0, 0, l, n1);
    lr_mat Ub = lr_mat_view(w->Ub, 0, 0, l, l), VbT = lr_mat_view(w->VbT, 0, 0, l, n1);
    LR_TRY(lr_gemm('N', 'N', 1.0, L->W, Om, 0.0, Y));
    LR_TRY(orthonormalise(Y, w->tau, w->work, lwork));
    for (int j = 0; j < q; j++) {
        LR_TRY(lr_gemm('T', 'N', 1.0, L->W, Y, 0.0, Yt));
        LR_TRY(orthonormalise(Yt, w->tau, w->work, lwork));
        LR_TRY(lr_gemm('N', 'N', 1.0, L->W, Yt, 0.0, Y));
        LR_TRY(orthonormalise(Y, w->tau, w->work, lwork));
    }
    LR_TRY(lr_gemm('T', 'N', 1.0, Y, L->W, 0.0, B));
    int fb = 0;
    LR_TRY(lr_svd(p->svd, B, w->s, Ub, VbT, &fb));
    info->svd_fallback |= fb;
    /* A = Q Ub_k diag(s_k), B_k = Vb_k^T. */
    lr_factors_set_rank(out, k);
    if (k) LR_TRY(lr_gemm('N', 'N', 1.0, Y, lr_mat_view(Ub, 0, 0, l, k), 0.0, out->A));
    lr_mat_scale_cols(out->A, w->s);
    for (size_t c = 0; c < n1; c++)
        for (size_t r = 0; r < k; r++) LR_AT(out->B, r, c) = LR_AT(VbT, r, c);
    return LR_OK;
}

static int rsvd_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks, size_t nranks,
                        lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    const rsvd_params *v = lr_compressor_params(p, point);
    size_t n0 = L->W.rows, n1 = L->W.cols, mn = n0 < n1 ? n0 : n1;
    size_t over = (size_t)v->oversample, lmax = 0;
    for (size_t i = 0; i < nranks; i++) {
        size_t k = ranks[i] < mn ? ranks[i] : mn, l = k ? (k + over < mn ? k + over : mn) : 0;
        if (l > lmax) lmax = l;
    }
    /* The QR workspace for this shape (a query, no allocation; at most the plan's). */
    size_t lwork = rsvd_lwork(n0 > n1 ? n0 : n1, lmax);
    lr_arena_reset(&p->arena);
    rsvd_mats w;
    rsvd_carve(&p->arena, n0, n1, lmax, lwork, &w);
    if (!w.work) LR_ERROR(LR_EINVAL, "rsvd_w: workspace too small (a sizing bug)");
    /* Omega column by column: the first l columns do not depend on lmax. */
    for (size_t j = 0; j < lmax; j++)
        for (size_t i = 0; i < n1; i++) LR_AT(w.Om, i, j) = gsl_ran_gaussian_ziggurat(rng, 1.0);
    info->route = 0;
    for (size_t i = 0; i < nranks; i++) {
        size_t k = ranks[i] < mn ? ranks[i] : mn, l = k ? (k + over < mn ? k + over : mn) : 0;
        if (!k) {
            lr_factors_set_rank(&out[i], 0);
            continue;
        }
        LR_TRY(rsvd_rank(p, L, &w, lwork, l, k, v->power_iters, &out[i], info));
    }
    return LR_OK;
}

const lr_compressor lr_compressor_rsvd_w = {
    .name = "rsvd_w",
    .description = "data-agnostic: randomized truncated SVD of the weights, oversampling p and q power "
                   "iterations (Halko-Martinsson-Tropp 2011)",
    .data_driven = 0,
    .keys = rsvd_keys,
    .plan_alloc = rsvd_plan_alloc,
    .execute = rsvd_execute,
    .plan_free = lr_compressor_plan_release,
    .gram_ok = 1,
    .randomised = 1,
};
