/* l_q soft sparsity (src/compress/lq.h, src/bounds/lq.c; THEORY.md section 7): the index's
 * range and invariances, the norms' scaling, top-k against a plain selection, the
 * truncation bounds on heavy-tailed vectors, the adaptive rule's m against its formula
 * evaluated directly, the pruning loop's invariants (with retraining through the training
 * engine: pruned weights stay exactly 0), and the degradation bound on random
 * one-hidden-layer networks, checked over the cube's vertices. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bounds/bounds.h"
#include "compress/lq.h"
#include "compress/lq_train.h"
#include "core/error.h"
#include "core/rng.h"
#include "tests.h"

enum { GAUSS, LAPLACE, STUDENT, CAUCHY, NDIST };

static double draw(gsl_rng *g, int dist)
{
    switch (dist) {
    case GAUSS: return gsl_ran_gaussian(g, 1.0);
    case LAPLACE: return gsl_ran_laplace(g, 1.0);
    case STUDENT: return gsl_ran_tdist(g, 1.5);
    default: return gsl_ran_cauchy(g, 1.0);
    }
}

static const double qs[] = {0.1, 0.3, 0.5, 0.7, 0.9};

static void test_si_range(void)
{
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 16);
    double w[300], v[300];
    for (size_t iq = 0; iq < sizeof qs / sizeof qs[0]; iq++)
        for (size_t d = 1; d <= 300; d += 37)
            for (int dist = 0; dist < NDIST; dist++) {
                double q = qs[iq], top = pow((double)d, 1.0 / q - 1.0);
                for (size_t i = 0; i < d; i++) w[i] = draw(g, dist);
                double si = lr_lq_si(w, d, 1, q);
                CU_ASSERT(si >= 1.0 && si <= top);
                /* scale invariance, also at the ends of the double range, and sign */
                static const double scales[] = {1e300, 1e-300, -3.7, 1e-310};
                for (size_t s = 0; s < 4; s++) {
                    for (size_t i = 0; i < d; i++) v[i] = w[i] * scales[s];
                    LR_ASSERT_CLOSE(lr_lq_si(v, d, 1, q), si, 1e-12 * top);
                }
                /* permutation invariance */
                memcpy(v, w, d * sizeof *w);
                gsl_ran_shuffle(g, v, d, sizeof *v);
                LR_ASSERT_CLOSE(lr_lq_si(v, d, 1, q), si, 1e-12 * top);
                /* equal magnitudes (random signs): 1; 1-sparse: the maximum */
                for (size_t i = 0; i < d; i++) v[i] = gsl_rng_uniform(g) < 0.5 ? -2.5 : 2.5;
                LR_ASSERT_CLOSE(lr_lq_si(v, d, 1, q), 1.0, 1e-12);
                memset(v, 0, d * sizeof *v);
                v[gsl_rng_uniform_int(g, d)] = -7.0;
                LR_ASSERT_CLOSE(lr_lq_si(v, d, 1, q), top, 1e-12);
            }
    memset(w, 0, sizeof w);
    CU_ASSERT_EQUAL(lr_lq_si(w, 10, 1, 0.5), 1.0); /* the zero vector: equal magnitudes */
    CU_ASSERT(isnan(lr_lq_si(w, 0, 1, 0.5)));
    w[3] = NAN;
    CU_ASSERT(isnan(lr_lq_si(w, 10, 1, 0.5)));
    CU_ASSERT(isnan(lr_lq_si(w, 10, 1, 1.0))); /* q outside (0, 1) */
    gsl_rng_free(g);
}

/* ||w||_q where the plain sum of powers overflows: 10^4 entries of 1e300 at q = 0.05 has
 * log norm log(1e300) + 20 log(1e4); a single tiny entry's power underflows to 0 unscaled. */
static void test_norm_scaling(void)
{
    static double w[10000];
    for (size_t i = 0; i < 10000; i++) w[i] = 1e300;
    double ln = lr_lq_log_norm(w, 10000, 1, 0.05);
    LR_ASSERT_CLOSE(ln, log(1e300) + 20.0 * log(1e4), 1e-12);
    CU_ASSERT(isinf(lr_lq_norm(w, 10000, 1, 0.05)));
    double t[3] = {1e-320, 0, 0};
    LR_ASSERT_CLOSE(lr_lq_log_norm(t, 3, 1, 0.1), log(1e-320), 1e-9);
    CU_ASSERT(lr_lq_log_norm(t + 1, 2, 1, 0.1) == -INFINITY);
    double u[4] = {3, -4, 0, 0};
    LR_ASSERT_CLOSE(lr_lq_norm(u, 4, 1, 1.0), 7.0, 1e-14);
    LR_ASSERT_CLOSE(lr_lq_norm(u, 4, 1, 0.5), pow(sqrt(3.0) + 2.0, 2.0), 1e-13);
    /* stride: every other entry */
    double s[8] = {3, 99, -4, 99, 0, 99, 0, 99};
    LR_ASSERT_CLOSE(lr_lq_norm(s, 4, 2, 0.5), pow(sqrt(3.0) + 2.0, 2.0), 1e-13);
}

/* top-k and the tail errors against a plain selection: repeated scans for the largest
 * magnitude (ties: the lower position), the errors summed directly over the rest. */
static void test_topk_reference(void)
{
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 7);
    enum { D = 41 };
    double w[D], sorted[D], e1[D + 1], e2[D + 1];
    size_t order[D];
    void *work = malloc(lr_lq_order_work(D));
    CU_ASSERT_PTR_NOT_NULL_FATAL(work);
    for (int rep = 0; rep < 40; rep++) {
        /* half the repetitions with many ties: small integers */
        for (size_t i = 0; i < D; i++)
            w[i] = rep % 2 ? (double)((long)gsl_rng_uniform_int(g, 7) - 3) : draw(g, rep % NDIST);
        lr_lq_order(w, D, 1, order, work);
        unsigned char taken[D] = {0};
        for (size_t r = 0; r < D; r++) {
            size_t best = D;
            for (size_t i = 0; i < D; i++)
                if (!taken[i] && (best == D || fabs(w[i]) > fabs(w[best]))) best = i;
            taken[best] = 1;
            CU_ASSERT_EQUAL(order[r], best);
        }
        for (size_t i = 0; i < D; i++) sorted[i] = fabs(w[order[i]]);
        double direct[D];
        lr_lq_sorted_magnitudes(w, D, 1, direct);
        CU_ASSERT(memcmp(direct, sorted, sizeof direct) == 0);
        lr_lq_tail_errors(sorted, D, e1, e2);
        for (size_t k = 0; k <= D; k++) {
            double s1 = 0, s2 = 0;
            for (size_t r = k; r < D; r++) s1 += fabs(w[order[r]]), s2 += w[order[r]] * w[order[r]];
            LR_ASSERT_CLOSE(e1[k], s1, 1e-13);
            LR_ASSERT_CLOSE(e2[k], sqrt(s2), 1e-13);
        }
        /* the mask kernel keeps exactly the first k of that order */
        unsigned char mask[D];
        lr_mask_layer L = {lr_mat_wrap(w, D, 1), mask};
        size_t k = (size_t)rep % (D + 1);
        lr_mask_topk_neurons(&L, &k, order, work);
        CU_ASSERT_EQUAL(lr_mask_kept(&L), k);
        for (size_t r = 0; r < D; r++) CU_ASSERT_EQUAL(mask[order[r]], r < k);
    }
    free(work);
    gsl_rng_free(g);
}

/* The truncation bounds through the registry on seeded vectors of every distribution, every
 * q of qs and every k: rows, checked, violated (shared with tests/test_bounds_hold.c). */
static void vector_bound_rows(const lr_bound *b, size_t *checked, size_t *violated, size_t *rows)
{
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 2022);
    enum { D = 120 };
    double w[D], sorted[D], e1[D + 1], e2[D + 1];
    size_t order[D];
    void *work = malloc(lr_lq_order_work(D));
    CU_ASSERT_PTR_NOT_NULL_FATAL(work);
    lr_bound_params bp = {.tol = 1e-10};
    for (int dist = 0; dist < NDIST; dist++)
        for (size_t iq = 0; iq < sizeof qs / sizeof qs[0]; iq++)
            for (int rep = 0; rep < 5; rep++) {
                for (size_t i = 0; i < D; i++) w[i] = draw(g, dist);
                lr_lq_order(w, D, 1, order, work);
                for (size_t i = 0; i < D; i++) sorted[i] = fabs(w[order[i]]);
                lr_lq_tail_errors(sorted, D, e1, e2);
                lr_bound_input in = {.lq_q = qs[iq], .lq_log_norm = lr_lq_log_norm(w, D, 1, qs[iq])};
                for (size_t k = 1; k <= D; k++) { /* k = 0 is not applicable (NaN) */
                    in.k = k;
                    int l1 = b->observed == LR_OBS_ERR_L1;
                    int h = lr_bound_check(b, lr_bound_evaluate(b, &in, &bp), l1 ? e1[k] : e2[k], l1 ? e1[0] : e2[0], &bp);
                    *checked += h >= 0, *violated += h == 0, (*rows)++;
                }
            }
    free(work);
    gsl_rng_free(g);
}

/* Random networks f(x) = sum_j a_j sigma(w_j . x), d = 8 inputs so that all 256 vertices of
 * the cube [-B, B]^8 are test points (with 200 interior points), relu and tanh, each
 * neuron cut to a random k_j. */
static void network_bound_rows(const lr_bound *b, size_t *checked, size_t *violated, size_t *rows)
{
    enum { D = 8, H = 24, NV = 1 << D, NP = NV + 200 };
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 99);
    double *X = malloc(NP * D * sizeof(double)), *Z = malloc(NP * H * sizeof(double));
    double W[D * H], Wp[D * H], a[H], ln[H], f[NP], fp[NP];
    size_t kept[H], order[D];
    unsigned char mask[D * H];
    void *work = malloc(lr_lq_order_work(D));
    CU_ASSERT_FATAL(X && Z && work);
    lr_bound_params bp = {.tol = 1e-10};
    for (int trial = 0; trial < 40; trial++) {
        double B = trial % 2 ? 1.0 : 2.5, q = qs[trial % 5];
        lr_activation_id act = trial % 4 < 2 ? LR_ACT_RELU : LR_ACT_TANH;
        for (size_t p = 0; p < NP; p++)
            for (size_t i = 0; i < D; i++)
                X[p + i * NP] = p < NV ? (p >> i & 1 ? B : -B) : B * (2 * gsl_rng_uniform(g) - 1);
        for (size_t j = 0; j < H; j++) {
            a[j] = gsl_ran_gaussian(g, 1.0);
            for (size_t i = 0; i < D; i++) W[i + j * D] = draw(g, trial % NDIST);
            kept[j] = 1 + gsl_rng_uniform_int(g, D);
            ln[j] = lr_lq_log_norm(W + j * D, D, 1, q);
        }
        lr_mask_layer L = {lr_mat_wrap(W, D, H), mask};
        lr_mask_topk_neurons(&L, kept, order, work);
        lr_mask_apply(&L, lr_mat_wrap(Wp, D, H));
        lr_mat Xm = lr_mat_wrap(X, NP, D), Zm = lr_mat_wrap(Z, NP, H);
        CU_ASSERT_EQUAL_FATAL(lr_lq_onehidden(Xm, lr_mat_wrap(W, D, H), a, act, Zm, f), LR_OK);
        CU_ASSERT_EQUAL_FATAL(lr_lq_onehidden(Xm, lr_mat_wrap(Wp, D, H), a, act, Zm, fp), LR_OK);
        double sup = 0, scale = 0;
        for (size_t p = 0; p < NP; p++) {
            if (fabs(f[p] - fp[p]) > sup) sup = fabs(f[p] - fp[p]);
            if (fabs(f[p]) > scale) scale = fabs(f[p]);
        }
        lr_bound_input in = {.lq_q = q, .lq_B = B, .lq_neurons = H, .lq_a = a, .lq_log_norms = ln, .lq_kept = kept};
        int h = lr_bound_check(b, lr_bound_evaluate(b, &in, &bp), sup, scale, &bp);
        *checked += h >= 0, *violated += h == 0, (*rows)++;
    }
    free(X), free(Z), free(work);
    gsl_rng_free(g);
}

void lr_test_lq_bound_rows(const lr_bound *b, size_t *checked, size_t *violated, size_t *rows)
{
    (b->observed == LR_OBS_OUT_SUP ? network_bound_rows : vector_bound_rows)(b, checked, violated, rows);
}

static void test_truncation_bounds(void)
{
    const char *names[] = {"lq_l1", "lq_l2", "lq_degrade"};
    for (int i = 0; i < 3; i++) {
        const lr_bound *b = lr_bound_find(names[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        size_t checked = 0, violated = 0, rows = 0;
        lr_test_lq_bound_rows(b, &checked, &violated, &rows);
        CU_ASSERT(checked > 0);
        CU_ASSERT_EQUAL(violated, 0);
        CU_ASSERT_EQUAL(checked, rows);
    }
    /* a caller that gives no q: not applicable */
    lr_bound_params bp = {.tol = 1e-10};
    lr_bound_input none = {.k = 3}, k0 = {.k = 0, .lq_q = 0.5, .lq_log_norm = 1.0};
    CU_ASSERT(isnan(lr_bound_evaluate(lr_bound_find("lq_l1"), &none, &bp)));
    CU_ASSERT(isnan(lr_bound_evaluate(lr_bound_find("lq_l2"), &k0, &bp)));
    CU_ASSERT(isnan(lr_bound_evaluate(lr_bound_find("lq_degrade"), &none, &bp)));
}

/* m = ceil(d (1 + eta)^{-1/(1-q)} SI_q^{-q/(1-q)}) with SI_q from plain sums of powers. */
static void test_adaptive_m(void)
{
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 5);
    double w[64];
    size_t exact = 0, n = 0;
    for (int rep = 0; rep < 400; rep++) {
        size_t d = 2 + gsl_rng_uniform_int(g, 63);
        double q = 0.2 + 0.6 * gsl_rng_uniform(g), eta = rep % 3 ? 0.0 : gsl_rng_uniform(g);
        double c = 1 + 5 * gsl_rng_uniform(g);
        double s1 = 0, sq = 0;
        for (size_t i = 0; i < d; i++) {
            w[i] = draw(g, rep % NDIST);
            s1 += fabs(w[i]), sq += pow(fabs(w[i]), q);
        }
        double si = pow((double)d, 1 / q - 1) * s1 / pow(sq, 1 / q);
        double arg = (double)d * pow(1 + eta, -1 / (1 - q)) * pow(si, -q / (1 - q));
        double ref = ceil(arg);
        if (ref < 1) ref = 1;
        size_t m = lr_lq_adaptive_m(d, lr_lq_si(w, d, 1, q), q, eta);
        n++;
        /* only an argument within rounding of an integer may round either way */
        if (fabs(arg - nearbyint(arg)) > 1e-9 * arg) {
            CU_ASSERT_EQUAL((double)m, ref);
            exact += (double)m == ref;
        }
        double p = lr_lq_adaptive_fraction(d, lr_lq_si(w, d, 1, q), q, c, eta, 0.9);
        LR_ASSERT_CLOSE(p, fmin(fmax(c * (1 - (double)m / (double)d), 0), 0.9), 1e-15);
    }
    CU_ASSERT(exact > n / 2);
    /* equal magnitudes, eta = 0: m = d, nothing pruned */
    for (size_t i = 0; i < 10; i++) w[i] = 1;
    CU_ASSERT_EQUAL(lr_lq_adaptive_m(10, lr_lq_si(w, 10, 1, 0.5), 0.5, 0), 10);
    gsl_rng_free(g);
}

/* The loop's invariants, checked after every round by the round callback: masks only
 * shrink, no neuron (scope neuron) or group loses more than 90% of its survivors, the
 * survivors hold their initial weights exactly and the pruned ones 0.  A retrain callback
 * that scribbles over W checks that the loop re-applies the mask after it. */
typedef struct loop_ctx {
    const lr_mat *W0;
    unsigned char *prev[3];
    lr_prune_scope scope;
    int retrained, bad_shrink, bad_cap, bad_rewind, bad_masked;
    size_t rounds;
} loop_ctx;

static int scribble(void *ctx, lr_mask_layer *layers, size_t nl, size_t round)
{
    loop_ctx *c = ctx;
    (void)round;
    c->retrained++;
    for (size_t l = 0; l < nl; l++)
        for (size_t i = 0; i < layers[l].W.rows * layers[l].W.cols; i++) layers[l].W.data[i] += 1.0;
    return LR_OK;
}

static int check_round(void *ctx, const lr_mask_layer *layers, size_t nl, size_t round)
{
    loop_ctx *c = ctx;
    c->rounds = round;
    size_t before_all = 0, after_all = 0;
    for (size_t l = 0; l < nl; l++) {
        const lr_mask_layer *L = &layers[l];
        size_t n0 = L->W.rows, before_l = 0, after_l = 0;
        for (size_t j = 0; j < L->W.cols; j++) {
            size_t before = 0, after = 0;
            for (size_t i = 0; i < n0; i++) {
                size_t at = i + j * n0;
                before += c->prev[l][at], after += L->mask[at];
                if (L->mask[at] && !c->prev[l][at]) c->bad_shrink++;
                if (L->mask[at] && LR_AT(L->W, i, j) != LR_AT(c->W0[l], i, j) + (c->retrained ? 1.0 : 0.0))
                    c->bad_rewind++;
                if (!L->mask[at] && LR_AT(L->W, i, j) != 0) c->bad_masked++;
            }
            if (c->scope == LR_PRUNE_NEURON && (double)(before - after) > 0.9 * (double)before) c->bad_cap++;
            before_l += before, after_l += after;
        }
        if (c->scope == LR_PRUNE_LAYER && (double)(before_l - after_l) > 0.9 * (double)before_l) c->bad_cap++;
        before_all += before_l, after_all += after_l;
        memcpy(c->prev[l], L->mask, n0 * L->W.cols);
    }
    if ((double)(before_all - after_all) > 0.9 * (double)before_all) c->bad_cap++;
    return LR_OK;
}

static void test_loop_invariants(void)
{
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 30);
    size_t shape[3][2] = {{30, 12}, {12, 9}, {9, 4}};
    double *W[3], *W0d[3];
    unsigned char *mask[3];
    lr_mat W0[3];
    lr_mask_layer L[3];
    loop_ctx ctx = {0};
    for (int l = 0; l < 3; l++) {
        size_t n = shape[l][0] * shape[l][1];
        W[l] = malloc(n * sizeof(double)), W0d[l] = malloc(n * sizeof(double));
        mask[l] = malloc(n), ctx.prev[l] = malloc(n);
        CU_ASSERT_FATAL(W[l] && W0d[l] && mask[l] && ctx.prev[l]);
        for (size_t i = 0; i < n; i++) W0d[l][i] = draw(g, l % NDIST);
        W0[l] = lr_mat_wrap(W0d[l], shape[l][0], shape[l][1]);
        L[l] = (lr_mask_layer){lr_mat_wrap(W[l], shape[l][0], shape[l][1]), mask[l]};
    }
    for (int variant = 0; variant < 8; variant++) {
        lr_prune_opts o = lr_prune_opts_default();
        o.rule = variant < 4 ? LR_PRUNE_ADAPTIVE : LR_PRUNE_MAGNITUDE;
        o.scope = (lr_prune_scope)(variant % 3);
        o.c = variant == 1 ? 50 : 5; /* c = 50: every step hits the cap */
        o.fraction = variant == 7 ? 0.95 : 0.2; /* above the cap: the cap holds */
        o.rounds = 12;
        for (int l = 0; l < 3; l++) {
            memcpy(W[l], W0d[l], shape[l][0] * shape[l][1] * sizeof(double));
            lr_mask_fill(&L[l]);
            memset(ctx.prev[l], 1, shape[l][0] * shape[l][1]);
        }
        ctx.W0 = W0, ctx.scope = o.scope, ctx.retrained = 0;
        int retrain = variant % 2;
        CU_ASSERT_EQUAL(lr_prune_loop(L, 3, W0, &o, retrain ? scribble : NULL, &ctx, check_round, &ctx), LR_OK);
        CU_ASSERT_EQUAL(ctx.rounds, 12);
        CU_ASSERT_EQUAL(ctx.retrained, retrain ? 12 : 0);
        size_t kept = lr_mask_kept(&L[0]) + lr_mask_kept(&L[1]) + lr_mask_kept(&L[2]);
        CU_ASSERT(kept > 0 && kept < 30 * 12 + 12 * 9 + 9 * 4);
        for (size_t j = 0; o.scope == LR_PRUNE_NEURON && j < 12; j++) CU_ASSERT(lr_mask_kept_neuron(&L[0], j) >= 1);
    }
    CU_ASSERT_EQUAL(ctx.bad_shrink, 0);
    CU_ASSERT_EQUAL(ctx.bad_cap, 0);
    CU_ASSERT_EQUAL(ctx.bad_rewind, 0);
    CU_ASSERT_EQUAL(ctx.bad_masked, 0);
    /* one step at fraction 0.2 on one neuron of 10 distinct magnitudes: the 2 smallest go */
    double v[10] = {5, -1, 9, 0.5, 3, -8, 2, 7, -4, 6};
    unsigned char m[10];
    lr_mask_layer one = {lr_mat_wrap(v, 10, 1), m};
    lr_mask_fill(&one);
    lr_prune_opts o = lr_prune_opts_default();
    o.rule = LR_PRUNE_MAGNITUDE;
    lr_prune_ws *ws = lr_prune_ws_alloc(&one, 1);
    size_t pruned = 0;
    CU_ASSERT_EQUAL_FATAL(lr_prune_step(&one, 1, &o, ws, &pruned), LR_OK);
    CU_ASSERT_EQUAL(pruned, 2);
    CU_ASSERT(!m[1] && !m[3] && lr_mask_kept(&one) == 8);
    o.q = 1.0;
    CU_ASSERT_EQUAL(lr_prune_step(&one, 1, &o, ws, NULL), LR_EINVAL);
    lr_clear_error();
    lr_prune_ws_free(ws);
    for (int l = 0; l < 3; l++) free(W[l]), free(W0d[l]), free(mask[l]), free(ctx.prev[l]);
    gsl_rng_free(g);
}

/* After each round of the loop with lr_lq_retrain: masks only shrink, no neuron loses more
 * than 90% of its survivors, every pruned weight is exactly 0 in the layers and in the
 * engine's network, and (epochs = 0) every survivor and bias is its initial value exactly,
 * or (epochs > 0) retraining moved the survivors. */
typedef struct retrain_check {
    lr_lq_retrainer *rt;
    const lr_mat *W0;
    unsigned char *prev[2];
    int bad_shrink, bad_cap, bad_zero, bad_rewind, moved;
} retrain_check;

static int check_retrained(void *ctx, const lr_mask_layer *layers, size_t nl, size_t round)
{
    retrain_check *c = ctx;
    (void)round;
    const lr_tnet *net = c->rt->net;
    for (size_t l = 0; l < nl; l++) {
        const lr_mask_layer *L = &layers[l];
        size_t n0 = L->W.rows;
        for (size_t j = 0; j < L->W.cols; j++) {
            size_t before = 0, after = 0;
            for (size_t i = 0; i < n0; i++) {
                size_t at = i + j * n0;
                before += c->prev[l][at], after += L->mask[at];
                if (L->mask[at] && !c->prev[l][at]) c->bad_shrink++;
                if (!L->mask[at] && (L->W.data[at] != 0.0 || net->layers[l].W[at] != 0.0)) c->bad_zero++;
                if (L->mask[at] && L->W.data[at] != c->W0[l].data[at]) {
                    if (c->rt->epochs) c->moved++;
                    else c->bad_rewind++;
                }
            }
            if ((double)(before - after) > 0.9 * (double)before) c->bad_cap++;
        }
        const lr_tlayer *T = &net->layers[l];
        for (size_t k = 0; !c->rt->epochs && k < T->n1; k++)
            if (T->b[k] != c->rt->theta_init[(T->b - net->theta) + k]) c->bad_rewind++;
        memcpy(c->prev[l], L->mask, n0 * L->W.cols);
    }
    return LR_OK;
}

static void test_retrain_masked(void)
{
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 16);
    enum { D = 12, H = 9, K = 4, N = 96 };
    lr_tlayer_spec spec[2] = {{.n_out = H, .act = LR_ACT_RELU}, {.n_out = K, .act = LR_TRAIN_ACT_NONE}};
    lr_tnet *net = lr_tnet_alloc(D, spec, 2, 32);
    CU_ASSERT_FATAL(net != NULL);
    CU_ASSERT_EQUAL_FATAL(lr_tnet_init_random(net, g), LR_OK);
    double *theta0 = malloc(net->nparams * sizeof(double)), *x = malloc(N * D * sizeof(double));
    long *y = malloc(N * sizeof(long));
    CU_ASSERT_FATAL(theta0 && x && y);
    memcpy(theta0, net->theta, net->nparams * sizeof(double));
    for (size_t i = 0; i < N; i++) {
        y[i] = (long)gsl_rng_uniform_int(g, K);
        for (size_t d = 0; d < D; d++) x[i * D + d] = gsl_ran_gaussian(g, 1.0) + (d % K == (size_t)y[i] ? 1.5 : 0.0);
    }
    lr_train_data data = {.x = x, .labels = y, .N = N};
    /* Optimisers whose plain step would move a zero weight: momentum, decoupled decay. */
    lr_optim_opts opts[2] = {{.kind = LR_OPT_ADAMW, .lr = 1e-2, .weight_decay = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
                             {.kind = LR_OPT_SGD, .lr = 0.05, .momentum = 0.9, .weight_decay = 1e-2}};
    size_t shape[2][2] = {{D, H}, {H, K}};
    double *W[2], *W0d[2];
    unsigned char *mask[2];
    lr_mat W0[2];
    lr_mask_layer L[2];
    retrain_check c = {0};
    for (int l = 0; l < 2; l++) {
        size_t n = shape[l][0] * shape[l][1];
        W[l] = malloc(n * sizeof(double)), W0d[l] = malloc(n * sizeof(double)), mask[l] = malloc(n), c.prev[l] = malloc(n);
        CU_ASSERT_FATAL(W[l] && W0d[l] && mask[l] && c.prev[l]);
        memcpy(W0d[l], theta0 + (net->layers[l].W - net->theta), n * sizeof(double));
        W0[l] = lr_mat_wrap(W0d[l], shape[l][0], shape[l][1]);
        L[l] = (lr_mask_layer){lr_mat_wrap(W[l], shape[l][0], shape[l][1]), mask[l]};
    }
    c.W0 = W0;
    for (int variant = 0; variant < 4; variant++) {
        lr_lq_retrainer rt = {.net = net, .data = &data, .theta_init = theta0, .opt = opts[variant % 2],
                              .loss = LR_LOSS_SOFTMAX_CE, .epochs = variant < 2 ? 3 : 0, .batch = 16, .seed = 7};
        c.rt = &rt;
        /* the "trained" network: the initial one after a few dense epochs */
        memcpy(net->theta, theta0, net->nparams * sizeof(double));
        lr_optim *opt = lr_optim_alloc(net->nparams, &rt.opt);
        for (int e = 0; e < 3; e++) CU_ASSERT_EQUAL(lr_train_epoch(net, opt, &data, 16, LR_LOSS_SOFTMAX_CE, NULL, g, NULL), LR_OK);
        lr_optim_free(opt);
        for (int l = 0; l < 2; l++) {
            lr_mask_fill(&L[l]);
            memset(c.prev[l], 1, shape[l][0] * shape[l][1]);
        }
        CU_ASSERT_EQUAL_FATAL(lr_lq_weights_from_net(net, L, 2), LR_OK);
        lr_prune_opts o = lr_prune_opts_default();
        o.rule = variant % 2 ? LR_PRUNE_MAGNITUDE : LR_PRUNE_ADAPTIVE;
        o.rounds = 5;
        CU_ASSERT_EQUAL(lr_prune_loop(L, 2, W0, &o, lr_lq_retrain, &rt, check_retrained, &c), LR_OK);
        CU_ASSERT(lr_mask_kept(&L[0]) < D * H);
    }
    CU_ASSERT_EQUAL(c.bad_shrink, 0);
    CU_ASSERT_EQUAL(c.bad_cap, 0);
    CU_ASSERT_EQUAL(c.bad_zero, 0);
    CU_ASSERT_EQUAL(c.bad_rewind, 0);
    CU_ASSERT(c.moved > 0);
    /* a mask on a factored layer is refused */
    lr_tlayer_spec fspec[1] = {{.n_out = 3, .act = LR_TRAIN_ACT_NONE, .rank = 2}};
    lr_tnet *fnet = lr_tnet_alloc(4, fspec, 1, 4);
    const unsigned char *fm[1] = {mask[0]};
    CU_ASSERT_EQUAL(lr_tnet_set_masks(fnet, fm), LR_EINVAL);
    lr_clear_error();
    lr_tnet_free(fnet);
    for (int l = 0; l < 2; l++) free(W[l]), free(W0d[l]), free(mask[l]), free(c.prev[l]);
    free(theta0), free(x), free(y);
    lr_tnet_free(net);
    gsl_rng_free(g);
}

void lr_tests_lq(void)
{
    CU_pSuite s = CU_add_suite("lq soft sparsity", NULL, NULL);
    CU_add_test(s, "SI_q in [1, d^{1/q-1}]: 1 on equal magnitudes, max on 1-sparse, scale/permutation invariant", test_si_range);
    CU_add_test(s, "||w||_q scaled by max |w|: no overflow or underflow", test_norm_scaling);
    CU_add_test(s, "top-k and tail errors = a plain selection (ties included)", test_topk_reference);
    CU_add_test(s, "truncation bounds on heavy tails, degradation bound on random networks", test_truncation_bounds);
    CU_add_test(s, "adaptive m = its formula evaluated directly", test_adaptive_m);
    CU_add_test(s, "pruning loop: masks shrink, <= 90% per round, rewinding exact", test_loop_invariants);
    CU_add_test(s, "retraining through the engine: pruned weights stay 0, rewinding exact", test_retrain_masked);
}
