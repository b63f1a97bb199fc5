/* `lrlab merge PART... -o FILE [--force]`: the part files of a sharded run (lrlab run
 * --shard I/N) into the one results file a single run would have written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "run/dist.h"

static const char merge_help[] =
    "usage: lrlab merge PART.h5 ... -o FILE [--force]\n"
    "\n"
    "Merge the part files of a sharded run (lrlab run CONFIG --shard I/N -o PART.h5) into\n"
    "the results file one run of the config would have written: /trials in unit order, and\n"
    "/points and /fits recomputed from it.  Refuses, writing nothing, parts of different\n"
    "resolved configs, a trial in no part or in two, and a truncated or damaged part.\n"
    "\n"
    "  -o FILE     the merged results file (required)\n"
    "  --force     overwrite FILE if it exists\n"
    "  -h, --help  this text\n";

int lr_cmd_merge(int argc, char **argv)
{
    const char **parts = calloc((size_t)argc + 1, sizeof *parts);
    size_t n = 0;
    char *cmdline = lr_cli_command_line(argc, argv);
    if (!parts || !cmdline) {
        free(parts);
        free(cmdline);
        fprintf(stderr, "lrlab: out of memory\n");
        return 1;
    }
    const char *out = NULL;
    int force = 0, status = -1;
    for (int i = 1; i < argc && status < 0; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(merge_help, stdout);
            status = 0;
        } else if (!strcmp(a, "-o")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lrlab merge: -o needs a file name\n");
                status = 2;
            } else
                out = argv[++i];
        } else if (!strcmp(a, "--force"))
            force = 1;
        else if (a[0] == '-') {
            fprintf(stderr, "lrlab merge: unknown option '%s' (see lrlab merge --help)\n", a);
            status = 2;
        } else
            parts[n++] = a;
    }
    if (status < 0 && (!out || n == 0)) {
        fprintf(stderr, "lrlab merge: %s\n", !out ? "-o FILE is required" : "no part files given");
        fputs(merge_help, stderr);
        status = 2;
    }
    if (status < 0) {
        if (lr_merge_parts(parts, n, out, force, cmdline) != LR_OK) status = lr_cli_fail();
        else {
            fprintf(stderr, "lrlab: merged %zu parts into %s\n", n, out);
            status = 0;
        }
    }
    free(parts);
    free(cmdline);
    return status;
}
