/* The `report` and `plot` hooks of the experiments (lr_experiment in src/run/run.h):
 * what `lrlab report FILE` and `lrlab plot FILE` do with a results file of each kind.
 * The CLI finds them through the experiment table, by the file's `experiment` attribute. */
#ifndef LR_EXPERIMENTS_REPORT_PLOT_H
#define LR_EXPERIMENTS_REPORT_PLOT_H

#include <stdio.h>

#include "io/results_file.h"

/* recovery_report.c, recovery_plot.c */
int lr_recovery_report(const lr_results_file *rf, FILE *out);
int lr_recovery_verdict(const lr_results_file *rf, FILE *out);
int lr_recovery_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log);

/* real_layers_report.c, real_layers_plot.c */
int lr_real_layers_report(const lr_results_file *rf, FILE *out);
int lr_real_layers_plot(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log);

#endif
