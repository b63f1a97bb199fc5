/* Experiment `lod`, problem network: LoD on a real classifier (Horvath, Laskaridis, Rajput,
 * Wang, "Maestro", ICML 2024, section 5; docs/theory.md section 6) against post-training
 * truncation of the same architecture trained densely.
 *
 * Per trial (its own unit stream), on the data set of train.source:
 *   1. a dense ReLU MLP (train.hidden) trained from PyTorch's initialisation for train.epochs
 *      epochs (softmax cross-entropy, train.optimizer): the dense reference, accuracy a_dense;
 *   2. the same MLP with the layers of train.ranks factored, W^T = U V^T with r_max = that
 *      entry (0: dense; an empty list: every hidden layer at r_max = min(n0, n1), the output
 *      layer dense), trained by LoD for the same epochs: per step a rank b drawn from lod.dist
 *      on 1..r (lod.one_layer: for one factored layer, the others at their kept rank), the
 *      hierarchical group lasso lod.lambda and end-of-epoch pruning at lod.prune_tol;
 *      lod.init = "random" starts the factors at PyTorch's scale, "dense" from the dense
 *      network of step 1 (balanced SVD, its biases and dense layers copied);
 *   3. at every level b of lod.levels, every factored layer kept at k_l = min(b, its kept
 *      rank): the LoD network evaluated on its first k_l components (one trained network
 *      serves every level, as in the paper), and the dense network of step 1 with the same
 *      layers replaced by svd_w's and dd_rank's rank-k_l fits (src/compress/net_lowrank.h:
 *      calibrated on the first lod.calib_rows training samples, no retraining).
 * The three methods therefore have exactly the same parameter count at a level:
 *   P(b) = sum_{factored l} k_l (n0_l + n1_l) + sum_{dense l} n0_l n1_l      (weights; the
 *   biases, equal in every network, are not counted), reported as P(b) / sum_l n0_l n1_l.
 *
 * Rows per unit: one "level" row for the dense network (compressor dense, b = 0), one per
 * (method, b) for lod, svd_w and dd_rank, and one "component" row per component t of every
 * factored layer of the LoD network (importance before the last epoch's pruning). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compress/compress.h"
#include "compress/net_lowrank.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/mat.h"
#include "io/h5.h"
#include "lod.h"
#include "nn/activation.h"
#include "nn/train.h"
#include "nn/train_io.h"
#include "run/run.h"

/* The methods, as the compressor column's names. */
enum { NET_LOD = 0, NET_SVD_W = 1, NET_DD_RANK = 2, NET_DENSE = 3, NET_NMETHODS };
static const char *const net_method_names[NET_NMETHODS] = {"lod", "svd_w", "dd_rank", "dense"};

struct lod_net_state {
    lr_dataset data;
    char path[4096], sha[72];
    const double *test_x;
    const long *test_labels;
    size_t nl, nlev, n_calib, cap, epochs, batch, ncomp;
    lr_tlayer_spec *dense_specs, *lod_specs;
    size_t *levels;
    size_t dense_weights;
    int init_dense;
    lr_optim_opts opt;
    lr_lod_opts lod;
    lr_layer_shape shape;
    int c_problem, c_row, c_b, c_layer, c_params, c_ratio, c_accuracy, c_accuracy_dense, c_importance, c_rank_kept,
        c_train_loss;
    int *c_rank; /* per layer: rank_fcN */
};

typedef struct lod_net_ws {
    lr_tnet *dense, *lodnet;
    lr_compressor_plan *plan[2]; /* svd_w, dd_rank */
    lr_net_truncator trunc;
    size_t *ranks;
    double *imp;
} lod_net_ws;

void lod_network_release(lod_net_state *ns)
{
    if (!ns) return;
    lr_dataset_free(&ns->data);
    free(ns->dense_specs), free(ns->lod_specs), free(ns->levels), free(ns->c_rank);
    free(ns);
}

void lod_network_ws_free(void *p)
{
    lod_net_ws *w = p;
    if (!w) return;
    lr_tnet_free(w->dense), lr_tnet_free(w->lodnet);
    for (int k = 0; k < 2; k++) lr_compressor_plan_free(w->plan[k]);
    lr_net_truncator_free(&w->trunc);
    free(w->ranks), free(w->imp);
    free(w);
}

void *lod_network_ws_alloc(const lr_run *run, const lod_net_state *ns)
{
    lod_net_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->dense = lr_tnet_alloc(ns->data.dim, ns->dense_specs, ns->nl, ns->cap);
    w->lodnet = lr_tnet_alloc(ns->data.dim, ns->lod_specs, ns->nl, ns->cap);
    w->ranks = calloc(ns->nl, sizeof *w->ranks);
    size_t rmax = 1;
    for (size_t l = 0; l < ns->nl; l++)
        if (ns->lod_specs[l].rank > rmax) rmax = ns->lod_specs[l].rank;
    w->imp = malloc(rmax * sizeof(double));
    int ok = w->dense && w->lodnet && w->ranks && w->imp;
    for (int k = 0; ok && k < 2; k++) {
        w->plan[k] = lr_compressor_plan_alloc(lr_compressor_find(net_method_names[NET_SVD_W + k]), &ns->shape, run->cfg);
        ok = w->plan[k] != NULL;
    }
    if (ok) ok = lr_net_truncator_init(&w->trunc, &ns->shape) == LR_OK;
    if (!ok) {
        lod_network_ws_free(w);
        return NULL;
    }
    return w;
}

/* ---- the unit ---- */

static int train(const lod_net_state *ns, lr_tnet *net, const lr_lod_opts *lod, gsl_rng *rng, double *loss)
{
    lr_optim *opt = lr_optim_alloc(net->nparams, &ns->opt);
    if (!opt) LR_ERROR(LR_ENOMEM, "out of memory for the optimiser");
    lr_train_data data = {.x = ns->data.x, .labels = ns->data.labels, .N = ns->data.n_train};
    lr_epoch_stats es = {0};
    int s = LR_OK;
    for (size_t e = 0; s == LR_OK && e < ns->epochs; e++) {
        /* LoD's last epoch without its pruning, so that the importance rows show what it would cut */
        lr_lod_opts le;
        if (lod) le = *lod, le.prune_tol = e + 1 == ns->epochs ? 0 : lod->prune_tol;
        s = lr_train_epoch(net, opt, &data, ns->batch, LR_LOSS_SOFTMAX_CE, lod ? &le : NULL, rng, &es);
        if (s == LR_OK && !isfinite(es.loss))
            s = lr_error(LR_ENUMERIC, __FILE__, __LINE__,
                         "lod: the %s network's training loss is %g in epoch %zu (train.lr = %g too large?)",
                         lod ? "LoD" : "dense", es.loss, e + 1, ns->opt.lr);
    }
    lr_optim_free(opt);
    *loss = es.loss;
    return s;
}

/* Test accuracy of net (factored layers at ranks; NULL: their kept ranks). */
static int accuracy(const lod_net_state *ns, lr_tnet *net, const size_t *ranks, double *acc)
{
    size_t correct = 0;
    LR_TRY(lr_tnet_correct_at(net, ns->test_x, ns->test_labels, ns->data.n_test, ranks, &correct));
    *acc = (double)correct / (double)ns->data.n_test;
    return LR_OK;
}

/* A level row's common cells. */
static double *level_row(const lr_run *run, const lod_net_state *ns, double *rows, size_t i, size_t point, size_t trial,
                         int method, size_t b)
{
    double *row = rows + i * run->trials->ncols;
    lr_run_fill_row(run, row, point, trial, (size_t)method, 0);
    row[ns->c_problem] = LOD_NETWORK;
    row[ns->c_row] = LOD_ROW_LEVEL;
    row[ns->c_b] = (double)b;
    row[run->col.k] = (double)b;
    row[ns->c_layer] = -1;
    return row;
}

int lod_network_unit(const lr_run *run, const lod_net_state *ns, void *wsp, size_t point, size_t trial, gsl_rng *rng,
                     double *rows, double *seconds)
{
    lod_net_ws *w = wsp;
    size_t nl = ns->nl, i = 0;
    double loss_dense, loss_lod, t0 = lr_wall_seconds();
    /* 1. the dense reference */
    LR_TRY(lr_tnet_init_random(w->dense, rng));
    LR_TRY(train(ns, w->dense, NULL, rng, &loss_dense));
    double acc_dense;
    LR_TRY(accuracy(ns, w->dense, NULL, &acc_dense));
    double t1 = lr_wall_seconds();
    double *row = level_row(run, ns, rows, i, point, trial, NET_DENSE, 0);
    row[ns->c_params] = (double)ns->dense_weights, row[ns->c_ratio] = 1.0;
    row[ns->c_accuracy] = row[ns->c_accuracy_dense] = acc_dense, row[ns->c_train_loss] = loss_dense;
    for (size_t l = 0; l < nl; l++) row[ns->c_rank[l]] = NAN;
    seconds[i++] = t1 - t0;
    /* 2. LoD */
    if (ns->init_dense) {
        for (size_t l = 0; l < nl; l++) {
            lr_tlayer *D = &w->dense->layers[l], *L = &w->lodnet->layers[l];
            memcpy(L->b, D->b, L->n1 * sizeof(double));
            if (L->rmax) LR_TRY(lr_tnet_init_svd(w->lodnet, l, D->W));
            else memcpy(L->W, D->W, L->n0 * L->n1 * sizeof(double));
        }
    } else {
        LR_TRY(lr_tnet_init_random(w->lodnet, rng));
    }
    LR_TRY(train(ns, w->lodnet, &ns->lod, rng, &loss_lod));
    double t2 = lr_wall_seconds();
    /* the importance rows, then the last pruning */
    size_t ic = 1 + NET_DENSE * ns->nlev;
    for (size_t l = 0; l < nl; l++) {
        const lr_tlayer *L = &w->lodnet->layers[l];
        if (!L->rmax) continue;
        for (size_t t = 0; t < L->rmax; t++) w->imp[t] = 0;
        LR_TRY(lr_lod_importance(w->lodnet, l, w->imp));
        for (size_t t = 0; t < L->rmax; t++) {
            double *r = rows + (ic + t) * run->trials->ncols;
            lr_run_fill_row(run, r, point, trial, NET_LOD, 0);
            r[ns->c_problem] = LOD_NETWORK;
            r[ns->c_row] = LOD_ROW_COMPONENT;
            r[ns->c_b] = (double)(t + 1);
            r[ns->c_layer] = (double)(l + 1);
            r[ns->c_importance] = t < L->rank && w->imp[0] > 0 ? w->imp[t] / w->imp[0] : NAN;
            seconds[ic + t] = NAN;
        }
        ic += L->rmax;
    }
    if (ns->lod.prune_tol > 0) lr_lod_prune(w->lodnet, ns->lod.prune_tol);
    for (size_t j = 1 + NET_DENSE * ns->nlev; j < ic; j++) {
        double *r = rows + j * run->trials->ncols;
        r[ns->c_rank_kept] = (double)w->lodnet->layers[(size_t)r[ns->c_layer] - 1].rank;
    }
    /* 3. the levels: LoD at its first k_l components, svd_w and dd_rank at the same k_l */
    lr_net_calib calib;
    LR_TRY(lr_net_calib_build(w->dense, ns->data.x, ns->n_calib, &calib));
    int s = LR_OK;
    for (size_t li = 0; s == LR_OK && li < ns->nlev; li++) {
        size_t b = ns->levels[li], params = 0;
        for (size_t l = 0; l < nl; l++) {
            const lr_tlayer *L = &w->lodnet->layers[l];
            w->ranks[l] = L->rmax ? (b < L->rank ? b : L->rank) : 0;
            params += L->rmax ? w->ranks[l] * (L->n0 + L->n1) : L->n0 * L->n1;
        }
        for (int m = NET_LOD; s == LR_OK && m <= NET_DD_RANK; m++) {
            double ts = lr_wall_seconds(), acc = NAN;
            if (m == NET_LOD) {
                s = accuracy(ns, w->lodnet, w->ranks, &acc);
            } else {
                /* every truncated layer's W is rewritten from the calibration's copy of the dense
                 * W, and nothing else of the dense network changes: no restore between levels */
                for (size_t l = 0; s == LR_OK && l < nl; l++)
                    if (w->ranks[l])
                        s = lr_net_truncate_layer(w->dense, l, w->plan[m - NET_SVD_W], &calib, w->ranks[l], run->seed, point,
                                                  (uint64_t)trial * ns->nlev + li, &w->trunc);
                if (s == LR_OK) s = accuracy(ns, w->dense, NULL, &acc);
            }
            size_t at = 1 + (size_t)m * ns->nlev + li;
            row = level_row(run, ns, rows, at, point, trial, m, b);
            row[ns->c_params] = (double)params;
            row[ns->c_ratio] = (double)params / (double)ns->dense_weights;
            row[ns->c_accuracy] = acc;
            row[ns->c_accuracy_dense] = acc_dense;
            row[ns->c_train_loss] = m == NET_LOD ? loss_lod : loss_dense;
            for (size_t l = 0; l < nl; l++) row[ns->c_rank[l]] = w->ranks[l] ? (double)w->ranks[l] : NAN;
            seconds[at] = m == NET_LOD ? t2 - t1 : lr_wall_seconds() - ts;
        }
    }
    lr_net_calib_free(&calib);
    return s;
}

/* ---- preparation ---- */

int lod_network_prepare(lr_run *run, lod_net_state **out)
{
    const lr_config *c = run->cfg;
    char where[512];
    lod_net_state *ns = calloc(1, sizeof *ns);
    if (!ns) LR_ERROR(LR_ENOMEM, "out of memory");
    *out = ns;
    LR_TRY(lr_dataset_from_config(c, (size_t)lr_config_num(c, 0, "lod.test_max"), &ns->data, ns->path, sizeof ns->path, ns->sha));
    ns->test_x = ns->data.x + ns->data.n_train * ns->data.dim;
    ns->test_labels = ns->data.labels + ns->data.n_train;
    const long *hidden, *rk, *lev;
    size_t nh = lr_config_int_list(c, "train.hidden", &hidden), nr = lr_config_int_list(c, "train.ranks", &rk);
    ns->nl = nh + 1;
    if (nr && nr != ns->nl)
        LR_ERRORF(LR_ECONFIG, "%s: %zu entries for %zu layers (train.hidden has %zu hidden layers, plus the output layer)",
                  lr_config_where(c, "train.ranks", where, sizeof where), nr, ns->nl, nh);
    ns->dense_specs = calloc(ns->nl, sizeof *ns->dense_specs), ns->lod_specs = calloc(ns->nl, sizeof *ns->lod_specs);
    ns->c_rank = calloc(ns->nl, sizeof *ns->c_rank);
    if (!ns->dense_specs || !ns->lod_specs || !ns->c_rank) LR_ERROR(LR_ENOMEM, "out of memory");
    size_t n0 = ns->data.dim, nfact = 0;
    for (size_t l = 0; l < ns->nl; l++) {
        size_t n1 = l < nh ? (size_t)hidden[l] : ns->data.classes, mn = n0 < n1 ? n0 : n1;
        ns->dense_specs[l] = (lr_tlayer_spec){.n_out = n1, .act = l < nh ? (int)LR_ACT_RELU : LR_TRAIN_ACT_NONE};
        ns->lod_specs[l] = ns->dense_specs[l];
        ns->lod_specs[l].rank = nr ? (size_t)rk[l] : l < nh ? mn : 0;
        if (ns->lod_specs[l].rank > mn)
            LR_ERRORF(LR_ECONFIG, "%s: rank %zu of layer %zu exceeds min(n0, n1) = min(%zu, %zu)",
                      lr_config_where(c, "train.ranks", where, sizeof where), ns->lod_specs[l].rank, l + 1, n0, n1);
        nfact += ns->lod_specs[l].rank > 0;
        ns->ncomp += ns->lod_specs[l].rank;
        ns->dense_weights += n0 * n1;
        if (n0 > ns->shape.n0) ns->shape.n0 = n0;
        if (n1 > ns->shape.n1) ns->shape.n1 = n1;
        n0 = n1;
    }
    if (!nfact)
        LR_ERRORF(LR_ECONFIG, "%s: no layer is factored: LoD needs at least one rank > 0",
                  lr_config_where(c, "train.ranks", where, sizeof where));
    ns->nlev = lr_config_int_list(c, "lod.levels", &lev);
    if (!ns->nlev) LR_ERRORF(LR_ECONFIG, "%s: no levels b to evaluate", lr_config_where(c, "lod.levels", where, sizeof where));
    ns->levels = malloc(ns->nlev * sizeof *ns->levels);
    if (!ns->levels) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t i = 0; i < ns->nlev; i++) {
        if (lev[i] < 1 || (i && lev[i] <= lev[i - 1]))
            LR_ERRORF(LR_ECONFIG, "%s: element %zu is %ld: the levels must be increasing ranks >= 1",
                      lr_config_where(c, "lod.levels", where, sizeof where), i + 1, lev[i]);
        ns->levels[i] = (size_t)lev[i];
    }
    ns->epochs = (size_t)lr_config_num(c, 0, "train.epochs");
    ns->batch = (size_t)lr_config_num(c, 0, "train.batch");
    ns->cap = ns->batch > 256 ? ns->batch : 256;
    size_t m = (size_t)lr_config_num(c, 0, "lod.calib_rows");
    ns->n_calib = ns->shape.m = m < ns->data.n_train ? m : ns->data.n_train;
    ns->init_dense = !strcmp(lr_config_str(c, "lod.init"), "dense");
    ns->opt = (lr_optim_opts){.kind = strcmp(lr_config_str(c, "train.optimizer"), "adam") ? LR_OPT_SGD : LR_OPT_ADAM,
                              .lr = lr_config_num(c, 0, "train.lr"), .momentum = lr_config_num(c, 0, "train.momentum"),
                              .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    ns->lod = (lr_lod_opts){.dist = strcmp(lr_config_str(c, "lod.dist"), "geometric") ? LR_LOD_UNIFORM : LR_LOD_GEOMETRIC,
                            .geom_p = lr_config_num(c, 0, "lod.geom_p"), .one_layer = lr_config_num(c, 0, "lod.one_layer") != 0,
                            .lambda = lr_config_num(c, 0, "lod.lambda"), .prune_tol = lr_config_num(c, 0, "lod.prune_tol")};

    LR_TRY(lr_run_use_rank_offsets(run, NULL, 1));
    LR_TRY(lr_run_set_layout(run, 1 + NET_DENSE * ns->nlev + ns->ncomp, 0));
    static const char *const paths[] = {"lod.lambda", "lod.prune_tol"};
    static const char *const names[] = {"lambda", "prune_tol"};
    LR_TRY(lr_run_trial_columns(run, paths, names, 2));
    for (int k = 0; k < NET_NMETHODS; k++)
        if (lr_table_dict_index(run->trials, (size_t)run->col.compressor, net_method_names[k]) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
#define COL(slot, name, type, doc) LR_TRY(lr_run_add_column(run, &ns->slot, name, type, doc))
    COL(c_problem, "problem", LR_COL_NAME, "lod.problem of the row (network)");
    for (int p = 0; p < LOD_NPROBLEMS; p++)
        if (lr_table_dict_index(run->trials, (size_t)ns->c_problem, lod_problem_names[p]) < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    COL(c_row, "row_kind", LR_COL_NAME,
        "level: one network at level b (compressor: dense, lod, svd_w or dd_rank); component: component b of a factored "
        "layer of the LoD network");
    for (int p = 0; p < LOD_NROWKINDS; p++)
        if (lr_table_dict_index(run->trials, (size_t)ns->c_row, lod_row_names[p]) < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    COL(c_b, "b", LR_COL_INT,
        "level rows: the level b of lod.levels (every factored layer at min(b, its kept rank); dense: 0); component rows: "
        "the component (1-based)");
    COL(c_layer, "layer", LR_COL_INT, "component rows: the layer (1-based); level rows: -1");
    COL(c_params, "params", LR_COL_INT,
        "level rows: weights of the network (factored layers k (n0 + n1), dense layers n0 n1; biases not counted)");
    COL(c_ratio, "param_ratio", LR_COL_REAL, "level rows: params / the dense network's weights (dimensionless)");
    COL(c_accuracy, "accuracy", LR_COL_REAL, "level rows: test accuracy (fraction of the test samples classified right)");
    COL(c_accuracy_dense, "accuracy_dense", LR_COL_REAL, "level rows: the trial's dense network's test accuracy");
    COL(c_train_loss, "train_loss", LR_COL_REAL,
        "level rows: mean cross-entropy of the last training epoch of the network the row evaluates (LoD's, or the dense "
        "network's for dense, svd_w and dd_rank; nats)");
    COL(c_importance, "importance", LR_COL_REAL,
        "component rows: ||U_{:,b:}||_F ||V_{:,b:}||_F / ||U||_F ||V||_F before the last pruning (NaN: cut by an earlier "
        "epoch's pruning)");
    COL(c_rank_kept, "rank_kept", LR_COL_INT, "component rows: the components the layer kept after the last pruning");
    for (size_t l = 0; l < ns->nl; l++) {
        char nm[32], doc[160];
        snprintf(nm, sizeof nm, "rank_fc%zu", l + 1);
        snprintf(doc, sizeof doc, "level rows: the rank of layer fc%zu at this level (NaN: a dense layer, not truncated)", l + 1);
        LR_TRY(lr_run_add_column(run, &ns->c_rank[l], nm, LR_COL_INT, doc));
    }
#undef COL
    return lr_run_note(run,
                       "%s: %zu training, %zu test samples, %zu classes; %zu layers, %zu weights dense; %zu epochs per "
                       "network; LoD from %s; svd_w and dd_rank calibrated on %zu training samples",
                       ns->path, ns->data.n_train, ns->data.n_test, ns->data.classes, ns->nl, ns->dense_weights, ns->epochs,
                       ns->init_dense ? "the dense network (balanced SVD)" : "a random initialisation", ns->n_calib);
}

int lod_network_write_results(const lod_net_state *ns, long long file)
{
    hid_t f = (hid_t)file;
    LR_TRY(lr_h5_attr_str(f, "lod_data", ns->path));
    if (ns->sha[0]) LR_TRY(lr_h5_attr_str(f, "lod_data_sha256", ns->sha));
    return lr_h5_attr_str(f, "lod_note",
                          "per trial a dense MLP and an LoD MLP trained for the same epochs; at every level b LoD on its "
                          "first min(b, kept) components and the dense network's svd_w and dd_rank truncations at the "
                          "same ranks (no retraining)");
}
