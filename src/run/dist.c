/* Runs spread over machines: shards and their part files, and MPI (run/dist.h says what
 * each does and why the numbers cannot change).
 *
 * MPI protocol.  Rank 0 is the master: its thread 0 serves the other ranks, its other
 * threads run units like any worker thread.  A worker thread sends one WORK message per
 * step, [u, seconds, rows..., fit seconds...] for the unit it just finished (u = -1 on its
 * first request: no rows), and waits for the ASSIGN reply: the next unit, or -1 to stop.
 * Units are handed out one at a time from one pending list that rank 0's own threads draw
 * from too, so a slow unit delays nobody.  A failed unit sends ERROR (its message) and its
 * thread stops; rank 0 then assigns no more.  When all its threads have stopped a rank
 * sends BYE; rank 0's server ends at the last BYE, when every result has arrived.  Rank 0
 * holds the table and one message buffer; each worker thread has at most one unit in
 * flight, so rank 0 never holds more than one unit per remote thread (MPI's buffering of
 * unexpected messages included).  Rank 0 appends every unit to the checkpoint log as it
 * arrives, in the format of a plain run: a killed MPI run resumes under any rank count,
 * or without MPI. */
/* sched_getaffinity and cpu_set_t (the cores mpirun bound a rank to) are GNU's. */
#define _GNU_SOURCE
#include "lrlab_config.h"
#include "run/dist.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef LR_HAVE_MPI
#include <mpi.h>
#include <sched.h>
#endif

#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/h5.h"
#include "io/results.h"

int lr_shard_parse(const char *text, unsigned *index, unsigned *count)
{
    char *end;
    errno = 0;
    unsigned long i = strtoul(text, &end, 10);
    if (end == text || *end != '/' || text[0] == '-')
        LR_ERRORF(LR_EINVAL, "--shard needs I/N (0 <= I < N, I 0-based as $SLURM_ARRAY_TASK_ID with "
                  "--array=0-(N-1)), got '%s'", text);
    const char *ns = end + 1;
    unsigned long n = strtoul(ns, &end, 10);
    if (end == ns || *end || ns[0] == '-' || errno || n < 1 || n > 1000000 || i >= n)
        LR_ERRORF(LR_EINVAL, "--shard needs I/N with 0 <= I < N <= 1000000 (I is 0-based), got '%s'", text);
    *index = (unsigned)i;
    *count = (unsigned)n;
    return LR_OK;
}

/* ---- part files ---- */

/* An empty table with t's columns and name dictionaries, so that copied rows keep their
 * meaning. */
static lr_table *table_like(const lr_table *t)
{
    lr_table *c = lr_table_alloc(t->name);
    for (size_t j = 0; c && j < t->ncols; j++) {
        const lr_column *col = &t->cols[j];
        if (lr_table_add_column(c, col->name, col->type, col->doc) < 0) c->failed = 1;
        for (size_t d = 0; d < col->ndict; d++)
            if (lr_table_dict_index(c, j, col->dict[d]) < 0) c->failed = 1;
    }
    if (c && c->failed) {
        lr_table_free(c);
        c = NULL;
    }
    return c;
}

int lr_dist_write_part(const lr_run *run, const unsigned char *done, const lr_run_options *opt,
                       const char *out, const char *logp, const char *tmp, const char *sha, double wall)
{
    size_t rpu = run->rows_per_unit, ncols = run->trials->ncols, nmine = 0;
    for (size_t u = 0; u < run->nunits; u++) nmine += done[u] == 1;
    /* The part is a results file of its own units: a view of the run with only their rows,
     * and without the summaries and the experiment's tables, which need every unit. */
    lr_run view = *run;
    lr_experiment exp = *run->exp;
    exp.write_results = NULL;
    view.exp = &exp;
    view.trials = table_like(run->trials);
    view.seconds = malloc((nmine * rpu + 1) * sizeof(double));
    view.unit_seconds = malloc((nmine + 1) * sizeof(double));
    view.nunits = nmine;
    double *units = malloc((nmine + 1) * sizeof(double));
    int status = LR_OK;
    if (!view.trials || !view.seconds || !view.unit_seconds || !units ||
        lr_table_reserve(view.trials, nmine * rpu + 1) != LR_OK)
        status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory for the part file's %zu rows", nmine * rpu);
    for (size_t u = 0, k = 0; u < run->nunits && status == LR_OK; u++) {
        if (done[u] != 1) continue;
        memcpy(view.trials->data + k * rpu * ncols, run->trials->data + u * rpu * ncols, rpu * ncols * sizeof(double));
        memcpy(view.seconds + k * rpu, run->seconds + u * rpu, rpu * sizeof(double));
        view.unit_seconds[k] = run->unit_seconds[u];
        units[k++] = (double)u;
    }
    if (status == LR_OK) {
        view.trials->nrows = nmine * rpu;
        lr_results_meta meta = {opt->command_line, sha, wall, opt->config_path};
        unlink(tmp);
        status = lr_results_write(&view, tmp, NULL, NULL, &meta);
    }
    if (status == LR_OK) {
        hid_t f = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT);
        if (f < 0) status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot reopen: %s", tmp, lr_h5_error_reason());
        else {
            status = lr_h5_write_vector(f, "units", units, nmine);
            if (status == LR_OK) status = lr_h5_attr_i64(f, "units_total", (long long)run->nunits);
            if (status == LR_OK) status = lr_h5_attr_i64(f, "rows_per_unit", (long long)rpu);
            if (H5Fclose(f) < 0 && status == LR_OK)
                status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot close: %s", tmp, lr_h5_error_reason());
        }
    }
    if (status == LR_OK && rename(tmp, out) != 0)
        status = lr_error(LR_EIO, __FILE__, __LINE__, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
    if (status == LR_OK) unlink(logp);
    else unlink(tmp);
    lr_table_free(view.trials);
    free(view.seconds);
    free(view.unit_seconds);
    free(units);
    return status;
}

/* ---- MPI ---- */

#ifndef LR_HAVE_MPI

int lr_dist_init(int *argc, char ***argv) { return LR_OK; }
void lr_dist_finalize(void) {}
int lr_dist_rank(void) { return 0; }
int lr_dist_ranks(void) { return 1; }
int lr_dist_setup(lr_run *run, const lr_run_options *opt) { return lr_run_setup(run, opt); }
void lr_dist_release_workers(int status) {}
int lr_dist_master(lr_run *run, unsigned char *done, int logfd)
{
    LR_ERROR(LR_EINVAL, "this lrlab was built without MPI");
}
int lr_dist_worker(lr_run *run) { LR_ERROR(LR_EINVAL, "this lrlab was built without MPI"); }

#else

/* Assignments a worker thread keeps ahead of its work (see lr_dist_worker). */
#define LR_DIST_AHEAD 4
#define LR_DIST_MAX_AHEAD 64

enum { TAG_WORK = 1, TAG_ASSIGN, TAG_ERROR, TAG_BYE, TAG_GO };

static int mpi_on, mpi_rank, mpi_size, workers_released;

int lr_dist_init(int *argc, char ***argv)
{
    /* Started by mpirun (Open MPI, or a PMI/PMIx launcher such as srun)?  A plain run does
     * not initialise MPI at all. */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK")) return LR_OK;
    int provided = 0;
    /* Worker threads take turns at MPI (one critical section): SERIALIZED. */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        LR_ERROR(LR_EINVAL, "MPI_Init_thread failed");
    mpi_on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
    if (provided < MPI_THREAD_SERIALIZED && mpi_size > 1)
        LR_ERRORF(LR_EINVAL, "this MPI gives thread level %d, lrlab needs MPI_THREAD_SERIALIZED (%d)", provided,
                  MPI_THREAD_SERIALIZED);
    return LR_OK;
}

void lr_dist_finalize(void)
{
    if (mpi_on) MPI_Finalize();
    mpi_on = 0;
}

int lr_dist_rank(void) { return mpi_on ? mpi_rank : 0; }
int lr_dist_ranks(void) { return mpi_on ? mpi_size : 1; }

/* The hosts of the ranks, counted and listed on rank 0 (run->dist). */
static int gather_hosts(lr_run *run)
{
    char name[MPI_MAX_PROCESSOR_NAME] = "";
    int len = 0;
    MPI_Get_processor_name(name, &len);
    char *all = mpi_rank == 0 ? calloc((size_t)mpi_size, MPI_MAX_PROCESSOR_NAME) : NULL;
    MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);
    run->dist.ranks = mpi_size;
    run->dist.hosts = 1;
    if (mpi_rank != 0) return LR_OK;
    if (!all) LR_ERROR(LR_ENOMEM, "out of memory");
    size_t cap = (size_t)mpi_size * MPI_MAX_PROCESSOR_NAME + 1;
    char *list = calloc(cap, 1);
    if (!list) {
        free(all);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    int hosts = 0;
    for (int r = 0; r < mpi_size; r++) {
        const char *h = all + (size_t)r * MPI_MAX_PROCESSOR_NAME;
        int seen = 0;
        for (int q = 0; q < r; q++) seen |= !strcmp(h, all + (size_t)q * MPI_MAX_PROCESSOR_NAME);
        if (seen) continue;
        if (hosts++) strcat(list, ",");
        strcat(list, h);
    }
    free(all);
    run->dist.hosts = hosts;
    free(run->dist.host_names);
    run->dist.host_names = list;
    return LR_OK;
}

int lr_dist_setup(lr_run *run, const lr_run_options *opt)
{
    int status = LR_OK;
    long long len = 0;
    char *text = NULL;
    if (mpi_rank == 0) {
        status = lr_run_setup(run, opt);
        if (status == LR_OK) len = (long long)strlen(lr_config_text(run->cfg)) + 1;
    }
    /* Rank 0's resolved config (file and overrides) is what every rank runs: a worker needs
     * neither the config file nor the command line's overrides. */
    MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    if (len == 0) {
        workers_released = 1;
        return mpi_rank == 0 ? status : LR_EINVAL;
    }
    text = mpi_rank == 0 ? (char *)lr_config_text(run->cfg) : malloc((size_t)len);
    int have = text != NULL, all_have = 0;
    MPI_Allreduce(&have, &all_have, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_have) {
        if (mpi_rank) free(text);
        workers_released = 1;
        LR_ERROR(LR_ENOMEM, "out of memory for the config text");
    }
    MPI_Bcast(text, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (mpi_rank != 0) {
        lr_run_options w = *opt;
        w.config_text = text;
        w.overrides = NULL;
        w.noverrides = 0;
        w.quiet_notes = 1;
        status = lr_run_setup(run, &w);
        if (status != LR_OK) fprintf(stderr, "lrlab: rank %d: %s\n", mpi_rank, lr_last_error());
        free(text);
    }
    int failed = status != LR_OK, any_failed = 0;
    MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any_failed) {
        workers_released = 1;
        if (status != LR_OK) return status;
        LR_ERROR(LR_ECONFIG, "another MPI rank could not set the run up (its message is above)");
    }
    status = gather_hosts(run);
    /* Without -j, a rank runs as many threads as cores mpirun bound it to. */
    if (opt->nthreads == 0) {
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) run->nthreads = CPU_COUNT(&set);
    }
    return status;
}

void lr_dist_release_workers(int status)
{
    if (!mpi_on || mpi_rank != 0 || workers_released) return;
    workers_released = 1;
    int go = status == LR_OK;
    MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
}

/* One WORK message: u, the unit's seconds, its rows, their fit seconds. */
static size_t work_doubles(const lr_run *run)
{
    return 2 + run->rows_per_unit * (run->trials->ncols + 1);
}

/* Rank 0's thread 0: answer the other ranks until each has said BYE.  Polls, sleeping
 * briefly when idle, so that it does not spin on the core its own compute thread uses. */
static void serve(lr_run *run, unsigned char *done, int logfd, const size_t *pending, size_t npending,
                  size_t *next, int *status, char *message, size_t msglen)
{
    size_t nd = work_doubles(run), rpu = run->rows_per_unit, ncols = run->trials->ncols;
    double *buf = malloc(nd * sizeof(double));
    char *err = malloc(1024);
    if (!buf || !err) {
#pragma omp critical(lr_run_log)
        if (*status == LR_OK) {
            *status = LR_ENOMEM;
            snprintf(message, msglen, "out of memory on rank 0");
        }
    }
    int byes = 0;
    long nap_ns = 20000;
    double busy = 0;
    size_t gathered = 0;
    while (byes < mpi_size - 1) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            /* Idle: sleep, longer the longer nothing comes (20 us doubling to 1 ms), so
             * that polling costs rank 0's compute thread little; the workers' requests
             * ahead (lr_dist_worker) cover the delay. */
            struct timespec nap = {0, nap_ns};
            nanosleep(&nap, NULL);
            nap_ns = nap_ns * 2 > 1000000 ? 1000000 : nap_ns * 2;
            continue;
        }
        nap_ns = 20000;
        double t0 = lr_wall_seconds();
        int src = st.MPI_SOURCE;
        if (st.MPI_TAG == TAG_BYE) {
            MPI_Recv(NULL, 0, MPI_INT, src, TAG_BYE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            byes++;
        } else if (st.MPI_TAG == TAG_ERROR) {
            char tmp[1024];
            MPI_Recv(err ? err : tmp, 1024, MPI_CHAR, src, TAG_ERROR, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            (err ? err : tmp)[1023] = '\0';
#pragma omp critical(lr_run_log)
            if (*status == LR_OK) {
                *status = LR_ENUMERIC;
                snprintf(message, msglen, "rank %d: %.900s", src, err ? err : tmp);
            }
        } else {
            double small[2];
            int count = 0;
            MPI_Get_count(&st, MPI_DOUBLE, &count);
            double *in = buf && (size_t)count == nd ? buf : small;
            /* A message of the wrong size is received (into small) and ignored: it cannot
             * be a unit of this run. */
            MPI_Recv(in, in == buf ? (int)nd : 2, MPI_DOUBLE, src, TAG_WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            long long u = (long long)in[0];
#pragma omp critical(lr_run_log)
            {
                if (in == buf && u >= 0 && (size_t)u < run->nunits && *status == LR_OK) {
                    if (lr_run_store_unit(run, (size_t)u, buf + 2, buf + 2 + rpu * ncols, buf[1], logfd) != LR_OK) {
                        *status = LR_EIO;
                        snprintf(message, msglen, "%s", lr_last_error());
                    } else {
                        done[u] = 1;
                        gathered++;
                    }
                }
            }
            long long assign = -1;
            int stop;
#pragma omp atomic read
            stop = *status;
            if (stop == LR_OK) {
                size_t i;
#pragma omp atomic capture
                i = (*next)++;
                if (i < npending) assign = (long long)pending[i];
            }
            MPI_Send(&assign, 1, MPI_LONG_LONG, src, TAG_ASSIGN, MPI_COMM_WORLD);
        }
        busy += lr_wall_seconds() - t0;
    }
    run->dist.gathered_units = gathered;
    run->dist.gather_seconds = busy;
    free(buf);
    free(err);
}

int lr_dist_master(lr_run *run, unsigned char *done, int logfd)
{
    size_t npending = 0, next = 0;
    size_t *pending = malloc((run->nunits ? run->nunits : 1) * sizeof *pending);
    if (!pending) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t u = 0; u < run->nunits; u++)
        if (!done[u]) pending[npending++] = u;
    int status = LR_OK;
    char message[1024] = "";
    size_t ncols = run->trials->ncols, rpu = run->rows_per_unit;

    /* Thread 0 serves the other ranks (and is the thread that initialised MPI); threads 1..T
     * run units. */
#pragma omp parallel num_threads(run->nthreads + 1)
    {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
#endif
        if (me == 0) serve(run, done, logfd, pending, npending, &next, &status, message, sizeof message);
        else {
            void *ws = run->exp->ws_alloc(run);
            gsl_rng *rng = lr_rng_alloc_kind(run->rng_kind);
            double *rows = malloc(rpu * ncols * sizeof(double)), *secs = malloc(rpu * sizeof(double));
            if (!ws || !rng || !rows || !secs) {
#pragma omp critical(lr_run_log)
                if (status == LR_OK) {
                    status = LR_ENOMEM;
                    snprintf(message, sizeof message, "cannot allocate a trial workspace");
                }
            }
            for (;;) {
                int stop;
#pragma omp atomic read
                stop = status;
                if (stop != LR_OK) break;
                size_t i;
#pragma omp atomic capture
                i = next++;
                if (i >= npending) break;
                size_t u = pending[i];
                double seconds;
                int s = lr_run_exec_unit(run, ws, rng, u, rows, secs, &seconds);
#pragma omp critical(lr_run_log)
                lr_run_settle_unit(run, s, u, rows, secs, seconds, logfd, done, &status, message, sizeof message);
            }
            if (ws) run->exp->ws_free(ws);
            if (rng) gsl_rng_free(rng);
            free(rows);
            free(secs);
        }
    }
    free(pending);
    if (status != LR_OK) return lr_error(status, __FILE__, __LINE__, "%s", message);
    return LR_OK;
}

/* Wait for a posted assignment without holding the MPI section (other threads of the rank
 * send and receive meanwhile). */
static void wait_assignment(MPI_Request *req)
{
    for (;;) {
        int flag = 0;
#pragma omp critical(lr_dist_mpi)
        MPI_Test(req, &flag, MPI_STATUS_IGNORE);
        if (flag) return;
        struct timespec nap = {0, 20000};
        nanosleep(&nap, NULL);
    }
}

int lr_dist_worker(lr_run *run)
{
    int go = 0;
    MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!go) return LR_OK; /* rank 0 stopped before any work and says why */
    /* As in a plain run (runner.c): one BLAS thread per unit, so that a unit's arithmetic
     * is the same on every rank, and -j 1 does not let OpenBLAS start threads of its own
     * (a team of one is not "in parallel" to it) that would fight the other ranks. */
    openblas_set_num_threads(1);
    size_t nd = work_doubles(run), rpu = run->rows_per_unit, ncols = run->trials->ncols;
    int status = LR_OK;
    /* Requests each worker thread keeps out (LRLAB_MPI_AHEAD, 1 to LR_DIST_MAX_AHEAD). */
    int ahead = LR_DIST_AHEAD;
    const char *env = getenv("LRLAB_MPI_AHEAD");
    if (env && atoi(env) >= 1) ahead = atoi(env) < LR_DIST_MAX_AHEAD ? atoi(env) : LR_DIST_MAX_AHEAD;
#pragma omp parallel num_threads(run->nthreads)
    {
        void *ws = run->exp->ws_alloc(run);
        gsl_rng *rng = lr_rng_alloc_kind(run->rng_kind);
        double *msg = malloc(nd * sizeof(double));
        int ok = ws && rng && msg;
        if (!ok) {
#pragma omp critical(lr_dist_mpi)
            {
                char text[1024];
                snprintf(text, sizeof text, "cannot allocate a trial workspace");
                MPI_Send(text, (int)strlen(text) + 1, MPI_CHAR, 0, TAG_ERROR, MPI_COMM_WORLD);
            }
        }
        /* Each thread keeps `ahead` requests out: while it runs a unit, the next ones'
         * assignments are already here, so it does not wait for rank 0's server, which
         * shares a core with a compute thread and, with mpirun's default binding, may
         * answer only every few tens of milliseconds.  Answers come in the order of the
         * requests (one source, one tag, posted in order under the MPI section), and once
         * rank 0 answers "stop" every later answer is "stop" too. */
        double none = -1; /* a request that carries no unit */
        long long slot[LR_DIST_MAX_AHEAD];
        MPI_Request req[LR_DIST_MAX_AHEAD];
        for (int k = 0; k < ahead; k++) req[k] = MPI_REQUEST_NULL;
        if (ok) {
#pragma omp critical(lr_dist_mpi)
            for (int k = 0; k < ahead; k++) {
                MPI_Send(&none, 1, MPI_DOUBLE, 0, TAG_WORK, MPI_COMM_WORLD);
                MPI_Irecv(&slot[k], 1, MPI_LONG_LONG, 0, TAG_ASSIGN, MPI_COMM_WORLD, &req[k]);
            }
        }
        for (int head = 0; ok; head = (head + 1) % ahead) {
            wait_assignment(&req[head]);
            long long cur = slot[head];
            if (cur < 0) break;
            msg[0] = (double)cur;
            int s = lr_run_exec_unit(run, ws, rng, (size_t)cur, msg + 2, msg + 2 + rpu * ncols, &msg[1]);
            if (s != LR_OK) {
#pragma omp critical(lr_dist_mpi)
                {
                    char text[1024];
                    snprintf(text, sizeof text, "%s", lr_last_error());
                    MPI_Send(text, (int)strlen(text) + 1, MPI_CHAR, 0, TAG_ERROR, MPI_COMM_WORLD);
                    status = s;
                }
                break;
            }
            /* The result is also the next request, in the slot just freed. */
#pragma omp critical(lr_dist_mpi)
            {
                MPI_Send(msg, (int)nd, MPI_DOUBLE, 0, TAG_WORK, MPI_COMM_WORLD);
                MPI_Irecv(&slot[head], 1, MPI_LONG_LONG, 0, TAG_ASSIGN, MPI_COMM_WORLD, &req[head]);
            }
        }
        /* Rank 0 answers every request: collect the answers still out (stops, or after a
         * failure units the failed run leaves undone) before the thread ends. */
        for (int k = 0; k < ahead; k++) wait_assignment(&req[k]);
        if (ws) run->exp->ws_free(ws);
        if (rng) gsl_rng_free(rng);
        free(msg);
    }
    MPI_Send(NULL, 0, MPI_INT, 0, TAG_BYE, MPI_COMM_WORLD);
    /* A failed unit's message is rank 0's to report. */
    return status == LR_OK ? LR_OK : LR_EINVAL;
}

#endif
