/* K-class Gaussian mixtures and real-data normalisation (gmm.h says what and why; the
 * model is docs/theory.md section 5's, from Gu et al., NeurIPS 2022).
 *
 * Sampling: x = mu_a / sqrt(p) + L_a z / sqrt(p), z ~ N(0, I_p), so Cov x = L_a L_a^T / p =
 * C_a / p.  The class's block of X is first filled with z (column by column, the order of the
 * stream), then transformed in place: by one triangular matrix product (dtrmm) for a
 * factor, by a row scaling for a diagonal, by one scalar for a scaled identity.  The
 * factor path is the plain reference of the other two (tests/test_gmm.c draws the same
 * stream through each and compares).
 *
 * Population statistics: tr(C_a) = ||L_a||_F^2 and
 * tr(C_a C_b) = tr(L_a L_a^T L_b L_b^T) = ||L_a^T L_b||_F^2. */
#include "gmm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/linalg.h"
#include "gen/gen.h"

static const char *const preset_names[] = {
    [LR_GMM_PRESET_GU22] = "gu22",
    [LR_GMM_PRESET_GU22_MEAN] = "gu22_mean",
    [LR_GMM_PRESET_GU22_COV] = "gu22_cov",
};
#define N_PRESETS (sizeof(preset_names) / sizeof(preset_names[0]))

int lr_gmm_preset_parse(const char *name)
{
    for (size_t i = 0; name && i < N_PRESETS; i++)
        if (!strcmp(preset_names[i], name)) return (int)i;
    return -1;
}

const char *lr_gmm_preset_name_at(size_t i) { return i < N_PRESETS ? preset_names[i] : NULL; }

void lr_gmm_free(lr_gmm *g)
{
    if (!g) return;
    lr_free(g->pi);
    lr_free(g->mu);
    lr_free(g->scale);
    lr_free(g->diag);
    lr_free(g->factor);
    lr_free(g);
}

/* Identity covariances in whichever representation g holds. */
static void set_identity(lr_gmm *g)
{
    size_t p = g->p, K = g->K;
    for (size_t a = 0; a < K; a++) {
        if (g->scale) g->scale[a] = 1.0;
        if (g->diag)
            for (size_t k = 0; k < p; k++) g->diag[k + a * p] = 1.0;
        if (g->factor) {
            double *L = g->factor + a * p * p;
            memset(L, 0, p * p * sizeof(double));
            for (size_t k = 0; k < p; k++) L[k + k * p] = 1.0;
        }
    }
}

lr_gmm *lr_gmm_alloc(size_t p, size_t K, lr_gmm_cov_kind cov)
{
    if (p == 0 || K == 0) LR_ERROR_NULL(LR_EINVAL, "lr_gmm_alloc: p = %zu, K = %zu must be positive", p, K);
    if (K > LR_GMM_MAX_CLASSES) LR_ERROR_NULL(LR_EINVAL, "lr_gmm_alloc: %zu classes (at most %d)", K, LR_GMM_MAX_CLASSES);
    if (cov != LR_GMM_COV_SCALED && cov != LR_GMM_COV_DIAG && cov != LR_GMM_COV_FACTOR)
        LR_ERROR_NULL(LR_EINVAL, "lr_gmm_alloc: unknown covariance kind %d", (int)cov);
    lr_gmm *g = lr_calloc(1, sizeof *g);
    if (!g) LR_ERROR_NULL(LR_ENOMEM, "out of memory for a %zu-class mixture in dimension %zu", K, p);
    g->p = p;
    g->K = K;
    g->cov = cov;
    g->pi = lr_malloc(K * sizeof(double));
    g->mu = lr_calloc(p * K, sizeof(double));
    int ok = g->pi && g->mu;
    if (ok && cov == LR_GMM_COV_SCALED) ok = (g->scale = lr_malloc(K * sizeof(double))) != NULL;
    if (ok && cov == LR_GMM_COV_DIAG) ok = (g->diag = lr_malloc(p * K * sizeof(double))) != NULL;
    if (ok && cov == LR_GMM_COV_FACTOR) {
        if (p > (size_t)-1 / sizeof(double) / p / K) ok = 0;
        else ok = (g->factor = lr_malloc(p * p * K * sizeof(double))) != NULL;
    }
    if (!ok) {
        lr_gmm_free(g);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for a %zu-class mixture in dimension %zu", K, p);
    }
    for (size_t a = 0; a < K; a++) g->pi[a] = 1.0 / (double)K;
    set_identity(g);
    return g;
}

int lr_gmm_set_cov(lr_gmm *g, size_t a, lr_mat C)
{
    size_t p = g->p;
    if (g->cov != LR_GMM_COV_FACTOR) LR_ERROR(LR_EINVAL, "lr_gmm_set_cov: the mixture does not store factors");
    if (a >= g->K) LR_ERRORF(LR_EINVAL, "lr_gmm_set_cov: class %zu of %zu", a, g->K);
    if (C.rows != p || C.cols != p) LR_ERRORF(LR_EINVAL, "lr_gmm_set_cov: C is %zux%zu, not %zux%zu", C.rows, C.cols, p, p);
    lr_mat L = lr_mat_wrap(g->factor + a * p * p, p, p);
    /* dpotrf writes only the lower triangle; the zeros above it make L usable as a plain
     * matrix too (population statistics multiply it as one). */
    lr_mat_set_zero(L);
    for (size_t j = 0; j < p; j++)
        for (size_t i = j; i < p; i++) LR_AT(L, i, j) = LR_AT(C, i, j);
    int st = lr_potrf_lower(L);
    if (st != LR_OK) {
        /* Leave the class with a usable covariance rather than a half-factored one. */
        lr_mat_set_zero(L);
        for (size_t k = 0; k < p; k++) LR_AT(L, k, k) = 1.0;
        return st;
    }
    return LR_OK;
}

int lr_gmm_set_preset(lr_gmm *g, lr_gmm_preset which)
{
    size_t p = g->p, K = g->K;
    if ((size_t)which >= N_PRESETS) LR_ERRORF(LR_EINVAL, "unknown mixture preset %d", (int)which);
    int means = which != LR_GMM_PRESET_GU22_COV, covs = which != LR_GMM_PRESET_GU22_MEAN;
    if (means && LR_GMM_GU22_STRIDE * (K - 1) + 1 > p)
        LR_ERRORF(LR_EINVAL, "preset %s with %zu classes needs p >= %zu, got %zu", preset_names[which], K,
                  (size_t)(LR_GMM_GU22_STRIDE * (K - 1) + 1), p);
    memset(g->mu, 0, p * K * sizeof(double));
    set_identity(g);
    for (size_t a = 0; a < K; a++) {
        g->pi[a] = 1.0 / (double)K;
        if (means) g->mu[LR_GMM_GU22_STRIDE * a + a * p] = LR_GMM_GU22_MEAN;
        if (!covs) continue;
        double s = 1.0 + LR_GMM_GU22_COV * (double)a / sqrt((double)p);
        if (g->scale) g->scale[a] = s;
        if (g->diag)
            for (size_t k = 0; k < p; k++) g->diag[k + a * p] = s;
        if (g->factor)
            for (size_t k = 0; k < p; k++) g->factor[a * p * p + k + k * p] = sqrt(s);
    }
    return LR_OK;
}

/* pi valid: finite, non-negative, summing to 1 within LR_GMM_PI_TOL; *sum returned. */
static int check_pi(const double *pi, size_t K, double *sum)
{
    double s = 0.0;
    for (size_t a = 0; a < K; a++) {
        if (!(pi[a] >= 0.0) || !isfinite(pi[a]))
            LR_ERRORF(LR_EINVAL, "class proportion pi_%zu = %g must be finite and >= 0", a, pi[a]);
        s += pi[a];
    }
    if (!(fabs(s - 1.0) <= LR_GMM_PI_TOL))
        LR_ERRORF(LR_EINVAL, "class proportions sum to %.17g, not 1 (tolerance %g)", s, LR_GMM_PI_TOL);
    *sum = s;
    return LR_OK;
}

int lr_gmm_counts(const double *pi, size_t K, size_t n, size_t *counts)
{
    if (K == 0) LR_ERROR(LR_EINVAL, "lr_gmm_counts: no classes");
    double sum;
    LR_TRY(check_pi(pi, K, &sum));
    size_t given = 0;
    for (size_t a = 0; a < K; a++) {
        counts[a] = (size_t)floor(pi[a] / sum * (double)n);
        given += counts[a];
    }
    /* Largest remainders: at most K - 1 passes over K classes, K is small. */
    while (given < n) {
        size_t best = K;
        double best_frac = -1.0;
        for (size_t a = 0; a < K; a++) {
            double frac = pi[a] / sum * (double)n - (double)counts[a];
            if (frac > best_frac) best_frac = frac, best = a;
        }
        counts[best]++;
        given++;
    }
    /* Rounding of pi_a n could give one too many when the pi_a sum to slightly more than 1
     * in floating point; take it back from the class with the smallest remainder. */
    while (given > n) {
        size_t worst = K;
        double worst_frac = INFINITY;
        for (size_t a = 0; a < K; a++) {
            double frac = pi[a] / sum * (double)n - (double)counts[a];
            if (counts[a] > 0 && frac < worst_frac) worst_frac = frac, worst = a;
        }
        counts[worst]--;
        given--;
    }
    return LR_OK;
}

/* The covariance parameters sampling needs, checked before anything is drawn. */
static int check_cov(const lr_gmm *g)
{
    size_t p = g->p;
    for (size_t a = 0; a < g->K; a++) {
        if (g->cov == LR_GMM_COV_SCALED && !(g->scale[a] >= 0.0 && isfinite(g->scale[a])))
            LR_ERRORF(LR_EINVAL, "class %zu: covariance scale %g is not finite and >= 0", a, g->scale[a]);
        if (g->cov == LR_GMM_COV_DIAG)
            for (size_t i = 0; i < p; i++)
                if (!(g->diag[i + a * p] >= 0.0 && isfinite(g->diag[i + a * p])))
                    LR_ERRORF(LR_EINVAL, "class %zu: covariance diagonal %g is not finite and >= 0", a,
                              g->diag[i + a * p]);
    }
    return LR_OK;
}

int lr_gmm_sample(const lr_gmm *g, gsl_rng *r, lr_mat X, size_t *labels)
{
    size_t p = g->p, K = g->K, n = X.cols;
    if (X.rows != p) LR_ERRORF(LR_EINVAL, "lr_gmm_sample: X has %zu rows for dimension %zu", X.rows, p);
    size_t counts[LR_GMM_MAX_CLASSES]; /* on the stack: sampling never allocates */
    LR_TRY(lr_gmm_counts(g->pi, K, n, counts));
    LR_TRY(check_cov(g));
    double rs = 1.0 / sqrt((double)p);
    /* z: lr_gen_noise's Gaussian fill (ziggurat, column by column), so the mixture draws
     * from a stream exactly as the other generators do.  (gsl_randist.h is not included
     * here: its CBLAS declarations clash with OpenBLAS's cblas.h.) */
    LR_TRY(lr_gen_noise(r, X, LR_NOISE_GAUSSIAN, 1.0, 0.0));
    size_t off = 0;
    for (size_t a = 0; a < K; a++) {
        size_t na = counts[a];
        lr_mat B = lr_mat_view(X, 0, off, p, na);
        const double *mu = g->mu + a * p;
        switch (g->cov) {
        case LR_GMM_COV_SCALED: {
            double s = sqrt(g->scale[a]) * rs;
            for (size_t j = 0; j < na; j++)
                for (size_t i = 0; i < p; i++) LR_AT(B, i, j) = mu[i] * rs + s * LR_AT(B, i, j);
            break;
        }
        case LR_GMM_COV_DIAG: {
            const double *d = g->diag + a * p;
            for (size_t j = 0; j < na; j++)
                for (size_t i = 0; i < p; i++) LR_AT(B, i, j) = mu[i] * rs + sqrt(d[i]) * rs * LR_AT(B, i, j);
            break;
        }
        case LR_GMM_COV_FACTOR:
            if (na > 0)
                cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)p, (int)na,
                            rs, g->factor + a * p * p, (int)p, B.data, (int)B.ld);
            for (size_t j = 0; j < na; j++)
                for (size_t i = 0; i < p; i++) LR_AT(B, i, j) += mu[i] * rs;
            break;
        }
        if (labels)
            for (size_t j = 0; j < na; j++) labels[off + j] = a;
        off += na;
    }
    return LR_OK;
}

/* ---- statistics ---- */

void lr_class_stats_free(lr_class_stats *s)
{
    if (!s) return;
    lr_free(s->pi);
    lr_free(s->mu);
    lr_free(s->trc);
    lr_free(s->trcc);
    lr_free(s);
}

lr_class_stats *lr_class_stats_alloc(size_t p, size_t K)
{
    if (p == 0 || K == 0) LR_ERROR_NULL(LR_EINVAL, "lr_class_stats_alloc: p = %zu, K = %zu must be positive", p, K);
    lr_class_stats *s = lr_calloc(1, sizeof *s);
    if (!s) LR_ERROR_NULL(LR_ENOMEM, "out of memory for class statistics (%zu classes)", K);
    s->p = p;
    s->K = K;
    s->pi = lr_calloc(K, sizeof(double));
    s->mu = lr_calloc(p * K, sizeof(double));
    s->trc = lr_calloc(K, sizeof(double));
    s->trcc = lr_calloc(K * K, sizeof(double));
    if (!s->pi || !s->mu || !s->trc || !s->trcc) {
        lr_class_stats_free(s);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for class statistics (%zu classes)", K);
    }
    return s;
}

int lr_gmm_class_stats(const lr_gmm *g, lr_class_stats *s)
{
    size_t p = g->p, K = g->K;
    if (s->p != p || s->K != K)
        LR_ERRORF(LR_EINVAL, "lr_gmm_class_stats: statistics for p = %zu, K = %zu, mixture p = %zu, K = %zu", s->p,
                  s->K, p, K);
    double sum;
    LR_TRY(check_pi(g->pi, K, &sum));
    s->plugin = 0;
    for (size_t a = 0; a < K; a++) s->pi[a] = g->pi[a] / sum;
    memcpy(s->mu, g->mu, p * K * sizeof(double));
    switch (g->cov) {
    case LR_GMM_COV_SCALED:
        /* tr(s_a I) / p = s_a and tr(s_a s_b I) / p = s_a s_b. */
        for (size_t a = 0; a < K; a++) {
            s->trc[a] = g->scale[a];
            for (size_t b = 0; b < K; b++) s->trcc[a + b * K] = g->scale[a] * g->scale[b];
        }
        return LR_OK;
    case LR_GMM_COV_DIAG:
        for (size_t a = 0; a < K; a++) {
            const double *da = g->diag + a * p;
            double t = 0.0;
            for (size_t k = 0; k < p; k++) t += da[k];
            s->trc[a] = t / (double)p;
            for (size_t b = 0; b < K; b++) {
                const double *db = g->diag + b * p;
                double tt = 0.0;
                for (size_t k = 0; k < p; k++) tt += da[k] * db[k];
                s->trcc[a + b * K] = tt / (double)p;
            }
        }
        return LR_OK;
    case LR_GMM_COV_FACTOR:
        break;
    }
    /* Factors: copy L_b with its upper triangle zeroed (the storage's upper part is ignored
     * by contract), multiply by L_a^T in place, take the squared Frobenius norm. */
    double *W = lr_malloc(p * p * sizeof(double));
    if (!W) LR_ERRORF(LR_ENOMEM, "out of memory for a %zux%zu scratch (mixture statistics)", p, p);
    for (size_t a = 0; a < K; a++) {
        const double *La = g->factor + a * p * p;
        double t = 0.0;
        for (size_t j = 0; j < p; j++)
            for (size_t i = j; i < p; i++) t += La[i + j * p] * La[i + j * p];
        s->trc[a] = t / (double)p;
        for (size_t b = a; b < K; b++) {
            const double *Lb = g->factor + b * p * p;
            for (size_t j = 0; j < p; j++)
                for (size_t i = 0; i < p; i++) W[i + j * p] = i >= j ? Lb[i + j * p] : 0.0;
            cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)p, (int)p, 1.0, La,
                        (int)p, W, (int)p);
            double f = 0.0;
            for (size_t k = 0; k < p * p; k++) f += W[k] * W[k];
            s->trcc[a + b * K] = s->trcc[b + a * K] = f / (double)p;
        }
    }
    lr_free(W);
    return LR_OK;
}

/* ---- real data ---- */

int lr_real_select_count(const size_t *labels, size_t N, const size_t *classes, size_t K, size_t *counts,
                         size_t *n)
{
    if (K == 0) LR_ERROR(LR_EINVAL, "lr_real_select_count: no classes selected");
    for (size_t a = 0; a < K; a++)
        for (size_t b = 0; b < a; b++)
            if (classes[a] == classes[b]) LR_ERRORF(LR_EINVAL, "class %zu is selected twice", classes[a]);
    *n = 0;
    for (size_t a = 0; a < K; a++) counts[a] = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t a = 0; a < K; a++)
            if (labels[i] == classes[a]) {
                counts[a]++;
                (*n)++;
                break;
            }
    return LR_OK;
}

/* Column blocks of the cross Gram W_a^T W_b: bounded scratch whatever the class sizes. */
#define REAL_BLOCK 256

/* The statistics of the normalised X (lr_real_normalise's part 2); counts and off describe
 * the class blocks.  Allocates the centred copy and the Gram block. */
static int real_stats(lr_mat X, size_t K, const size_t *counts, const size_t *off, const size_t *classes,
                      lr_class_stats *s)
{
    size_t p = X.rows, n = X.cols, nmax = 0;
    for (size_t a = 0; a < K; a++) {
        if (counts[a] < 2)
            LR_ERRORF(LR_EDATA, "lr_real_normalise: class %zu has %zu samples; its statistics need 2", classes[a],
                      counts[a]);
        if (counts[a] > nmax) nmax = counts[a];
    }
    /* The centred classes W_a = X_a - m_a 1^T, in one copy of X. */
    double *Wd = lr_malloc(p * n * sizeof(double));
    double *G = lr_malloc(nmax * REAL_BLOCK * sizeof(double));
    double *sq = lr_malloc(n * sizeof(double));
    int st = LR_OK;
    if (!Wd || !G || !sq) {
        st = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory for the class statistics of %zu samples", n);
        goto done;
    }
    lr_mat W = lr_mat_wrap(Wd, p, n);
    lr_mat_copy(W, X);
    s->plugin = 1;
    for (size_t a = 0; a < K; a++) {
        size_t na = counts[a];
        double *mu = s->mu + a * p, tr = 0.0;
        s->pi[a] = (double)na / (double)n;
        for (size_t i = 0; i < p; i++) {
            double m = 0.0;
            for (size_t j = 0; j < na; j++) m += LR_AT(W, i, off[a] + j);
            m /= (double)na;
            mu[i] = m * sqrt((double)p);
            for (size_t j = 0; j < na; j++) LR_AT(W, i, off[a] + j) -= m;
        }
        for (size_t j = 0; j < na; j++) {
            double c = cblas_dnrm2((int)p, &LR_AT(W, 0, off[a] + j), 1);
            sq[off[a] + j] = c * c;
            tr += c * c;
        }
        s->trc[a] = tr / (double)na;
    }
    for (size_t a = 0; a < K; a++)
        for (size_t b = a; b < K; b++) {
            size_t na = counts[a], nb = counts[b];
            double f = 0.0;
            for (size_t j0 = 0; j0 < nb; j0 += REAL_BLOCK) {
                size_t w = nb - j0 < REAL_BLOCK ? nb - j0 : REAL_BLOCK;
                st = lr_gemm('T', 'N', 1.0, lr_mat_view(W, 0, off[a], p, na), lr_mat_view(W, 0, off[b] + j0, p, w),
                             0.0, lr_mat_wrap(G, na, w));
                if (st != LR_OK) goto done;
                for (size_t k = 0; k < na * w; k++) f += G[k] * G[k];
            }
            double pairs = (double)na * (double)nb;
            if (a == b) {
                /* Leave out the pairs i = j: their (w_i^T w_i)^2 = ||w_i||^4 (gmm.h says why). */
                for (size_t j = 0; j < na; j++) f -= sq[off[a] + j] * sq[off[a] + j];
                pairs = (double)na * (double)(na - 1);
            }
            s->trcc[a + b * K] = s->trcc[b + a * K] = (double)p * f / pairs;
        }
done:
    lr_free(Wd), lr_free(G), lr_free(sq);
    return st;
}

int lr_real_normalise(lr_mat D, const size_t *labels, const size_t *classes, size_t K, lr_mat X,
                      size_t *labels_out, double *scale, lr_class_stats *s)
{
    size_t p = D.rows, N = D.cols, n = 0;
    if (K == 0) LR_ERROR(LR_EINVAL, "lr_real_normalise: no classes selected");
    if (s && (s->p != p || s->K != K))
        LR_ERRORF(LR_EINVAL, "lr_real_normalise: statistics for p = %zu, K = %zu, data p = %zu, K = %zu", s->p, s->K,
                  p, K);
    /* counts, block offsets and fill positions: 3 K sizes. */
    size_t *counts = lr_malloc(3 * K * sizeof(size_t));
    if (!counts) LR_ERRORF(LR_ENOMEM, "out of memory for the counts of %zu classes", K);
    size_t *off = counts + K, *fill = counts + 2 * K;
    int st = lr_real_select_count(labels, N, classes, K, counts, &n);
    if (st != LR_OK) goto done;
    if (n == 0) {
        st = lr_error(LR_EDATA, __FILE__, __LINE__, "lr_real_normalise: no column has a selected label");
        goto done;
    }
    if (X.rows != p || X.cols != n) {
        st = lr_error(LR_EINVAL, __FILE__, __LINE__, "lr_real_normalise: X is %zux%zu, the selection is %zux%zu",
                      X.rows, X.cols, p, n);
        goto done;
    }
    off[0] = 0;
    for (size_t a = 1; a < K; a++) off[a] = off[a - 1] + counts[a - 1];
    /* Gather, class by class in the order of `classes`, stable within a class. */
    memcpy(fill, off, K * sizeof(size_t));
    for (size_t i = 0; i < N; i++)
        for (size_t a = 0; a < K; a++)
            if (labels[i] == classes[a]) {
                memcpy(&LR_AT(X, 0, fill[a]), &LR_AT(D, 0, i), p * sizeof(double));
                if (labels_out) labels_out[fill[a]] = a;
                fill[a]++;
                break;
            }
    if (!lr_mat_all_finite(X)) {
        st = lr_error(LR_EDATA, __FILE__, __LINE__, "lr_real_normalise: the data has NaN or Inf entries");
        goto done;
    }
    /* Centre by the global mean: the mean first, then the subtraction, row by row. */
    for (size_t i = 0; i < p; i++) {
        double m = 0.0;
        for (size_t j = 0; j < n; j++) m += LR_AT(X, i, j);
        m /= (double)n;
        for (size_t j = 0; j < n; j++) LR_AT(X, i, j) -= m;
    }
    double ms = 0.0;
    for (size_t j = 0; j < n; j++) {
        double c = cblas_dnrm2((int)p, &LR_AT(X, 0, j), 1);
        ms += c * c;
    }
    ms /= (double)n;
    if (!(ms > 0.0)) {
        st = lr_error(LR_EDATA, __FILE__, __LINE__, "lr_real_normalise: the selected columns are all equal");
        goto done;
    }
    double sc = sqrt(ms);
    for (size_t j = 0; j < n; j++) cblas_dscal((int)p, 1.0 / sc, &LR_AT(X, 0, j), 1);
    if (scale) *scale = sc;
    if (s) st = real_stats(X, K, counts, off, classes, s);
done:
    lr_free(counts);
    return st;
}
