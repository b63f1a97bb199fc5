/* Experiment `lq`: l_q soft sparsity, its truncation and degradation bounds, and adaptive
 * pruning against magnitude pruning (Wang, Ding, Yang, Yang, "A Theoretical Understanding of
 * Neural Network Compression from Sparse Linear Approximation", 2022; THEORY.md section 7;
 * the kernels and the maths are in src/compress/lq.h, the bounds in src/bounds/lq.c).
 *
 * Three parts (key lq.part), each its own rows of /trials:
 *
 *   vectors  per weight vector w and kept count k: ||w - w_[k]||_1 and ||w - w_[k]||_2, the
 *            bounds lq_l1 = ||w||_q k^{1-1/q} and lq_l2 = ||w||_q k^{1/2-1/q} (registry
 *            bounds, checked per row), and the tightness error / bound.  The vectors are
 *            drawn (vectors.source = "synthetic": one per distribution of vectors.dists and
 *            trial, d = vectors.d) or are the neurons of a layer dump (every column of every
 *            layer's N0 x N1 W, one trial each).  k > d: not applicable (NaN).
 *   network  random one-hidden-layer networks f(x) = sum_j a_j sigma(w_j . x), a_j ~ N(0, 1),
 *            w_j's entries from network.dist, sigma in network.acts (1-Lipschitz: relu,
 *            tanh), each neuron cut to its k_j = max(1, round(keep d)) largest magnitudes:
 *            the largest |f - f^| over test points in [-B, B]^d (uniform draws, every vertex
 *            when d <= network.vertex_dmax, and the points x = +-B sign(w_j - w^_j) where
 *            neuron j's linear change is largest), against lq_degrade.
 *   prune    a layer dump's sequential network pruned by the adaptive rule (lq.q, prune.c,
 *            prune.eta, the 0.9 cap, in prune.scope), iterative magnitude pruning (prune.
 *            fraction per round, rewinding, in prune.magnitude_scope) and one-shot
 *            magnitude pruning to the adaptive rule's kept fraction of each round (0.8^r
 *            without it): per method and round r = 0 .. prune.rounds, a row per layer (kept
 *            weights, mean SI_q of its neurons' survivors) and a network row (kept fraction,
 *            test accuracy).  WITHOUT TRAINING (train.epochs = 0, the dump's weights)
 *            the loop's retrain callback is NULL and "rewinding to the initial weights"
 *            restores the dump's trained weights; the accuracies are those of pruning
 *            alone.  Without training, iterative magnitude pruning keeps exactly the
 *            weights one-shot pruning to the same count keeps (the order of the
 *            magnitudes never changes), which the report checks.
 *            WITH TRAINING (train.epochs > 0; src/compress/lq_train.h): lrlab's engine
 *            trains a ReLU MLP (train.hidden) on train.source from a seeded initialisation
 *            W_0 for train.epochs epochs; every method prunes by the trained magnitudes,
 *            rewinds the survivors (and the biases) to W_0 and retrains the masked network
 *            for train.retrain_epochs epochs per round (one-shot: one prune to the round's
 *            target from the dense trained network, then the same rewind and retraining),
 *            the accuracy is the retrained network's, and the pruned weights stay 0.
 *
 * Results: /trials (every column documented in the file), root attributes lq_part and
 * lq_note; no further tables, so a resumed run writes the same file. */
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds/bounds.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/h5.h"
#include "compress/lq_train.h"
#include "lq.h"

const char *const lq_part_names[3] = {"vectors", "network", "prune"};
const char *const lq_dist_names[LQ_NDIST] = {"gaussian", "laplace", "student_t", "cauchy"};
const char *const lq_method_names[LQ_NMETHODS] = {"adaptive", "oneshot", "imp", "svd_w", "dd_rank"};

const lr_key lr_lq_schema[] = {
    {.path = "lq.part", .type = LR_KEY_STRING, .def = NAN, .def_str = "vectors", .choices = "vectors|network|prune",
     .doc = "what to run: truncation of weight vectors, pruned random one-hidden-layer networks, or pruning a "
            "dump's network"},
    {.path = "lq.q", .type = LR_KEY_REAL, .sweepable = 1, .def = 0.5, .min = 1e-3, .max = 0.999,
     .doc = "q of ||w||_q and SI_q, 0 < q < 1 (the bounds' and the adaptive rule's)"},
    {.path = "dump", .type = LR_KEY_STRING, .def = NAN, .def_str = "",
     .doc = "layer dump (HDF5, data/README.md) for vectors.source = \"dump\" and lq.part = \"prune\""},
    {.path = "vectors.source", .type = LR_KEY_STRING, .def = NAN, .def_str = "synthetic", .choices = "synthetic|dump",
     .doc = "vectors drawn from vectors.dists, or the neurons (columns of W) of every layer of `dump`"},
    {.path = "vectors.dists", .type = LR_KEY_STRING_LIST, .def = NAN,
     .def_str = "[\"gaussian\", \"laplace\", \"student_t\", \"cauchy\"]", .choices = "gaussian|laplace|student_t|cauchy",
     .doc = "distributions of the synthetic vectors' entries (unit scale)"},
    {.path = "vectors.df", .type = LR_KEY_REAL, .sweepable = 1, .def = 3, .min = 0.1, .max = 1e6,
     .doc = "degrees of freedom of student_t (network.dist too)"},
    {.path = "vectors.d", .type = LR_KEY_INT, .def = 512, .min = 1, .max = 1e7, .doc = "length of a synthetic vector"},
    {.path = "vectors.ks", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[1, 2, 4, 8, 16, 32, 64, 128, 256]",
     .min = 1, .max = 1e7, .doc = "kept counts k (a row each; k > d: not applicable)"},
    {.path = "network.d", .type = LR_KEY_INT, .def = 10, .min = 1, .max = 4096, .doc = "inputs d"},
    {.path = "network.width", .type = LR_KEY_INT, .def = 64, .min = 1, .max = 65536, .doc = "hidden neurons"},
    {.path = "network.dist", .type = LR_KEY_STRING, .def = NAN, .def_str = "cauchy",
     .choices = "gaussian|laplace|student_t|cauchy", .doc = "distribution of the hidden weights w_j's entries"},
    {.path = "network.acts", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[\"relu\", \"tanh\"]", .choices = "relu|tanh",
     .doc = "1-Lipschitz activations sigma (a row each)"},
    {.path = "network.keep", .type = LR_KEY_REAL, .sweepable = 1, .def = 0.25, .min = 1e-6, .max = 1,
     .doc = "fraction of each neuron's weights kept: k_j = max(1, round(keep d))"},
    {.path = "network.B", .type = LR_KEY_REAL, .sweepable = 1, .def = 1, .min = 1e-12, .max = 1e12,
     .doc = "inputs bound: ||x||_inf <= B"},
    {.path = "network.test_points", .type = LR_KEY_INT, .def = 2000, .min = 1, .max = 1e7,
     .doc = "uniform test points in [-B, B]^d (besides the vertices and the per-neuron maximisers)"},
    {.path = "network.vertex_dmax", .type = LR_KEY_INT, .def = 12, .max = 20,
     .doc = "test every vertex of the cube when d is at most this (2^d points)"},
    {.path = "prune.methods", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[\"adaptive\", \"oneshot\", \"imp\"]",
     .choices = "adaptive|oneshot|imp|svd_w|dd_rank",
     .doc = "adaptive per-neuron rule, one-shot magnitude pruning (to the adaptive rule's kept fraction of each "
            "round, 0.8^r without it), iterative magnitude pruning with rewinding; with training also the low-rank "
            "truncations svd_w and dd_rank (calibration activations) of the trained network at equal parameter counts"},
    {.path = "prune.calib_rows", .type = LR_KEY_INT, .def = 1024, .min = 1, .max = 1e7,
     .doc = "dd_rank: training samples whose activations calibrate every layer"},
    {.path = "prune.scope", .type = LR_KEY_STRING, .def = NAN, .def_str = "neuron", .choices = "neuron|layer|global",
     .doc = "the adaptive rule's groups: each neuron (the paper's), each layer or the whole network"},
    {.path = "prune.magnitude_scope", .type = LR_KEY_STRING, .def = NAN, .def_str = "layer", .choices = "neuron|layer|global",
     .doc = "the magnitude baselines' groups"},
    {.path = "prune.c", .type = LR_KEY_REAL, .sweepable = 1, .def = 5, .min = 0, .max = 1e6,
     .doc = "adaptive rule: prune fraction min{c (1 - m/d), cap}"},
    {.path = "prune.eta", .type = LR_KEY_REAL, .sweepable = 1, .def = 0, .min = -0.999, .max = 1e6,
     .doc = "adaptive rule: eta in m = ceil(d (1+eta)^{-1/(1-q)} SI_q^{-q/(1-q)})"},
    {.path = "prune.cap", .type = LR_KEY_REAL, .def = 0.9, .min = 0, .max = 1,
     .doc = "largest fraction of a group's survivors one round prunes"},
    {.path = "prune.fraction", .type = LR_KEY_REAL, .def = 0.2, .min = 0, .max = 1,
     .doc = "iterative magnitude pruning: fraction of the survivors pruned per round"},
    {.path = "prune.rounds", .type = LR_KEY_INT, .def = 30, .min = 1, .max = 1000, .doc = "rounds T"},
    {.path = "prune.test_max", .type = LR_KEY_INT, .max = 1e9, .doc = "use at most this many test samples (0: all)"},
    {.path = "prune.batch", .type = LR_KEY_INT, .def = 256, .min = 1, .max = 1e6, .doc = "samples per forward batch"},
    {.path = "train.epochs", .type = LR_KEY_INT, .def = 0, .min = 0, .max = 1e5,
     .doc = "part prune: epochs of dense training by lrlab's engine from a seeded initialisation (0: prune the "
            "dump's weights without training)"},
    {.path = "train.retrain_epochs", .type = LR_KEY_INT, .def = 2, .min = 0, .max = 1e5,
     .doc = "part prune with training: epochs of masked retraining after each round's rewind"},
    {.path = "train.lr", .type = LR_KEY_REAL, .def = 1e-3, .min = 0, .max = 1e3, .doc = "Adam's learning rate"},
    {.path = "train.batch", .type = LR_KEY_INT, .def = 64, .min = 1, .max = 1e6, .doc = "samples per training step"},
    {.path = NULL}};

static double draw(gsl_rng *g, lq_dist d, double df)
{
    switch (d) {
    case LQ_GAUSSIAN: return gsl_ran_gaussian(g, 1.0);
    case LQ_LAPLACE: return gsl_ran_laplace(g, 1.0);
    case LQ_STUDENT_T: return gsl_ran_tdist(g, df);
    default: return gsl_ran_cauchy(g, 1.0);
    }
}

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return (int)i;
    return -1;
}

/* ---- workspace ---- */

typedef struct lq_ws {
    double *w, *sorted, *e1, *e2;
    size_t *order;
    void *work;
    /* network */
    double *X, *Z, *W, *Wp, *a, *ln, *f, *fp;
    size_t *kept;
    unsigned char *mask;
    /* prune */
    lr_mask_layer *L;
    lr_mat *M;
    lr_compressed *comp;
    lr_net_lowrank *rep;
    size_t nl;
    double *target_keep; /* per round: the network's kept fraction of the method just run */
    double *adaptive_keep; /* the adaptive rule's, one-shot pruning's targets */
    lr_tnet *net;          /* with training: this worker's copy of the network */
    lr_compressor_plan *plan[2]; /* svd_w, dd_rank */
    lr_net_truncator trunc;
} lq_ws;

static void lq_ws_free(void *p)
{
    lq_ws *w = p;
    if (!w) return;
    free(w->w), free(w->sorted), free(w->e1), free(w->e2), free(w->order), free(w->work);
    free(w->X), free(w->Z), free(w->W), free(w->Wp), free(w->a), free(w->ln), free(w->f), free(w->fp);
    free(w->kept), free(w->mask);
    for (size_t l = 0; w->L && w->M && l < w->nl; l++) free(w->L[l].W.data), free(w->L[l].mask), free(w->M[l].data);
    free(w->L), free(w->M), free(w->comp), free(w->rep), free(w->target_keep), free(w->adaptive_keep);
    lr_tnet_free(w->net);
    for (int k = 0; k < 2; k++) lr_compressor_plan_free(w->plan[k]);
    lr_net_truncator_free(&w->trunc);
    free(w);
}

static void *lq_ws_alloc(const lr_run *run)
{
    const lq_state *st = run->exp_state;
    lq_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t d = st->maxd ? st->maxd : 1;
    w->w = malloc(d * sizeof(double)), w->sorted = malloc(d * sizeof(double));
    w->e1 = malloc((d + 1) * sizeof(double)), w->e2 = malloc((d + 1) * sizeof(double));
    w->order = malloc(d * sizeof(size_t)), w->work = malloc(lr_lq_order_work(d));
    int ok = w->w && w->sorted && w->e1 && w->e2 && w->order && w->work;
    if (ok && st->part == LQ_NETWORK) {
        size_t nd = (size_t)lr_config_num(run->cfg, 0, "network.d"), h = (size_t)lr_config_num(run->cfg, 0, "network.width");
        size_t np = st->npts_max;
        w->X = malloc(np * nd * sizeof(double)), w->Z = malloc(np * h * sizeof(double));
        w->W = malloc(nd * h * sizeof(double)), w->Wp = malloc(nd * h * sizeof(double));
        w->a = malloc(h * sizeof(double)), w->ln = malloc(h * sizeof(double));
        w->f = malloc(np * sizeof(double)), w->fp = malloc(np * sizeof(double));
        w->kept = malloc(h * sizeof(size_t)), w->mask = malloc(nd * h);
        ok = w->X && w->Z && w->W && w->Wp && w->a && w->ln && w->f && w->fp && w->kept && w->mask;
    }
    if (ok && st->part == LQ_PRUNE) {
        w->target_keep = calloc(st->rounds + 1, sizeof(double));
        w->adaptive_keep = calloc(st->rounds + 1, sizeof(double));
        w->L = calloc(st->nl, sizeof *w->L), w->M = calloc(st->nl, sizeof *w->M);
        w->comp = calloc(st->nl, sizeof *w->comp), w->rep = calloc(st->nl, sizeof *w->rep);
        ok = w->target_keep && w->adaptive_keep && w->L && w->M && w->comp && w->rep;
        if (ok) w->nl = st->nl;
        for (size_t l = 0; ok && l < st->nl; l++) {
            size_t n0 = st->W[l].rows, n1 = st->W[l].cols;
            w->L[l].W = lr_mat_wrap(malloc(n0 * n1 * sizeof(double)), n0, n1);
            w->L[l].mask = malloc(n0 * n1);
            w->M[l] = lr_mat_wrap(malloc(n0 * n1 * sizeof(double)), n0, n1);
            ok = w->L[l].W.data && w->L[l].mask && w->M[l].data;
        }
        if (ok && st->trained) {
            w->net = lr_tnet_alloc(st->data.dim, st->specs, st->nl, st->train_batch > st->batch ? st->train_batch : st->batch);
            ok = w->net != NULL;
        }
        lr_layer_shape shape = lr_net_calib_shape(&st->calib);
        for (size_t mi = 0; ok && st->calib.nl && mi < st->nmeth; mi++)
            if (st->meth[mi] >= LQ_SVD_W) {
                int k = st->meth[mi] - LQ_SVD_W;
                w->plan[k] = lr_compressor_plan_alloc(lr_compressor_find(lq_method_names[st->meth[mi]]), &shape, run->cfg);
                ok = w->plan[k] && (w->trunc.fa || lr_net_truncator_init(&w->trunc, &shape) == LR_OK);
            }
    }
    if (!ok) {
        lq_ws_free(w);
        return NULL;
    }
    return w;
}

/* ---- part vectors ---- */

/* The rows of one vector w (d values): one per k of vectors.ks. */
static void vector_rows(const lr_run *run, const lq_state *st, lq_ws *w, size_t d, double q, double *rows,
                        size_t point, size_t trial, int dist, int layer, long neuron)
{
    size_t ncols = run->trials->ncols;
    lr_lq_sorted_magnitudes(w->w, d, 1, w->sorted);
    lr_lq_tail_errors(w->sorted, d, w->e1, w->e2);
    double ln = lr_lq_log_norm(w->w, d, 1, q), si = lr_lq_si(w->w, d, 1, q);
    for (size_t ik = 0; ik < st->nk; ik++) {
        double *row = rows + ik * ncols;
        lr_run_fill_row(run, row, point, trial, 0, ik);
        size_t k = (size_t)st->ks[ik];
        row[st->c_part] = LQ_VECTORS;
        row[st->c_dist] = dist;
        row[st->c_layer] = layer;
        row[st->c_neuron] = (double)neuron;
        row[st->c_d] = (double)d;
        row[st->c_kk] = (double)k;
        row[run->col.k] = (double)k;
        row[st->c_norm_q] = exp(ln);
        row[st->c_log_norm_q] = ln;
        row[st->c_si] = si;
        for (size_t b = 0; b < run->nbounds; b++) row[run->col.bound_held[b]] = -1;
        if (k > d) continue; /* not applicable: NaN errors and bounds */
        row[st->c_err_l1] = w->e1[k];
        row[st->c_err_l2] = w->e2[k];
        lr_bound_input in = {.k = k, .lq_q = q, .lq_log_norm = ln};
        for (size_t b = 0; b < run->nbounds; b++) {
            const lr_bound *bd = run->bounds[b];
            int l1 = bd->observed == LR_OBS_ERR_L1;
            double val = lr_bound_evaluate(bd, &in, &run->bparams), err = l1 ? w->e1[k] : w->e2[k];
            /* The rounding scale: the vector's own norm (the error at k = 0). */
            row[run->col.bound_value[b]] = val;
            row[run->col.bound_held[b]] = lr_bound_check(bd, val, err, l1 ? w->e1[0] : w->e2[0], &run->bparams);
            row[l1 ? st->c_tight_l1 : st->c_tight_l2] = val > 0 ? err / val : NAN;
        }
    }
}

static int vectors_unit(const lr_run *run, const lq_state *st, lq_ws *w, size_t point, size_t trial, gsl_rng *rng,
                        double *rows)
{
    double q = lr_config_num(run->cfg, point, "lq.q");
    size_t ncols = run->trials->ncols;
    if (st->from_dump) {
        size_t l = st->vec_layer[trial], j = st->vec_neuron[trial], d = st->W[l].rows;
        memcpy(w->w, &LR_AT(st->W[l], 0, j), d * sizeof(double));
        vector_rows(run, st, w, d, q, rows, point, trial, -1, (int)l, (long)j);
        return LR_OK;
    }
    size_t d = (size_t)lr_config_num(run->cfg, point, "vectors.d");
    double df = lr_config_num(run->cfg, point, "vectors.df");
    for (size_t di = 0; di < st->ndist; di++) {
        for (size_t i = 0; i < d; i++) w->w[i] = draw(rng, st->dist[di], df);
        vector_rows(run, st, w, d, q, rows + di * st->nk * ncols, point, trial, (int)st->dist[di], -1, -1);
    }
    return LR_OK;
}

/* ---- part network ---- */

static int network_unit(const lr_run *run, const lq_state *st, lq_ws *w, size_t point, size_t trial, gsl_rng *rng,
                        double *rows)
{
    const lr_config *c = run->cfg;
    size_t d = (size_t)lr_config_num(c, point, "network.d"), h = (size_t)lr_config_num(c, point, "network.width");
    double q = lr_config_num(c, point, "lq.q"), B = lr_config_num(c, point, "network.B");
    double keep = lr_config_num(c, point, "network.keep"), df = lr_config_num(c, point, "vectors.df");
    lq_dist dist = (lq_dist)name_index(lq_dist_names, LQ_NDIST, lr_config_str(c, "network.dist"));
    size_t ntest = (size_t)lr_config_num(c, point, "network.test_points");
    size_t nvert = d <= (size_t)lr_config_num(c, point, "network.vertex_dmax") ? (size_t)1 << d : 0;
    size_t np = ntest + nvert + 2 * h;
    size_t kj = (size_t)lround(keep * (double)d);
    if (kj < 1) kj = 1;
    for (size_t j = 0; j < h; j++) {
        w->a[j] = gsl_ran_gaussian(rng, 1.0);
        for (size_t i = 0; i < d; i++) w->W[i + j * d] = draw(rng, dist, df);
        w->kept[j] = kj;
        w->ln[j] = lr_lq_log_norm(w->W + j * d, d, 1, q);
    }
    lr_mask_layer L = {lr_mat_wrap(w->W, d, h), w->mask};
    lr_mask_topk_neurons(&L, w->kept, w->order, w->work);
    lr_mat Wp = lr_mat_wrap(w->Wp, d, h);
    lr_mask_apply(&L, Wp);
    /* Test points: uniform draws, the vertices, and per neuron the two points +-B sign(w_j -
     * w^_j) that maximise its linear change |(w_j - w^_j) . x| = B ||w_j - w^_j||_1. */
    double linear = 0;
    for (size_t p = 0; p < ntest; p++)
        for (size_t i = 0; i < d; i++) w->X[p + i * np] = B * (2 * gsl_rng_uniform(rng) - 1);
    for (size_t v = 0; v < nvert; v++)
        for (size_t i = 0; i < d; i++) w->X[ntest + v + i * np] = (v >> i) & 1 ? B : -B;
    for (size_t j = 0; j < h; j++) {
        double l1 = 0;
        for (size_t i = 0; i < d; i++) {
            double delta = w->W[i + j * d] - w->Wp[i + j * d], s = delta > 0 ? B : delta < 0 ? -B : 0;
            w->X[ntest + nvert + 2 * j + i * np] = s;
            w->X[ntest + nvert + 2 * j + 1 + i * np] = -s;
            l1 += fabs(delta);
        }
        linear += fabs(w->a[j]) * B * l1;
    }
    lr_mat X = lr_mat_wrap(w->X, np, d), Z = lr_mat_wrap(w->Z, np, h);
    size_t ncols = run->trials->ncols;
    for (size_t ai = 0; ai < st->nact; ai++) {
        double *row = rows + ai * ncols;
        lr_run_fill_row(run, row, point, trial, 0, ai);
        LR_TRY(lr_lq_onehidden(X, L.W, w->a, st->act[ai], Z, w->f));
        LR_TRY(lr_lq_onehidden(X, Wp, w->a, st->act[ai], Z, w->fp));
        double sup = 0, sup_test = 0, scale = 0;
        for (size_t p = 0; p < np; p++) {
            double e = fabs(w->f[p] - w->fp[p]);
            if (!isfinite(e)) LR_ERRORF(LR_ENUMERIC, "network part: a non-finite output at point %zu trial %zu", point, trial);
            if (e > sup) sup = e;
            if (p < ntest && e > sup_test) sup_test = e;
            if (fabs(w->f[p]) > scale) scale = fabs(w->f[p]);
        }
        row[st->c_part] = LQ_NETWORK;
        row[st->c_dist] = dist;
        row[st->c_act] = (double)ai;
        row[st->c_d] = (double)d;
        row[st->c_width] = (double)h;
        row[st->c_B] = B;
        row[st->c_keep] = keep;
        row[st->c_kk] = (double)kj;
        row[run->col.k] = (double)kj;
        row[st->c_kept] = (double)(kj < d ? kj : d) * (double)h;
        row[st->c_npoints] = (double)np;
        row[st->c_out_sup] = sup;
        row[st->c_out_test] = sup_test;
        row[st->c_out_linear] = linear;
        lr_bound_input in = {.lq_q = q, .lq_B = B, .lq_neurons = h, .lq_a = w->a, .lq_log_norms = w->ln, .lq_kept = w->kept};
        for (size_t b = 0; b < run->nbounds; b++) {
            double val = lr_bound_evaluate(run->bounds[b], &in, &run->bparams);
            row[run->col.bound_value[b]] = val;
            row[run->col.bound_held[b]] = lr_bound_check(run->bounds[b], val, sup, scale, &run->bparams);
            row[st->c_tight_deg] = val > 0 ? sup / val : NAN;
        }
    }
    return LR_OK;
}

/* ---- part prune ---- */

typedef struct prune_ctx {
    const lr_run *run;
    const lq_state *st;
    lq_ws *w;
    size_t point, mi;
    double q, *rows;
} prune_ctx;

/* The rows of method mi at this round: one per layer, then the network row. */
static int record_round(void *ctxp, const lr_mask_layer *L, size_t nl, size_t round)
{
    prune_ctx *c = ctxp;
    const lr_run *run = c->run;
    const lq_state *st = c->st;
    lq_ws *w = c->w;
    size_t ncols = run->trials->ncols, base = (c->mi * (st->rounds + 1) + round) * (nl + 1);
    size_t kept_all = 0, total = 0;
    for (size_t l = 0; l < nl; l++) {
        double *row = c->rows + (base + l) * ncols;
        lr_run_fill_row(run, row, c->point, 0, c->mi, round);
        size_t n0 = L[l].W.rows, n1 = L[l].W.cols, kept = lr_mask_kept(&L[l]);
        double si_sum = 0;
        for (size_t j = 0; j < n1; j++) {
            size_t s = 0;
            for (size_t i = 0; i < n0; i++)
                if (L[l].mask[i + j * n0]) w->w[s++] = LR_AT(L[l].W, i, j);
            si_sum += s ? lr_lq_si(w->w, s, 1, c->q) : 1.0;
        }
        row[st->c_part] = LQ_PRUNE;
        row[st->c_round] = (double)round;
        row[st->c_layer] = (double)l;
        row[st->c_layer_index] = (double)l;
        row[st->c_d] = (double)n0;
        row[st->c_width] = (double)n1;
        row[st->c_kept] = (double)kept;
        row[st->c_kept_frac] = (double)kept / (double)(n0 * n1);
        row[st->c_si_mean] = si_sum / (double)n1;
        row[st->c_accuracy_dense] = st->acc_dense;
        kept_all += kept, total += n0 * n1;
        lr_mask_apply(&L[l], w->M[l]);
        LR_TRY(lr_compressed_dense(&w->comp[l], w->M[l]));
        w->rep[l] = (lr_net_lowrank){.c = &w->comp[l]};
    }
    double *row = c->rows + (base + nl) * ncols;
    lr_run_fill_row(run, row, c->point, 0, c->mi, round);
    row[st->c_part] = LQ_PRUNE;
    row[st->c_round] = (double)round;
    row[st->c_layer] = (double)nl; /* "(network)" */
    row[st->c_layer_index] = -1;
    row[st->c_kept] = (double)kept_all;
    row[st->c_kept_frac] = (double)kept_all / (double)total;
    row[st->c_accuracy_dense] = st->acc_dense;
    size_t correct = 0;
    if (st->trained) {
        /* the network's biases are the retrained ones (or the trained ones at round 0) */
        LR_TRY(lr_lq_weights_to_net(w->net, L, nl));
        LR_TRY(lr_tnet_correct(w->net, st->test_xr, st->test_labels, st->n_test, &correct));
    } else
        LR_TRY(lr_net_correct(st->net, w->rep, st->test_x, st->test_labels, st->batch, &correct));
    row[st->c_accuracy] = (double)correct / (double)st->n_test;
    w->target_keep[round] = row[st->c_kept_frac];
    return LR_OK;
}

static void reset_layers(const lq_state *st, lq_ws *w)
{
    for (size_t l = 0; l < st->nl; l++) {
        memcpy(w->L[l].W.data, st->W[l].data, st->W[l].rows * st->W[l].cols * sizeof(double));
        lr_mask_fill(&w->L[l]);
    }
    if (st->trained) memcpy(w->net->theta, st->theta_trained, st->specs ? w->net->nparams * sizeof(double) : 0);
}

/* The kept-weight target of round r: the adaptive rule's kept fraction, (1 - fraction)^r
 * without it. */
static double round_target(const lq_ws *w, int have_adaptive, double fraction, size_t r)
{
    double f = have_adaptive ? w->adaptive_keep[r] : pow(1.0 - fraction, (double)r);
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

/* A low-rank method's rounds: round r truncates every layer of the trained network to the
 * rank k_l = round(f n0 n1 / (n0 + n1)) (1 <= k_l <= min(n0, n1)) whose parameters match
 * iterative magnitude pruning's kept fraction f = (1 - prune.fraction)^r of round r (a
 * schedule down to a few percent, where the adaptive rule's stalls), through the registry's compressor (no retraining: the
 * compressors' own fits), and measures the accuracy with the trained biases. */
static int lowrank_rounds(const lq_state *st, lq_ws *w, prune_ctx *ctx, int have_adaptive, double fraction)
{
    const lr_run *run = ctx->run;
    lr_compressor_plan *plan = w->plan[st->meth[ctx->mi] - LQ_SVD_W];
    size_t ncols = run->trials->ncols;
    for (size_t r = 0; r <= st->rounds; r++) {
        reset_layers(st, w);
        if (r == 0) {
            LR_TRY(record_round(ctx, w->L, st->nl, 0));
            continue;
        }
        double f = round_target(w, 0, fraction, r);
        size_t base = (ctx->mi * (st->rounds + 1) + r) * (st->nl + 1), params_all = 0, total = 0;
        for (size_t l = 0; l < st->nl; l++) {
            size_t n0 = st->W[l].rows, n1 = st->W[l].cols, mn = n0 < n1 ? n0 : n1;
            double kk = floor(f * (double)(n0 * n1) / (double)(n0 + n1) + 0.5);
            size_t k = kk < 1 ? 1 : kk > (double)mn ? mn : (size_t)kk;
            LR_TRY(lr_net_truncate_layer(w->net, l, plan, &st->calib, k, run->seed, ctx->point, r, &w->trunc));
            double *row = ctx->rows + (base + l) * ncols;
            lr_run_fill_row(run, row, ctx->point, 0, ctx->mi, r);
            row[st->c_part] = LQ_PRUNE;
            row[st->c_round] = (double)r;
            row[st->c_layer] = (double)l;
            row[st->c_layer_index] = (double)l;
            row[st->c_d] = (double)n0;
            row[st->c_width] = (double)n1;
            row[st->c_kept] = (double)(k * (n0 + n1)); /* parameters of the factors */
            row[st->c_kept_frac] = (double)(k * (n0 + n1)) / (double)(n0 * n1);
            row[st->c_si_mean] = NAN;
            row[st->c_accuracy_dense] = st->acc_dense;
            params_all += k * (n0 + n1), total += n0 * n1;
        }
        double *row = ctx->rows + (base + st->nl) * ncols;
        lr_run_fill_row(run, row, ctx->point, 0, ctx->mi, r);
        row[st->c_part] = LQ_PRUNE;
        row[st->c_round] = (double)r;
        row[st->c_layer] = (double)st->nl;
        row[st->c_layer_index] = -1;
        row[st->c_kept] = (double)params_all;
        row[st->c_kept_frac] = (double)params_all / (double)total;
        row[st->c_accuracy_dense] = st->acc_dense;
        size_t correct = 0;
        LR_TRY(lr_tnet_correct(w->net, st->test_xr, st->test_labels, st->n_test, &correct));
        row[st->c_accuracy] = (double)correct / (double)st->n_test;
    }
    return LR_OK;
}

/* One-shot pruning's rewind and retraining (the loop does both for the iterative methods). */
static int rewind_retrain(const lq_state *st, lq_ws *w, lr_lq_retrainer *rt, size_t round)
{
    for (size_t l = 0; l < st->nl; l++) {
        lr_mask_layer *L = &w->L[l];
        for (size_t i = 0; i < L->W.rows * L->W.cols; i++) L->W.data[i] = L->mask[i] ? st->W_init[l].data[i] : 0.0;
    }
    return lr_lq_retrain(rt, w->L, st->nl, round);
}

static int prune_unit(const lr_run *run, const lq_state *st, lq_ws *w, size_t point, double *rows)
{
    const lr_config *c = run->cfg;
    lr_prune_opts o = lr_prune_opts_default();
    o.q = lr_config_num(c, point, "lq.q");
    o.c = lr_config_num(c, point, "prune.c");
    o.eta = lr_config_num(c, point, "prune.eta");
    o.cap = lr_config_num(c, point, "prune.cap");
    o.fraction = lr_config_num(c, point, "prune.fraction");
    o.rounds = st->rounds;
    lr_prune_scope scope = (lr_prune_scope)lr_prune_scope_of(lr_config_str(c, "prune.scope"));
    lr_prune_scope mscope = (lr_prune_scope)lr_prune_scope_of(lr_config_str(c, "prune.magnitude_scope"));
    prune_ctx ctx = {.run = run, .st = st, .w = w, .point = point, .q = o.q, .rows = rows};
    /* With training: rewind to the initialisation W_0 and retrain; without: the loop's
     * "initial" weights are the dump's trained ones and there is no retraining. */
    lr_lq_retrainer rt = {.net = w->net, .data = &st->train_data, .theta_init = st->theta_init, .opt = st->opt,
                          .loss = LR_LOSS_SOFTMAX_CE, .epochs = st->retrain_epochs, .batch = st->train_batch,
                          .seed = 0};
    unsigned long seed0 = (unsigned long)lr_run_point_seed(run, point) * 1000003u;
    const lr_mat *W_rewind = st->trained ? st->W_init : st->W;
    int have_adaptive = 0;
    for (size_t mi = 0; mi < st->nmeth; mi++) {
        ctx.mi = mi;
        reset_layers(st, w);
        LR_TRY(record_round(&ctx, w->L, st->nl, 0));
        lq_method m = st->meth[mi];
        if (m == LQ_ADAPTIVE || m == LQ_IMP) {
            lr_prune_opts om = o;
            om.rule = m == LQ_ADAPTIVE ? LR_PRUNE_ADAPTIVE : LR_PRUNE_MAGNITUDE;
            om.scope = m == LQ_ADAPTIVE ? scope : mscope;
            rt.seed = seed0 + 1000u * mi;
            LR_TRY(lr_prune_loop(w->L, st->nl, W_rewind, &om, st->trained ? lr_lq_retrain : NULL, &rt, record_round, &ctx));
            if (m == LQ_ADAPTIVE) {
                have_adaptive = 1;
                memcpy(w->adaptive_keep, w->target_keep, (st->rounds + 1) * sizeof(double));
            }
        } else if (m >= LQ_SVD_W) {
            LR_TRY(lowrank_rounds(st, w, &ctx, have_adaptive, o.fraction));
        } else {
            /* One step from the dense network to each round's kept fraction. */
            lr_prune_ws *pws = lr_prune_ws_alloc(w->L, st->nl);
            if (!pws) return LR_ENOMEM;
            int s = LR_OK;
            for (size_t r = 1; s == LR_OK && r <= st->rounds; r++) {
                reset_layers(st, w);
                lr_prune_opts om = o;
                om.rule = LR_PRUNE_MAGNITUDE;
                om.scope = mscope;
                om.cap = 1.0;
                om.fraction = 1.0 - round_target(w, have_adaptive, o.fraction, r);
                s = lr_prune_step(w->L, st->nl, &om, pws, NULL);
                rt.seed = seed0 + 1000u * mi;
                if (s == LR_OK && st->trained) s = rewind_retrain(st, w, &rt, r);
                if (s == LR_OK) s = record_round(&ctx, w->L, st->nl, r);
            }
            lr_prune_ws_free(pws);
            LR_TRY(s);
        }
    }
    return LR_OK;
}

static int lq_unit(const lr_run *run, void *wsp, size_t point, size_t trial, gsl_rng *rng, double *rows, double *seconds)
{
    const lq_state *st = run->exp_state;
    for (size_t i = 0; i < run->rows_per_unit; i++) seconds[i] = NAN;
    switch (st->part) {
    case LQ_VECTORS: return vectors_unit(run, st, wsp, point, trial, rng, rows);
    case LQ_NETWORK: return network_unit(run, st, wsp, point, trial, rng, rows);
    default: return prune_unit(run, st, wsp, point, rows);
    }
}

/* ---- preparation ---- */

static int add_names(lr_run *run, int col, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lr_table_dict_index(run->trials, (size_t)col, names[i]) < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    return LR_OK;
}

static int declare_columns(lr_run *run, lq_state *st)
{
    static const char *const paths[] = {"lq.q", "prune.c", "prune.eta"};
    static const char *const names[] = {"q_lq", "prune_c", "prune_eta"};
    LR_TRY(lr_run_trial_columns(run, paths, names, 3));
    const char *comp_names[LQ_NMETHODS] = {"topk"};
    size_t ncomp = 1;
    if (st->part == LQ_PRUNE)
        for (size_t i = 0; i < st->nmeth; i++) comp_names[i] = lq_method_names[st->meth[i]], ncomp = st->nmeth;
    LR_TRY(add_names(run, run->col.compressor, comp_names, ncomp));
#define COL(slot, name, type, doc) LR_TRY(lr_run_add_column(run, &st->slot, name, type, doc))
    COL(c_part, "part", LR_COL_NAME, "lq.part of the row: vectors, network or prune");
    LR_TRY(add_names(run, st->c_part, lq_part_names, 3));
    COL(c_dist, "dist", LR_COL_NAME, "distribution of the entries (vectors, network); -1: a dump's neuron or pruning");
    LR_TRY(add_names(run, st->c_dist, lq_dist_names, LQ_NDIST));
    COL(c_layer, "layer", LR_COL_NAME, "dump layer (vectors from a dump, prune; '(network)' for prune's network row)");
    for (size_t l = 0; l < st->nl; l++)
        if (lr_table_dict_index(run->trials, (size_t)st->c_layer, st->lname[l]) < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    if (lr_table_dict_index(run->trials, (size_t)st->c_layer, "(network)") < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    COL(c_layer_index, "layer_index", LR_COL_INT, "prune: position of the layer (-1: the network row)");
    COL(c_neuron, "neuron", LR_COL_INT, "vectors from a dump: the neuron (column of W); -1 otherwise");
    COL(c_d, "d", LR_COL_INT, "vector length d (vectors), inputs d (network), layer inputs N0 (prune)");
    COL(c_kk, "k_kept", LR_COL_INT, "entries kept k (vectors), per neuron k_j (network)");
    COL(c_norm_q, "norm_q", LR_COL_REAL, "||w||_q of the vector (may be inf where its log is finite)");
    COL(c_log_norm_q, "log_norm_q", LR_COL_REAL, "log ||w||_q (natural log)");
    COL(c_si, "si_q", LR_COL_REAL, "SI_q(w) = d^{1/q-1} ||w||_1 / ||w||_q, in [1, d^{1/q-1}]");
    COL(c_err_l1, "err_l1", LR_COL_REAL, "||w - w_[k]||_1, w_[k] the k largest magnitudes (units of w)");
    COL(c_err_l2, "err_l2", LR_COL_REAL, "||w - w_[k]||_2 (units of w)");
    COL(c_tight_l1, "tight_l1", LR_COL_REAL, "err_l1 / lq_l1 (1: the bound is attained)");
    COL(c_tight_l2, "tight_l2", LR_COL_REAL, "err_l2 / lq_l2");
    COL(c_act, "act", LR_COL_NAME, "network: the activation sigma");
    static const char *const acts[2] = {"relu", "tanh"};
    for (size_t a = 0; a < st->nact; a++)
        if (lr_table_dict_index(run->trials, (size_t)st->c_act, acts[st->act[a] == LR_ACT_TANH]) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
    COL(c_width, "width", LR_COL_INT, "hidden neurons (network), layer outputs N1 (prune)");
    COL(c_B, "B", LR_COL_REAL, "network: inputs bound ||x||_inf <= B");
    COL(c_keep, "keep", LR_COL_REAL, "network: network.keep");
    COL(c_kept, "kept", LR_COL_INT, "weights kept (network: of all hidden weights; prune: the layer's or the network's)");
    COL(c_npoints, "test_points", LR_COL_INT, "network: points x evaluated (uniform + vertices + 2 per neuron)");
    COL(c_out_sup, "out_change", LR_COL_REAL, "network: max over all test points of |f(x) - f^(x)| (units of f)");
    COL(c_out_test, "out_change_uniform", LR_COL_REAL, "network: the same over the uniform draws only");
    COL(c_out_linear, "out_linear", LR_COL_REAL,
        "network: B sum_j |a_j| ||w_j - w^_j||_1, the bound's first step (the linear change's supremum)");
    COL(c_tight_deg, "tight_degrade", LR_COL_REAL, "network: out_change / lq_degrade");
    COL(c_round, "round", LR_COL_INT, "prune: round r (0: the dense network)");
    COL(c_kept_frac, "kept_frac", LR_COL_REAL, "prune: kept / weights (of the layer, or of every pruned layer)");
    COL(c_si_mean, "si_q_mean", LR_COL_REAL, "prune, layer rows: mean over neurons of SI_q of the survivors");
    COL(c_accuracy, "accuracy", LR_COL_REAL, "prune, network row: test accuracy of the pruned network (retrained when train.epochs > 0, else pruning alone)");
    COL(c_accuracy_dense, "accuracy_dense", LR_COL_REAL, "prune: test accuracy of the dense network (lrlab's forward)");
#undef COL
    return LR_OK;
}

static int load_dump(lr_run *run, lq_state *st)
{
    const lr_config *c = run->cfg;
    char where[512];
    if (!lr_config_str(c, "dump")[0])
        LR_ERRORF(LR_ECONFIG, "%s: this part needs the key dump (a layer dump, data/README.md)",
                  lr_config_where(c, "lq.part", where, sizeof where));
    LR_TRY(lr_dump_resolve(c, "dump", st->dump_path, sizeof st->dump_path));
    LR_TRY(lr_dump_open(st->dump_path, &st->dump));
    lr_file_sha256(st->dump_path, st->dump_sha);
    const lr_dump *d = st->dump;
    st->nl = d->nlayers;
    st->W = calloc(st->nl, sizeof *st->W);
    st->lname = calloc(st->nl, sizeof *st->lname);
    if (!st->W || !st->lname) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t l = 0; l < st->nl; l++) {
        const lr_dump_layer *L = &d->layers[l];
        st->W[l] = lr_mat_wrap(lr_malloc(L->n0 * L->n1 * sizeof(double)), L->n0, L->n1);
        if (!st->W[l].data) LR_ERROR(LR_ENOMEM, "out of memory");
        LR_TRY(lr_dump_read_weights(d, l, st->W[l], NULL));
        snprintf(st->lname[l], sizeof st->lname[l], "%s", L->module);
        if (L->n0 > st->maxd) st->maxd = L->n0;
        st->nvec += L->n1;
    }
    return LR_OK;
}

static int prepare_test_set(lr_run *run, lq_state *st)
{
    const lr_config *c = run->cfg;
    const lr_dump *d = st->dump;
    if (!d->sequential || !d->has_inputs || !d->has_labels || d->n_calib >= d->n_inputs)
        LR_ERRORF(LR_EDATA, "%s describes no sequential network with labelled test inputs: part prune needs one", st->dump_path);
    LR_TRY(lr_net_from_dump(d, &st->net));
    if (st->net->nlayers != st->nl) LR_ERRORF(LR_EDATA, "%s: the network has %zu layers, the dump %zu", st->dump_path, st->net->nlayers, st->nl);
    st->n_test = d->n_inputs - d->n_calib;
    size_t tmax = (size_t)lr_config_num(c, 0, "prune.test_max");
    if (tmax && tmax < st->n_test) st->n_test = tmax;
    st->batch = (size_t)lr_config_num(c, 0, "prune.batch");
    st->test_x = lr_mat_wrap(lr_malloc(st->n_test * d->input_dim * sizeof(double)), st->n_test, d->input_dim);
    st->test_labels = lr_malloc(st->n_test * sizeof(long));
    if (!st->test_x.data || !st->test_labels) LR_ERROR(LR_ENOMEM, "out of memory");
    LR_TRY(lr_dump_read_inputs(d, d->n_calib, st->n_test, st->test_x, st->test_labels));
    for (size_t i = 0; i < st->n_test; i++)
        if (st->test_labels[i] < 0 || st->test_labels[i] >= (long)st->net->out_dim)
            LR_ERRORF(LR_EDATA, "%s: /inputs: label %ld of test sample %zu is not a class of the network's %zu outputs",
                      d->path, st->test_labels[i], d->n_calib + i, st->net->out_dim);
    size_t correct = 0;
    LR_TRY(lr_net_correct(st->net, NULL, st->test_x, st->test_labels, st->batch, &correct));
    st->acc_dense = (double)correct / (double)st->n_test;
    return lr_run_note(run, "dense accuracy %.6f on %zu test samples; pruning WITHOUT retraining (train.epochs "
                       "= 0: the dump's weights)", st->acc_dense, st->n_test);
}

/* Part prune with training: the data set, a ReLU MLP trained dense by lrlab's engine from a
 * seeded initialisation (streams (seed, 0, 0) initialise, (seed, 1, 0) shuffle), and its
 * initial and trained weights in lrlab's N0 x N1 layout (the engine's bytes). */
static int prepare_training(lr_run *run, lq_state *st)
{
    const lr_config *c = run->cfg;
    LR_TRY(lr_dataset_from_config(c, (size_t)lr_config_num(c, 0, "prune.test_max"), &st->data, st->dump_path,
                                  sizeof st->dump_path, st->dump_sha));
    const long *hidden;
    size_t nh = lr_config_int_list(c, "train.hidden", &hidden);
    st->nl = nh + 1;
    st->specs = calloc(st->nl, sizeof *st->specs);
    st->W = calloc(st->nl, sizeof *st->W), st->W_init = calloc(st->nl, sizeof *st->W_init);
    st->lname = calloc(st->nl, sizeof *st->lname);
    if (!st->specs || !st->W || !st->W_init || !st->lname) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t l = 0; l < st->nl; l++)
        st->specs[l] = (lr_tlayer_spec){.n_out = l < nh ? (size_t)hidden[l] : st->data.classes,
                                        .act = l < nh ? (int)LR_ACT_RELU : LR_TRAIN_ACT_NONE};
    st->batch = (size_t)lr_config_num(c, 0, "prune.batch");
    st->train_batch = (size_t)lr_config_num(c, 0, "train.batch");
    st->retrain_epochs = (size_t)lr_config_num(c, 0, "train.retrain_epochs");
    st->opt = (lr_optim_opts){.kind = LR_OPT_ADAM, .lr = lr_config_num(c, 0, "train.lr"), .beta1 = 0.9, .beta2 = 0.999,
                              .eps = 1e-8};
    size_t cap = st->train_batch > st->batch ? st->train_batch : st->batch;
    lr_tnet *net = lr_tnet_alloc(st->data.dim, st->specs, st->nl, cap);
    if (!net) return LR_ENOMEM;
    gsl_rng *r = lr_rng_alloc();
    lr_optim *opt = lr_optim_alloc(net->nparams, &st->opt);
    st->theta_init = lr_malloc(net->nparams * sizeof(double));
    st->theta_trained = lr_malloc(net->nparams * sizeof(double));
    int s = r && opt && st->theta_init && st->theta_trained ? LR_OK : LR_ENOMEM;
    if (s != LR_OK) lr_error(s, __FILE__, __LINE__, "out of memory for training");
    double t0 = lr_wall_seconds();
    if (s == LR_OK) {
        lr_rng_seed_unit(r, run->seed, 0, 0);
        s = lr_tnet_init_random(net, r);
        memcpy(st->theta_init, net->theta, net->nparams * sizeof(double));
        lr_rng_seed_unit(r, run->seed, 1, 0);
    }
    st->train_data = (lr_train_data){.x = st->data.x, .labels = st->data.labels, .N = st->data.n_train};
    size_t epochs = (size_t)lr_config_num(c, 0, "train.epochs");
    for (size_t e = 0; s == LR_OK && e < epochs; e++) s = lr_train_epoch(net, opt, &st->train_data, st->train_batch,
                                                                         LR_LOSS_SOFTMAX_CE, NULL, r, NULL);
    st->train_seconds = lr_wall_seconds() - t0;
    st->n_test = st->data.n_test;
    st->test_xr = st->data.x + st->data.n_train * st->data.dim;
    st->test_labels = lr_malloc(st->n_test * sizeof(long));
    size_t correct = 0;
    if (s == LR_OK && !st->test_labels) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    if (s == LR_OK) {
        memcpy(st->test_labels, st->data.labels + st->data.n_train, st->n_test * sizeof(long));
        memcpy(st->theta_trained, net->theta, net->nparams * sizeof(double));
        s = lr_tnet_correct(net, st->test_xr, st->test_labels, st->n_test, &correct);
    }
    for (size_t l = 0; s == LR_OK && l < st->nl; l++) {
        const lr_tlayer *T = &net->layers[l];
        size_t n = T->n0 * T->n1;
        st->W[l] = lr_mat_wrap(lr_malloc(n * sizeof(double)), T->n0, T->n1);
        st->W_init[l] = lr_mat_wrap(lr_malloc(n * sizeof(double)), T->n0, T->n1);
        if (!st->W[l].data || !st->W_init[l].data) {
            s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
            break;
        }
        memcpy(st->W[l].data, T->W, n * sizeof(double));
        memcpy(st->W_init[l].data, st->theta_init + (T->W - net->theta), n * sizeof(double));
        snprintf(st->lname[l], sizeof st->lname[l], "fc%zu", l + 1);
        if (T->n0 > st->maxd) st->maxd = T->n0;
    }
    int lowrank = 0;
    for (size_t mi = 0; mi < st->nmeth; mi++) lowrank |= st->meth[mi] >= LQ_SVD_W;
    if (s == LR_OK && lowrank) {
        /* the layer problems of svd_w and dd_rank: the first prune.calib_rows training samples */
        size_t m = (size_t)lr_config_num(c, 0, "prune.calib_rows");
        s = lr_net_calib_build(net, st->data.x, m < st->data.n_train ? m : st->data.n_train, &st->calib);
    }
    lr_optim_free(opt);
    gsl_rng_free(r);
    lr_tnet_free(net);
    LR_TRY(s);
    st->acc_dense = (double)correct / (double)st->n_test;
    return lr_run_note(run, "%s: %zu training, %zu test samples; dense training %zu epochs in %.1f s, accuracy %.6f; "
                       "%zu epochs of masked retraining per round after rewinding to the initialisation",
                       st->dump_path, st->data.n_train, st->n_test, epochs, st->train_seconds, st->acc_dense,
                       st->retrain_epochs);
}

static void lq_release(void *state)
{
    lq_state *st = state;
    if (!st) return;
    for (size_t l = 0; st->W && l < st->nl; l++) lr_free(st->W[l].data);
    free(st->W), free(st->lname), free(st->vec_layer), free(st->vec_neuron);
    lr_net_free(st->net);
    lr_dump_close(st->dump);
    lr_free(st->test_x.data), lr_free(st->test_labels);
    for (size_t l = 0; st->W_init && l < st->nl; l++) lr_free(st->W_init[l].data);
    free(st->W_init), free(st->specs);
    lr_net_calib_free(&st->calib);
    lr_free(st->theta_init), lr_free(st->theta_trained);
    lr_dataset_free(&st->data);
    free(st);
}

static int lq_prepare(lr_run *run, void **state)
{
    const lr_config *c = run->cfg;
    lq_state *st = calloc(1, sizeof *st);
    if (!st) LR_ERROR(LR_ENOMEM, "out of memory");
    *state = st;
    char where[512];
    st->part = (lq_part)name_index(lq_part_names, 3, lr_config_str(c, "lq.part"));
    size_t rows = 0, trials = 0;
    if (st->part == LQ_VECTORS) {
        st->nk = lr_config_int_list(c, "vectors.ks", &st->ks);
        if (!st->nk) LR_ERRORF(LR_ECONFIG, "%s: at least one k", lr_config_where(c, "vectors.ks", where, sizeof where));
        st->from_dump = !strcmp(lr_config_str(c, "vectors.source"), "dump");
        if (st->from_dump) {
            LR_TRY(load_dump(run, st));
            st->vec_layer = malloc(st->nvec * sizeof(size_t)), st->vec_neuron = malloc(st->nvec * sizeof(size_t));
            if (!st->vec_layer || !st->vec_neuron) LR_ERROR(LR_ENOMEM, "out of memory");
            for (size_t l = 0, v = 0; l < st->nl; l++)
                for (size_t j = 0; j < st->W[l].cols; j++, v++) st->vec_layer[v] = l, st->vec_neuron[v] = j;
            rows = st->nk, trials = st->nvec;
        } else {
            const char *const *dn;
            st->ndist = lr_config_str_list(c, "vectors.dists", &dn);
            if (!st->ndist) LR_ERRORF(LR_ECONFIG, "%s: at least one distribution", lr_config_where(c, "vectors.dists", where, sizeof where));
            for (size_t i = 0; i < st->ndist; i++) st->dist[i] = (lq_dist)name_index(lq_dist_names, LQ_NDIST, dn[i]);
            if (st->ndist > LQ_NDIST) st->ndist = LQ_NDIST;
            for (size_t p = 0; p < run->npoints; p++)
                if ((size_t)lr_config_num(c, p, "vectors.d") > st->maxd) st->maxd = (size_t)lr_config_num(c, p, "vectors.d");
            rows = st->ndist * st->nk;
        }
        static const char *const b[] = {"lq_l1", "lq_l2"};
        LR_TRY(lr_run_use_own_bounds(run, b, 2, "lq.part"));
    } else if (st->part == LQ_NETWORK) {
        const char *const *an;
        st->nact = lr_config_str_list(c, "network.acts", &an);
        if (!st->nact || st->nact > 2)
            LR_ERRORF(LR_ECONFIG, "%s: one or two of relu, tanh", lr_config_where(c, "network.acts", where, sizeof where));
        for (size_t i = 0; i < st->nact; i++) st->act[i] = strcmp(an[i], "tanh") ? LR_ACT_RELU : LR_ACT_TANH;
        size_t d = (size_t)lr_config_num(c, 0, "network.d"), h = (size_t)lr_config_num(c, 0, "network.width");
        size_t vmax = (size_t)lr_config_num(c, 0, "network.vertex_dmax");
        st->npts_max = (size_t)lr_config_num(c, 0, "network.test_points") + (d <= vmax ? (size_t)1 << d : 0) + 2 * h;
        st->maxd = d;
        rows = st->nact;
        static const char *const b[] = {"lq_degrade"};
        LR_TRY(lr_run_use_own_bounds(run, b, 1, "lq.part"));
    } else {
        const char *const *mn;
        size_t n = lr_config_str_list(c, "prune.methods", &mn);
        /* the run order: adaptive first, so that one-shot pruning can aim at its kept fractions */
        for (int m = 0; m < LQ_NMETHODS; m++)
            for (size_t i = 0; i < n; i++)
                if (!strcmp(mn[i], lq_method_names[m])) {
                    st->meth[st->nmeth++] = (lq_method)m;
                    break;
                }
        if (!st->nmeth) LR_ERRORF(LR_ECONFIG, "%s: at least one method", lr_config_where(c, "prune.methods", where, sizeof where));
        st->rounds = (size_t)lr_config_num(c, 0, "prune.rounds");
        st->trained = lr_config_num(c, 0, "train.epochs") > 0;
        for (size_t mi = 0; !st->trained && mi < st->nmeth; mi++)
            if (st->meth[mi] >= LQ_SVD_W)
                LR_ERRORF(LR_ECONFIG, "%s: %s needs a network trained by lrlab (train.epochs > 0)",
                          lr_config_where(c, "prune.methods", where, sizeof where), lq_method_names[st->meth[mi]]);
        if (st->trained)
            LR_TRY(prepare_training(run, st));
        else {
            LR_TRY(load_dump(run, st));
            LR_TRY(prepare_test_set(run, st));
        }
        rows = st->nmeth * (st->rounds + 1) * (st->nl + 1);
        trials = 1;
        if (lr_config_given(c, "trials") && run->ntrials != 1)
            LR_ERRORF(LR_ECONFIG, "%s: a dump is one network: trials must be 1", lr_config_where(c, "trials", where, sizeof where));
    }
    if (st->from_dump && lr_config_given(c, "trials"))
        LR_ERRORF(LR_ECONFIG, "%s: vectors from a dump are its %zu neurons, one trial each: leave trials out",
                  lr_config_where(c, "trials", where, sizeof where), st->nvec);
    LR_TRY(lr_run_use_rank_offsets(run, NULL, 1));
    LR_TRY(lr_run_set_layout(run, rows, trials));
    return declare_columns(run, st);
}

static int lq_write_results(const lr_run *run, long long file)
{
    const lq_state *st = run->exp_state;
    hid_t f = (hid_t)file;
    LR_TRY(lr_h5_attr_str(f, "lq_part", lq_part_names[st->part]));
    if (st->dump || st->trained) {
        LR_TRY(lr_h5_attr_str(f, "lq_dump", st->dump_path));
        LR_TRY(lr_h5_attr_str(f, "lq_dump_sha256", st->dump_sha));
    }
    if (st->part == LQ_PRUNE && st->trained) {
        LR_TRY(lr_h5_attr_f64(f, "accuracy_dense", st->acc_dense));
        LR_TRY(lr_h5_attr_f64(f, "train_seconds", st->train_seconds));
        LR_TRY(lr_h5_attr_f64(f, "retrain_epochs", (double)st->retrain_epochs));
        LR_TRY(lr_h5_attr_str(f, "lq_note", "pruning WITH retraining: a network trained by lrlab's engine from a seeded "
                                                "initialisation; each round rewinds the survivors and biases to it and "
                                                "retrains the masked network (src/compress/lq_train.h)"));
    } else if (st->part == LQ_PRUNE) {
        LR_TRY(lr_h5_attr_f64(f, "accuracy_dense", st->acc_dense));
        LR_TRY(lr_h5_attr_str(f, "lq_note", "pruning without retraining: the loop's retrain callback is NULL "
                                                "(train.epochs = 0); rewinding restores the dump's trained weights"));
    }
    return LR_OK;
}

static const lr_key *const lq_includes[] = {lr_bounds_schema, lr_train_data_schema, NULL};

const lr_experiment lr_experiment_lq = {
    .name = "lq",
    .description = "l_q soft sparsity (Wang et al. 2022): SI_q, the truncation and degradation bounds on vectors "
                   "and random networks, adaptive against magnitude pruning of a dump or of a network lrlab trains, with "
                   "rewinding and retraining, next to low-rank truncations",
    .schema = lr_lq_schema,
    .includes = lq_includes,
    .summaries = 0,
    .prepare = lq_prepare,
    .ws_alloc = lq_ws_alloc,
    .ws_free = lq_ws_free,
    .unit = lq_unit,
    .release = lq_release,
    .write_results = lq_write_results,
    .report = lr_lq_report,
    .plot = lr_lq_plot,
};
