/* The parts of experiment `alds` (alds.c: the unit and the experiment; alds_prepare.c: its
 * config, the networks and the tabulation; alds_h5.c: its own results tables; alds_report.c
 * and alds_plot.c) share these types.  Private to those files: the experiment's only public
 * symbol is lr_experiment_alds. */
#ifndef LR_EXPERIMENTS_ALDS_H
#define LR_EXPERIMENTS_ALDS_H

#include <stddef.h>
#include <stdio.h>

#include "compress/alds_alloc.h"
#include "compress/grouped.h"
#include "io/dump.h"
#include "nn/net.h"
#include "io/results_file.h"
#include "run/run.h"

/* The allocation variants, one block of rows each (column `method`). */
typedef enum {
    ALDS_UNIFORM,     /* k = 1, one common rank */
    ALDS_ENERGY,      /* k = 1, one common kept energy of W */
    ALDS_GLOBAL,      /* k = 1, the exact minimax step on the true error */
    ALDS_PROXY,       /* ALDS on the authors' code's criterion, the lower bound */
    ALDS_L2,          /* ALDS on the l2 bound */
    ALDS_SQRTK,       /* ALDS on the published sqrt(k) bound */
    ALDS_TRUE,        /* ALDS on the computed true error */
    ALDS_DATA_DRIVEN, /* k = 1, minimax on tau_j(X W) / ||X W||_F, fitted as dd_rank */
    ALDS_NVARIANTS
} alds_variant;
extern const char *const lr_alds_variant_names[ALDS_NVARIANTS];

/* Why a network row did not reach its keep-ratio target (column keep_reason), in the
 * dictionary's order. */
typedef enum { ALDS_KEEP_MET, ALDS_KEEP_STEP, ALDS_KEEP_COMMON_RANK, ALDS_KEEP_ENERGY_LEVEL, ALDS_KEEP_SATURATED } alds_keep_reason;
static const char *const alds_keep_reasons[] = {"met", "step", "common_rank", "energy_level", "saturated"};

/* One tabulated (k, j) grid of one layer. */
typedef struct alds_ktab {
    size_t k, mn;                     /* groups; ranks j = 0 .. mn */
    double *lower, *l2, *sqrtk, *eps; /* mn + 1 each: the bounds and the true error */
    double *eps_table;                /* eps made non-increasing (running minimum) for the allocator */
    int *iters, *converged;
    double *alpha_next;               /* (mn + 1) k: alpha_{i, j+1}, for the bounds registry */
} alds_ktab;

typedef struct alds_layer {
    char name[320];
    size_t n0, n1, c; /* W n0 x n1, c input channels (n0 = c kh kw) */
    int has_bias, compressible;
    lr_mat W;         /* owned */
    double alpha1;    /* ||W||_2 */
    size_t nk;
    size_t *ks;       /* allowed k: the divisors of c up to alds.kmax */
    alds_ktab *tab;   /* nk */
    double *sv;       /* singular values of W (k = 1), for the energy baseline */
    /* Data-driven: tau_j(X W) / ||X W||_F, j = 0 .. mn1 (mn1 = min(n0, n1)), and the right
     * singular vectors of X W (n1 x mn1), so that dd_rank's fit is W V_j V_j^T. */
    double *dd_err;
    lr_mat Vxw;
    size_t mn1;
    /* The allocator's view (lr_alds_problem): jmax per k, and per criterion (proxy, l2,
     * sqrtk, true) the nk tables; the data-driven one at k = 1. */
    size_t *jmax;
    const double **crit[4];
    const double *dd_tab[1];
    size_t dd_jmax[1];
} alds_layer;

typedef struct alds_net {
    size_t nl;
    alds_layer *L;
    double dense_params; /* weights of every layer, dense, plus biases */
    double bias_params;
    double fixed_params; /* biases plus the weights of the layers kept dense */
} alds_net;

typedef struct alds_state {
    int synthetic;
    char dump_path[4096], dump_sha[72];
    lr_dump *dump;
    lr_net *net;             /* the dump's sequential network, when it has one and tests */
    size_t ntrials;
    alds_net *nets;          /* one per trial (a dump: one) */
    size_t nvar;
    alds_variant var[ALDS_NVARIANTS];
    lr_alds_opts opts;
    double power_tol;
    int power_max_iter;
    int evaluate;            /* test accuracy through the network */
    size_t n_test;
    lr_mat test_x;
    long *test_labels;
    double acc_dense;
    int batch;
    size_t max_n0, max_n1;
    size_t grid_rows, grid_held[3], grid_checked, grid_unconverged;
    double k1_max_dev;       /* largest |bound - eps| / eps at k = 1 */
    /* extra /trials columns */
    int c_layer, c_layer_index, c_n0, c_n1, c_c, c_keep, c_budget, c_kgroups, c_j, c_dense,
        c_params, c_eps, c_crit, c_obj_crit, c_obj_true, c_keep_achieved, c_keep_ok, c_accuracy,
        c_accuracy_dense, c_iters, c_converged, c_uniform_obj, c_obj_alloc, c_fill_steps, c_budget_left,
        c_next_step, c_keep_reason;
    int fill;                /* alds.fill */
    double keep_tol;         /* alds.keep_tol */
} alds_state;

extern const lr_key lr_alds_schema[];
int lr_alds_prepare(lr_run *run, void **state);
void lr_alds_release(void *state);
int lr_alds_write_results(const lr_run *run, long long file);
int lr_alds_report(const lr_results_file *rf, FILE *out);
int lr_alds_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log);

/* The allocator's problem for one network on one criterion (tables owned by the net). */
int lr_alds_problem(const alds_net *N, alds_variant v, lr_alds_layer *out);
/* The compressible layers' budget for alds.budget (kind "keep": a ratio of the whole
 * network, weights and biases, biases and dense-kept layers counting in full; "params": a
 * count of the whole network's parameters). */
int lr_alds_budget(const alds_net *N, double budget, const char *kind, size_t *out);

#endif
