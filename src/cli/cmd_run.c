/* `lrlab run CONFIG [key=value ...] [-o FILE] [-j N] [--resume] [--force]` */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "run/run.h"
#include "run/dist.h"

static const char run_help[] =
    "usage: lrlab run CONFIG [key.sub=value ...] [options]\n"
    "\n"
    "Run the experiment a config file describes and write one HDF5 results file.\n"
    "key.sub=value overrides a config key (libconfig syntax: 3, 1e-2, [1, 2], \"text\").\n"
    "\n"
    "  -o FILE       results file (default results/<config name>.h5)\n"
    "  -j N          trials run in parallel on N threads (default: all cores)\n"
    "  --resume      continue a run that was killed (reads FILE.partial)\n"
    "  --force       overwrite an existing results file, or discard FILE.partial\n"
    "  --shard I/N   run only the trials u with u mod N == I (I from 0 to N-1, as SLURM's\n"
    "                $SLURM_ARRAY_TASK_ID with --array=0-(N-1)) into a part file; lrlab merge\n"
    "                joins the parts; --resume works per shard\n"
    "  --save-instances FILE\n"
    "                write every trial's generated matrices (X~, M*, G, W) to an HDF5\n"
    "                file, for checking other programs on the same data (bench/README.md)\n"
    "  --progress    always draw the progress bar; --quiet never (default: on a terminal)\n"
    "  -h, --help    this text\n";

int lr_cmd_run(int argc, char **argv)
{
    lr_run_options opt;
    memset(&opt, 0, sizeof opt);
    opt.progress = -1;
    const char **overrides = calloc((size_t)argc + 1, sizeof *overrides);
    size_t nov = 0;
    char *cmdline = lr_cli_command_line(argc, argv);
    if (!overrides || !cmdline) {
        free(overrides);
        free(cmdline);
        fprintf(stderr, "lrlab: out of memory\n");
        return 1;
    }
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(run_help, stdout);
            free(overrides);
            free(cmdline);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "-j") || (a[0] == '-' && (a[1] == 'j' || a[1] == 'o') && a[2])) {
            /* "-j 2" and "-j2" (likewise "-o FILE" and "-oFILE"), as getopt would take them. */
            const char *val = a[2] ? a + 2 : NULL;
            if (!val && i + 1 >= argc) {
                fprintf(stderr, "lrlab run: %s needs a value\n", a);
                status = 2;
                break;
            }
            if (!val) val = argv[++i];
            if (a[1] == 'o') opt.output = val;
            else {
                char *end;
                long n = strtol(val, &end, 10);
                if (!*val || *end || n < 1 || n > 4096) {
                    fprintf(stderr, "lrlab run: -j needs a thread count from 1 to 4096, got '%s'\n", val);
                    status = 2;
                }
                opt.nthreads = (int)n;
            }
        } else if (!strcmp(a, "--save-instances")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lrlab run: %s needs a file name\n", a);
                status = 2;
                break;
            }
            opt.save_instances = argv[++i];
        } else if (!strcmp(a, "--shard")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lrlab run: %s needs I/N\n", a);
                status = 2;
                break;
            }
            if (lr_shard_parse(argv[++i], &opt.shard_index, &opt.shard_count) != LR_OK) {
                fprintf(stderr, "lrlab run: %s\n", lr_last_error());
                status = 2;
            }
        } else if (!strcmp(a, "--resume")) opt.resume = 1;
        else if (!strcmp(a, "--force")) opt.force = 1;
        else if (!strcmp(a, "--progress")) opt.progress = 1;
        else if (!strcmp(a, "--quiet")) opt.progress = 0;
        else if (a[0] == '-') {
            fprintf(stderr, "lrlab run: unknown option '%s' (see lrlab run --help)\n", a);
            status = 2;
        } else if (strchr(a, '=')) overrides[nov++] = a;
        else if (!opt.config_path) opt.config_path = a;
        else {
            fprintf(stderr, "lrlab run: unexpected argument '%s' (overrides are key=value)\n", a);
            status = 2;
        }
    }
    if (!status && argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(run_help, stdout);
        free(overrides);
        free(cmdline);
        return 0;
    }
    if (!status && !opt.config_path) {
        fputs(run_help, stderr);
        status = 2;
    }
    if (!status) {
        opt.overrides = overrides;
        opt.noverrides = nov;
        opt.command_line = cmdline;
        char out[4096] = "";
        /* Under mpirun, rank 0 speaks for the run; another rank only for its own failure. */
        int rank = lr_dist_rank();
        if (lr_run_main(&opt, out, sizeof out) != LR_OK) {
            status = 1;
            if (rank == 0) lr_cli_fail();
        } else if (rank == 0)
            fprintf(stderr, "lrlab: wrote %s\n", out);
    }
    free(overrides);
    free(cmdline);
    return status;
}
