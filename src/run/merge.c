/* `lrlab merge PARTS... -o OUT`: the shards of a job array (lrlab run --shard I/N) into
 * the one results file a single run would have written.
 *
 * Every part must be an lrlab part file of the same resolved config (its SHA-256), its
 * /units and /trials must agree in size, and together the parts must hold every unit of
 * the run exactly once.  The run is then set up again from the config stored in the
 * parts, exactly as --resume sets up a killed run, the rows are put at their units'
 * places, and the usual ending computes /points and /fits from the merged /trials and
 * writes the file (to OUT.tmp, renamed when complete).  Any refusal names the file and
 * what is wrong, and writes nothing. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/h5.h"
#include "io/results.h"
#include "run/dist.h"

typedef struct part {
    const char *path;
    hid_t file;
    char *config, *sha, *config_file, *shard;
    lr_table *trials, *timings;
    double *units;
    size_t nunits;
    long long units_total;
} part;

static void part_close(part *p)
{
    if (p->file >= 0) H5Fclose(p->file);
    free(p->config);
    free(p->sha);
    free(p->config_file);
    free(p->shard);
    lr_table_free(p->trials);
    lr_table_free(p->timings);
    free(p->units);
}

/* Read /units, a 1-D float64 dataset, into p->units. */
static int read_units(part *p)
{
    if (H5Lexists(p->file, "units", H5P_DEFAULT) <= 0)
        LR_ERRORF(LR_EDATA, "%s: no /units: not a part file of lrlab run --shard", p->path);
    hid_t ds = H5Dopen2(p->file, "units", H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t n = 0;
    int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, &n, NULL) == 1;
    if (ok) {
        p->units = malloc((n ? n : 1) * sizeof(double));
        ok = p->units && (n == 0 || H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->units) >= 0);
        p->nunits = (size_t)n;
    }
    if (sp >= 0) H5Sclose(sp);
    if (ds >= 0) H5Dclose(ds);
    if (!ok) LR_ERRORF(LR_EDATA, "%s: cannot read /units (truncated or damaged part file)", p->path);
    return LR_OK;
}

static int part_open(part *p, const char *path)
{
    memset(p, 0, sizeof *p);
    p->path = path;
    p->file = -1;
    struct stat sb;
    if (stat(path, &sb) != 0) LR_ERRORF(LR_EIO, "%s: cannot read: %s", path, strerror(errno));
    lr_h5_quiet();
    if (H5Fis_hdf5(path) <= 0 || (p->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        LR_ERRORF(LR_EDATA, "%s: not a readable HDF5 file (truncated or damaged part?)", path);
    char *schema = lr_h5_get_attr_str(p->file, "schema");
    int ok = schema && !strcmp(schema, LR_RESULTS_SCHEMA);
    free(schema);
    if (!ok) LR_ERRORF(LR_EDATA, "%s: not an lrlab results file (root attribute schema != %s)", path, LR_RESULTS_SCHEMA);
    p->shard = lr_h5_get_attr_str(p->file, "shard");
    if (!p->shard)
        LR_ERRORF(LR_EDATA, "%s: not a part file (no root attribute shard): it was written by a whole run, "
                  "not by lrlab run --shard I/N", path);
    p->config = lr_h5_get_attr_str(p->file, "config");
    p->sha = lr_h5_get_attr_str(p->file, "config_sha256");
    p->config_file = lr_h5_get_attr_str(p->file, "config_file");
    double total = NAN;
    if (!p->config || !p->sha || lr_h5_get_attr_f64(p->file, "units_total", &total) != LR_OK || !(total >= 0))
        LR_ERRORF(LR_EDATA, "%s: the part's root attributes config, config_sha256 or units_total are missing", path);
    p->units_total = (long long)total;
    LR_TRY(read_units(p));
    if (lr_h5_read_table(p->file, "trials", &p->trials) != LR_OK ||
        lr_h5_read_table(p->file, "timings", &p->timings) != LR_OK)
        LR_ERRORF(LR_EDATA, "%s: cannot read /trials or /timings (truncated or damaged part file)", path);
    return LR_OK;
}

/* Copy part p's rows into the run, checking its units; owner[u] names the part that
 * holds unit u. */
static int part_place(lr_run *run, part *p, const part **owner)
{
    size_t rpu = run->rows_per_unit, ncols = run->trials->ncols;
    if ((size_t)p->units_total != run->nunits)
        LR_ERRORF(LR_EDATA, "%s: the part is of a run of %lld trials, the config gives %zu", p->path,
                  p->units_total, run->nunits);
    if (p->trials->nrows != p->nunits * rpu || p->timings->nrows != p->trials->nrows)
        LR_ERRORF(LR_EDATA, "%s: /units lists %zu trials (%zu rows), but /trials has %zu rows and /timings %zu "
                  "(damaged part file)", p->path, p->nunits, p->nunits * rpu, p->trials->nrows, p->timings->nrows);
    if (p->trials->ncols != ncols)
        LR_ERRORF(LR_EDATA, "%s: /trials has %zu columns, this lrlab's run of its config %zu (another lrlab "
                  "version?)", p->path, p->trials->ncols, ncols);
    /* Columns by name; name cells through the run's own dictionaries (a file's order of
     * names need not be the run's). */
    int *map = malloc(ncols * sizeof(int));
    if (!map) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t c = 0; c < ncols; c++) {
        map[c] = lr_table_col(p->trials, run->trials->cols[c].name);
        if (map[c] < 0) {
            free(map);
            LR_ERRORF(LR_EDATA, "%s: /trials lacks the column %s", p->path, run->trials->cols[c].name);
        }
    }
    int fit = lr_table_col(p->timings, "fit_seconds"), unit = lr_table_col(p->timings, "unit_seconds");
    int status = fit < 0 || unit < 0
                     ? lr_error(LR_EDATA, __FILE__, __LINE__, "%s: /timings lacks fit_seconds or unit_seconds", p->path)
                     : LR_OK;
    for (size_t k = 0; k < p->nunits && status == LR_OK; k++) {
        double uv = p->units[k];
        if (!(uv >= 0) || uv >= (double)run->nunits || uv != floor(uv)) {
            status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: /units[%zu] = %g is not a trial of this run (0 to %zu)",
                              p->path, k, uv, run->nunits - 1);
            break;
        }
        size_t u = (size_t)uv;
        if (owner[u]) {
            status = lr_error(LR_EDATA, __FILE__, __LINE__,
                              "%s: trial %zu (point %zu, trial %zu) is also in %s: a unit must be in exactly one "
                              "part (the same shard twice?)", p->path, u, u / run->ntrials, u % run->ntrials,
                              owner[u]->path);
            break;
        }
        owner[u] = p;
        for (size_t r = 0; r < rpu && status == LR_OK; r++) {
            const double *src = lr_table_row(p->trials, k * rpu + r);
            double *dst = lr_table_row(run->trials, u * rpu + r);
            for (size_t c = 0; c < ncols; c++) {
                double v = src[map[c]];
                if (run->trials->cols[c].type == LR_COL_NAME && !isnan(v)) {
                    int d = lr_table_dict_index(run->trials, c, lr_table_name_at(p->trials, k * rpu + r, (size_t)map[c]));
                    if (d < 0) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
                    v = d;
                }
                dst[c] = v;
            }
            run->seconds[u * rpu + r] = lr_table_row(p->timings, k * rpu + r)[fit];
        }
        run->unit_seconds[u] = lr_table_row(p->timings, k * rpu)[unit];
    }
    free(map);
    return status;
}

int lr_merge_parts(const char *const *paths, size_t nparts, const char *out, int force, const char *command_line)
{
    if (nparts == 0) LR_ERROR(LR_EINVAL, "lrlab merge: no part files given");
    struct stat sb;
    if (!force && stat(out, &sb) == 0)
        LR_ERRORF(LR_EEXIST, "%s exists: use --force to overwrite it or -o to write elsewhere", out);
    part *parts = calloc(nparts, sizeof *parts);
    if (!parts) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t i = 0; i < nparts; i++) parts[i].file = -1;
    lr_run run_s, *run = &run_s;
    memset(run, 0, sizeof *run);
    const part **owner = NULL;
    int status = LR_OK;
    for (size_t i = 0; i < nparts && status == LR_OK; i++) {
        status = part_open(&parts[i], paths[i]);
        if (status == LR_OK && strcmp(parts[i].sha, parts[0].sha))
            status = lr_error(LR_ECONFIG, __FILE__, __LINE__,
                              "%s: made from a different resolved config than %s (config SHA-256 %.16s..., not "
                              "%.16s...): parts of one run only", paths[i], paths[0], parts[i].sha, parts[0].sha);
    }
    /* The run, set up from the parts' config as --resume would set it up. */
    if (status == LR_OK) {
        lr_run_options opt;
        memset(&opt, 0, sizeof opt);
        opt.config_text = parts[0].config;
        opt.config_path = parts[0].config_file ? parts[0].config_file : paths[0];
        opt.quiet_notes = 1;
        status = lr_run_setup(run, &opt);
        char sha[72];
        if (status == LR_OK) {
            lr_sha256_hex(lr_config_text(run->cfg), sha);
            if (strcmp(sha, parts[0].sha))
                status = lr_error(LR_EDATA, __FILE__, __LINE__,
                                  "%s: its stored config does not resolve to its own SHA-256 (%.16s..., now %.16s...): "
                                  "written by another lrlab version?", paths[0], parts[0].sha, sha);
        }
        if (status == LR_OK) status = lr_run_alloc_rows(run);
        if (status == LR_OK && !(owner = calloc(run->nunits ? run->nunits : 1, sizeof *owner)))
            status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        for (size_t i = 0; i < nparts && status == LR_OK; i++) status = part_place(run, &parts[i], owner);
        /* Every unit exactly once: name the first missing one and the shard it belongs to. */
        for (size_t u = 0; u < run->nunits && status == LR_OK; u++) {
            if (owner[u]) continue;
            size_t missing = 0;
            for (size_t v = u; v < run->nunits; v++) missing += !owner[v];
            unsigned si = 0, sn = 0;
            if (sscanf(parts[0].shard, "%u/%u", &si, &sn) == 2 && sn > 0)
                status = lr_error(LR_EDATA, __FILE__, __LINE__,
                                  "%zu of %zu trials are in no part, the first trial %zu (point %zu, trial %zu) of "
                                  "shard %zu/%u: merge needs every shard (is a part missing, or unfinished?)",
                                  missing, run->nunits, u, u / run->ntrials, u % run->ntrials, u % sn, sn);
            else
                status = lr_error(LR_EDATA, __FILE__, __LINE__, "%zu of %zu trials are in no part, the first trial %zu",
                                  missing, run->nunits, u);
        }
        if (status == LR_OK) {
            double wall = 0, w;
            for (size_t i = 0; i < nparts; i++)
                if (lr_h5_get_attr_f64(parts[i].file, "wall_seconds", &w) == LR_OK && isfinite(w)) wall += w;
            run->dist.merged_parts = nparts;
            run->dist.shard_count = 0;
            opt.command_line = command_line;
            char tmp[4200];
            snprintf(tmp, sizeof tmp, "%s.tmp", out);
            status = lr_run_write(run, &opt, out, NULL, tmp, parts[0].sha, wall);
        }
    }
    for (size_t i = 0; i < nparts; i++) part_close(&parts[i]);
    free(parts);
    free(owner);
    lr_run_release(run);
    return status;
}
