/* The parts of experiment `real_layers` (real_layers.c: the analysis and the unit;
 * real_layers_prepare.c: its config, the dump and the network, the budgets;
 * real_layers_h5.c: its own results tables) share these types and functions.  Private to
 * those files: the experiment's only public symbol is lr_experiment_real_layers. */
#ifndef LR_EXPERIMENTS_REAL_LAYERS_H
#define LR_EXPERIMENTS_REAL_LAYERS_H

#include <hdf5.h>

#include "io/dump.h"
#include "nn/net.h"
#include "nn/reduce.h"
#include "run/run.h"

enum { STAGE_LAYER = 0, STAGE_SEQ = 1, STAGE_NET = 2 };
extern const char *const lr_rl_stage_names[]; /* "layer", "sequential", "network" */

typedef struct rl_layer {
    size_t n0, n1, n0a;
    int bias;
    /* The dense layer's parameters: N1 (N0 / groups + bias), N0a N1 unless it is a grouped
     * conv, whose block-diagonal W holds only its groups' blocks. */
    double dense_params;
    lr_mat Wa;        /* n0a x n1: W with the bias row */
    lr_reduced rd;    /* stored X, Y reduced */
    double *spec_w, *spec_x, *spec_xw;
    size_t nspec_w, nspec_x, nspec_xw;
    double check_rel; /* ||Y - XW - b|| / ||Y|| of the dump */
    double fwd_rel_x, fwd_rel_y; /* lrlab's forward pass against the stored X, Y */
    size_t *ranks, nranks;
    size_t *kbud;      /* rank per budget */
    int keep_dense;    /* left uncompressed in the network stages */
    double *Yo;        /* original pre-activations on the calibration set (rows_total x n1) */
    size_t rows_total; /* calibration rows of the sequential stage */
} rl_layer;

typedef struct rl_state {
    char dump_path[4096], dump_sha[72], note[512];
    lr_dump *dump;
    lr_net *net;
    size_t nl;
    rl_layer *L;
    int evaluate;
    const double *budgets;
    size_t nbud;
    const char *budget_kind;
    double *net_ratio, *net_energy; /* per budget */
    size_t n_calib, n_test;
    lr_mat calib_x, test_x;
    long *test_labels;
    double acc_dense, acc_recorded;
    size_t correct_dense;
    double rank_rtol, jitter, tol, C, t;
    size_t nslots, slot_seq, slot_net;
    size_t max_m, max_n, arena_need;
    lr_layer_shape shape; /* the largest layer problem, for the compressors' plans */
    int batch;
    /* extra /trials columns */
    int c_stage, c_layer, c_layer_index, c_n0, c_n1, c_m, c_budget, c_param_ratio, c_energy;
    int c_err_y, c_err_y_rel, c_tau, c_pg_fro, c_sigma_hat, c_thm2a_hat,
        c_thm2a_hat_held, c_route, c_accuracy, c_accuracy_dense, c_net_ratio, c_dd_le_da, c_dd_le_da_y;
} rl_state;

static inline size_t sz1(size_t v) { return v ? v : 1; }

extern const lr_key lr_rl_schema[];
int lr_rl_prepare(lr_run *run, void **state);
int lr_rl_write_results(const lr_run *run, long long file);
/* The singular values of A (destroyed), allocated into *s (*n of them). */
int lr_rl_singular_values(lr_mat A, double **s, size_t *n);
/* min(N0a, N1): the largest rank of a layer. */
size_t lr_rl_kcap(const rl_layer *L);
/* k (N0a + N1) / (N0a N1): the parameters of rank-k factors over the dense layer's. */
double lr_rl_param_ratio(const rl_layer *L, size_t k);
/* sum_{i<=k} sigma_i(W)^2 / sum_i sigma_i(W)^2. */
double lr_rl_energy_at(const rl_layer *L, size_t k);
/* Test-set accuracy of the network with the given layers (low-rank or dense). */
int lr_rl_test_accuracy(const rl_state *st, const lr_net_lowrank *lr, size_t *correct);

#endif
