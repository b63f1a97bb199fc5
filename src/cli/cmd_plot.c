/* `lrlab plot FILE [plot.key=value ...]`: a results file's figures, through gnuplot, as PDF
 * and PNG next to it (FILE without its extension, then _error, _coverage, ...), each with
 * its data as a .tsv.  The figures are the plot hook of the experiment that wrote the file
 * (lr_experiment.plot, found by the file's `experiment` attribute in the experiment
 * table); the scripts come from plots/.  Overrides re-plot a finished run with other plot.*
 * keys: they are applied to the run's stored config and validated against the same schema
 * as `lrlab run` (so a bad value gets the same message); any other key is refused, since
 * changing it would need a new run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "compress/compress.h"
#include "core/error.h"
#include "io/config.h"
#include "io/results_file.h"
#include "plot/gnuplot.h"
#include "run/run.h"

static const char plot_help[] =
    "usage: lrlab plot FILE [plot.key=value ...]\n\nDraw FILE's figures with gnuplot, as PDF and PNG "
    "next to it, each with its data as NAME_*.tsv:\n  NAME_error.*        error against the swept key (log-log) with "
    "bounds, prediction\n                      and theory slope, first target rank "
    "(NAME_error_rankI.* for the others)\n  NAME_coverage.*     each bound's shortfall from its nominal level "
    "(Wilson 95%)\n  NAME_weight.*       the weight "
    "error ||M - M*||_F, when a bound observes it or plot.weight = true\n"
    "A real_layers file gives NAME_spectra.*, NAME_error.* and NAME_accuracy.*.\n"
    "plot.key=value re-plots with other plot keys (plot.x, plot.y, plot.weight, plot.legend,\n"
    "plot.width, plot.height, plot.font; see `lrlab list`); other keys need a new run.\n";

/* Apply the overrides to the stored config, validate it with the experiment's schemas and
 * put the resolved text in rf->config.  2 for a key that is not a plot key (a usage
 * error), else a status. */
static int apply_plot_overrides(const char *path, lr_results_file *rf, const lr_experiment *exp,
                                const char *const *ov, size_t nov)
{
    for (size_t i = 0; i < nov; i++)
        if (strncmp(ov[i], "plot.", 5)) {
            fprintf(stderr,
                    "lrlab plot: '%s': only plot.* keys can be changed when re-plotting; the other keys "
                    "are fixed by the run that wrote %s (run it again with lrlab run)\n",
                    ov[i], path);
            return 2;
        }
    if (!rf->config) LR_ERRORF(LR_EDATA, "%s: no stored config to apply %s to", path, ov[0]);
    char where[4200];
    snprintf(where, sizeof where, "%s (its stored config)", path);
    lr_config *cfg = NULL;
    int status = lr_config_read_string(&cfg, rf->config, where, ov, nov);
    const lr_key *schemas[8 + LR_NCOMPRESSORS];
    size_t ns = lr_run_schemas(exp, schemas, sizeof schemas / sizeof schemas[0]);
    if (status == LR_OK) status = lr_config_validate(cfg, schemas, ns);
    char *text = status == LR_OK ? strdup(lr_config_text(cfg)) : NULL;
    if (status == LR_OK && !text) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    if (text) {
        free(rf->config);
        rf->config = text;
    }
    lr_config_free(cfg);
    return status;
}

int lr_cmd_plot(int argc, char **argv)
{
    /* FILE is the first argument; key=value arguments after it are overrides. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    const char **ov = calloc((size_t)argc + 1, sizeof *ov);
    if (!rest || !ov) {
        free(rest), free(ov);
        fprintf(stderr, "lrlab plot: out of memory\n");
        return 1;
    }
    int nrest = 0, seen_file = 0;
    size_t nov = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && seen_file && argv[i][0] != '-' && strchr(argv[i], '=')) ov[nov++] = argv[i];
        else rest[nrest++] = argv[i];
        if (i > 0 && argv[i][0] != '-') seen_file = 1;
    }
    char *path = NULL;
    int rc = lr_cli_file_args("plot", nrest, rest, 1, plot_help, &path);
    free(rest);
    if (rc >= 0) {
        free(ov);
        return rc;
    }
    char plots[4096];
    lr_results_file rf;
    if (lr_gp_plots_dir("error.gp", plots, sizeof plots) != LR_OK || lr_results_open(path, &rf) != LR_OK) {
        free(ov);
        return lr_cli_fail();
    }
    const lr_experiment *exp = lr_cli_experiment(path, &rf);
    int status = exp ? LR_OK : LR_EDATA;
    if (exp && !exp->plot)
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: experiment '%s' has no plot", path, exp->name);
    if (status == LR_OK && nov) {
        status = apply_plot_overrides(path, &rf, exp, ov, nov);
        if (status == 2) {
            free(ov);
            lr_results_close(&rf);
            return 2;
        }
    }
    free(ov);
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
