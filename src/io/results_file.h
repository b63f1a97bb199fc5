/* Reading a results file back: what the experiments' report and plot hooks
 * (lr_experiment.report, .plot in run/run.h) get from `lrlab report` and `lrlab plot`.
 * The root attributes, /points, /fits, /bounds and /shape are read at open; a hook reads
 * any other table of rf->file itself (lr_h5_read_table). */
#ifndef LR_IO_RESULTS_FILE_H
#define LR_IO_RESULTS_FILE_H

#include <hdf5.h>
#include <stddef.h>

#include "run/table.h"

typedef struct lr_results_file {
    char *path; /* as opened, for messages */
    hid_t file;
    lr_table *points, *fits, *bounds;
    lr_table *shape; /* NULL in files written before /shape existed */
    char *config;    /* the resolved config text */
    char *experiment, *name, *config_sha256, *utc_time, *blas_core, *config_file;
    char *warnings; /* the run's warnings, one per line (NULL: none recorded) */
    double seed, trials, threads, wall_seconds, fallbacks;
} lr_results_file;

/* Open and check the schema; LR_EDATA with a message naming the file otherwise. */
int lr_results_open(const char *path, lr_results_file *rf);
void lr_results_close(lr_results_file *rf);
/* Column value helpers (NAN / "" when the column is absent). */
double lr_rf_num(const lr_table *t, size_t row, const char *col);
const char *lr_rf_str(const lr_table *t, size_t row, const char *col);
/* The /points cell "<bound>_<suffix>" of a row (e.g. bound "thm1a", suffix "coverage"). */
double lr_rf_bound(const lr_table *t, size_t row, const char *bound, const char *suffix);
/* A figure's title line: "EXPERIMENT: NAME" (the experiment alone without a name), in buf. */
const char *lr_rf_title(const lr_results_file *rf, char *buf, size_t len);

#endif
