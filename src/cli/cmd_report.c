/* `lrlab report FILE [--brief]`: a results file as plain text, for a terminal or a lab
 * notebook.
 *
 * The verdict comes first, the same for every experiment: the provenance lines, the run's
 * warnings (root attribute `warnings`), every bound over the whole run (held N of N from
 * the `<bound>_held` cells of /trials; with /points, the lowest coverage and the points
 * whose Wilson interval lies below the nominal level), then the experiment's own verdict
 * lines (lr_experiment.verdict: e.g. recovery's slopes outside their intervals).  The
 * details follow (lr_experiment.report, found by the file's `experiment` attribute);
 * --brief stops after the verdict. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "io/h5.h"
#include "io/results_file.h"
#include "run/run.h"

static const char report_help[] =
    "usage: lrlab report FILE [--brief]\n\nPrint a results file's summary: first the verdict (the run's "
    "warnings, every bound\nover the whole run, coverage below nominal, slopes outside their intervals), "
    "then the\ndetails: per sweep point and compressor the errors, each bound's coverage (Wilson 95%\n"
    "interval) against its nominal level and tightness, and the fitted slopes.\n"
    "  --brief   the verdict only\n";

/* Coverage shortfalls listed one per line before "... and N more". */
enum { SHORTFALLS_LISTED = 6 };

/* "m=400 N0=60 ... sigma=0.01" for /points row i: the parameter columns between
 * k_target and n. */
static void point_params(const lr_table *P, size_t i, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    int first = lr_table_col(P, "k_target") + 1, last = lr_table_col(P, "n");
    for (int c = first; c > 0 && c < last && used < len; c++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%g", used ? " " : "", P->cols[c].name,
                                 lr_table_row(P, i)[c]);
}

/* Per bound of /points: the lowest coverage, the worst tightness and the cells whose
 * coverage interval lies below the nominal level (listed). */
static void verdict_coverage(const lr_table *P, const char *bn, const char *kind, FILE *out)
{
    char col[128];
    snprintf(col, sizeof col, "%s_n", bn);
    if (!P || lr_table_col(P, col) < 0) {
        fprintf(out, "\n");
        return;
    }
    double mincov = 2, nom = NAN, worst = 0;
    size_t cells = 0, low = 0, below = 0;
    for (size_t i = 0; i < P->nrows; i++) {
        if (!(lr_rf_bound(P, i, bn, "n") > 0)) continue;
        cells++;
        double cov = lr_rf_bound(P, i, bn, "coverage");
        nom = lr_rf_bound(P, i, bn, "nominal");
        mincov = fmin(mincov, cov);
        worst = fmax(worst, lr_rf_bound(P, i, bn, "tight_worst"));
        below += cov < nom;
        low += lr_rf_bound(P, i, bn, "coverage_hi") < nom;
    }
    if (!cells) {
        fprintf(out, "\n");
        return;
    }
    if (strcmp(kind, "always"))
        fprintf(out, "; lowest coverage %.3f (nominal %.3f)\n      below nominal in %zu of %zu cells, "
                     "%zu SHORT (nominal above the Wilson interval); worst error/bound %.3f\n",
                mincov, nom, below, cells, low, worst);
    else
        fprintf(out, " over %zu point x rank cells; worst error/bound %.3f\n", cells, worst);
    size_t listed = 0;
    for (size_t i = 0; i < P->nrows && low; i++) {
        if (!(lr_rf_bound(P, i, bn, "n") > 0) || !(lr_rf_bound(P, i, bn, "coverage_hi") < lr_rf_bound(P, i, bn, "nominal")))
            continue;
        if (listed++ == SHORTFALLS_LISTED) {
            fprintf(out, "    ... and %zu more (lrlab report without --brief lists every point)\n",
                    low - SHORTFALLS_LISTED);
            break;
        }
        char params[256];
        point_params(P, i, params, sizeof params);
        fprintf(out, "    SHORT %s at point %.0f %s k=%.0f (%s): held %.0f/%.0f, coverage %.3f [%.3f, %.3f] < "
                     "nominal %.3f\n",
                bn, lr_rf_num(P, i, "point"), lr_rf_str(P, i, "compressor"), lr_rf_num(P, i, "k_target"), params,
                lr_rf_bound(P, i, bn, "held"), lr_rf_bound(P, i, bn, "n"), lr_rf_bound(P, i, bn, "coverage"),
                lr_rf_bound(P, i, bn, "coverage_lo"), lr_rf_bound(P, i, bn, "coverage_hi"),
                lr_rf_bound(P, i, bn, "nominal"));
    }
}

/* Every bound of /bounds over the whole run: the `<bound>_held` cells of /trials (1 held,
 * 0 violated, -1 not applicable) counted, then its coverage from /points. */
static int verdict_bounds(const lr_results_file *rf, FILE *out)
{
    if (!rf->bounds || !rf->bounds->nrows) {
        fprintf(out, "Bounds: none in this run.\n");
        return LR_OK;
    }
    lr_table *T = NULL;
    LR_TRY(lr_h5_read_table(rf->file, "trials", &T));
    fprintf(out, "Bounds over the whole run (always: must hold in every row; with probability: coverage "
                 "at every point):\n");
    int cmet = lr_table_col(rf->bounds, "assumptions_met"), ceval = lr_table_col(rf->bounds, "evaluated");
    for (size_t b = 0; b < rf->bounds->nrows; b++) {
        const char *bn = lr_rf_str(rf->bounds, b, "name"), *kind = lr_rf_str(rf->bounds, b, "kind");
        const char *comp = lr_rf_str(rf->bounds, b, "compressor");
        const double *br = lr_table_row(rf->bounds, b);
        if (cmet >= 0 && ceval >= 0 && br[cmet] == 0 && br[ceval] == 0) {
            fprintf(out, "  %-10s %-16s not evaluated: assumes %s, which this run does not meet\n", bn, kind,
                    lr_rf_str(rf->bounds, b, "assumes"));
            continue;
        }
        char outside[320] = "";
        if (cmet >= 0 && br[cmet] == 0)
            snprintf(outside, sizeof outside, ",\n      evaluated OUTSIDE its assumptions (%s; "
                     "bounds.outside_assumptions = true)", lr_rf_str(rf->bounds, b, "assumes"));
        char col[128];
        snprintf(col, sizeof col, "%s_held", bn);
        int ch = lr_table_col(T, col);
        size_t n = 0, held = 0;
        for (size_t i = 0; ch >= 0 && i < T->nrows; i++) {
            double h = lr_table_row(T, i)[ch];
            if (h >= 0) n++, held += h > 0;
        }
        if (!strcmp(kind, "prediction")) {
            fprintf(out, "  %-10s %-16s a predicted shape for %s, not a bound: its fitted constant is in the details\n",
                    bn, kind, comp);
            continue;
        }
        if (!n) {
            fprintf(out, "  %-10s %-16s applied in no row (it is about %s)%s\n", bn, kind, comp, outside);
            continue;
        }
        fprintf(out, "  %-10s %-16s %s: held %zu/%zu%s%s", bn, kind, comp, held, n,
                !strcmp(kind, "always") && held < n ? "  VIOLATED" : "", outside);
        verdict_coverage(rf->points, bn, kind, out);
    }
    lr_table_free(T);
    return LR_OK;
}

/* The run's warnings, as lrlab run printed them. */
static void verdict_warnings(const lr_results_file *rf, FILE *out)
{
    const char *w = rf->warnings;
    if (!w || !*w) return;
    while (*w) {
        const char *end = strchr(w, '\n');
        int len = end ? (int)(end - w) : (int)strlen(w);
        fprintf(out, "warning: %.*s\n", len, w);
        w += len + (end != NULL);
    }
}

int lr_cmd_report(int argc, char **argv)
{
    char *path = NULL;
    int brief = 0, nargs = 0;
    char *args[64];
    for (int i = 0; i < argc && nargs < 64; i++) {
        if (i > 0 && !strcmp(argv[i], "--brief")) brief = 1;
        else args[nargs++] = argv[i];
    }
    int rc = lr_cli_file_args("report", nargs, args, 1, report_help, &path);
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
        printf("== Verdict ==\n");
        verdict_warnings(&rf, stdout);
        status = verdict_bounds(&rf, stdout);
        if (status == LR_OK && exp->verdict) status = exp->verdict(&rf, stdout);
        if (status == LR_OK && !brief) {
            printf("\n== Details ==\n");
            status = exp->report(&rf, stdout);
        }
    }
    lr_results_close(&rf);
    return status == LR_OK ? 0 : lr_cli_fail();
}
