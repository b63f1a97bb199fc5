#include "results.h"

#include <cblas.h>
#include <math.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lrlab_config.h"
#include "io/config.h"
#include "core/error.h"
#include "io/h5.h"

void lr_sha256_hex(const char *text, char *out)
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(text), (const uint8_t *)text);
    sha256_digest(&ctx, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++) sprintf(out + 2 * i, "%02x", digest[i]);
    out[2 * SHA256_DIGEST_SIZE] = '\0';
}

static int write_bounds_table(hid_t file, const lr_run *run)
{
    lr_table *t = lr_table_alloc("bounds");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory for the /bounds table");
    int cn = lr_table_add_column(t, "name", LR_COL_NAME, "bound name (a column of /trials)");
    int ct = lr_table_add_column(t, "theorem", LR_COL_NAME, "where it comes from");
    int cs = lr_table_add_column(t, "statement", LR_COL_NAME, "what it says");
    int ck = lr_table_add_column(t, "kind", LR_COL_NAME, "always | with probability | prediction");
    int cc = lr_table_add_column(t, "compressor", LR_COL_NAME, "the estimator it is about");
    int co = lr_table_add_column(t, "observed", LR_COL_NAME, "the /trials error it bounds");
    int ca = lr_table_add_column(t, "assumes", LR_COL_NAME,
                                 "assumptions it declares about the noise (empty: none beyond its own checks)");
    int cu = lr_table_add_column(t, "assumptions_met", LR_COL_FLAG,
                                 "1 if the run meets the declared assumptions, 0 if not (see evaluated)");
    int ce = lr_table_add_column(t, "evaluated", LR_COL_FLAG,
                                 "1 if its /trials column was evaluated (assumptions met, or "
                                 "bounds.outside_assumptions = true), 0 if NaN by assumption");
    if (cn < 0 || ct < 0 || cs < 0 || ck < 0 || cc < 0 || co < 0 || ca < 0 || cu < 0 || ce < 0) {
        lr_table_free(t);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    int status = LR_OK;
    double row[9];
    for (size_t b = 0; b < run->nbounds && status == LR_OK; b++) {
        const lr_bound *bd = run->bounds[b];
        row[cn] = lr_table_dict_index(t, (size_t)cn, bd->name);
        row[ct] = lr_table_dict_index(t, (size_t)ct, bd->theorem);
        row[cs] = lr_table_dict_index(t, (size_t)cs, bd->statement);
        row[ck] = lr_table_dict_index(t, (size_t)ck, lr_bound_kind_name(bd->kind));
        row[cc] = lr_table_dict_index(t, (size_t)cc, bd->compressor);
        row[co] = lr_table_dict_index(t, (size_t)co, lr_observed_name(bd->observed));
        row[ca] = lr_table_dict_index(t, (size_t)ca, lr_bound_assumptions_text(bd->assumes));
        unsigned unmet = run->bound_unmet ? run->bound_unmet[b] : 0;
        row[cu] = unmet == 0;
        row[ce] = unmet == 0 || run->bparams.outside_assumptions;
        for (int c = 0; c < 9; c++)
            if (row[c] < 0) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        if (status == LR_OK) status = lr_table_append(t, row);
    }
    if (status == LR_OK) status = lr_h5_write_table(file, t, "the bounds evaluated in /trials");
    lr_table_free(t);
    return status;
}

static int write_compressors_table(hid_t file, const lr_run *run)
{
    lr_table *t = lr_table_alloc("compressors");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory for the /compressors table");
    int cn = lr_table_add_column(t, "name", LR_COL_NAME, "compressor name");
    int cd = lr_table_add_column(t, "description", LR_COL_NAME, "what it does");
    int cdd = lr_table_add_column(t, "data_driven", LR_COL_FLAG, "1 if it uses calibration data");
    int status = t->failed ? LR_ENOMEM : LR_OK;
    double row[3];
    for (size_t c = 0; c < run->ncomps && status == LR_OK; c++) {
        row[cn] = lr_table_dict_index(t, (size_t)cn, run->comps[c]->name);
        row[cd] = lr_table_dict_index(t, (size_t)cd, run->comps[c]->description);
        row[cdd] = run->comps[c]->data_driven;
        status = lr_table_append(t, row);
    }
    if (status == LR_OK) status = lr_h5_write_table(file, t, "the compressors in /trials");
    lr_table_free(t);
    return status;
}

static int write_axes(hid_t file, const lr_run *run)
{
    hid_t g = H5Gcreate2(file, "axes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) LR_ERRORF(LR_EIO, "cannot create /axes: %s", lr_h5_error_reason());
    int status = LR_OK;
    for (size_t a = 0; a < lr_config_naxes(run->cfg) && status == LR_OK; a++) {
        size_t n = lr_config_axis_len(run->cfg, a);
        double *v = malloc(n * sizeof(double));
        if (!v) {
            status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory for the values of axis %zu", a);
            break;
        }
        for (size_t i = 0; i < n; i++) v[i] = lr_config_axis_value(run->cfg, a, i);
        char name[32];
        snprintf(name, sizeof name, "%zu", a);
        status = lr_h5_write_vector(g, name, v, n);
        free(v);
        if (status == LR_OK) {
            hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
            const char *path = lr_config_axis_path(run->cfg, a), *column = "";
            for (size_t j = 0; j < run->nparam_cols; j++)
                if (!strcmp(run->param_cols[j].path, path))
                    column = run->trials->cols[run->param_cols[j].column].name;
            status = lr_h5_attr_str(ds, "path", path);
            if (status == LR_OK) status = lr_h5_attr_str(ds, "column", column);
            /* Axes of one zip move together: the sweep's points are the product over the
             * groups, not over the axes. */
            const char *zip = lr_config_axis_zip(run->cfg, a);
            if (status == LR_OK) status = lr_h5_attr_str(ds, "zip", zip ? zip : "");
            if (status == LR_OK) status = lr_h5_attr_i64(ds, "group", (long long)lr_config_axis_group(run->cfg, a));
            H5Dclose(ds);
        }
    }
    H5Gclose(g);
    return status;
}

static int write_timings(hid_t file, const lr_run *run)
{
    lr_table *t = lr_table_alloc("timings");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory for the /timings table");
    lr_table_add_column(t, "fit_seconds", LR_COL_REAL,
                        "wall time of the compressor's fit for this row's trial (one fit serves "
                        "every rank); row i describes row i of /trials");
    lr_table_add_column(t, "unit_seconds", LR_COL_REAL,
                        "wall time of this row's whole trial (generation, factorisation, every "
                        "compressor and measurement); NaN for trials recovered by --resume");
    int status = lr_table_reserve(t, run->trials->nrows ? run->trials->nrows : 1);
    for (size_t i = 0; i < run->trials->nrows && status == LR_OK; i++) {
        double row[2] = {run->seconds[i], run->unit_seconds ? run->unit_seconds[i / run->rows_per_unit] : NAN};
        status = lr_table_append(t, row);
    }
    if (status == LR_OK) status = lr_h5_write_table(file, t, "timings, row-aligned with /trials");
    lr_table_free(t);
    return status;
}

static int write_root_attrs(hid_t file, const lr_run *run, const lr_results_meta *meta)
{
    char host[256] = "unknown", when[64];
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    size_t fallbacks = 0;
    for (size_t i = 0; i < run->trials->nrows; i++)
        fallbacks += lr_table_row(run->trials, i)[run->col.svd_fallback] > 0;

    LR_TRY(lr_h5_attr_str(file, "schema", LR_RESULTS_SCHEMA));
    LR_TRY(lr_h5_attr_i64(file, "schema_version", LR_RESULTS_SCHEMA_VERSION));
    LR_TRY(lr_h5_attr_str(file, "lrlab_version", PACKAGE_VERSION));
    LR_TRY(lr_h5_attr_str(file, "git_revision", LR_GIT_REVISION_CONFIGURE));
    LR_TRY(lr_h5_attr_str(file, "experiment", run->exp->name));
    LR_TRY(lr_h5_attr_str(file, "name", lr_config_str(run->cfg, "name")));
    LR_TRY(lr_h5_attr_str(file, "config", lr_config_text(run->cfg)));
    LR_TRY(lr_h5_attr_str(file, "config_sha256", meta->config_sha256));
    LR_TRY(lr_h5_attr_str(file, "config_file", meta->config_path));
    LR_TRY(lr_h5_attr_i64(file, "seed", (long long)run->seed));
    LR_TRY(lr_h5_attr_i64(file, "trials", (long long)run->ntrials));
    LR_TRY(lr_h5_attr_i64(file, "points", (long long)run->npoints));
    LR_TRY(lr_h5_attr_str(file, "command_line", meta->command_line ? meta->command_line : ""));
    LR_TRY(lr_h5_attr_str(file, "host", host));
    LR_TRY(lr_h5_attr_str(file, "blas_config", openblas_get_config()));
    LR_TRY(lr_h5_attr_str(file, "blas_core", openblas_get_corename()));
    LR_TRY(lr_h5_attr_str(file, "openblas_coretype", coretype ? coretype : ""));
    char rng_desc[96];
    snprintf(rng_desc, sizeof rng_desc, "gsl %s, one stream per (seed, point, trial)",
             run->rng_kind ? run->rng_kind : "mt19937");
    LR_TRY(lr_h5_attr_str(file, "rng", rng_desc));
    LR_TRY(lr_h5_attr_i64(file, "threads", run->nthreads));
    LR_TRY(lr_h5_attr_str(file, "utc_time", when));
    LR_TRY(lr_h5_attr_f64(file, "wall_seconds", meta->wall_seconds));
    LR_TRY(lr_h5_attr_i64(file, "svd_fallbacks", (long long)fallbacks));
    LR_TRY(lr_h5_attr_f64(file, "bound_tol", run->bparams.tol));
    LR_TRY(lr_h5_attr_i64(file, "bounds_outside_assumptions", run->bparams.outside_assumptions));
    LR_TRY(lr_h5_attr_str(file, "notes", run->notes ? run->notes : ""));
    LR_TRY(lr_h5_attr_str(file, "warnings", run->warnings ? run->warnings : ""));
    /* Where it ran (run/dist.h): MPI ranks and hosts, a shard, or a merge of parts. */
    const struct lr_run_dist *d = &run->dist;
    LR_TRY(lr_h5_attr_i64(file, "ranks", d->ranks > 0 ? d->ranks : 1));
    LR_TRY(lr_h5_attr_i64(file, "hosts", d->hosts > 0 ? d->hosts : 1));
    LR_TRY(lr_h5_attr_str(file, "rank_hosts", d->host_names ? d->host_names : host));
    if (d->ranks > 1) {
        LR_TRY(lr_h5_attr_i64(file, "gathered_units", (long long)d->gathered_units));
        LR_TRY(lr_h5_attr_f64(file, "gather_seconds", d->gather_seconds));
    }
    if (d->shard_count) {
        char shard[64];
        snprintf(shard, sizeof shard, "%u/%u", d->shard_index, d->shard_count);
        LR_TRY(lr_h5_attr_str(file, "shard", shard));
    }
    if (d->merged_parts) LR_TRY(lr_h5_attr_i64(file, "merged_parts", (long long)d->merged_parts));
    return LR_OK;
}

int lr_results_write(const lr_run *run, const char *path, const lr_table *points,
                     const lr_table *fits, const lr_results_meta *meta)
{
    lr_h5_quiet();
    hid_t file = lr_h5_create(path, H5F_ACC_EXCL);
    if (file < 0) LR_ERRORF(LR_EIO, "%s: cannot create the results file: %s", path, lr_h5_error_reason());
    int status = write_root_attrs(file, run, meta);
    if (status == LR_OK)
        status = lr_h5_write_table(file, run->trials,
                                   "one row per sweep point x trial x compressor x target rank");
    if (status == LR_OK) status = write_timings(file, run);
    if (status == LR_OK && points)
        status = lr_h5_write_table(file, points,
                                   "per sweep point x compressor x rank: error quantiles, bound "
                                   "coverage (Wilson 95%), tightness");
    if (status == LR_OK && fits)
        status = lr_h5_write_table(file, fits,
                                   "least-squares slopes of log err_fro against the log of each "
                                   "swept key, other keys fixed, with 95% t intervals");
    if (status == LR_OK) status = write_bounds_table(file, run);
    if (status == LR_OK) status = write_compressors_table(file, run);
    if (status == LR_OK) status = write_axes(file, run);
    if (status == LR_OK && run->exp->write_results) status = run->exp->write_results(run, (long long)file);
    if (H5Fclose(file) < 0 && status == LR_OK)
        status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot close the results file: %s", path,
                          lr_h5_error_reason());
    return status;
}

int lr_results_add_table(const char *path, const lr_table *t, const char *doc)
{
    lr_h5_quiet();
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) LR_ERRORF(LR_EIO, "%s: cannot reopen the results file: %s", path, lr_h5_error_reason());
    int status = lr_h5_write_table(file, t, doc);
    if (H5Fclose(file) < 0 && status == LR_OK)
        status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot close the results file: %s", path,
                          lr_h5_error_reason());
    return status;
}
