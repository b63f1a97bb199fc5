/* What `lrlab report`, `plot` and `export` share: their argument check and the experiment
 * lookup of a results file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"

const lr_experiment *lr_cli_experiment(const char *path, const lr_results_file *rf)
{
    if (!rf->experiment || !rf->experiment[0]) {
        lr_error(LR_EDATA, __FILE__, __LINE__, "%s: the root attribute 'experiment' is missing", path);
        return NULL;
    }
    const lr_experiment *exp = lr_experiment_find(rf->experiment);
    if (!exp) {
        char known[512] = "";
        size_t used = 0;
        for (size_t i = 0; lr_experiments[i] && used < sizeof known; i++)
            used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                                     lr_experiments[i]->name);
        lr_error(LR_EDATA, __FILE__, __LINE__,
                 "%s: experiment '%s' is not one this lrlab knows (it knows %s)", path, rf->experiment,
                 known);
    }
    return exp;
}

int lr_cli_file_args(const char *cmd, int argc, char **argv, int nfixed, const char *help, char **fixed)
{
    int n = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return 0;
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "lrlab %s: unknown option '%s'\n%s", cmd, a, help);
            return 2;
        }
        if (n == nfixed) {
            fprintf(stderr, "lrlab %s: unexpected argument '%s'\n%s", cmd, a, help);
            return 2;
        }
        fixed[n++] = argv[i];
    }
    if (n < nfixed) {
        fputs(help, stderr);
        return 2;
    }
    return -1;
}

char *lr_cli_command_line(int argc, char **argv)
{
    size_t len = sizeof "lrlab";
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *line = malloc(len);
    if (!line) return NULL;
    strcpy(line, "lrlab");
    for (int i = 0, at = 5; i < argc; i++) {
        line[at++] = ' ';
        size_t n = strlen(argv[i]);
        memcpy(line + at, argv[i], n + 1);
        at += (int)n;
    }
    return line;
}
