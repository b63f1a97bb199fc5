/* `lrlab plot FILE`: a results file's figures, through gnuplot, as PDF and PNG next to it
 * (FILE without its extension, then _error, _coverage, ...).  The figures are the plot
 * hook of the experiment that wrote the file (lr_experiment.plot, found by the file's
 * `experiment` attribute in the experiment table); the scripts come from plots/. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "io/results_file.h"
#include "plot/gnuplot.h"
#include "run/run.h"

static const char plot_help[] =
    "usage: lrlab plot FILE\n\nDraw FILE's figures with gnuplot, as PDF and PNG "
    "next to it:\n  NAME_error.*        error against the swept key (log-log) with "
    "bounds, prediction\n                      and theory slope, first target rank "
    "(NAME_error_rankI.* for the others)\n  NAME_coverage.*     how often each "
    "bound held (Wilson 95%) against its nominal level\n  NAME_weight.*       the weight "
    "error ||M - M*||_F, when a bound observes it or plot.weight = true\n"
    "A real_layers file gives NAME_spectra.*, NAME_error.* and NAME_accuracy.*.\n";

int lr_cmd_plot(int argc, char **argv)
{
    char *path = NULL;
    int rc = lr_cli_file_args("plot", argc, argv, 1, plot_help, &path);
    if (rc >= 0) return rc;
    char plots[4096];
    if (lr_gp_plots_dir("error.gp", plots, sizeof plots) != LR_OK) return lr_cli_fail();
    lr_results_file rf;
    if (lr_results_open(path, &rf) != LR_OK) return lr_cli_fail();
    const lr_experiment *exp = lr_cli_experiment(path, &rf);
    int status = exp ? LR_OK : LR_EDATA;
    if (exp && !exp->plot)
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: experiment '%s' has no plot", path, exp->name);
    if (status == LR_OK) {
        char stem[4096];
        snprintf(stem, sizeof stem, "%s", path);
        char *dot = strrchr(stem, '.');
        if (dot && !strchr(dot, '/')) *dot = '\0';
        status = exp->plot(&rf, stem, plots, stderr);
    }
    lr_results_close(&rf);
    return status == LR_OK ? 0 : lr_cli_fail();
}
