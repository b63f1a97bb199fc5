/* The parts of experiment `lod` (lod.c: schema, preparation, units; lod_report.c: `lrlab
 * report` and `lrlab plot`) share these names.  Private to those files: the experiment's
 * only public symbol is lr_experiment_lod. */
#ifndef LR_EXPERIMENTS_LOD_H
#define LR_EXPERIMENTS_LOD_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdio.h>

#include "io/results_file.h"

/* The problems (column problem): three linear recovery problems and the planted rank. */
typedef enum { LOD_ISOTROPIC = 0, LOD_COVARIANCE = 1, LOD_AUTOENCODER = 2, LOD_PLANTED = 3, LOD_NPROBLEMS } lod_problem;
extern const char *const lod_problem_names[LOD_NPROBLEMS];
/* Row kinds (column row_kind): a component b of the final network, or a point of the trace. */
extern const char *const lod_row_names[2];

/* Gaussian draws (lod_data.c: GSL's gsl_randist.h cannot be included beside OpenBLAS's
 * cblas.h, which lod.c's products need). */
void lr_lod_gaussian(gsl_rng *g, double *a, size_t n, double sd);
double lr_lod_gaussian_one(gsl_rng *g, double sd);

int lr_lod_report(const lr_results_file *rf, FILE *out);
int lr_lod_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log);

#endif
