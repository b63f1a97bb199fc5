/* The parts of experiment `lq` (lq.c: the schema, the preparation and the units;
 * lq_report.c: `lrlab report` and `lrlab plot`) share these types.  Private to those files:
 * the experiment's only public symbol is lr_experiment_lq. */
#ifndef LR_EXPERIMENTS_LQ_H
#define LR_EXPERIMENTS_LQ_H

#include <stddef.h>
#include <stdio.h>

#include "compress/compress.h"
#include "compress/lq.h"
#include "compress/net_lowrank.h"
#include "io/dump.h"
#include "io/results_file.h"
#include "nn/net.h"
#include "nn/train.h"
#include "nn/train_io.h"
#include "run/run.h"

typedef enum { LQ_VECTORS = 0, LQ_NETWORK = 1, LQ_PRUNE = 2 } lq_part;
extern const char *const lq_part_names[3];

/* Weight distributions of the synthetic vectors and networks (column dist). */
typedef enum { LQ_GAUSSIAN, LQ_LAPLACE, LQ_STUDENT_T, LQ_CAUCHY, LQ_NDIST } lq_dist;
extern const char *const lq_dist_names[LQ_NDIST];

/* Pruning methods of part prune (column compressor), in the order the units run them:
 * one-shot magnitude pruning reuses the adaptive rule's kept fractions as its targets; the
 * low-rank truncations (svd_w, dd_rank: lrlab's compressors at the rank whose parameter
 * count r (N0 + N1) matches the kept weights) iterative magnitude pruning's 0.8^r. */
typedef enum { LQ_ADAPTIVE, LQ_ONESHOT, LQ_IMP, LQ_SVD_W, LQ_DD_RANK, LQ_NMETHODS } lq_method;
extern const char *const lq_method_names[LQ_NMETHODS];

typedef struct lq_state {
    lq_part part;
    /* vectors */
    int from_dump;
    size_t ndist;
    lq_dist dist[LQ_NDIST];
    const long *ks;
    size_t nk;
    /* a dump: its layers' weights (vectors, prune) */
    char dump_path[4096], dump_sha[72];
    lr_dump *dump;
    size_t nl;
    lr_mat *W;        /* owned copies, n0 x n1 */
    char (*lname)[320];
    size_t nvec;      /* vectors from a dump: every neuron of every layer */
    size_t *vec_layer, *vec_neuron;
    size_t maxd;
    /* network */
    size_t nact;
    lr_activation_id act[2];
    size_t npts_max;
    /* prune */
    lr_net *net;
    lr_mat test_x;
    long *test_labels;
    size_t n_test, batch;
    double acc_dense;
    size_t nmeth;
    lq_method meth[LQ_NMETHODS];
    size_t rounds;
    /* prune with training (train.epochs > 0): lrlab's engine trains the network from a
     * seeded initialisation; W holds the trained weights, W_init the initial ones */
    int trained;
    lr_dataset data;
    lr_train_data train_data;
    lr_tlayer_spec *specs;
    double *theta_init, *theta_trained;
    lr_mat *W_init;
    const double *test_xr; /* row-major n_test x in_dim (the data set's test part) */
    size_t retrain_epochs, train_batch;
    lr_optim_opts opt;
    double train_seconds;
    /* low-rank methods (svd_w, dd_rank): every layer's problem on calibration activations of
     * the trained dense network (X~ its inputs, W, Y = X~ W) with X~'s SVD */
    lr_net_calib calib;
    /* own /trials columns */
    int c_part, c_dist, c_layer, c_layer_index, c_neuron, c_d, c_kk, c_norm_q, c_log_norm_q, c_si, c_err_l1, c_err_l2,
        c_tight_l1, c_tight_l2, c_act, c_width, c_B, c_keep, c_kept, c_out_sup, c_out_test, c_out_linear,
        c_tight_deg, c_npoints, c_round, c_kept_frac, c_si_mean, c_accuracy, c_accuracy_dense, c_scope;
} lq_state;

int lr_lq_report(const lr_results_file *rf, FILE *out);
int lr_lq_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log);

#endif
