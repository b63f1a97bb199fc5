/* l_q soft sparsity: the index, the truncation kernels, masks and the pruning rules
 * (docs/theory.md section 7; Wang, Ding, Yang, Yang 2022).  lq.h has the maths.
 *
 * Numerics.  ||w||_q for q < 1 is sum |w_i|^q raised to 1/q > 1: for large d and small q
 * the power overflows although the norm's log does not, and tiny |w_i|^q underflow.  Every
 * norm is therefore computed as M (sum (|w_i|/M)^q)^{1/q}, M = max |w_i|, whose terms lie in
 * [0, 1] and whose sum lies in [1, d], and SI_q in logs:
 *     log SI_q = (1/q - 1) log d + log(||w||_1 / M) - (1/q) log sum (|w_i|/M)^q,
 * so a vector scaled by 1e300 or 1e-300 has the same index as the vector itself. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/mat.h"
#include "lq.h"

static double max_abs(const double *w, size_t n, size_t inc)
{
    /* The largest magnitude, and a NaN detected once at the end through the sum (a NaN or an
     * infinity makes it non-finite), instead of a test per element. */
    double m = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs(w[i * inc]);
        sum += a * 0.0;
        m = a > m ? a : m;
    }
    return isnan(sum) ? NAN : m;
}

/* sum (|w_i| / M)^q for M = max |w_i| > 0. */
static double scaled_power_sum(const double *w, size_t n, size_t inc, double M, double q)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs(w[i * inc]) / M;
        /* q = 1/2 (docs/theory.md's default) through sqrt, several times cheaper than pow */
        if (a > 0) s += q == 1 ? a : q == 0.5 ? sqrt(a) : pow(a, q);
    }
    return s;
}

double lr_lq_log_norm(const double *w, size_t n, size_t inc, double q)
{
    double M = max_abs(w, n, inc);
    if (isnan(M) || !isfinite(M) || !(q > 0)) return NAN;
    if (M == 0) return -INFINITY;
    return log(M) + log(scaled_power_sum(w, n, inc, M, q)) / q;
}

double lr_lq_norm(const double *w, size_t n, size_t inc, double q) { return exp(lr_lq_log_norm(w, n, inc, q)); }

/* sum |w_i| / M and sum (|w_i| / M)^q in one pass (M = max |w_i| > 0), multiplying by 1/M
 * instead of dividing, and q = 1/2 through sqrt: the index's whole cost after max_abs. */
static void scaled_sums(const double *w, size_t n, size_t inc, double M, double q, double *l1, double *lq)
{
    double inv = 1.0 / M, s1 = 0, sq = 0;
    if (!isfinite(inv)) { /* M subnormal: 1/M overflows, divide instead */
        *l1 = scaled_power_sum(w, n, inc, M, 1.0), *lq = scaled_power_sum(w, n, inc, M, q);
        return;
    }
    if (q == 0.5) {
        for (size_t i = 0; i < n; i++) {
            double a = fabs(w[i * inc]) * inv;
            s1 += a, sq += sqrt(a);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            double a = fabs(w[i * inc]) * inv;
            s1 += a;
            if (a > 0) sq += pow(a, q);
        }
    }
    *l1 = s1, *lq = sq;
}

double lr_lq_si(const double *w, size_t n, size_t inc, double q)
{
    if (n == 0 || !(q > 0 && q < 1)) return NAN;
    double M = max_abs(w, n, inc);
    if (isnan(M) || !isfinite(M)) return NAN;
    if (M == 0) return 1.0;
    double l1, lq;
    scaled_sums(w, n, inc, M, q, &l1, &lq);
    double log_si = (1.0 / q - 1.0) * log((double)n) + log(l1) - log(lq) / q;
    /* Rounding may put an equal-magnitude vector a few ulps below 1 (or a 1-sparse one above
     * the maximum); the index's range is exact, so clamp to it. */
    double si = exp(log_si), top = exp((1.0 / q - 1.0) * log((double)n));
    return si < 1 ? 1.0 : si > top ? top : si;
}

size_t lr_lq_adaptive_m(size_t s, double si, double q, double eta)
{
    if (s == 0) return 0;
    double e = 1.0 / (1.0 - q);
    double m = ceil((double)s * pow(1.0 + eta, -e) * pow(si, -q * e));
    if (!(m >= 1)) return 1;
    return m > (double)s ? s : (size_t)m;
}

double lr_lq_adaptive_fraction(size_t s, double si, double q, double c, double eta, double cap)
{
    if (s == 0) return 0;
    double p = c * (1.0 - (double)lr_lq_adaptive_m(s, si, q, eta) / (double)s);
    if (p < 0) p = 0;
    return p > cap ? cap : p;
}

/* (magnitude, position) pairs: by decreasing magnitude, ties by increasing position. */
typedef struct mag_pos {
    double a;
    size_t i;
} mag_pos;

static int by_decreasing(const void *x, const void *y)
{
    const mag_pos *a = x, *b = y;
    if (a->a != b->a) return a->a > b->a ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

size_t lr_lq_order_work(size_t n) { return (n ? n : 1) * sizeof(mag_pos); }

void lr_lq_order(const double *w, size_t n, size_t inc, size_t *order, void *work)
{
    mag_pos *p = work;
    for (size_t i = 0; i < n; i++) p[i] = (mag_pos){fabs(w[i * inc]), i};
    qsort(p, n, sizeof *p, by_decreasing);
    for (size_t i = 0; i < n; i++) order[i] = p[i].i;
}

void lr_lq_sorted_magnitudes(const double *w, size_t n, size_t inc, double *out)
{
    /* LAPACK's dlasrt (quicksort, insertion sort below 20) sorts straight into decreasing
     * order: 1.0-1.2x faster than GSL's heapsort (gsl_sort) and its reversal from d = 512 on,
     * and than the (magnitude, position) qsort of lr_lq_order where positions are not needed
     * (bench/README.md, the l_q kernels). */
    for (size_t i = 0; i < n; i++) out[i] = fabs(w[i * inc]);
    if (n > 1) LAPACKE_dlasrt_work('D', (lapack_int)n, out); /* _work: no NaN scan */
}

void lr_lq_tail_errors(const double *sorted, size_t n, double *err1, double *err2)
{
    double M = n ? sorted[0] : 0, s1 = 0, s2 = 0;
    if (err1) err1[n] = 0;
    if (err2) err2[n] = 0;
    for (size_t k = n; k-- > 0;) {
        s1 += sorted[k];
        if (M > 0) s2 += (sorted[k] / M) * (sorted[k] / M);
        if (err1) err1[k] = s1;
        if (err2) err2[k] = M * sqrt(s2);
    }
}

double lr_lq_bound_l1(double log_norm_q, double q, size_t k)
{
    if (k == 0) return NAN;
    return exp(log_norm_q + (1.0 - 1.0 / q) * log((double)k));
}

double lr_lq_bound_l2(double log_norm_q, double q, size_t k)
{
    if (k == 0) return NAN;
    return exp(log_norm_q + (0.5 - 1.0 / q) * log((double)k));
}

/* ---- masks ---- */

size_t lr_mask_kept(const lr_mask_layer *L)
{
    size_t n = 0;
    for (size_t j = 0; j < L->W.cols; j++) n += lr_mask_kept_neuron(L, j);
    return n;
}

size_t lr_mask_kept_neuron(const lr_mask_layer *L, size_t j)
{
    size_t n = 0;
    for (size_t i = 0; i < L->W.rows; i++) n += L->mask[i + j * L->W.rows] != 0;
    return n;
}

void lr_mask_apply(const lr_mask_layer *L, lr_mat out)
{
    for (size_t j = 0; j < L->W.cols; j++)
        for (size_t i = 0; i < L->W.rows; i++)
            LR_AT(out, i, j) = L->mask[i + j * L->W.rows] ? LR_AT(L->W, i, j) : 0.0;
}

void lr_mask_fill(lr_mask_layer *L) { memset(L->mask, 1, L->W.rows * L->W.cols); }

void lr_mask_topk_neurons(lr_mask_layer *L, const size_t *k, size_t *order, void *work)
{
    size_t n0 = L->W.rows;
    for (size_t j = 0; j < L->W.cols; j++) {
        lr_lq_order(&LR_AT(L->W, 0, j), n0, 1, order, work);
        unsigned char *m = L->mask + j * n0;
        memset(m, 0, n0);
        for (size_t r = 0; r < k[j] && r < n0; r++) m[order[r]] = 1;
    }
}

/* ---- pruning ---- */

lr_prune_opts lr_prune_opts_default(void)
{
    return (lr_prune_opts){.rule = LR_PRUNE_ADAPTIVE, .scope = LR_PRUNE_NEURON, .q = 0.5, .c = 5, .eta = 0,
                           .fraction = 0.2, .cap = 0.9, .rounds = 30};
}

int lr_prune_rule_of(const char *name)
{
    return !strcmp(name, "adaptive") ? LR_PRUNE_ADAPTIVE : !strcmp(name, "magnitude") ? LR_PRUNE_MAGNITUDE : -1;
}

static const char *const scope_names[] = {"neuron", "layer", "global"};

int lr_prune_scope_of(const char *name)
{
    for (int s = 0; s < 3; s++)
        if (!strcmp(name, scope_names[s])) return s;
    return -1;
}

const char *lr_prune_scope_name(lr_prune_scope s) { return (unsigned)s < 3 ? scope_names[s] : "?"; }

struct lr_prune_ws {
    size_t cap;
    mag_pos *p;   /* a group's survivors */
    double *vals; /* their values, for SI_q */
};

lr_prune_ws *lr_prune_ws_alloc(const lr_mask_layer *layers, size_t nl)
{
    size_t total = 1;
    for (size_t l = 0; l < nl; l++) total += layers[l].W.rows * layers[l].W.cols;
    lr_prune_ws *ws = calloc(1, sizeof *ws);
    if (!ws) LR_ERROR_NULL(LR_ENOMEM, "out of memory for a pruning workspace");
    ws->cap = total;
    ws->p = malloc(total * sizeof *ws->p);
    ws->vals = malloc(total * sizeof *ws->vals);
    if (!ws->p || !ws->vals) {
        lr_prune_ws_free(ws);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for a pruning workspace of %zu weights", total);
    }
    return ws;
}

void lr_prune_ws_free(lr_prune_ws *ws)
{
    if (!ws) return;
    free(ws->p), free(ws->vals);
    free(ws);
}

/* Gather the survivors of layer l's columns [j0, j1) into ws (positions: offset + flat
 * index), appending after *n. */
static void gather(const lr_mask_layer *L, size_t j0, size_t j1, size_t offset, lr_prune_ws *ws, size_t *n)
{
    size_t n0 = L->W.rows;
    for (size_t j = j0; j < j1; j++)
        for (size_t i = 0; i < n0; i++)
            if (L->mask[i + j * n0]) {
                double v = LR_AT(L->W, i, j);
                ws->vals[*n] = v;
                ws->p[(*n)++] = (mag_pos){fabs(v), offset + i + j * n0};
            }
}

/* Prune the group gathered in ws (n survivors) by the rule; positions are flat indices
 * into the layers [l0, l1) at the given offsets. */
static size_t prune_group(lr_mask_layer *layers, size_t l0, size_t l1, const size_t *offset, size_t n,
                          const lr_prune_opts *o, lr_prune_ws *ws)
{
    if (n < 2) return 0;
    double p = o->rule == LR_PRUNE_ADAPTIVE
                   ? lr_lq_adaptive_fraction(n, lr_lq_si(ws->vals, n, 1, o->q), o->q, o->c, o->eta, o->cap)
                   : (o->fraction < o->cap ? o->fraction : o->cap);
    size_t go = (size_t)floor(p * (double)n);
    if (go > n - 1) go = n - 1;
    if (go == 0) return 0;
    /* Smallest first: the decreasing order read from its end, so that of equal magnitudes
     * the later position goes first. */
    qsort(ws->p, n, sizeof *ws->p, by_decreasing);
    for (size_t r = 0; r < go; r++) {
        size_t pos = ws->p[n - 1 - r].i, l = l0;
        while (l + 1 < l1 && pos >= offset[l + 1]) l++;
        layers[l].mask[pos - offset[l]] = 0;
    }
    return go;
}

int lr_prune_step(lr_mask_layer *layers, size_t nl, const lr_prune_opts *o, lr_prune_ws *ws, size_t *pruned)
{
    if (!(o->q > 0 && o->q < 1)) LR_ERRORF(LR_EINVAL, "pruning: q = %g must lie in (0, 1)", o->q);
    if (!(o->c >= 0) || !(o->eta > -1)) LR_ERRORF(LR_EINVAL, "pruning: c = %g must be >= 0 and eta = %g > -1", o->c, o->eta);
    if (!(o->fraction >= 0 && o->fraction <= 1) || !(o->cap >= 0 && o->cap <= 1))
        LR_ERRORF(LR_EINVAL, "pruning: fraction = %g and cap = %g must lie in [0, 1]", o->fraction, o->cap);
    if ((unsigned)o->scope > LR_PRUNE_GLOBAL || (unsigned)o->rule > LR_PRUNE_MAGNITUDE)
        LR_ERROR(LR_EINVAL, "pruning: unknown rule or scope");
    size_t total = 0, *offset = malloc((nl + 1) * sizeof *offset);
    if (!offset) LR_ERROR(LR_ENOMEM, "out of memory");
    offset[0] = 0;
    for (size_t l = 0; l < nl; l++) offset[l + 1] = offset[l] + layers[l].W.rows * layers[l].W.cols;
    if (offset[nl] + 1 > ws->cap) {
        free(offset);
        LR_ERROR(LR_EINVAL, "pruning: the workspace was sized for smaller layers");
    }
    if (o->scope == LR_PRUNE_GLOBAL) {
        size_t n = 0;
        for (size_t l = 0; l < nl; l++) gather(&layers[l], 0, layers[l].W.cols, offset[l], ws, &n);
        total += prune_group(layers, 0, nl, offset, n, o, ws);
    } else {
        for (size_t l = 0; l < nl; l++) {
            size_t cols = layers[l].W.cols, step = o->scope == LR_PRUNE_NEURON ? 1 : cols;
            for (size_t j = 0; j < cols; j += step) {
                size_t n = 0;
                gather(&layers[l], j, j + step, 0, ws, &n);
                static const size_t zero[1] = {0};
                total += prune_group(&layers[l], 0, 1, zero, n, o, ws);
            }
        }
    }
    free(offset);
    if (pruned) *pruned = total;
    return LR_OK;
}

int lr_prune_loop(lr_mask_layer *layers, size_t nl, const lr_mat *W_init, const lr_prune_opts *o,
                  lr_prune_retrain_fn retrain, void *retrain_ctx, lr_prune_round_fn on_round, void *round_ctx)
{
    for (size_t l = 0; l < nl; l++)
        if (W_init[l].rows != layers[l].W.rows || W_init[l].cols != layers[l].W.cols)
            LR_ERRORF(LR_EINVAL, "pruning loop: layer %zu's initial weights are %zux%zu, its weights %zux%zu", l,
                      W_init[l].rows, W_init[l].cols, layers[l].W.rows, layers[l].W.cols);
    lr_prune_ws *ws = lr_prune_ws_alloc(layers, nl);
    if (!ws) return LR_ENOMEM;
    int s = LR_OK;
    for (size_t round = 1; s == LR_OK && round <= o->rounds; round++) {
        s = lr_prune_step(layers, nl, o, ws, NULL);
        /* Rewinding: the survivors restart from their initial weights (Frankle and Carbin's
         * lottery-ticket rewinding), the pruned ones are zero. */
        for (size_t l = 0; s == LR_OK && l < nl; l++) {
            lr_mask_layer *L = &layers[l];
            for (size_t j = 0; j < L->W.cols; j++)
                for (size_t i = 0; i < L->W.rows; i++)
                    LR_AT(L->W, i, j) = L->mask[i + j * L->W.rows] ? LR_AT(W_init[l], i, j) : 0.0;
        }
        if (s == LR_OK && retrain) {
            s = retrain(retrain_ctx, layers, nl, round);
            /* The engine trains W; the mask stays the pruning's: re-apply it. */
            for (size_t l = 0; s == LR_OK && l < nl; l++) lr_mask_apply(&layers[l], layers[l].W);
        }
        if (s == LR_OK && on_round) s = on_round(round_ctx, layers, nl, round);
    }
    lr_prune_ws_free(ws);
    return s;
}

/* ---- one-hidden-layer networks ---- */

int lr_lq_onehidden(lr_mat X, lr_mat W, const double *a, lr_activation_id act, lr_mat Z, double *out)
{
    if (X.cols != W.rows || Z.rows != X.rows || Z.cols != W.cols)
        LR_ERRORF(LR_EINVAL, "one-hidden-layer network: X %zux%zu, W %zux%zu, Z %zux%zu do not fit", X.rows, X.cols,
                  W.rows, W.cols, Z.rows, Z.cols);
    LR_TRY(lr_gemm('N', 'N', 1.0, X, W, 0.0, Z));
    for (size_t j = 0; j < Z.cols; j++) LR_TRY(lr_activation_apply(act, 0.0, &LR_AT(Z, 0, j), Z.rows));
    cblas_dgemv(CblasColMajor, CblasNoTrans, (int)Z.rows, (int)Z.cols, 1.0, Z.data, (int)Z.ld, a, 1, 0.0, out, 1);
    return LR_OK;
}
