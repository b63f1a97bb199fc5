/* whiten: truncation-aware data whitening (SVD-LLM; Wang et al. 2024; docs/theory.md section 2).
 *
 * The layer error of a replacement M is ||X~ (W - M)||_F.  If S S^T = X~^T X~ then
 *   ||X~ Z||_F^2 = tr(Z^T X~^T X~ Z) = ||S^T Z||_F^2,
 * so minimising ||X~ (W - M)||_F over rank-k M is minimising ||S^T W - S^T M||_F: by
 * Eckart-Young S^T M = [S^T W]_k.  With S^T W = U diag(s) V^T,
 *   A = S^{-T} U_k diag(s_k)   (a triangular solve, never an explicit inverse),
 *   B = V_k^T,
 * and X~ A B = [X~ W]_k when X~ has full column rank: the best rank-k approximation of the
 * uncompressed layer's response (what dd_rank computes with target X~ W instead of Y).
 *
 * Routes (recorded in lr_fit_info.route):
 *   0  Cholesky of X~^T X~ (dpotrf), S lower triangular;
 *   1  the same after adding jitter * tr(X~^T X~) / N0 to the diagonal (compress.jitter > 0,
 *      SVD-LLM's practice; it changes the problem slightly, which is why it is recorded);
 *   2  fallback: column-pivoted QR of X~ itself (dgeqp3), X~ P = Q R.  Used when Cholesky
 *      fails (X~^T X~ not numerically positive definite: dead ReLU inputs, fewer samples
 *      than inputs), or when it succeeds but the reciprocal condition number of S is below
 *      the layer's rank tolerance (then S^{-T} would amplify rounding by more than the
 *      data can resolve).  With R_q the first q rows of R (q = #{|R_ii| > rtol |R_11|}),
 *      ||X~ Z||_F = ||R_q P^T Z||_F up to the dropped rows, S^T := R_q P^T, and the
 *      solve uses the q x q upper triangle of R_q (the basic solution: Z is zero on the
 *      inputs pivoted out, which X~ cannot see).  Squaring X~ (the Gram matrix) doubles
 *      its condition number's exponent; QR of X~ does not, so the fallback is also the
 *      accurate route. */
#include <cblas.h>
#include <math.h>

#include "compress.h"
#include "core/error.h"

typedef struct whiten_mats {
    lr_mat G, T, U, VT, Z, Xc;
    double *s, *work, *tau, *tmp;
    int *jpvt;
} whiten_mats;

/* Doubles of dgeqp3's workspace (and dtrcon's integer workspace) for n0 columns. */
/* dgeqp3's workspace, as LAPACK itself answers the query (>= 3 n0 + 1, which dtrcon's n0
 * ints need too). */
static size_t whiten_lwork(size_t m, size_t n0) { return lr_geqp3_lwork(m, n0); }

/* The carve-up of one execute; plan_alloc sizes the arena by running it without one. */
static size_t whiten_carve(lr_arena *a, size_t m, size_t n0, size_t n1, whiten_mats *w)
{
    size_t mnT = n0 < n1 ? n0 : n1, need = 0;
    w->G = lr_carve_mat(a, &need, n0, n0);
    w->T = lr_carve_mat(a, &need, n0, n1);
    w->U = lr_carve_mat(a, &need, n0, mnT);
    w->VT = lr_carve_mat(a, &need, mnT, n1);
    w->s = lr_carve_vec(a, &need, mnT);
    w->work = lr_carve_vec(a, &need, whiten_lwork(m, n0));
    w->tau = lr_carve_vec(a, &need, n0);
    w->tmp = lr_carve_vec(a, &need, 3 * n0);
    w->jpvt = (int *)lr_carve_vec(a, &need, n0);
    w->Z = lr_carve_mat(a, &need, n0, mnT);
    w->Xc = lr_carve_mat(a, &need, m, n0);
    return need;
}

static const lr_key whiten_keys[] = {
    {.path = "compress.jitter", .type = LR_KEY_REAL, .def = 0, .min = 0, .max = 1,
     .doc = "whiten: relative jitter added to the diagonal of X~^T X~ before Cholesky (0: none)"},
    {0},
};

static lr_compressor_plan *whiten_plan_alloc(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg)
{
    whiten_mats w;
    size_t need = whiten_carve(NULL, max->m, max->n0, max->n1, &w);
    size_t sm = max->m > max->n0 ? max->m : max->n0;
    lr_compressor_plan *p =
        lr_compressor_plan_new(c, max, cfg, need, sm ? sm : 1, max->n1 ? max->n1 : 1, sizeof(double), 0);
    if (p)
        for (size_t pt = 0; pt < p->npoints; pt++)
            *(double *)lr_compressor_params(p, pt) = lr_compressor_key_num(c, cfg, pt, "compress.jitter");
    return p;
}

/* Factors from the SVD of T = S^T W (rows x n1) given a solver for S^T Z = U_k diag(s_k). */
static void write_B(lr_mat VT, lr_compressed *f)
{
    for (size_t c = 0; c < VT.cols; c++)
        for (size_t r = 0; r < f->k; r++) LR_AT(f->B, r, c) = LR_AT(VT, r, c);
}

static int whiten_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                          size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    (void)rng;
    size_t m = L->X.rows, n0 = L->W.rows, n1 = L->W.cols;
    double jitter = *(const double *)lr_compressor_params(p, point);
    if (!isfinite(jitter) || jitter < 0) jitter = 0.0;
    double rtol = L->rank_rtol > 0 ? L->rank_rtol : lr_rank_rtol_default(m, n0);
    lr_arena_reset(&p->arena);
    whiten_mats w;
    whiten_carve(&p->arena, m, n0, n1, &w);
    size_t mnT = n0 < n1 ? n0 : n1;
    lr_mat G = w.G, T = w.T, U = w.U, VT = w.VT, Z = w.Z, Xc = w.Xc;
    double *s = w.s, *work = w.work, *tau = w.tau, *tmp = w.tmp;
    int *jpvt = w.jpvt;
    if (!Xc.data) LR_ERROR(LR_EINVAL, "whiten: workspace too small (a sizing bug)");

    int route = 2;
    if (m >= n0) {
        /* G = X~^T X~ (lower triangle), then the Cholesky factor S in place. */
        LR_TRY(lr_gemm('T', 'N', 1.0, L->X, L->X, 0.0, G));
        if (jitter > 0) {
            double tr = 0;
            for (size_t i = 0; i < n0; i++) tr += LR_AT(G, i, i);
            for (size_t i = 0; i < n0; i++) LR_AT(G, i, i) += jitter * tr / (double)n0;
        }
        int st = lr_potrf_lower(G);
        if (st == LR_OK) {
            double rcond = 0;
            LR_TRY(lr_trcon_lower(G, &rcond, tmp, (int *)work));
            if (rcond >= rtol) route = jitter > 0 ? 1 : 0;
        } else if (st != LR_ESINGULAR) {
            return st; /* not positive definite: the QR route below */
        }
    }
    size_t kmax_avail;
    if (route != 2) {
        /* T = S^T W, S lower triangular in G. */
        lr_mat_copy(T, L->W);
        cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)n0, (int)n1, 1.0,
                    G.data, (int)G.ld, T.data, (int)T.ld);
        LR_TRY(lr_svd(p->svd, T, s, U, VT, &info->svd_fallback));
        kmax_avail = mnT;
        /* Z = S^{-T} U diag(s) for the largest rank; smaller ranks are its leading columns. */
        size_t kmax = 0;
        for (size_t i = 0; i < nranks; i++) kmax = ranks[i] > kmax ? ranks[i] : kmax;
        if (kmax > kmax_avail) kmax = kmax_avail;
        for (size_t j = 0; j < kmax; j++)
            for (size_t i = 0; i < n0; i++) LR_AT(Z, i, j) = LR_AT(U, i, j) * s[j];
        if (kmax)
            cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)n0, (int)kmax, 1.0,
                        G.data, (int)G.ld, Z.data, (int)Z.ld);
    } else {
        /* X~ P = Q R with column pivoting; q = numerical rank read off R's diagonal. */
        lr_mat_copy(Xc, L->X);
        for (size_t i = 0; i < n0; i++) jpvt[i] = 0;
        LR_TRY(lr_geqp3(Xc, jpvt, tau, work, whiten_lwork(m, n0)));
        size_t mn = m < n0 ? m : n0, q = 0;
        double r11 = mn ? fabs(LR_AT(Xc, 0, 0)) : 0.0;
        while (q < mn && fabs(LR_AT(Xc, q, q)) > rtol * r11) q++;
        /* T = R_q (P^T W): row i of P^T W is row jpvt[i] - 1 of W. */
        lr_mat Tq = lr_mat_view(T, 0, 0, q, n1);
        for (size_t c = 0; c < n1; c++)
            for (size_t i = 0; i < q; i++) {
                double acc = 0;
                for (size_t j = i; j < n0; j++) acc += LR_AT(Xc, i, j) * LR_AT(L->W, (size_t)jpvt[j] - 1, c);
                LR_AT(Tq, i, c) = acc;
            }
        size_t mnq = q < n1 ? q : n1;
        kmax_avail = mnq;
        lr_mat Uq = lr_mat_view(U, 0, 0, q, mnq), VTq = lr_mat_view(VT, 0, 0, mnq, n1);
        if (q) LR_TRY(lr_svd(p->svd, Tq, s, Uq, VTq, &info->svd_fallback));
        size_t kmax = 0;
        for (size_t i = 0; i < nranks; i++) kmax = ranks[i] > kmax ? ranks[i] : kmax;
        if (kmax > kmax_avail) kmax = kmax_avail;
        /* Solve R11 Zp = U_k diag(s_k) (q x q upper triangle), then scatter rows by P. */
        lr_mat Zp = lr_mat_view(G, 0, 0, q, kmax ? kmax : 1);
        for (size_t j = 0; j < kmax; j++)
            for (size_t i = 0; i < q; i++) LR_AT(Zp, i, j) = LR_AT(Uq, i, j) * s[j];
        if (kmax && q)
            cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, (int)q, (int)kmax, 1.0,
                        Xc.data, (int)Xc.ld, Zp.data, (int)Zp.ld);
        for (size_t j = 0; j < kmax; j++) {
            for (size_t i = 0; i < n0; i++) LR_AT(Z, i, j) = 0.0;
            for (size_t i = 0; i < q; i++) LR_AT(Z, (size_t)jpvt[i] - 1, j) = LR_AT(Zp, i, j);
        }
    }
    info->route = route;
    for (size_t i = 0; i < nranks; i++) {
        size_t k = ranks[i] < kmax_avail ? ranks[i] : kmax_avail;
        lr_factors_set_rank(&out[i], k);
        for (size_t j = 0; j < k; j++)
            for (size_t r = 0; r < n0; r++) LR_AT(out[i].A, r, j) = LR_AT(Z, r, j);
        write_B(VT, &out[i]);
    }
    for (size_t i = 0; i < nranks; i++)
        if (!lr_mat_all_finite(lr_mat_view(out[i].A, 0, 0, n0, out[i].k)))
            LR_ERRORF(LR_ENUMERIC, "whiten: non-finite factors (route %d)", route);
    return LR_OK;
}

const lr_compressor lr_compressor_whiten = {
    .name = "whiten",
    .description = "data-aware: SVD of S^T W with S S^T = X~^T X~ (SVD-LLM), Cholesky or pivoted-QR fallback",
    .data_driven = 1,
    .keys = whiten_keys,
    .plan_alloc = whiten_plan_alloc,
    .execute = whiten_execute,
    .plan_free = lr_compressor_plan_release,
    .nested = 1,
    .optimal = LR_OPTIMAL_LAYER,
};
