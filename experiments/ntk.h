/* The parts of experiment `ntk` (ntk.c: the unit and the experiment; ntk_prepare.c: its
 * config and the data; ntk_h5.c: its own results tables; ntk_report.c: report and figures) share
 * these types.  Private to those files: the experiment's only public symbol is
 * lr_experiment_ntk. */
#ifndef LR_EXPERIMENTS_NTK_H
#define LR_EXPERIMENTS_NTK_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdio.h>

#include "core/mat.h"
#include "gen/gmm.h"
#include "io/results_file.h"
#include "ntk/act.h"
#include "ntk/equiv.h"
#include "ntk/kernel_exact.h"
#include "ntk/ternary.h"
#include "run/run.h"

#define NTK_MAX_ACTS 32

/* Real data (data.source = "dump"), read and normalised once. */
typedef struct ntk_real {
    size_t p, K, n, n_test;
    lr_mat X, Xtest;            /* p x n, p x n_test: normalised with the training set's mean and scale */
    size_t *labels, *labels_test;
    lr_class_stats *stats;      /* plug-in, from X */
    double scale;
} ntk_real;

typedef struct ntk_state {
    int real;                   /* data.source = "dump" */
    char dump_path[4096], dump_sha[72];
    ntk_real R;
    size_t K;                   /* classes */
    int preset;                 /* lr_gmm_preset (mixture) */
    lr_ntk_norms norms;
    size_t nact;
    lr_ntk_act act[NTK_MAX_ACTS];
    char act_name[NTK_MAX_ACTS][96];
    lr_ntk_kernel_method method;
    lr_ntk_kernel_opts kopts;
    lr_ntk_match_opts mopts;
    size_t top;                 /* eigenpairs compared */
    const double *ridge;        /* the relative ridges the classifier chooses from (ntk.ridge) */
    size_t nridge;
    size_t draws;               /* finite networks per trial */
    size_t max_n, max_p, max_width, max_depth;
    long spectra_point;         /* the point whose eigenvalues /ntk_spectra holds (-1: none) */
    /* extra /trials columns */
    int c_tau0, c_tau0_emp, c_tauL, c_ck_norm, c_ck_err, c_ck_err_theory, c_ntk_err, c_ntk_err_theory,
        c_ck_align, c_ntk_align, c_eig1, c_eig1_equiv, c_comp_ok, c_comp_resid, c_comp_last, c_comp_shift,
        c_ck_err_comp, c_ck_err_comp_noshift, c_emp_err, c_emp_err_comp, c_acc_dense, c_acc_comp, c_bits_dense,
        c_bits_comp, c_bits_entropy, c_trunc, c_ntk_defined, c_p, c_n,
        c_ridge_dense, c_ridge_comp, c_eig_fallback, c_acc_comp_shifted;
} ntk_state;

extern const lr_key lr_ntk_schema[];
int lr_ntk_prepare(lr_run *run, void **state);
void lr_ntk_release(void *state);
int lr_ntk_write_results(const lr_run *run, long long file);
int lr_ntk_report(const lr_results_file *rf, FILE *out);
int lr_ntk_verdict(const lr_results_file *rf, FILE *out);
int lr_ntk_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log);

/* One point's data: X (p x n) and labels, drawn from the mixture with the unit's stream,
 * or the real data; d filled (population statistics for the mixture, plug-in for real
 * data).  X and labels are the caller's (max_p x max_n, max_n). */
int lr_ntk_point_data(const lr_run *run, size_t point, gsl_rng *rng, lr_mat *X, size_t *labels, lr_ntk_data *d);

/* The network of activation a at depth L: acts[0..L). */
void lr_ntk_acts(const ntk_state *st, size_t a, size_t L, lr_ntk_act *acts);

#endif
