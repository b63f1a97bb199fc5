/* Reading a dump the way `lrlab run` does, for the dump fuzz targets. */
#include "fuzz_dump_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <hdf5.h>

#include "core/error.h"
#include "core/mat.h"
#include "io/dump.h"
#include "io/h5.h"
#include "nn/net.h"

/* Inputs are read in blocks of this many samples, and the network run on at most this
 * many: the harness must not be what allocates a lot. */
#define BLOCK 8

/* How inputs ended, printed at exit for the README: read whole, refused by the reader
 * with its message, or refused because the probe's child crashed, hung or died in HDF5. */
enum { READ_WHOLE, REFUSED, PROBE_CRASHED, PROBE_HUNG, PROBE_DIED, NCOUNTS };
static unsigned long counts[NCOUNTS];

static void print_counts(void)
{
    fprintf(stderr, "lrlab dump reader: %lu inputs read whole, %lu refused by the reader, %lu refused "
            "after HDF5 crashed in the probe, %lu after it hung, %lu after it died otherwise\n",
            counts[READ_WHOLE], counts[REFUSED], counts[PROBE_CRASHED], counts[PROBE_HUNG],
            counts[PROBE_DIED]);
}

const char *lr_fuzz_dump_path(void)
{
    static char path[4096];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        struct stat sb;
        if (!dir || !*dir) dir = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/lrlab-fuzz-dump-%ld.h5", dir, (long)getpid());
        gsl_set_error_handler_off();
        lr_h5_quiet();
        /* A hang must show within libFuzzer's -timeout=10.  LRLAB_FUZZ_NO_PROBE=1 reads in
         * this process only: what HDF5 does to lrlab without the probe. */
        const char *np = getenv("LRLAB_FUZZ_NO_PROBE");
        lr_dump_set_probe(np && *np == '1' ? 0.0 : 2.0, LR_DUMP_PROBE_MEMORY);
        atexit(print_counts);
    }
    return path;
}

static int read_inputs(const lr_dump *d)
{
    if (!d->has_inputs) return LR_OK;
    int status = LR_OK;
    double *x = malloc(BLOCK * d->input_dim * sizeof(double));
    long *labels = malloc(BLOCK * sizeof(long));
    if (!x || !labels) status = LR_ENOMEM;
    for (size_t first = 0; status == LR_OK && first < d->n_inputs; first += BLOCK) {
        size_t n = d->n_inputs - first < BLOCK ? d->n_inputs - first : BLOCK;
        status = lr_dump_read_inputs(d, first, n, lr_mat_wrap(x, n, d->input_dim), labels);
    }
    free(x);
    free(labels);
    return status;
}

static int run_network(const lr_dump *d)
{
    lr_net *net = NULL;
    int status = lr_net_from_dump(d, &net);
    if (status != LR_OK || !d->has_inputs || d->n_inputs == 0) {
        lr_net_free(net);
        return status;
    }
    size_t n = d->n_inputs < BLOCK ? d->n_inputs : BLOCK;
    double *x = malloc(n * net->in_dim * sizeof(double)), *z = malloc(n * net->out_dim * sizeof(double));
    if (!x || !z) status = LR_ENOMEM;
    if (status == LR_OK) status = lr_dump_read_inputs(d, 0, n, lr_mat_wrap(x, n, net->in_dim), NULL);
    if (status == LR_OK)
        status = lr_net_forward(net, NULL, lr_mat_wrap(x, n, net->in_dim), lr_mat_wrap(z, n, net->out_dim));
    free(x);
    free(z);
    lr_net_free(net);
    return status;
}

int lr_fuzz_dump_read(const char *path)
{
    lr_dump *d = NULL;
    int status = lr_dump_open(path, &d);
    for (size_t l = 0; status == LR_OK && l < d->nlayers; l++) {
        lr_dump_check_report rep;
        status = lr_dump_check_layer(d, l, 1e-3, 16, &rep);
        long long *rows = status == LR_OK ? malloc(d->layers[l].m * sizeof *rows) : NULL;
        if (status == LR_OK && !rows) status = LR_ENOMEM;
        if (status == LR_OK) status = lr_dump_read_row_index(d, l, rows);
        free(rows);
    }
    if (status == LR_OK) status = read_inputs(d);
    if (status == LR_OK && d->sequential) status = run_network(d);
    lr_dump_close(d);
    unlink(path);
    /* Every HDF5 identifier the reader opened is closed again (a leaked one would keep the
     * file and its metadata cache alive). */
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) abort();
    /* A refusal must say why: an error without a message is a finding too. */
    const char *why = lr_last_error();
    if (status != LR_OK && (!why || !*why)) abort();
    counts[status == LR_OK                             ? READ_WHOLE
           : strstr(why, "HDF5 crashed")                 ? PROBE_CRASHED
           : strstr(why, "HDF5 made no progress")        ? PROBE_HUNG
           : strstr(why, "failed in the checking process") ? PROBE_DIED
                                                          : REFUSED]++;
    lr_clear_error();
    return status;
}
