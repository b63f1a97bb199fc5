/* Runs: sweep points x trials scheduled over threads, results collected, summarised,
 * written.
 *
 * One sweep point x one trial is one unit of work, with its own random stream derived
 * from (seed, point, trial).  An experiment turns a unit into a fixed number of rows of
 * the /trials table (one per compressor x target rank).  Rows are stored at the unit's
 * own place, so the table does not depend on which thread ran which unit or in what
 * order.  Each finished unit is appended to a checkpoint log next to the output; a
 * killed run started again with --resume reads the log, runs only the missing units and
 * writes the same file an uninterrupted run would have written. */
#ifndef LR_RUN_RUN_H
#define LR_RUN_RUN_H

#include <gsl/gsl_rng.h>
#include <stdint.h>
#include <stdio.h>

#include "bounds/bounds.h"
#include "compress/compress.h"
#include "io/config.h"
#include "io/results_file.h"
#include "run/table.h"

typedef struct lr_run lr_run;

/* The generic summaries of /trials, for experiments whose rows are compressor x target
 * rank x trial at each sweep point (lr_experiment.summaries): /points (per point,
 * compressor and rank: error quantiles, bound coverage), /fits (log-log slopes along each
 * swept key) and /shape (fitted constants of predicted shapes).  Where the rows mean
 * something else (real_layers: layers, budgets, network), they would mean nothing and
 * are not written. */
enum { LR_SUMMARY_POINTS = 1u << 0, LR_SUMMARY_FITS = 1u << 1, LR_SUMMARY_SHAPE = 1u << 2 };

typedef struct lr_experiment {
    const char *name;
    const char *description;
    const lr_key *schema; /* the experiment's keys, on top of lr_common_schema */
    /* Shared schemas the experiment also accepts (e.g. lr_bounds_schema), NULL-terminated;
     * NULL: none. */
    const lr_key *const *includes;
    unsigned summaries; /* LR_SUMMARY_* the runner writes for this experiment */
    /* Check cross-field constraints at every sweep point, declare the run (through
     * lr_run_use_compressors, lr_run_use_bounds, lr_run_use_rank_offsets, lr_run_set_layout
     * and lr_run_trial_columns, never by writing the runner's fields) and return the
     * experiment's private state in *state, set as soon as it is allocated: on failure the
     * runner still hands it to release.  The runner keeps it as run->exp_state, which only
     * the experiment reads. */
    int (*prepare)(lr_run *run, void **state);
    void *(*ws_alloc)(const lr_run *run);
    void (*ws_free)(void *ws);
    /* Fill run->rows_per_unit rows (each run->trials_table->ncols values) and the fit
     * time in seconds of each row. */
    int (*unit)(const lr_run *run, void *ws, size_t point, size_t trial, gsl_rng *rng,
                double *rows, double *seconds);
    /* The theory's log-log slope of compressor `comp`'s error at target rank index
     * `rank_index` in a swept key, or NAN if the theory gives none there. */
    double (*theory_slope)(const lr_run *run, const char *axis_path, size_t comp, size_t rank_index);
    /* Optional: along the swept key `axis_path`, a derived abscissa to fit against as well:
     * x = row[cols[0]] + row[cols[1]] of /trials, named by the return value (which
     * theory_slope also answers for); NULL: none. */
    const char *(*derived_axis)(const lr_run *run, const char *axis_path, int cols[2]);
    /* Free the state prepare returned (NULL allowed). */
    void (*release)(void *state);
    /* Optional: write the experiment's own datasets and root attributes into the results
     * file (an HDF5 hid_t) after the standard ones.  Must derive everything from /trials
     * and from what prepare computed, so that a resumed run writes the same file. */
    int (*write_results)(const lr_run *run, long long file);
    /* Optional: `lrlab report` (plain text to out) and `lrlab plot` (figures as
     * STEM_*.{pdf,png}, gnuplot scripts from plots_dir; one "wrote ..." line per figure
     * to log, unless NULL) of a results file of this kind.  Return a status with the
     * message in lr_last_error(). */
    int (*report)(const lr_results_file *rf, FILE *out);
    /* Optional: the experiment's lines of the report's verdict, after the warnings and the
     * bounds that `lrlab report` prints for every kind (e.g. slopes outside their
     * intervals); `lrlab report --brief` prints the verdict alone. */
    int (*verdict)(const lr_results_file *rf, FILE *out);
    int (*plot)(const lr_results_file *rf, const char *stem, const char *plots_dir, FILE *log);
} lr_experiment;

extern const lr_key lr_common_schema[];
/* The schemas a run of `exp` validates against: lr_common_schema, exp->schema and
 * exp->includes (exp NULL: the common one alone).  Returns their count (<= cap). */
size_t lr_run_schemas(const lr_experiment *exp, const lr_key **out, size_t cap);
extern const lr_experiment *const lr_experiments[]; /* NULL-terminated */
const lr_experiment *lr_experiment_find(const char *name);
/* The i-th registered experiment's name, NULL past the end (experiments/list.h). */
const char *lr_experiment_name_at(size_t i);

/* Standard columns every /trials table starts with; indices stored in lr_run. */
typedef struct lr_trial_columns {
    int point, trial, compressor, rank_index, k_target, k, q;
    int err_fro, err_rel, err_weight, err_heldout_rel, err_layer, err_layer_rel, z_norm, pg_op;
    int svd_fallback;
    int *bound_value, *bound_held; /* per bound in run->bounds */
} lr_trial_columns;

/* A swept key and the /trials column that carries its value. */
typedef struct lr_axis_column {
    const char *path;
    int column;
} lr_axis_column;

struct lr_run {
    lr_config *cfg;
    const lr_experiment *exp;
    uint64_t seed;
    const char *rng_kind; /* config key rng: "mt19937" or "taus2" (lr_rng_alloc_kind) */
    size_t ntrials, npoints, nunits;
    int nthreads;

    const lr_compressor **comps;
    size_t ncomps;
    long *rank_offsets; /* target rank k = r + offset */
    size_t nranks;
    const lr_bound **bounds;
    size_t nbounds;
    lr_bound_params bparams;

    lr_table *trials; /* columns declared by prepare; rows filled by the run */
    lr_trial_columns col;
    lr_axis_column *param_cols; /* parameter columns, including every swept key */
    size_t nparam_cols;
    size_t rows_per_unit;
    double *seconds; /* per /trials row */
    void *exp_state;
    double *unit_seconds;           /* wall time of each unit (NAN if recovered by --resume) */
    unsigned *bound_unmet;          /* per bound: LR_ASSUME_* flags the run does not meet */
    char *notes;                    /* what the run must tell its user (lr_run_note), or NULL */
    char *warnings;                 /* what may make its comparison mean nothing (lr_run_warn), or NULL */
    struct lr_instances *instances; /* --save-instances: where units put their matrices */
    int seed_swept;                 /* `seed` is a sweep axis: axis number seed_axis */
    size_t seed_axis;
    int seeds_pooled;               /* report.seeds = "pooled": /points, /fits pool the seeds */
    /* Where the run ran (run/dist.h): written as root attributes. */
    struct lr_run_dist {
        unsigned shard_index, shard_count; /* --shard I/N (count 0: the whole run) */
        int ranks, hosts;                  /* MPI ranks and distinct hosts (1, 1 without MPI) */
        char *host_names;                  /* the hosts, comma-separated (NULL: this one) */
        size_t gathered_units;             /* units rank 0 received from other ranks */
        double gather_seconds;             /* rank 0's time receiving, storing and logging them */
        size_t merged_parts;               /* lrlab merge: how many part files (0: not merged) */
    } dist;
};

/* ---- swept seeds (runner.c) ----
 * A unit's streams derive from (its point's seed, its point in the sweep without the seed
 * axis, trial): a run with seed = [1, 2] has the trials of the runs seed = 1 and seed = 2.
 * Without a seed axis these are (run->seed, point, trial), as before. */
uint64_t lr_run_point_seed(const lr_run *run, size_t point);
/* The point's index in the sweep with the seed axis removed (point itself if unswept). */
size_t lr_run_seed_point(const lr_run *run, size_t point);
/* The seed axis's stride in the point numbering (0 without a seed axis). */
size_t lr_run_seed_stride(const lr_run *run);
/* The point whose /points row summarises `point`: with report.seeds = "pooled", the same
 * point at the first seed (its row holds every seed's trials); otherwise point itself. */
size_t lr_run_pooled_point(const lr_run *run, size_t point);
/* Seed the unit's own stream, and compressor comp's stream (lr_compressor_seed_stream),
 * from the derivation above; `trial` is what the experiment passes as the unit key. */
void lr_run_seed_unit(const lr_run *run, gsl_rng *rng, size_t point, size_t trial);
void lr_run_seed_compressor(const lr_run *run, gsl_rng *rng, size_t point, uint64_t trial, size_t comp);

/* Declare the standard columns, one column per parameter (path -> column name), and
 * the bound columns.  Called by an experiment's prepare. */
int lr_run_trial_columns(lr_run *run, const char *const *param_paths,
                         const char *const *param_names, size_t nparams);
/* What a trial measured for one compressor at one rank: the standard /trials cells. */
typedef struct lr_row_measure {
    size_t k_target, q, k;
    double err_fro, err_weight, err_heldout_rel, err_layer;
    double z_norm, xw_norm, pg_op; /* ||Z*||_F, ||X~ W||_F, ||P G||_op */
    int svd_fallback;
} lr_row_measure;

/* Add an experiment's own /trials column; its index goes to *slot (LR_ENOMEM on failure). */
int lr_run_add_column(lr_run *run, int *slot, const char *name, lr_col_type type, const char *doc);

/* Write the standard error cells of a row and evaluate every bound of the run on it (a
 * bound is checked only on the rows of the compressor it is about).  Rejects non-finite
 * errors with LR_ENUMERIC. */
int lr_run_record_row(const lr_run *run, double *row, size_t comp, const lr_row_measure *m,
                      const lr_bound_input *in, const lr_bound_params *bp);

/* ---- what prepare declares ---- */

/* The compressors the run measures, by registry name: each name checked (an unknown one is
 * a config error naming `key`); at least one. */
int lr_run_use_compressors(lr_run *run, const char *const *names, size_t n, const char *key);
/* The bounds the run evaluates, by registry name, checked likewise (none is allowed). */
int lr_run_use_bounds(lr_run *run, const char *const *names, size_t n, const char *key);
/* The same for an experiment that evaluates and records its bounds itself (their value and
 * held columns, with lr_bound_evaluate and lr_bound_check), so any observed quantity is
 * allowed; the /points summary is not written for such a run. */
int lr_run_use_own_bounds(lr_run *run, const char *const *names, size_t n, const char *key);
/* The target ranks k = r + offset of each compressor's rows (a layout of nslots rows per
 * compressor may pass NULL offsets: then every offset is 0). */
int lr_run_use_rank_offsets(lr_run *run, const long *offsets, size_t n);
/* Rows each unit writes, and the trials per sweep point when the experiment fixes them
 * (0: the config's `trials`). */
int lr_run_set_layout(lr_run *run, size_t rows_per_unit, size_t trials);

/* Evaluate every bound of the run on one row of compressor `comp` (a bound is checked only
 * on the rows of the compressor it is about) and write its value and held cells; z_norm is
 * ||Z*||_F, the rounding scale of the check (lr_le_tol).  lr_run_record_row calls it. */
void lr_run_record_bounds(const lr_run *run, double *row, size_t comp, const lr_bound_input *in,
                          double err_fro, double err_weight, double z_norm, const lr_bound_params *bp);

/* Record that bound `b` of the run has declared assumptions (`unmet`, LR_ASSUME_* flags)
 * that the run does not meet, and why (e.g. "problem.noise.kind = \"student_t\"").  The
 * run then says so on stderr and in the results (root attribute notes, /bounds), and the
 * bound is not evaluated unless bounds.outside_assumptions is set.  Called by prepare. */
int lr_run_bound_unmet(lr_run *run, size_t b, unsigned unmet, const char *why);
/* Append one line to the run's notes (printed by lrlab run, stored in the results). */
int lr_run_note(lr_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A warning: a setting under which a comparison or a slope of the run says nothing (a
 * layer with m <= N0 rows, a bound whose compressor is not run, a slope along a key that
 * is not a scale parameter, a budget of 1 that is not the dense network).  One line:
 * what was found, what it means, what to do.  Printed at once on stderr as
 * "lrlab: warning: ...", stored in the results (root attribute warnings) and printed
 * first by lrlab report. */
int lr_run_warn(lr_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fill the standard and parameter cells of one row. */
void lr_run_fill_row(const lr_run *run, double *row, size_t point, size_t trial, size_t comp,
                     size_t rank_index);

typedef struct lr_run_options {
    const char *config_path;
    const char *const *overrides;
    size_t noverrides;
    const char *output; /* NULL: results/<config name>.h5 */
    int nthreads;       /* 0: OpenMP's default */
    int resume, force;
    int progress;       /* -1 auto (stderr is a terminal), 0 off, 1 on */
    const char *command_line;
    const char *save_instances; /* write every unit's generated matrices here (io/instances.h) */
    unsigned shard_index, shard_count; /* --shard I/N: only units u mod N == I (count 0: all) */
    /* The resolved config as text instead of config_path's file (MPI workers, lrlab merge:
     * config_path then only names it in messages); no overrides apply. */
    const char *config_text;
    int quiet_notes; /* do not print the run's notes (MPI workers: rank 0 prints them) */
} lr_run_options;

/* The whole `lrlab run`: validate, run, summarise, write.  Returns a status with the
 * message in lr_last_error(); writes the output path used into out_path. */
int lr_run_main(const lr_run_options *opt, char *out_path, size_t out_len);

/* Summaries (summary.c): /points and /fits from /trials. */
int lr_summarise_points(const lr_run *run, lr_table **points);
int lr_summarise_fits(const lr_run *run, lr_table **fits);
/* /shape: fitted constants of prediction-kind bounds (Theorem 3's shape), issue 3. */
int lr_summarise_shape(const lr_run *run, lr_table **shape);

#endif
