/* The parts of experiment `lod` (lod.c: schema, preparation, units; lod_report.c: `lrlab
 * report` and `lrlab plot`) share these names.  Private to those files: the experiment's
 * only public symbol is lr_experiment_lod. */
#ifndef LR_EXPERIMENTS_LOD_H
#define LR_EXPERIMENTS_LOD_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdio.h>

#include "io/results_file.h"

/* The problems (column problem): three linear recovery problems, the planted rank, and
 * trained classifiers (lod_network.c). */
typedef enum {
    LOD_ISOTROPIC = 0,
    LOD_COVARIANCE = 1,
    LOD_AUTOENCODER = 2,
    LOD_PLANTED = 3,
    LOD_NETWORK = 4,
    LOD_NPROBLEMS
} lod_problem;
extern const char *const lod_problem_names[LOD_NPROBLEMS];
/* Row kinds (column row_kind): a component b of the final network, a point of the trace, or
 * one network at a level b (problem network). */
typedef enum { LOD_ROW_COMPONENT = 0, LOD_ROW_TRACE = 1, LOD_ROW_LEVEL = 2, LOD_NROWKINDS } lod_row_kind;
extern const char *const lod_row_names[LOD_NROWKINDS];

/* Problem network (lod_network.c): its state, built by prepare (which declares the run's
 * layout and columns), and its workers' units. */
typedef struct lod_net_state lod_net_state;
struct lr_run;
int lod_network_prepare(struct lr_run *run, lod_net_state **out);
void lod_network_release(lod_net_state *ns);
void *lod_network_ws_alloc(const struct lr_run *run, const lod_net_state *ns);
void lod_network_ws_free(void *w);
int lod_network_unit(const struct lr_run *run, const lod_net_state *ns, void *w, size_t point, size_t trial, gsl_rng *rng,
                     double *rows, double *seconds);
int lod_network_write_results(const lod_net_state *ns, long long file);

/* Gaussian draws (lod_data.c: GSL's gsl_randist.h cannot be included beside OpenBLAS's
 * cblas.h, which lod.c's products need). */
void lr_lod_gaussian(gsl_rng *g, double *a, size_t n, double sd);
double lr_lod_gaussian_one(gsl_rng *g, double sd);

int lr_lod_report(const lr_results_file *rf, FILE *out);
int lr_lod_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log);

#endif
