/* `lrlab report FILE`: a results file as plain text, for a terminal or a lab notebook.
 *
 * The provenance lines are the same for every experiment; the rest is the report hook of
 * the experiment that wrote the file (lr_experiment.report, found by the file's
 * `experiment` attribute in the experiment table). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "io/results_file.h"
#include "run/run.h"

static const char report_help[] =
    "usage: lrlab report FILE\n\nPrint a results file's summary: per sweep point "
    "and compressor the errors, each bound's\ncoverage (Wilson 95% interval) "
    "against its nominal level and tightness, and the fitted slopes.\n";

int lr_cmd_report(int argc, char **argv)
{
    char *path = NULL;
    int rc = lr_cli_file_args("report", argc, argv, 1, report_help, &path);
    if (rc >= 0) return rc;
    lr_results_file rf;
    if (lr_results_open(path, &rf) != LR_OK) return lr_cli_fail();
    const lr_experiment *exp = lr_cli_experiment(path, &rf);
    int status = exp ? LR_OK : LR_EDATA;
    if (exp && !exp->report)
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: experiment '%s' has no report", path, exp->name);
    if (status == LR_OK) {
        printf("lrlab results %s\n", path);
        printf("  experiment %s%s%s, config %s (sha256 %.16s...)\n", rf.experiment,
               rf.name && rf.name[0] ? ": " : "", rf.name ? rf.name : "", rf.config_file,
               rf.config_sha256);
        printf("  seed %.0f, %.0f trials per point, %.0f threads, %.1f s, BLAS core %s, %s\n", rf.seed,
               rf.trials, rf.threads, rf.wall_seconds, rf.blas_core, rf.utc_time);
        printf("  SVD fallbacks (dgesdd -> dgesvd): %.0f rows\n\n", rf.fallbacks);
        status = exp->report(&rf, stdout);
    }
    lr_results_close(&rf);
    return status == LR_OK ? 0 : lr_cli_fail();
}
