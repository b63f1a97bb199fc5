/* The results file: one self-describing HDF5 file per run (DESIGN.md, "Results").
 *
 *   /           attributes: schema, schema_version, lrlab_version, git_revision,
 *               experiment, config (resolved text), config_sha256, config_file, seed,
 *               trials, command_line, host, blas_config, blas_core, openblas_coretype,
 *               threads, utc_time, wall_seconds, svd_fallbacks, bound_tol,
 *               bounds_outside_assumptions, notes (what the run told its user),
 *               ranks, hosts, rank_hosts (MPI ranks, distinct hosts, their names; 1, 1 and
 *               this host without MPI), gathered_units and gather_seconds (MPI: the units
 *               rank 0 received and its time receiving, storing and logging them), shard
 *               ("I/N" in a part file: see run/dist.h), merged_parts (lrlab merge)
 *   /units      part files only: the unit indices whose rows /trials holds
 *   /trials     one row per sweep point x trial x compressor x rank
 *   /timings    row-aligned with /trials: the fit's wall time (kept apart so that /trials
 *               is bit-identical across thread counts and resumed runs)
 *   /points     per point x compressor x rank: error quantiles, bound coverage with
 *               Wilson 95% intervals, tightness            } only for experiments whose
 *   /fits       log-log slopes of the error against each   } rows are compressor x rank
 *               swept key, with 95% intervals              } (lr_experiment.summaries)
 *   /bounds, /compressors   what each name in the tables means; /bounds also what each
 *               bound assumes, whether the run met it and whether it was evaluated
 *   /axes/<n>   the values of each sweep axis (attributes: `path` its key, `column` its
 *               /trials column, `zip` and `group`: axes of one group move together)
 *   and the experiment's own tables (write_results).
 * Version 2: /points and /fits optional, /bounds' assumption columns, notes, zip groups.
 * Version 3: every string attribute (root, dataset and group) variable-length UTF-8, so
 * that h5py returns str; the name columns of the tables stay fixed-length strings, now
 * with the UTF-8 character set (h5py returns compound members as bytes either way: see
 * io/h5.c).  The layout is version 2's; lrlab reads versions 1 to 3. */
#ifndef LR_IO_RESULTS_H
#define LR_IO_RESULTS_H

#include "run/run.h"

#define LR_RESULTS_SCHEMA "lrlab.results"
#define LR_RESULTS_SCHEMA_VERSION 3

typedef struct lr_results_meta {
    const char *command_line;
    const char *config_sha256;
    double wall_seconds;
    const char *config_path;
} lr_results_meta;

int lr_results_write(const lr_run *run, const char *path, const lr_table *points,
                     const lr_table *fits, const lr_results_meta *meta);

/* Add one more table to a results file written by lr_results_write (e.g. /shape). */
int lr_results_add_table(const char *path, const lr_table *t, const char *doc);

/* SHA-256 of a string as 64 hex digits (out holds 65 bytes). */
void lr_sha256_hex(const char *text, char *out);

#endif
