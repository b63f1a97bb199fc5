/* lrlab: low-rank lab.  Entry point: dispatch to the subcommands. */
#include <gsl/gsl_errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "io/h5.h"
#include "run/dist.h"
#include "lrlab_config.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lrlab COMMAND [ARGS]\n"
            "\n"
            "  run CONFIG [key=value ...] [-o FILE] [-j N] [--resume] [--force] [--shard I/N]\n"
            "                 run an experiment; results go to one HDF5 file (under mpirun: the\n"
            "                 units spread over the ranks, rank 0 writes the file)\n"
            "  merge PART.h5 ... -o FILE\n"
            "                 the part files of a sharded run into the file one run writes\n"
            "  report FILE    plain-text summary: errors, bounds, coverage, fitted slopes\n"
            "  plot FILE      figures (PDF and PNG) next to the results file\n"
            "  export FILE [TABLE] [COLUMN ...] [--format tsv|csv|latex|markdown] [-o PATH]\n"
            "                 the results' tables (trials, points, fits, ...) as TSV or CSV, or\n"
            "                 /points as a LaTeX or Markdown table for a paper\n"
            "  compare A.h5 B.h5 [C.h5 ...] [--columns COL,...] [--tol T] [--seeds auto|pooled|separate]\n"
            "                 runs of one experiment side by side: configs diffed, per point the\n"
            "                 medians and coverages, differences beyond the noise flagged\n"
            "  train CONFIG [key=value ...] -o DUMP.h5 [--force] [--quiet]\n"
            "                 train a network (dense or LoD layers) and write it as a layer dump\n"
            "  list           experiments, compressors, bounds and config keys\n"
            "\n"
            "'lrlab COMMAND --help' describes each command.  lrlab %s\n",
            PACKAGE_VERSION);
}

int lr_cli_fail(void)
{
    fprintf(stderr, "lrlab: %s\n", lr_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    /* GSL must return error codes, not abort: lrlab checks every status itself. */
    gsl_set_error_handler_off();
    /* HDF5 1.10's exit handler closes the files still open, and after an H5Fclose that
     * failed (a full disk) it crashes in H5F__close_cb: a run that had reported "cannot
     * write" and kept its checkpoint then died of SIGSEGV.  lrlab closes every file itself
     * and removes a failed temporary file, so the handler has nothing to do: not
     * registering it (before any other HDF5 call) removes the crash. */
    H5dont_atexit();
    lr_h5_quiet();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("lrlab %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run")) {
        /* MPI only for a run started by mpirun (run/dist.h); a plain run never touches it. */
        if (lr_dist_init(&argc, &argv) != LR_OK) return lr_cli_fail();
        int status = lr_cmd_run(argc - 1, argv + 1);
        lr_dist_finalize();
        return status;
    }
    if (!strcmp(cmd, "merge")) return lr_cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return lr_cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot")) return lr_cmd_plot(argc - 1, argv + 1);
    if (!strcmp(cmd, "list")) return lr_cmd_list(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return lr_cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return lr_cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return lr_cmd_train(argc - 1, argv + 1);
    fprintf(stderr, "lrlab: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
