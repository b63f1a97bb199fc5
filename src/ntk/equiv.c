/* Equivalent kernels of deep wide networks on Gaussian-mixture data (docs/theory.md section 5;
 * Gu, Du, Zhang, Xie, Pu, Qiu, Liao, NeurIPS 2022, whose equivalence theorems build on Liao and
 * Couillet 2018, "On the spectrum of random features maps of high dimensional data", and
 * Fan and Wang 2020).  equiv.h states the kernels and the two places where lrlab offers an
 * alternative to docs/theory.md as printed; this comment derives what the code relies on.
 *
 * Where the recursion comes from.  A layer maps an input kernel K (entries K_ii = tau^2 +
 * delta_i, K_ij small for i != j) to E[sigma_c(u) sigma_c(v)], (u, v) ~ N(0, [[K_ii, K_ij],
 * [K_ij, K_jj]]).  To second order in (delta_i, delta_j, K_ij), with the expectations at
 * tau xi (Gaussian integration by parts: d/d(tau^2) E f(tau xi) = E f''(tau xi) / 2, and
 * Price's theorem d/dK_ij E[f(u) g(v)] = E[f'(u) g'(v)]):
 *   off the diagonal:  d1^2 K_ij + (d2^2 / 4) delta_i delta_j + (d2^2 / 2) K_ij^2,
 *   on the diagonal:   Var sigma + (sq2 / 2) delta_i,
 * (the cross terms delta_i K_ij form diag(delta) K, of norm O(p^{-1/2})).  Starting from
 * K = X^T X, whose diagonal deviations are delta_i = t_a / sqrt(p) + psi_i (to O(1/p)), this
 * gives alpha_{l,1} (coefficient of x_i^T x_j), alpha_{l,2} (of delta_i delta_j), alpha_{l,3}
 * (of (x_i^T x_j)^2), alpha_{l,4} (of delta_i in the diagonal) layer by layer: THEORY's
 * recursion, which lr_ntk_coef_step implements as printed.  The NTK adds K_NTK,l-1 o K'_l
 * with K'_ij = d1^2 + d2^2 K_ij + ...: hence the beta recursion with its cross term
 * d2^2 alpha_{l-1,1} beta_{l-1,1}, and kappa_l^2 = tau_l^2 + kappa_{l-1}^2 E sigma'^2 on the
 * diagonal.  THEORY's corrected beta recursion is what this expansion gives.
 *
 * T_ab.  THEORY writes T_ab = tr(C_a C_b)/p with the UNCENTRED covariances, and that is what
 * the expansion gives: for i in class a, j in class b, i != j,
 *   E (x_i^T x_j)^2 = tr(C_a C_b)/p^2 + (mu_a^T mu_b)^2/p^2 + (mu_a^T C_b mu_a + mu_b^T C_a mu_b)/p^2,
 * since E (omega_i^T omega_j)^2 = E tr(omega_i omega_i^T omega_j omega_j^T) = tr(C_a C_b)/p^2;
 * the mean terms are O(1/p^2) per entry, O(n/p^2) in norm, and drop out.  So the
 * second-order term's block means are alpha_3 T_ab / p = alpha_3 [(J/sqrt p) T (J/sqrt p)^T]_ij.
 * (Couillet and Benaych-Georges 2016 use the centred tr(C_a^o C_b^o)/p because their kernels
 * are functions of distances, in which the common part cancels; for inner-product kernels
 * it does not: the common part is a rank-one term alpha_3 tau_0^4 1 1^T / p of norm
 * O(n / p), El Karoui 2010's f''(0) tr(Sigma^2) / (2 p^2) 1 1^T.)  The same check on the
 * diagonal is what shows THEORY's identity coefficient to be off (equiv.h).
 *
 * Cost.  lin X^T X is one dsyrk (p n^2 flops); V A V^T one n x (K+1) x (K+1) dgemm and one
 * rank-2(K+1) dsyr2k (2 (K+1) n^2 flops), both on the lower triangle, copied up at the end. */
#include "equiv.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/lanczos.h"
#include "core/linalg.h"

/* ---- (a) recursions ---- */

int lr_ntk_coef_init(double tau0, lr_ntk_coef *c0)
{
    if (!(tau0 > 0.0) || !isfinite(tau0)) LR_ERRORF(LR_EINVAL, "tau_0 = %g must be finite and > 0", tau0);
    memset(c0, 0, sizeof *c0);
    c0->tau = tau0;
    c0->alpha[0] = 1.0;
    c0->alpha[3] = 1.0;
    c0->beta[0] = 1.0;
    c0->kappa2 = tau0 * tau0;
    return LR_OK;
}

int lr_ntk_coef_step(const lr_ntk_coef *prev, const lr_ntk_keyq *q, double tau_rtol, lr_ntk_coef *next)
{
    if (!(tau_rtol >= 0.0)) LR_ERRORF(LR_EINVAL, "tau_rtol = %g must be >= 0", tau_rtol);
    if (!isfinite(q->tau) || !isfinite(q->d1) || !isfinite(q->d2) || !isfinite(q->sq2) || !isfinite(q->var))
        LR_ERRORF(LR_ENUMERIC, "key quantities at tau = %g are not finite (d1 %g, d2 %g, sq2 %g, var %g)", q->tau,
                  q->d1, q->d2, q->sq2, q->var);
    if (!(q->var > 0.0)) LR_ERRORF(LR_EINVAL, "Var sigma = %g at tau = %g: the next scale must be > 0", q->var, q->tau);
    if (!(q->d1sq >= 0.0)) LR_ERRORF(LR_EINVAL, "E sigma'^2 = %g at tau = %g must be >= 0", q->d1sq, q->tau);
    /* Key quantities taken at another scale than tau_{l-1} would make every later layer
     * wrong without any other sign. */
    if (!(fabs(q->tau - prev->tau) <= tau_rtol * prev->tau))
        LR_ERRORF(LR_EINVAL, "key quantities taken at tau = %.17g, the layer's input scale is %.17g (rtol %g)",
                  q->tau, prev->tau, tau_rtol);
    const double *a = prev->alpha, *b = prev->beta;
    double d1s = q->d1 * q->d1, d2s = q->d2 * q->d2;
    lr_ntk_coef c;
    c.alpha[0] = d1s * a[0];
    c.alpha[1] = d1s * a[1] + 0.25 * d2s * a[3] * a[3];
    c.alpha[2] = d1s * a[2] + 0.5 * d2s * a[0] * a[0];
    c.alpha[3] = 0.5 * a[3] * q->sq2;
    c.beta[0] = c.alpha[0] + d1s * b[0];
    c.beta[1] = c.alpha[1] + d1s * b[1];
    c.beta[2] = c.alpha[2] + d1s * b[2] + d2s * a[0] * b[0];
    c.tau = sqrt(q->var);
    /* kappa_{l-1}^2 > 0 always (it is at least tau_{l-1}^2), so an infinite E sigma'^2 gives
     * +INFINITY, never 0 * inf. */
    c.kappa2 = q->var + prev->kappa2 * q->d1sq;
    *next = c;
    return LR_OK;
}

int lr_ntk_recursion(double tau0, const lr_ntk_keyq *kq, size_t L, double tau_rtol, lr_ntk_coef *coef)
{
    LR_TRY(lr_ntk_coef_init(tau0, &coef[0]));
    for (size_t l = 1; l <= L; l++) LR_TRY(lr_ntk_coef_step(&coef[l - 1], &kq[l - 1], tau_rtol, &coef[l]));
    return LR_OK;
}

int lr_ntk_recursion_run(double tau0, size_t L, lr_ntk_keyq_fn *fn, void *ctx, double tau_rtol, lr_ntk_keyq *kq,
                         lr_ntk_coef *coef)
{
    if (!fn && L > 0) LR_ERROR(LR_EINVAL, "lr_ntk_recursion_run: no key-quantity callback");
    LR_TRY(lr_ntk_coef_init(tau0, &coef[0]));
    for (size_t l = 1; l <= L; l++) {
        lr_ntk_keyq q;
        memset(&q, 0, sizeof q);
        LR_TRY(fn(ctx, l, coef[l - 1].tau, &q));
        if (kq) kq[l - 1] = q;
        LR_TRY(lr_ntk_coef_step(&coef[l - 1], &q, tau_rtol, &coef[l]));
    }
    return LR_OK;
}

/* ---- (b) data statistics ---- */

void lr_ntk_data_free(lr_ntk_data *d)
{
    if (!d) return;
    lr_free(d->labels);
    lr_free(d->t);
    lr_free(d->T);
    lr_free(d->psi);
    lr_free(d);
}

lr_ntk_data *lr_ntk_data_alloc(size_t n, size_t K)
{
    if (n == 0 || K == 0) LR_ERROR_NULL(LR_EINVAL, "lr_ntk_data_alloc: n = %zu, K = %zu must be positive", n, K);
    lr_ntk_data *d = lr_calloc(1, sizeof *d);
    if (!d) LR_ERROR_NULL(LR_ENOMEM, "out of memory for the data statistics of %zu samples", n);
    d->n = n;
    d->K = K;
    d->labels = lr_calloc(n, sizeof(size_t));
    d->t = lr_calloc(K, sizeof(double));
    d->T = lr_calloc(K * K, sizeof(double));
    d->psi = lr_calloc(n, sizeof(double));
    if (!d->labels || !d->t || !d->T || !d->psi) {
        lr_ntk_data_free(d);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for the data statistics of %zu samples", n);
    }
    return d;
}

int lr_ntk_data_fill(lr_ntk_data *d, const lr_class_stats *s, lr_mat X, const size_t *labels, lr_ntk_norms norms)
{
    size_t p = X.rows, n = X.cols, K = s->K;
    if (n != d->n || K != d->K)
        LR_ERRORF(LR_EINVAL, "lr_ntk_data_fill: statistics for n = %zu, K = %zu; data n = %zu, K = %zu", d->n, d->K, n,
                  K);
    if (s->p != p) LR_ERRORF(LR_EINVAL, "lr_ntk_data_fill: class statistics of dimension %zu, X has %zu rows", s->p, p);
    if (norms != LR_NTK_NORMS_THEORY && norms != LR_NTK_NORMS_WITH_MEANS)
        LR_ERRORF(LR_EINVAL, "lr_ntk_data_fill: unknown norm convention %d", (int)norms);
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= K) LR_ERRORF(LR_EINVAL, "lr_ntk_data_fill: sample %zu has label %zu of %zu classes", i, labels[i], K);
    double sp = sqrt((double)p), tau0sq = 0.0;
    /* e_a: the class's expected squared norm in the chosen convention, kept in d->t until
     * tau_0^2 is known. */
    for (size_t a = 0; a < K; a++) {
        double e = s->trc[a];
        if (norms == LR_NTK_NORMS_WITH_MEANS) {
            double m = cblas_dnrm2((int)p, s->mu + a * p, 1);
            e += m * m / (double)p;
        }
        d->t[a] = e;
        tau0sq += s->pi[a] * e;
    }
    for (size_t a = 0; a < K; a++) d->t[a] = sp * (d->t[a] - tau0sq);
    memcpy(d->T, s->trcc, K * K * sizeof(double));
    double emp = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t a = labels[i];
        const double *x = &LR_AT(X, 0, i), *mu = s->mu + a * p;
        double xx = 0.0, ww = 0.0;
        for (size_t k = 0; k < p; k++) {
            double w = x[k] - mu[k] / sp;
            xx += x[k] * x[k];
            ww += w * w;
        }
        emp += xx;
        /* THEORY: the fluctuation of ||omega_i||^2 about tr(C_a)/p; WITH_MEANS: of ||x_i||^2
         * about its class expectation, so that t_a/sqrt(p) + psi_i = ||x_i||^2 - tau_0^2. */
        d->psi[i] = norms == LR_NTK_NORMS_THEORY ? ww - s->trc[a] : xx - (d->t[a] / sp + tau0sq);
        d->labels[i] = a;
    }
    d->p = p;
    d->norms = norms;
    d->tau0sq = tau0sq;
    d->tau0sq_emp = emp / (double)n;
    return LR_OK;
}

int lr_ntk_indicator(const size_t *labels, size_t n, size_t K, lr_mat J)
{
    if (J.rows != n || J.cols != K) LR_ERRORF(LR_EINVAL, "lr_ntk_indicator: J is %zux%zu, not %zux%zu", J.rows, J.cols, n, K);
    lr_mat_set_zero(J);
    for (size_t i = 0; i < n; i++) {
        if (labels[i] >= K) LR_ERRORF(LR_EINVAL, "lr_ntk_indicator: sample %zu has label %zu of %zu classes", i, labels[i], K);
        LR_AT(J, i, labels[i]) = 1.0;
    }
    return LR_OK;
}

/* ---- (c) kernels ---- */

int lr_ntk_equiv_scalars(const lr_ntk_coef *coef, size_t layer, lr_ntk_kind kind, lr_ntk_diag diag, double *lin,
                         double *q2, double *q3, double *shift)
{
    if (kind != LR_NTK_KIND_CK && kind != LR_NTK_KIND_NTK) LR_ERRORF(LR_EINVAL, "unknown kernel kind %d", (int)kind);
    if (diag != LR_NTK_DIAG_THEORY && diag != LR_NTK_DIAG_MATCHED)
        LR_ERRORF(LR_EINVAL, "unknown identity rule %d", (int)diag);
    const lr_ntk_coef *c = &coef[layer];
    double t0 = coef[0].tau * coef[0].tau, s;
    if (kind == LR_NTK_KIND_CK) {
        *lin = c->alpha[0], *q2 = c->alpha[1], *q3 = c->alpha[2];
        s = c->tau * c->tau;
    } else {
        if (!isfinite(c->kappa2))
            LR_ERRORF(LR_ENUMERIC, "layer %zu: kappa^2 = %g, the NTK has no finite diagonal (E sigma'^2 = infinity)",
                      layer, c->kappa2);
        *lin = c->beta[0], *q2 = c->beta[1], *q3 = c->beta[2];
        s = c->kappa2;
    }
    *shift = s - t0 * *lin - (diag == LR_NTK_DIAG_THEORY ? t0 * t0 * *q3 : 0.0);
    return LR_OK;
}

struct lr_ntk_equiv_plan {
    size_t max_n, max_K;
    double *V, *W, *A; /* n x (K+1), n x (K+1), (K+1) x (K+1) */
};

void lr_ntk_equiv_plan_free(lr_ntk_equiv_plan *p)
{
    if (!p) return;
    lr_free(p->V);
    lr_free(p->W);
    lr_free(p->A);
    lr_free(p);
}

lr_ntk_equiv_plan *lr_ntk_equiv_plan_alloc(size_t max_n, size_t max_K)
{
    if (max_n == 0 || max_K == 0)
        LR_ERROR_NULL(LR_EINVAL, "lr_ntk_equiv_plan_alloc: max_n = %zu, max_K = %zu must be positive", max_n, max_K);
    lr_ntk_equiv_plan *p = lr_calloc(1, sizeof *p);
    if (!p) LR_ERROR_NULL(LR_ENOMEM, "out of memory for an equivalent-kernel plan (n = %zu)", max_n);
    p->max_n = max_n;
    p->max_K = max_K;
    size_t k1 = max_K + 1;
    p->V = lr_malloc(max_n * k1 * sizeof(double));
    p->W = lr_malloc(max_n * k1 * sizeof(double));
    p->A = lr_malloc(k1 * k1 * sizeof(double));
    if (!p->V || !p->W || !p->A) {
        lr_ntk_equiv_plan_free(p);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for an equivalent-kernel plan (n = %zu)", max_n);
    }
    return p;
}

/* The checks both kernel builders make. */
static int check_kernel_args(const lr_ntk_coef *coef, lr_mat X, const lr_ntk_data *d, lr_mat Kt, const char *who)
{
    if (!coef || !d) LR_ERRORF(LR_EINVAL, "%s: no coefficients or data statistics", who);
    if (X.cols != d->n || X.rows != d->p)
        LR_ERRORF(LR_EINVAL, "%s: X is %zux%zu, the statistics are for p = %zu, n = %zu", who, X.rows, X.cols, d->p, d->n);
    if (Kt.rows != d->n || Kt.cols != d->n)
        LR_ERRORF(LR_EINVAL, "%s: Kt is %zux%zu, not %zux%zu", who, Kt.rows, Kt.cols, d->n, d->n);
    return LR_OK;
}

/* A (k1 x k1, leading dimension k1) of the scalars q2, q3. */
static void fill_block(double *A, size_t K, double q2, double q3, const lr_ntk_data *d)
{
    size_t k1 = K + 1;
    for (size_t b = 0; b < K; b++)
        for (size_t a = 0; a < K; a++) A[a + b * k1] = q2 * d->t[a] * d->t[b] + q3 * d->T[a + b * K];
    for (size_t a = 0; a < K; a++) A[a + K * k1] = A[K + a * k1] = q2 * d->t[a];
    A[K + K * k1] = q2;
}

int lr_ntk_equiv_kernel(lr_ntk_equiv_plan *p, const lr_ntk_coef *coef, size_t layer, lr_ntk_kind kind,
                        lr_ntk_diag diag, lr_mat X, const lr_ntk_data *d, lr_mat Kt)
{
    LR_TRY(check_kernel_args(coef, X, d, Kt, "lr_ntk_equiv_kernel"));
    size_t n = d->n, K = d->K, k1 = K + 1;
    if (n > p->max_n || K > p->max_K)
        LR_ERRORF(LR_EINVAL, "lr_ntk_equiv_kernel: n = %zu, K = %zu exceed the plan's %zu, %zu", n, K, p->max_n, p->max_K);
    double lin, q2, q3, shift;
    LR_TRY(lr_ntk_equiv_scalars(coef, layer, kind, diag, &lin, &q2, &q3, &shift));
    /* V = [J / sqrt p, psi]: J's columns are indicators, so V is written directly. */
    lr_mat V = lr_mat_wrap(p->V, n, k1), W = lr_mat_wrap(p->W, n, k1), A = lr_mat_wrap(p->A, k1, k1);
    double rp = 1.0 / sqrt((double)d->p);
    lr_mat_set_zero(V);
    for (size_t i = 0; i < n; i++) {
        LR_AT(V, i, d->labels[i]) = rp;
        LR_AT(V, i, K) = d->psi[i];
    }
    fill_block(p->A, K, q2, q3, d);
    LR_TRY(lr_syrk('T', lin, X, 0.0, Kt));
    LR_TRY(lr_gemm('N', 'N', 1.0, V, A, 0.0, W));
    /* V A V^T = (W V^T + V W^T) / 2 with W = V A and A symmetric: one rank-2k update of the
     * lower triangle, the same triangle dsyrk wrote. */
    cblas_dsyr2k(CblasColMajor, CblasLower, CblasNoTrans, (int)n, (int)k1, 0.5, W.data, (int)W.ld, V.data, (int)V.ld,
                 1.0, Kt.data, (int)Kt.ld);
    for (size_t i = 0; i < n; i++) LR_AT(Kt, i, i) += shift;
    lr_mat_symmetrize(Kt);
    return LR_OK;
}

int lr_ntk_equiv_kernel_ref(const lr_ntk_coef *coef, size_t layer, lr_ntk_kind kind, lr_ntk_diag diag, lr_mat X,
                            const lr_ntk_data *d, lr_mat Kt)
{
    LR_TRY(check_kernel_args(coef, X, d, Kt, "lr_ntk_equiv_kernel_ref"));
    size_t n = d->n, p = d->p, K = d->K, k1 = K + 1;
    double lin, q2, q3, shift;
    LR_TRY(lr_ntk_equiv_scalars(coef, layer, kind, diag, &lin, &q2, &q3, &shift));
    double *A = lr_malloc(k1 * k1 * sizeof(double));
    if (!A) LR_ERROR(LR_ENOMEM, "out of memory for the reference kernel's block");
    fill_block(A, K, q2, q3, d);
    double rp = 1.0 / sqrt((double)p);
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) {
            double g = 0.0;
            for (size_t k = 0; k < p; k++) g += LR_AT(X, k, i) * LR_AT(X, k, j);
            /* V_i = (J_i / sqrt p, psi_i): sum_{r,s} V_ir A_rs V_js over all K + 1 columns. */
            double lr = 0.0;
            for (size_t r = 0; r < k1; r++) {
                double vir = r < K ? (d->labels[i] == r ? rp : 0.0) : d->psi[i];
                for (size_t s = 0; s < k1; s++) {
                    double vjs = s < K ? (d->labels[j] == s ? rp : 0.0) : d->psi[j];
                    lr += vir * A[r + s * k1] * vjs;
                }
            }
            LR_AT(Kt, i, j) = lin * g + lr + (i == j ? shift : 0.0);
        }
    lr_free(A);
    return LR_OK;
}

/* ---- (d) spectral comparisons ----
 *
 * Lanczos (src/core/lanczos.c derives its stop rules) by default, dsyevr as the plain
 * reference and as the recorded fallback.  The norm reads A in place (dsymv on its lower
 * triangle) and the difference K - Kt from the plan's copy; a top-m set runs on a full
 * symmetric copy, since a block product by dgemm on the full matrix is faster than dsymm
 * on one triangle for thin blocks.  Neither path modifies what it reads, so a fallback
 * finds its input intact. */

struct lr_ntk_spec_plan {
    size_t max_n, max_m;
    lr_eig_plan *eig;
    lr_lanczos_plan *lz;
    double *C, *w, *U, *Ut, *M; /* n x n, n, n x m, n x m, m x m */
    lr_ntk_spec_method method;
    double tol;
    size_t max_steps;
    lr_ntk_spec_info info; /* the counters (the settings are filled in on query) */
    size_t dsyevd_fallbacks; /* top pairs that needed dsyevd after dsyevr (lr_ntk_spec_dsyevd_fallbacks) */
};

size_t lr_ntk_spec_dsyevd_fallbacks(const lr_ntk_spec_plan *p) { return p ? p->dsyevd_fallbacks : 0; }

void lr_ntk_spec_plan_free(lr_ntk_spec_plan *p)
{
    if (!p) return;
    lr_eig_plan_free(p->eig);
    lr_lanczos_plan_free(p->lz);
    lr_free(p->C);
    lr_free(p->w);
    lr_free(p->U);
    lr_free(p->Ut);
    lr_free(p->M);
    lr_free(p);
}

lr_ntk_spec_plan *lr_ntk_spec_plan_alloc(size_t max_n, size_t max_m)
{
    if (max_n == 0) LR_ERROR_NULL(LR_EINVAL, "lr_ntk_spec_plan_alloc: max_n must be positive");
    if (max_m > max_n) LR_ERROR_NULL(LR_EINVAL, "lr_ntk_spec_plan_alloc: max_m = %zu > max_n = %zu", max_m, max_n);
    lr_ntk_spec_plan *p = lr_calloc(1, sizeof *p);
    if (!p) LR_ERROR_NULL(LR_ENOMEM, "out of memory for a spectral plan (n = %zu)", max_n);
    p->max_n = max_n;
    p->max_m = max_m;
    p->method = LR_NTK_SPEC_AUTO;
    p->tol = LR_NTK_SPEC_TOL;
    p->max_steps = LR_NTK_SPEC_MAX_STEPS;
    size_t m = max_m ? max_m : 1;
    p->eig = lr_eig_plan_alloc(max_n);
    p->lz = lr_lanczos_plan_alloc(max_n, max_m, p->max_steps);
    p->C = lr_malloc(max_n * max_n * sizeof(double));
    p->w = lr_malloc(max_n * sizeof(double));
    p->U = lr_malloc(max_n * m * sizeof(double));
    p->Ut = lr_malloc(max_n * m * sizeof(double));
    p->M = lr_malloc(m * m * sizeof(double));
    if (!p->eig || !p->lz || !p->C || !p->w || !p->U || !p->Ut || !p->M) {
        lr_ntk_spec_plan_free(p);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for a spectral plan (n = %zu)", max_n);
    }
    return p;
}

int lr_ntk_spec_plan_set(lr_ntk_spec_plan *p, lr_ntk_spec_method method, double tol, size_t max_steps)
{
    if (method != LR_NTK_SPEC_AUTO && method != LR_NTK_SPEC_LANCZOS && method != LR_NTK_SPEC_DSYEVR)
        LR_ERRORF(LR_EINVAL, "lr_ntk_spec_plan_set: unknown method %d", (int)method);
    if (!(tol > 0.0 && tol < 1.0)) LR_ERRORF(LR_EINVAL, "lr_ntk_spec_plan_set: tol = %g outside (0, 1)", tol);
    if (max_steps == 0) LR_ERROR(LR_EINVAL, "lr_ntk_spec_plan_set: max_steps must be positive");
    size_t held = lr_lanczos_plan_max_steps(p->lz);
    if (max_steps > held && held < p->max_n) {
        lr_lanczos_plan *lz = lr_lanczos_plan_alloc(p->max_n, p->max_m, max_steps);
        if (!lz) LR_ERRORF(LR_ENOMEM, "lr_ntk_spec_plan_set: out of memory for %zu Lanczos vectors", max_steps);
        lr_lanczos_plan_free(p->lz);
        p->lz = lz;
    }
    p->method = method;
    p->tol = tol;
    p->max_steps = max_steps;
    return LR_OK;
}

void lr_ntk_spec_plan_info(const lr_ntk_spec_plan *p, lr_ntk_spec_info *info)
{
    *info = p->info;
    info->method = p->method;
    info->tol = p->tol;
    info->max_steps = p->max_steps;
}

size_t lr_ntk_spec_plan_fallbacks(const lr_ntk_spec_plan *p) { return p->info.fallbacks; }

void lr_ntk_spec_plan_reset_info(lr_ntk_spec_plan *p) { memset(&p->info, 0, sizeof p->info); }

static int check_square(const lr_ntk_spec_plan *p, lr_mat A, const char *who)
{
    if (A.rows != A.cols) LR_ERRORF(LR_EINVAL, "%s: %zux%zu is not square", who, A.rows, A.cols);
    if (A.rows == 0 || A.rows > p->max_n)
        LR_ERRORF(LR_EINVAL, "%s: n = %zu outside the plan's [1, %zu]", who, A.rows, p->max_n);
    return LR_OK;
}

/* The counters of one problem: how it was solved and how many Lanczos vectors it took. */
enum { SOLVED_DIRECT, SOLVED_LANCZOS, SOLVED_FALLBACK };
static void count(lr_ntk_spec_plan *p, int how, const lr_lanczos_result *r)
{
    lr_ntk_spec_info *in = &p->info;
    in->calls++;
    in->last_steps = r ? r->steps : 0;
    in->last_fallback = how == SOLVED_FALLBACK;
    if (how == SOLVED_DIRECT) in->direct++;
    if (how == SOLVED_LANCZOS) in->lanczos++;
    if (how == SOLVED_FALLBACK) in->fallbacks++;
    if (!r) return;
    in->steps += r->steps;
    if (r->steps > in->steps_max) in->steps_max = r->steps;
    if (r->converged && r->bound > in->bound_max) in->bound_max = r->bound;
}

/* The plain reference: ||C||_2 of the plan's copy C (n x n, lower triangle; destroyed)
 * from all its eigenvalues (dsyevr). */
static int norm2_of_copy(lr_ntk_spec_plan *p, size_t n, double *norm)
{
    lr_mat C = lr_mat_wrap(p->C, n, n), none = {NULL, n, 0, 1};
    LR_TRY(lr_eig_sym(p->eig, C, p->w, none));
    double hi = fabs(p->w[0]), lo = fabs(p->w[n - 1]);
    *norm = hi > lo ? hi : lo;
    return LR_OK;
}

static void copy_lower(lr_ntk_spec_plan *p, lr_mat A)
{
    size_t n = A.rows;
    lr_mat C = lr_mat_wrap(p->C, n, n);
    for (size_t j = 0; j < n; j++)
        for (size_t i = j; i < n; i++) LR_AT(C, i, j) = LR_AT(A, i, j);
}

/* ||S||_2 of the symmetric S whose lower triangle is A's (in_copy = 0) or already the plan's
 * copy (in_copy = 1): Lanczos on it in place, dsyevr on the copy if that does not converge. */
static int spec_norm(lr_ntk_spec_plan *p, lr_mat A, int in_copy, double *norm)
{
    size_t n = A.rows;
    if (p->method == LR_NTK_SPEC_DSYEVR || (p->method == LR_NTK_SPEC_AUTO && n < LR_NTK_SPEC_AUTO_NORM_N)) {
        if (!in_copy) copy_lower(p, A);
        LR_TRY(norm2_of_copy(p, n, norm));
        count(p, SOLVED_DIRECT, NULL);
        return LR_OK;
    }
    lr_lanczos_result r;
    LR_TRY(lr_lanczos_norm(p->lz, A, p->tol, p->max_steps, norm, &r));
    if (r.converged) {
        count(p, SOLVED_LANCZOS, &r);
        return LR_OK;
    }
    count(p, SOLVED_FALLBACK, &r);
    if (!in_copy) copy_lower(p, A);
    return norm2_of_copy(p, n, norm);
}

int lr_ntk_norm2(lr_ntk_spec_plan *p, lr_mat A, double *norm)
{
    LR_TRY(check_square(p, A, "lr_ntk_norm2"));
    return spec_norm(p, A, 0, norm);
}

int lr_ntk_rel_err(lr_ntk_spec_plan *p, lr_mat K, lr_mat Kt, double *rel, double *err, double *normK)
{
    LR_TRY(check_square(p, K, "lr_ntk_rel_err"));
    size_t n = K.rows;
    if (Kt.rows != n || Kt.cols != n)
        LR_ERRORF(LR_EINVAL, "lr_ntk_rel_err: K is %zux%zu, Kt %zux%zu", n, n, Kt.rows, Kt.cols);
    lr_mat C = lr_mat_wrap(p->C, n, n);
    for (size_t j = 0; j < n; j++)
        for (size_t i = j; i < n; i++) LR_AT(C, i, j) = LR_AT(K, i, j) - LR_AT(Kt, i, j);
    double e, k;
    LR_TRY(spec_norm(p, C, 1, &e));
    LR_TRY(spec_norm(p, K, 0, &k));
    if (!(k > 0.0)) LR_ERROR(LR_EINVAL, "lr_ntk_rel_err: ||K||_2 = 0, the relative error is undefined");
    if (rel) *rel = e / k;
    if (err) *err = e;
    if (normK) *normK = k;
    return LR_OK;
}

/* A's lower triangle into both triangles of the plan's copy, in 64 x 64 tiles so that the
 * transposed writes stay in cache; LR_ENUMERIC for a NaN or Inf (as the dense driver's
 * input check would). */
static int copy_full(lr_ntk_spec_plan *p, lr_mat A)
{
    enum { TILE = 64 };
    size_t n = A.rows;
    lr_mat C = lr_mat_wrap(p->C, n, n);
    int finite = 1;
    for (size_t j0 = 0; j0 < n; j0 += TILE)
        for (size_t i0 = j0; i0 < n; i0 += TILE) {
            size_t j1 = j0 + TILE < n ? j0 + TILE : n, i1 = i0 + TILE < n ? i0 + TILE : n;
            for (size_t j = j0; j < j1; j++)
                for (size_t i = i0 > j ? i0 : j; i < i1; i++) {
                    double a = LR_AT(A, i, j);
                    finite &= isfinite(a) != 0;
                    LR_AT(C, i, j) = a;
                    LR_AT(C, j, i) = a;
                }
        }
    if (!finite) LR_ERROR(LR_ENUMERIC, "the matrix has NaN or Inf entries");
    return LR_OK;
}

/* The top-m eigenpairs of A into w (may be NULL) and Z (n x m) through the plan's copy.
 * dsyevr is given the plan's n-long eigenvalue array, as LAPACK documents W to be of
 * length n whatever the index range, and the m values are copied out. */
/* The top-m pairs of A by dsyevr with an index range on the plan's copy.  dsyevr (MRRR) can
 * return fewer pairs than the range asks for when it cuts through a large cluster of equal
 * eigenvalues (seen on K~ of |t|, and on K~ with BLAS on two threads: n - 3 copies of its
 * identity coefficient next to 3 isolated ones); then all pairs by divide and conquer
 * (dsyevd, which allocates its own workspace on this rare path), the top m copied out,
 * descending, and counted (lr_ntk_spec_dsyevd_fallbacks). */
static int direct_top(lr_ntk_spec_plan *p, lr_mat A, size_t m, lr_mat Z, const char *who)
{
    size_t n = A.rows;
    lr_mat C = lr_mat_wrap(p->C, n, n);
    copy_lower(p, A);
    int st = lr_eig_sym_top(p->eig, C, m, p->w, Z);
    if (st != LR_ECONV) return st;
    lr_clear_error();
    copy_lower(p, A);
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)n, C.data, (lapack_int)C.ld, p->w);
    if (info != 0) LR_ERRORF(LR_ECONV, "%s: dsyevr returned too few pairs and dsyevd failed (info %d)", who, (int)info);
    for (size_t k = 0; k < m; k++) {
        memcpy(&LR_AT(Z, 0, k), &LR_AT(C, 0, n - 1 - k), n * sizeof(double));
        p->w[k] = p->w[n - 1 - k];
    }
    p->dsyevd_fallbacks++;
    return LR_OK;
}

static int top_pairs(lr_ntk_spec_plan *p, lr_mat A, size_t m, double *w, lr_mat Z, const char *who)
{
    LR_TRY(check_square(p, A, who));
    size_t n = A.rows;
    if (m == 0 || m > n || m > p->max_m)
        LR_ERRORF(LR_EINVAL, "%s: m = %zu outside [1, min(n = %zu, plan's %zu)]", who, m, n, p->max_m);
    lr_mat C = lr_mat_wrap(p->C, n, n);
    if (p->method == LR_NTK_SPEC_DSYEVR || (p->method == LR_NTK_SPEC_AUTO && n < LR_NTK_SPEC_AUTO_TOP_N) || 2 * m > n) {
        LR_TRY(direct_top(p, A, m, Z, who));
        count(p, SOLVED_DIRECT, NULL);
    } else {
        LR_TRY(copy_full(p, A));
        lr_lanczos_result r;
        LR_TRY(lr_lanczos_top(p->lz, C, m, p->tol, p->max_steps, p->w, Z, &r));
        count(p, r.converged ? SOLVED_LANCZOS : SOLVED_FALLBACK, &r);
        if (!r.converged) LR_TRY(direct_top(p, A, m, Z, who));
    }
    if (w) memcpy(w, p->w, m * sizeof(double));
    return LR_OK;
}

int lr_ntk_top_eig(lr_ntk_spec_plan *p, lr_mat A, size_t m, double *w, lr_mat U)
{
    if (U.data && (U.rows != A.rows || U.cols < m))
        LR_ERRORF(LR_EINVAL, "lr_ntk_top_eig: U is %zux%zu for %zu vectors of length %zu", U.rows, U.cols, m, A.rows);
    lr_mat Z = U.data ? U : lr_mat_wrap(p->U, A.rows, m);
    return top_pairs(p, A, m, w, Z, "lr_ntk_top_eig");
}

int lr_ntk_eig_align(lr_ntk_spec_plan *p, lr_mat K, lr_mat Kt, size_t m, double *w, double *wt, double *align,
                     double *subspace)
{
    size_t n = K.rows;
    if (Kt.rows != K.rows || Kt.cols != K.cols)
        LR_ERRORF(LR_EINVAL, "lr_ntk_eig_align: K is %zux%zu, Kt %zux%zu", K.rows, K.cols, Kt.rows, Kt.cols);
    if (m == 0 || m > p->max_m || m > n)
        LR_ERRORF(LR_EINVAL, "lr_ntk_eig_align: m = %zu outside [1, min(n = %zu, plan's %zu)]", m, n, p->max_m);
    lr_mat U = lr_mat_wrap(p->U, n, m), Ut = lr_mat_wrap(p->Ut, n, m), M = lr_mat_wrap(p->M, m, m);
    LR_TRY(top_pairs(p, K, m, w, U, "lr_ntk_eig_align"));
    LR_TRY(top_pairs(p, Kt, m, wt, Ut, "lr_ntk_eig_align"));
    LR_TRY(lr_gemm('T', 'N', 1.0, U, Ut, 0.0, M));
    double f = 0.0;
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < m; i++) f += LR_AT(M, i, j) * LR_AT(M, i, j);
    if (align)
        for (size_t i = 0; i < m; i++) align[i] = fabs(LR_AT(M, i, i));
    if (subspace) *subspace = f / (double)m;
    return LR_OK;
}
