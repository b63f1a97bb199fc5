/* Runs spread over machines (issue 17): shards of a job array, their merge, and MPI.
 *
 * A run's units u = point * trials + trial are independent, each with its own random
 * stream, and each unit's rows have their own place in /trials: where a unit runs cannot
 * change its numbers.  So a run can be cut anywhere:
 *
 *   --shard I/N   this process runs the units u with u mod N == I (0 <= I < N, 0-based
 *                 like SLURM's $SLURM_ARRAY_TASK_ID with --array=0-(N-1)) and writes a
 *                 part file: the root attributes of a results file, shard = "I/N", /units
 *                 (the unit indices it holds, ascending) and the rows of those units in
 *                 /trials and /timings; no /points or /fits, which need every unit.
 *   lrlab merge   checks the parts (same resolved config, every unit exactly once) and
 *                 writes the file one run would have written (src/run/merge.c).
 *   MPI           under mpirun, rank 0 hands units out one at a time to whichever thread
 *                 of whichever rank asks (unit costs vary widely across a sweep), receives
 *                 each finished unit's rows, appends them to the checkpoint log and writes
 *                 the one results file.  The log is the one of a plain run, so a killed MPI
 *                 run resumes under any number of ranks, or without MPI.
 *
 * Without LR_HAVE_MPI (configure --without-mpi, or no Open MPI found) the MPI calls below
 * are stubs for one rank, and lrlab behaves exactly as before. */
#ifndef LR_RUN_DIST_H
#define LR_RUN_DIST_H

#include <stddef.h>

#include "run/run.h"

/* Parse "I/N" (0 <= I < N, N >= 1) into *index and *count; LR_EINVAL with a message
 * naming the option otherwise. */
int lr_shard_parse(const char *text, unsigned *index, unsigned *count);
/* Whether unit u belongs to shard index/count (count 0: no sharding, every unit does). */
static inline int lr_shard_has(size_t u, unsigned index, unsigned count)
{
    return count == 0 || u % count == index;
}

/* How many of nunits units shard index/count holds (count 0: all). */
static inline size_t lr_shard_size(size_t nunits, unsigned index, unsigned count)
{
    if (count == 0) return nunits;
    return nunits > index ? (nunits - index + count - 1) / count : 0;
}

/* ---- MPI (stubs without LR_HAVE_MPI) ---- */

/* Initialise MPI when this process was started by mpirun (Open MPI's or a PMI
 * launcher's environment says so), never for a plain `lrlab run`, so that a run without
 * mpirun does not pay for MPI or depend on it.  Returns LR_OK or a status with a message. */
int lr_dist_init(int *argc, char ***argv);
void lr_dist_finalize(void);
int lr_dist_rank(void);  /* 0 without MPI */
int lr_dist_ranks(void); /* 1 without MPI */

/* The runner's MPI steps, called by lr_run_main when lr_dist_ranks() > 1. */
/* Set up the run on every rank: rank 0 from the config file and overrides, the others
 * from the resolved config text rank 0 sends, so that every rank runs the same config.
 * Records the ranks and hosts in run->dist.  Fails on every rank if any rank fails. */
int lr_dist_setup(lr_run *run, const lr_run_options *opt);
/* Rank 0: tell the workers whether to start (status LR_OK: go), exactly once per run; the
 * runner calls it when the output is ready, and again on its way out (then a no-op if
 * already told). */
void lr_dist_release_workers(int status);
/* Rank 0: run the pending units (done[u] == 0) over every rank's threads.  Same contract
 * as the runner's own unit loop: done[] marks what the checkpoint log holds. */
int lr_dist_master(lr_run *run, unsigned char *done, int logfd);
/* Ranks > 0: wait for rank 0's go, then ask for units and return their rows until told to
 * stop. */
int lr_dist_worker(lr_run *run);

/* ---- the runner's pieces that dist.c and merge.c share (runner.c) ---- */

/* Read and validate the config (opt->config_text when set, else opt->config_path with the
 * overrides), size the run and let the experiment prepare it. */
int lr_run_setup(lr_run *run, const lr_run_options *opt);
void lr_run_release(lr_run *run);
/* Run unit u in workspace ws with stream rng into rows/secs; *seconds its wall time. */
int lr_run_exec_unit(const lr_run *run, void *ws, gsl_rng *rng, size_t u, double *rows, double *secs,
                     double *seconds);
/* Store a finished unit's rows and fit times at its place and append it to the checkpoint
 * log (fd); call under the runner's critical section lr_run_log. */
int lr_run_store_unit(lr_run *run, size_t u, const double *rows, const double *secs, double seconds,
                      int logfd);
/* A finished unit's outcome (unit_status: lr_run_exec_unit's), under lr_run_log: the first
 * failure, the unit's or its store's, goes to *status with its message (cap bytes); else the
 * unit is stored and done[u] set.  1 when it was stored. */
int lr_run_settle_unit(lr_run *run, int unit_status, size_t u, const double *rows, const double *secs, double seconds,
                       int logfd, unsigned char *done, int *status, char *message, size_t cap);
/* Allocate the run's /trials rows, fit and unit times for every unit (NaN unit times). */
int lr_run_alloc_rows(lr_run *run);
/* Summaries, results file written to tmp and renamed to out (the run's usual ending); the
 * checkpoint log logp is removed on success (NULL: none). */
int lr_run_write(const lr_run *run, const lr_run_options *opt, const char *out, const char *logp,
                 const char *tmp, const char *sha, double wall);

/* A shard's part file (results.c): /trials and /timings of the units done[u] == 1 only,
 * /units, shard = "I/N"; written to tmp and renamed to out, the log removed. */
int lr_dist_write_part(const lr_run *run, const unsigned char *done, const lr_run_options *opt,
                       const char *out, const char *logp, const char *tmp, const char *sha, double wall);

/* `lrlab merge PARTS... -o OUT` (merge.c). */
int lr_merge_parts(const char *const *parts, size_t nparts, const char *out, int force,
                   const char *command_line);

#endif
