/* `lrlab compare A.h5 B.h5 [C.h5 ...]`: runs of one experiment side by side.
 *
 * Everything comes from the files' /trials tables, for every experiment kind alike: a row's
 * identity is its sweep coordinates (the /trials columns of the /axes, the seed's aside),
 * its compressor and its rank (k_target, rank_index), and where the experiment has them its
 * stage, layer and budget (real_layers, alds), never its row index; the trials of one
 * identity are a group.  For each group and each side the command prints the trials, the
 * median of each chosen metric with its distribution-free 95% interval (run/compare.h), and
 * for each bound (a /trials column b with its flag column b_held) how often it held, with
 * the Wilson 95% interval.  Against the first side (A) a median is flagged when it differs
 * by more than the relative tolerance --tol AND the two medians' intervals do not overlap
 * (beyond the noise and beyond what matters), a coverage when the Wilson intervals do not
 * overlap.  Groups found on one side only are listed.  The resolved configs (stored in each
 * file, defaults included) are diffed key by key.
 *
 * Sides.  Each file is a side, and a file with a swept seed is one side per seed, unless
 * the files are seeds or shards of some sweeps: with --seeds pooled the files whose configs
 * agree apart from `seed` form one side (their trials concatenated, a swept seed's values
 * too).  The default, auto, pools when that leaves at least two sides to compare (seeds of
 * config X against seeds of config Y) and separates otherwise (seeds of one config against
 * each other).
 *
 * Exit status: 0 when the comparison was printed (differences are results, not errors), 1
 * when a file cannot be read, is not a results file, or the files are runs of different
 * experiments; 2 for a usage error. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/stats.h"
#include "io/h5.h"
#include "io/results_file.h"
#include "run/compare.h"
#include "run/table.h"

static const char compare_help[] =
    "usage: lrlab compare A.h5 B.h5 [C.h5 ...] [--columns COL,...] [--tol T]\n"
    "                     [--seeds auto|pooled|separate] [--flagged]\n"
    "\n"
    "Runs of one experiment side by side: each file's provenance, the differences of their\n"
    "resolved configs key by key, then per point (sweep coordinates, compressor, rank) the\n"
    "trials, the median of each metric with its 95% interval, and each bound's coverage\n"
    "(held/n, Wilson 95% interval), for each side.  Against side A, a median is flagged '*'\n"
    "when |B - A| > T max(|A|, |B|) and the medians' 95% intervals do not overlap; a\n"
    "coverage '!' when the Wilson intervals do not overlap.  Points of one side only are\n"
    "listed.  Exit status 0 when compared (differences are not errors), 1 when a file\n"
    "cannot be read or the runs are of different experiments.\n"
    "\n"
    "  --columns COL,...  the /trials columns whose medians are compared (default, those that\n"
    "                     hold numbers of: recovery err_fro, err_heldout_rel; real_layers\n"
    "                     err_fro, err_heldout_rel, accuracy; alds eps, accuracy; ntk ck_err,\n"
    "                     ntk_err, acc_comp)\n"
    "  --tol T            relative tolerance of the median flag (default 0.05)\n"
    "  --seeds MODE       pooled: files whose configs differ only in `seed` are one side,\n"
    "                     their trials (and a swept seed's) pooled; separate: every file,\n"
    "                     and every seed of a file with a swept seed, is a side; auto (the\n"
    "                     default): pooled if that leaves two sides or more, else separate\n"
    "  --flagged          print only the points with a flag\n"
    "\n"
    "Examples:\n"
    "  lrlab compare results/thm1_s1.h5 results/thm1_s2.h5\n"
    "  lrlab compare x_s1.h5 x_s2.h5 y_s1.h5 y_s2.h5     # config x against y, seeds pooled\n"
    "  lrlab compare a.h5 b.h5 --columns err_fro,err_weight --tol 0.1\n";

#define LEVEL 0.95
#define MAX_METRICS 32

/* ---- the files ---- */

typedef struct cmp_file {
    const char *path;
    lr_results_file rf;
    lr_table *trials;
    lr_flat_config cfg;
    char *git, *version;
    int seed_col;       /* the /trials column of a swept seed, else -1 */
    double *seeds;      /* the file's seeds (a swept seed's values, or the root attribute) */
    size_t nseeds;
    char **axis_cols;   /* the /trials columns of the sweep axes, the seed's aside */
    size_t naxis_cols;
    char *config_noseed; /* the flattened config without `seed`: which files pool */
} cmp_file;

static void file_free(cmp_file *f)
{
    lr_table_free(f->trials);
    lr_flat_config_free(&f->cfg);
    free(f->git);
    free(f->version);
    free(f->seeds);
    for (size_t i = 0; i < f->naxis_cols; i++) free(f->axis_cols[i]);
    free(f->axis_cols);
    free(f->config_noseed);
    if (f->rf.path) lr_results_close(&f->rf);
}

/* The axes of the file (their /trials columns and paths). */
static int read_axes(cmp_file *f)
{
    hid_t file = f->rf.file;
    if (H5Lexists(file, "axes", H5P_DEFAULT) <= 0) return LR_OK;
    for (int a = 0; a < 10000; a++) {
        char name[32];
        snprintf(name, sizeof name, "axes/%d", a);
        if (H5Lexists(file, name, H5P_DEFAULT) <= 0) break;
        hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
        if (ds < 0) break;
        char *col = lr_h5_get_attr_str(ds, "column"), *path = lr_h5_get_attr_str(ds, "path");
        H5Dclose(ds);
        int is_seed = path && !strcmp(path, "seed");
        free(path);
        if (!col || !col[0] || is_seed || lr_table_col(f->trials, col) < 0) {
            free(col);
            continue;
        }
        char **p = realloc(f->axis_cols, (f->naxis_cols + 1) * sizeof *p);
        if (!p) {
            free(col);
            LR_ERROR(LR_ENOMEM, "out of memory");
        }
        f->axis_cols = p;
        f->axis_cols[f->naxis_cols++] = col;
    }
    return LR_OK;
}

/* The seeds: the distinct values of a swept seed's /trials column, in their order. */
static int read_seeds(cmp_file *f)
{
    const char *sv = lr_flat_config_get(&f->cfg, "seed");
    int swept = sv && (sv[0] == '[' || sv[0] == '(' || sv[0] == '{');
    f->seed_col = swept ? lr_table_col(f->trials, "seed") : -1;
    f->seeds = malloc((f->seed_col >= 0 ? f->trials->nrows + 1 : 1) * sizeof *f->seeds);
    if (!f->seeds) LR_ERROR(LR_ENOMEM, "out of memory");
    if (f->seed_col < 0) {
        f->seeds[0] = f->rf.seed;
        f->nseeds = 1;
        return LR_OK;
    }
    for (size_t r = 0; r < f->trials->nrows; r++) {
        double s = lr_table_row(f->trials, r)[f->seed_col];
        size_t i = 0;
        while (i < f->nseeds && f->seeds[i] != s) i++;
        if (i == f->nseeds) f->seeds[f->nseeds++] = s;
    }
    return LR_OK;
}

static int file_open(const char *path, cmp_file *f)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->seed_col = -1;
    if (access(path, R_OK) != 0) LR_ERRORF(LR_EIO, "%s: cannot read: %s", path, strerror(errno));
    LR_TRY(lr_results_open(path, &f->rf));
    if (H5Lexists(f->rf.file, "trials", H5P_DEFAULT) <= 0)
        LR_ERRORF(LR_EDATA, "%s: no /trials table: not a complete results file", path);
    if (lr_h5_read_table(f->rf.file, "trials", &f->trials) != LR_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lr_last_error());
        LR_ERRORF(LR_EDATA, "%s: %s", path, msg);
    }
    if (!f->rf.experiment || !f->rf.experiment[0])
        LR_ERRORF(LR_EDATA, "%s: the root attribute 'experiment' is missing", path);
    LR_TRY(lr_config_flatten(f->rf.config, path, &f->cfg));
    f->git = lr_h5_get_attr_str(f->rf.file, "git_revision");
    f->version = lr_h5_get_attr_str(f->rf.file, "lrlab_version");
    LR_TRY(read_axes(f));
    LR_TRY(read_seeds(f));
    size_t len = 1;
    for (size_t i = 0; i < f->cfg.n; i++) len += strlen(f->cfg.key[i]) + strlen(f->cfg.val[i]) + 4;
    if (!(f->config_noseed = malloc(len))) LR_ERROR(LR_ENOMEM, "out of memory");
    size_t used = 0;
    f->config_noseed[0] = '\0';
    for (size_t i = 0; i < f->cfg.n; i++)
        if (strcmp(f->cfg.key[i], "seed"))
            used += (size_t)snprintf(f->config_noseed + used, len - used, "%s = %s\n", f->cfg.key[i], f->cfg.val[i]);
    return LR_OK;
}

/* ---- sides ---- */

typedef struct cmp_part {
    size_t file;
    int one_seed; /* only the rows of `seed` (a swept seed, separated) */
    double seed;
} cmp_part;

typedef struct cmp_side {
    cmp_part *parts;
    size_t nparts;
    char name[24]; /* A, B, ..., Z, S27 */
} cmp_side;

typedef enum { SEEDS_AUTO, SEEDS_POOLED, SEEDS_SEPARATE } seeds_mode;

static int side_add(cmp_side *s, size_t file, int one_seed, double seed)
{
    cmp_part *p = realloc(s->parts, (s->nparts + 1) * sizeof *p);
    if (!p) LR_ERROR(LR_ENOMEM, "out of memory");
    s->parts = p;
    s->parts[s->nparts++] = (cmp_part){file, one_seed, seed};
    return LR_OK;
}

static size_t pooled_side_count(const cmp_file *files, size_t nf)
{
    size_t n = 0;
    for (size_t i = 0; i < nf; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) seen = !strcmp(files[i].config_noseed, files[j].config_noseed);
        n += !seen;
    }
    return n;
}

static int make_sides(const cmp_file *files, size_t nf, seeds_mode mode, cmp_side **out, size_t *nout)
{
    if (mode == SEEDS_AUTO) mode = pooled_side_count(files, nf) >= 2 ? SEEDS_POOLED : SEEDS_SEPARATE;
    size_t cap = 0;
    for (size_t i = 0; i < nf; i++) cap += files[i].nseeds;
    cmp_side *sides = calloc(cap + 1, sizeof *sides);
    if (!sides) LR_ERROR(LR_ENOMEM, "out of memory");
    size_t ns = 0;
    int status = LR_OK;
    for (size_t i = 0; status == LR_OK && i < nf; i++) {
        if (mode == SEEDS_SEPARATE) {
            for (size_t k = 0; status == LR_OK && k < files[i].nseeds; k++)
                status = side_add(&sides[ns++], i, files[i].seed_col >= 0, files[i].seeds[k]);
            continue;
        }
        size_t s = 0;
        while (s < ns && strcmp(files[sides[s].parts[0].file].config_noseed, files[i].config_noseed)) s++;
        if (s == ns) ns++;
        status = side_add(&sides[s], i, 0, 0);
    }
    for (size_t s = 0; s < ns; s++) {
        if (s < 26) snprintf(sides[s].name, sizeof sides[s].name, "%c", (char)('A' + s));
        else snprintf(sides[s].name, sizeof sides[s].name, "S%zu", s + 1);
    }
    *out = sides;
    *nout = ns;
    return status;
}

static void sides_free(cmp_side *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) free(s[i].parts);
    free(s);
}

/* The seeds of a side, "7" or "[7, 8]", into buf. */
static void side_seeds(const cmp_file *files, const cmp_side *s, char *buf, size_t len)
{
    double seen[256];
    size_t n = 0, used = 0;
    for (size_t p = 0; p < s->nparts; p++) {
        const cmp_file *f = &files[s->parts[p].file];
        for (size_t k = 0; k < f->nseeds; k++) {
            double v = s->parts[p].one_seed ? s->parts[p].seed : f->seeds[k];
            size_t i = 0;
            while (i < n && seen[i] != v) i++;
            if (i == n && n < 256) seen[n++] = v;
            if (s->parts[p].one_seed) break;
        }
    }
    buf[0] = '\0';
    if (n != 1) used += (size_t)snprintf(buf, len, "[");
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%.0f", i ? ", " : "", seen[i]);
    if (n != 1 && used < len) snprintf(buf + used, len - used, "]");
}

/* ---- groups: the rows of one identity ---- */

static const char *const identity_cols[] = {"compressor", "k_target", "rank_index", "stage", "layer", "budget"};
enum { N_IDENTITY = sizeof identity_cols / sizeof identity_cols[0] };

typedef struct key_cols {
    char **name; /* axis columns (union over the files), then the identity columns present */
    size_t n, naxis;
} key_cols;

static int key_cols_add(key_cols *k, const char *name)
{
    for (size_t i = 0; i < k->n; i++)
        if (!strcmp(k->name[i], name)) return LR_OK;
    char **p = realloc(k->name, (k->n + 1) * sizeof *p);
    if (!p) LR_ERROR(LR_ENOMEM, "out of memory");
    k->name = p;
    if (!(k->name[k->n] = strdup(name))) LR_ERROR(LR_ENOMEM, "out of memory");
    k->n++;
    return LR_OK;
}

static int key_cols_build(const cmp_file *files, size_t nf, key_cols *k)
{
    memset(k, 0, sizeof *k);
    for (size_t i = 0; i < nf; i++)
        for (size_t a = 0; a < files[i].naxis_cols; a++) LR_TRY(key_cols_add(k, files[i].axis_cols[a]));
    for (size_t c = 0; c < N_IDENTITY; c++)
        for (size_t i = 0; i < nf; i++)
            if (lr_table_col(files[i].trials, identity_cols[c]) >= 0) LR_TRY(key_cols_add(k, identity_cols[c]));
    /* An identity column that is also an axis (alds: budget) stays among the axes. */
    k->naxis = 0;
    for (size_t i = 0; i < k->n; i++) {
        int axis = 0;
        for (size_t f = 0; f < nf && !axis; f++)
            for (size_t a = 0; a < files[f].naxis_cols && !axis; a++) axis = !strcmp(files[f].axis_cols[a], k->name[i]);
        if (axis) k->naxis = i + 1;
    }
    return LR_OK;
}

static void key_cols_free(key_cols *k)
{
    for (size_t i = 0; i < k->n; i++) free(k->name[i]);
    free(k->name);
}

/* A number as a key: exact (every digit), so that only equal values match. */
static void key_number(double v, char *buf, size_t len)
{
    if (isnan(v)) snprintf(buf, len, "nan");
    else snprintf(buf, len, "%.17g", v);
}

typedef struct entry {
    char *key;
    size_t side, file, row, seq;
} entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The key of one row: "v1\x1fv2\x1f..." over the key columns. */
static char *row_key(const cmp_file *f, const key_cols *k, const int *cols, size_t row)
{
    size_t cap = 64, used = 0;
    char *s = malloc(cap);
    for (size_t i = 0; s && i < k->n; i++) {
        char num[64];
        const char *text;
        if (cols[i] < 0) text = "-";
        else if (f->trials->cols[cols[i]].type == LR_COL_NAME) text = lr_table_name_at(f->trials, row, (size_t)cols[i]);
        else {
            key_number(lr_table_row(f->trials, row)[cols[i]], num, sizeof num);
            text = num;
        }
        size_t n = strlen(text);
        if (used + n + 2 > cap) {
            cap = (used + n + 2) * 2;
            char *p = realloc(s, cap);
            if (!p) {
                free(s);
                return NULL;
            }
            s = p;
        }
        memcpy(s + used, text, n);
        used += n;
        s[used++] = '\x1f';
    }
    if (s) s[used] = '\0';
    return s;
}

typedef struct group {
    size_t first, count; /* entries[first .. first + count), sorted by seq */
    size_t seq;          /* first appearance */
} group;

static int group_cmp(const void *a, const void *b)
{
    const group *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- statistics of one group on one side ---- */

typedef struct median_stat {
    size_t n;
    double med, lo, hi;
} median_stat;

typedef struct cover_stat {
    size_t n, held;
    double lo, hi;
} cover_stat;

static median_stat metric_stat(const cmp_file *files, const entry *e, size_t ne, size_t side, const char *col,
                               double *buf)
{
    median_stat m = {0, NAN, NAN, NAN};
    size_t n = 0;
    for (size_t i = 0; i < ne; i++) {
        if (e[i].side != side) continue;
        const cmp_file *f = &files[e[i].file];
        int c = lr_table_col(f->trials, col);
        if (c < 0) continue;
        double v = lr_table_row(f->trials, e[i].row)[c];
        if (isfinite(v)) buf[n++] = v;
    }
    if (!n) return m;
    lr_sort(buf, n);
    m.n = n;
    m.med = lr_quantile_sorted(buf, n, 0.5);
    lr_median_interval(buf, n, LEVEL, &m.lo, &m.hi);
    return m;
}

static cover_stat cover(const cmp_file *files, const entry *e, size_t ne, size_t side, const char *bound)
{
    cover_stat s = {0, 0, NAN, NAN};
    char col[300];
    snprintf(col, sizeof col, "%s_held", bound);
    for (size_t i = 0; i < ne; i++) {
        if (e[i].side != side) continue;
        const cmp_file *f = &files[e[i].file];
        int c = lr_table_col(f->trials, col);
        if (c < 0) continue;
        double h = lr_table_row(f->trials, e[i].row)[c];
        if (!(h >= 0)) continue;
        s.n++;
        s.held += h > 0;
    }
    if (s.n) lr_wilson_interval(s.held, s.n, LEVEL, &s.lo, &s.hi);
    return s;
}

static size_t side_rows(const entry *e, size_t ne, size_t side)
{
    size_t n = 0;
    for (size_t i = 0; i < ne; i++) n += e[i].side == side;
    return n;
}

/* ---- what is compared ---- */

typedef struct cmp_args {
    const char **paths;
    size_t npaths;
    const char *columns[MAX_METRICS];
    size_t ncolumns;
    double tol;
    seeds_mode seeds;
    int flagged;
} cmp_args;

/* The metrics a researcher reads first in each experiment's report; an experiment not
 * listed gets the standard error columns. */
static const struct {
    const char *experiment;
    const char *metrics[4];
} default_metrics[] = {
    {"recovery", {"err_fro", "err_heldout_rel"}},
    {"real_layers", {"err_fro", "err_heldout_rel", "accuracy"}},
    {"alds", {"eps", "accuracy"}},
    {"ntk", {"ck_err", "ntk_err", "acc_comp"}},
    {NULL, {"err_fro", "err_heldout_rel"}},
};

/* Whether column `col` of some file holds a finite number. */
static int has_numbers(const cmp_file *files, size_t nf, const char *col)
{
    for (size_t i = 0; i < nf; i++) {
        int c = lr_table_col(files[i].trials, col);
        if (c < 0 || files[i].trials->cols[c].type == LR_COL_NAME) continue;
        for (size_t r = 0; r < files[i].trials->nrows; r++)
            if (isfinite(lr_table_row(files[i].trials, r)[c])) return 1;
    }
    return 0;
}

static int choose_metrics(const cmp_file *files, size_t nf, const cmp_args *a, const char **out, size_t *n)
{
    *n = 0;
    if (a->ncolumns) {
        for (size_t j = 0; j < a->ncolumns; j++) {
            const char *col = a->columns[j];
            for (size_t i = 0; i < nf; i++) {
                int c = lr_table_col(files[i].trials, col);
                if (c < 0 || files[i].trials->cols[c].type == LR_COL_NAME) {
                    char names[4096];
                    size_t used = 0;
                    const lr_table *t = files[i].trials;
                    for (size_t k = 0; k < t->ncols && used < sizeof names; k++)
                        if (t->cols[k].type != LR_COL_NAME)
                            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? " " : "",
                                                     t->cols[k].name);
                    LR_ERRORF(LR_EDATA, "%s: /trials has no numeric column '%s' (--columns; its numeric columns: %s)",
                              files[i].path, col, names);
                }
            }
            out[(*n)++] = col;
        }
        return LR_OK;
    }
    size_t e = 0;
    while (default_metrics[e].experiment && strcmp(default_metrics[e].experiment, files[0].rf.experiment)) e++;
    for (size_t j = 0; j < 4 && default_metrics[e].metrics[j]; j++)
        if (has_numbers(files, nf, default_metrics[e].metrics[j])) out[(*n)++] = default_metrics[e].metrics[j];
    return LR_OK;
}

/* The bounds: a /trials column b next to a flag column b_held, in some file. */
static int choose_bounds(const cmp_file *files, size_t nf, char ***out, size_t *n)
{
    *n = 0;
    *out = NULL;
    for (size_t i = 0; i < nf; i++) {
        const lr_table *t = files[i].trials;
        for (size_t c = 0; c < t->ncols; c++) {
            const char *nm = t->cols[c].name;
            size_t len = strlen(nm);
            if (len <= 5 || strcmp(nm + len - 5, "_held") || t->cols[c].type != LR_COL_FLAG) continue;
            char b[256];
            snprintf(b, sizeof b, "%.*s", (int)(len - 5), nm);
            if (lr_table_col(t, b) < 0) continue;
            int dup = 0;
            for (size_t k = 0; k < *n; k++) dup |= !strcmp((*out)[k], b);
            if (dup) continue;
            char **p = realloc(*out, (*n + 1) * sizeof *p);
            if (!p) LR_ERROR(LR_ENOMEM, "out of memory");
            *out = p;
            if (!((*out)[*n] = strdup(b))) LR_ERROR(LR_ENOMEM, "out of memory");
            (*n)++;
        }
    }
    return LR_OK;
}

/* ---- printing ---- */

#define CELL 32

static void print_header(const cmp_file *files, const cmp_side *sides, size_t ns)
{
    for (size_t s = 0; s < ns; s++) {
        char seeds[512];
        side_seeds(files, &sides[s], seeds, sizeof seeds);
        printf("%-2s seed%s %s", sides[s].name, seeds[0] == '[' ? "s" : "", seeds);
        if (sides[s].nparts > 1) printf(", %zu files pooled", sides[s].nparts);
        printf("\n");
        for (size_t p = 0; p < sides[s].nparts; p++) {
            const cmp_file *f = &files[sides[s].parts[p].file];
            if (p && sides[s].parts[p].file == sides[s].parts[p - 1].file) continue;
            printf("   %s: experiment %s%s%s, config %s (sha256 %.16s...), seed%s %s\n", f->path, f->rf.experiment,
                   f->rf.name && f->rf.name[0] ? ": " : "", f->rf.name ? f->rf.name : "",
                   f->rf.config_file ? f->rf.config_file : "?", f->rf.config_sha256 ? f->rf.config_sha256 : "?",
                   f->seed_col >= 0 ? "s" : "", lr_flat_config_get(&f->cfg, "seed") ? lr_flat_config_get(&f->cfg, "seed") : "?");
            printf("      lrlab %s (git %s), %s, %.0f trials per point, %zu /trials rows\n", f->version ? f->version : "?",
                   f->git && f->git[0] ? f->git : "unknown", f->rf.utc_time ? f->rf.utc_time : "?", f->rf.trials,
                   f->trials->nrows);
        }
    }
}

/* The resolved configs key by key: every key where some side differs from A. */
static size_t print_config_diff(const cmp_file *files, const cmp_side *sides, size_t ns)
{
    const lr_flat_config *ref = &files[sides[0].parts[0].file].cfg;
    size_t nkeys = 0, ndiff = 0, wkey = 3;
    /* The keys of A in order, then those only other sides have. */
    const char **keys = malloc((ref->n + 1) * sizeof *keys);
    for (size_t i = 0; keys && i < ref->n; i++) keys[nkeys++] = ref->key[i];
    for (size_t s = 1; keys && s < ns; s++) {
        const lr_flat_config *c = &files[sides[s].parts[0].file].cfg;
        for (size_t i = 0; i < c->n; i++) {
            if (lr_flat_config_get(ref, c->key[i])) continue;
            int dup = 0;
            for (size_t k = ref->n; k < nkeys; k++) dup |= !strcmp(keys[k], c->key[i]);
            if (dup) continue;
            const char **p = realloc(keys, (nkeys + 1) * sizeof *p);
            if (!p) break;
            keys = p;
            keys[nkeys++] = c->key[i];
        }
    }
    if (!keys) {
        printf("config differences: (out of memory)\n");
        return 0;
    }
    char (*seeds)[512] = calloc(ns, sizeof *seeds);
    for (size_t s = 0; seeds && s < ns; s++) side_seeds(files, &sides[s], seeds[s], sizeof seeds[s]);
    unsigned char *differs = calloc(nkeys + 1, 1);
    for (size_t k = 0; differs && k < nkeys; k++) {
        const char *v0 = NULL;
        for (size_t s = 0; s < ns; s++) {
            const char *v = !strcmp(keys[k], "seed") && seeds ? seeds[s]
                                                               : lr_flat_config_get(&files[sides[s].parts[0].file].cfg, keys[k]);
            if (!v) v = "(absent)";
            if (s == 0) v0 = v;
            else if (strcmp(v, v0)) differs[k] = 1;
        }
        if (differs[k]) {
            ndiff++;
            if (strlen(keys[k]) > wkey) wkey = strlen(keys[k]);
        }
    }
    if (ndiff == 0) {
        printf("\nconfigs: the same resolved config (%zu keys)\n", nkeys);
    } else {
        printf("\nconfig differences (resolved configs, key by key): %zu of %zu keys\n", ndiff, nkeys);
        /* Each side's column as wide as its widest value, within 8 .. 40. */
        int *w = calloc(ns, sizeof *w);
        for (size_t s = 0; w && s < ns; s++) {
            w[s] = 8;
            for (size_t k = 0; k < nkeys; k++) {
                if (!differs[k]) continue;
                const char *v = !strcmp(keys[k], "seed") && seeds
                                    ? seeds[s]
                                    : lr_flat_config_get(&files[sides[s].parts[0].file].cfg, keys[k]);
                int len = (int)strlen(v ? v : "(absent)");
                if (len > w[s]) w[s] = len > 40 ? 40 : len;
            }
        }
#define WIDTH(s) ((s) + 1 < ns && w ? w[s] : 0)
        printf("  %-*s", (int)wkey, "key");
        for (size_t s = 0; s < ns; s++) printf("  %-*s", WIDTH(s), sides[s].name);
        printf("\n");
        for (size_t k = 0; differs && k < nkeys; k++) {
            if (!differs[k]) continue;
            printf("  %-*s", (int)wkey, keys[k]);
            for (size_t s = 0; s < ns; s++) {
                const char *v = !strcmp(keys[k], "seed") && seeds
                                    ? seeds[s]
                                    : lr_flat_config_get(&files[sides[s].parts[0].file].cfg, keys[k]);
                printf("  %-*s", WIDTH(s), v ? v : "(absent)");
            }
            printf("\n");
        }
#undef WIDTH
        free(w);
    }
    free(differs);
    free(seeds);
    free(keys);
    return ndiff;
}

/* A key's label: "sigma=0.001 r=2  dd_rank k=2 layer=..." from the key columns. */
static void group_label(const cmp_file *files, const entry *e, const key_cols *k, char *buf, size_t len)
{
    const cmp_file *f = &files[e->file];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < k->n && used < len; i++) {
        int c = lr_table_col(f->trials, k->name[i]);
        if (c < 0) continue;
        const char *nm = k->name[i];
        if (!strcmp(nm, "rank_index")) continue; /* k_target says it; kept in the key */
        char val[128];
        if (f->trials->cols[c].type == LR_COL_NAME) snprintf(val, sizeof val, "%s", lr_table_name_at(f->trials, e->row, (size_t)c));
        else {
            double v = lr_table_row(f->trials, e->row)[c];
            if (!strcmp(nm, "k_target") && !(v >= 0)) continue; /* rows without a rank (alds, ntk) */
            if (isnan(v)) continue;
            snprintf(val, sizeof val, "%g", v);
        }
        const char *sep = used == 0 ? "" : i == k->naxis ? "  " : " ";
        if (!strcmp(nm, "compressor")) used += (size_t)snprintf(buf + used, len - used, "%s%s", sep, val);
        else if (!strcmp(nm, "k_target")) used += (size_t)snprintf(buf + used, len - used, "%sk=%s", sep, val);
        else used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", sep, nm, val);
    }
}

static int overlap(double alo, double ahi, double blo, double bhi) { return !(ahi < blo || bhi < alo); }

typedef struct counts {
    size_t medians, medians_flagged, covers, covers_flagged, printed;
} counts;

/* One group: returns whether anything was flagged; prints it unless --flagged and none. */
static int print_group(const cmp_file *files, size_t ns, const cmp_side *sides, const entry *e, size_t ne,
                       const key_cols *k, const char *const *metrics, size_t nm, char *const *bounds, size_t nb,
                       const cmp_args *a, double *buf, counts *cnt)
{
    char label[1024];
    group_label(files, &e[0], k, label, sizeof label);
    /* Everything first, printed after, so --flagged can skip a quiet group. */
    size_t nlines = 1 + nm + nb, ncells = nlines * ns;
    char (*cell)[64] = calloc(ncells, sizeof *cell);
    char (*tail)[48] = calloc(nlines, sizeof *tail);
    char (*name)[128] = calloc(nlines, sizeof *name);
    unsigned char *show = calloc(nlines, 1);
    if (!cell || !tail || !name || !show) {
        free(cell), free(tail), free(name), free(show);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    int flagged = 0;
    snprintf(name[0], sizeof name[0], "trials");
    show[0] = 1;
    for (size_t s = 0; s < ns; s++) snprintf(cell[s], sizeof cell[s], "%zu", side_rows(e, ne, s));
    for (size_t m = 0; m < nm; m++) {
        size_t line = 1 + m;
        snprintf(name[line], sizeof name[line], "%s median", metrics[m]);
        median_stat ref = metric_stat(files, e, ne, 0, metrics[m], buf);
        for (size_t s = 0; s < ns; s++) {
            median_stat st = s ? metric_stat(files, e, ne, s, metrics[m], buf) : ref;
            char *c = cell[line * ns + s];
            if (!st.n) {
                snprintf(c, 64, "-");
                continue;
            }
            show[line] = 1;
            int flag = 0;
            if (s && ref.n) {
                double scale = fmax(fabs(ref.med), fabs(st.med));
                flag = fabs(st.med - ref.med) > a->tol * scale && !overlap(ref.lo, ref.hi, st.lo, st.hi);
                cnt->medians++;
                cnt->medians_flagged += flag;
                flagged |= flag;
                if (ns == 2 && ref.med != 0)
                    snprintf(tail[line], sizeof tail[line], "B/A %.4g", st.med / ref.med);
            }
            snprintf(c, 64, "%.4g [%.3g, %.3g]%s", st.med, st.lo, st.hi, flag ? " *" : "");
        }
    }
    for (size_t b = 0; b < nb; b++) {
        size_t line = 1 + nm + b;
        snprintf(name[line], sizeof name[line], "%s held", bounds[b]);
        cover_stat ref = cover(files, e, ne, 0, bounds[b]);
        for (size_t s = 0; s < ns; s++) {
            cover_stat st = s ? cover(files, e, ne, s, bounds[b]) : ref;
            char *c = cell[line * ns + s];
            if (!st.n) {
                snprintf(c, 64, "-");
                continue;
            }
            show[line] = 1;
            int flag = 0;
            if (s && ref.n) {
                flag = !overlap(ref.lo, ref.hi, st.lo, st.hi);
                cnt->covers++;
                cnt->covers_flagged += flag;
                flagged |= flag;
            }
            snprintf(c, 64, "%zu/%zu [%.3f, %.3f]%s", st.held, st.n, st.lo, st.hi, flag ? " !" : "");
        }
    }
    if (!a->flagged || flagged) {
        cnt->printed++;
        printf("\n%s%s\n", label, flagged ? "   <- differs" : "");
        for (size_t l = 0; l < nlines; l++) {
            if (!show[l]) continue;
            printf("    %-22s", name[l]);
            for (size_t s = 0; s < ns; s++)
                printf(" %-*s", s + 1 < ns || tail[l][0] ? CELL : 0, cell[l * ns + s]);
            printf("%s%s\n", tail[l][0] ? " " : "", tail[l]);
        }
    }
    free(show);
    free(cell);
    free(tail);
    free(name);
    return flagged;
}

/* ---- arguments ---- */

static int usage_error(const char *fmt, const char *arg)
{
    fputs("lrlab compare: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(see lrlab compare --help)\n", stderr);
    return 2;
}

static int parse_args(int argc, char **argv, cmp_args *a)
{
    memset(a, 0, sizeof *a);
    a->tol = 0.05;
    a->paths = calloc((size_t)argc + 1, sizeof *a->paths);
    if (!a->paths) return usage_error("%s", "out of memory");
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(compare_help, stdout);
            return 0;
        }
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *val = NULL;
        const char *opts[] = {"--columns", "--tol", "--seeds"};
        int opt = -1;
        for (int k = 0; k < 3; k++) {
            size_t n = strlen(opts[k]);
            if (!strncmp(s, opts[k], n) && (s[n] == '\0' || s[n] == '=')) {
                opt = k;
                if (s[n] == '=') val = s + n + 1;
            }
        }
        if (!strcmp(s, "--flagged")) {
            a->flagged = 1;
            continue;
        }
        if (opt < 0 && s[0] == '-' && s[1]) {
            fprintf(stderr, "lrlab compare: unknown option '%s' (known: --columns, --tol, --seeds, --flagged)\n%s", s,
                    compare_help);
            return 2;
        }
        if (opt < 0) {
            a->paths[a->npaths++] = s;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) return usage_error("option '%s' needs a value", s);
            val = argv[++i];
        }
        if (opt == 0) {
            char *copy = strdup(val), *save = NULL;
            if (!copy) return usage_error("%s", "out of memory");
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (a->ncolumns == MAX_METRICS) {
                    free(copy);
                    return usage_error("--columns: at most 32 columns (%s)", val);
                }
                a->columns[a->ncolumns++] = strdup(t);
            }
            free(copy);
            if (!a->ncolumns) return usage_error("--columns '%s' names no column", val);
        } else if (opt == 1) {
            char *end;
            double t = strtod(val, &end);
            if (!*val || *end || !(t >= 0) || !isfinite(t))
                return usage_error("--tol '%s': give a relative tolerance >= 0 (e.g. 0.05)", val);
            a->tol = t;
        } else {
            if (!strcmp(val, "auto")) a->seeds = SEEDS_AUTO;
            else if (!strcmp(val, "pooled")) a->seeds = SEEDS_POOLED;
            else if (!strcmp(val, "separate")) a->seeds = SEEDS_SEPARATE;
            else return usage_error("--seeds '%s': give auto, pooled or separate", val);
        }
    }
    if (a->npaths == 0) {
        fputs(compare_help, stderr);
        return 2;
    }
    return -1;
}

/* ---- the command ---- */

static int compare_files(cmp_file *files, size_t nf, const cmp_args *a)
{
    for (size_t i = 1; i < nf; i++)
        if (strcmp(files[i].rf.experiment, files[0].rf.experiment))
            LR_ERRORF(LR_EDATA,
                      "%s is a run of experiment %s and %s of experiment %s: compare needs runs of one experiment",
                      files[0].path, files[0].rf.experiment, files[i].path, files[i].rf.experiment);
    cmp_side *sides = NULL;
    size_t ns = 0;
    int status = make_sides(files, nf, a->seeds, &sides, &ns);
    if (status == LR_OK && ns < 2)
        status = lr_error(LR_EINVAL, __FILE__, __LINE__,
                          "%s: nothing to compare it with: give two results files or more (or one with a swept "
                          "seed and --seeds separate)",
                          files[0].path);
    key_cols k = {0};
    const char *metrics[MAX_METRICS];
    size_t nm = 0, nb = 0;
    char **bounds = NULL;
    entry *ent = NULL;
    group *groups = NULL;
    size_t nent = 0, ngroups = 0;
    double *buf = NULL;
    if (status == LR_OK) status = key_cols_build(files, nf, &k);
    if (status == LR_OK) status = choose_metrics(files, nf, a, metrics, &nm);
    if (status == LR_OK) status = choose_bounds(files, nf, &bounds, &nb);
    /* Every row of every side, keyed. */
    size_t cap = 0;
    for (size_t s = 0; s < ns; s++)
        for (size_t p = 0; p < sides[s].nparts; p++) cap += files[sides[s].parts[p].file].trials->nrows;
    if (status == LR_OK && !(ent = calloc(cap + 1, sizeof *ent)))
        status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory for %zu rows", cap);
    for (size_t s = 0; status == LR_OK && s < ns; s++)
        for (size_t p = 0; status == LR_OK && p < sides[s].nparts; p++) {
            const cmp_part *part = &sides[s].parts[p];
            const cmp_file *f = &files[part->file];
            int *cols = malloc((k.n + 1) * sizeof *cols);
            if (!cols) {
                status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
                break;
            }
            for (size_t i = 0; i < k.n; i++) cols[i] = lr_table_col(f->trials, k.name[i]);
            for (size_t r = 0; r < f->trials->nrows; r++) {
                if (part->one_seed && lr_table_row(f->trials, r)[f->seed_col] != part->seed) continue;
                char *key = row_key(f, &k, cols, r);
                if (!key) {
                    status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
                    break;
                }
                ent[nent] = (entry){key, s, part->file, r, nent};
                nent++;
            }
            free(cols);
        }
    /* Pooled files of one side that share a seed hold the same draws twice: say so. */
    for (size_t s = 0; status == LR_OK && s < ns; s++)
        for (size_t p = 0; p < sides[s].nparts; p++)
            for (size_t q = 0; q < p; q++) {
                const cmp_file *f = &files[sides[s].parts[p].file], *g = &files[sides[s].parts[q].file];
                for (size_t i = 0; i < f->nseeds; i++)
                    for (size_t j = 0; j < g->nseeds; j++)
                        if (f->seeds[i] == g->seeds[j] && f != g)
                            fprintf(stderr, "lrlab compare: note: %s and %s both hold seed %.0f: side %s pools the "
                                            "same trials twice\n", g->path, f->path, f->seeds[i], sides[s].name);
            }
    if (status == LR_OK) {
        qsort(ent, nent, sizeof *ent, entry_cmp);
        groups = calloc(nent + 1, sizeof *groups);
        if (!groups) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        for (size_t i = 0; status == LR_OK && i < nent; i++) {
            if (i == 0 || strcmp(ent[i].key, ent[i - 1].key)) groups[ngroups++] = (group){i, 0, ent[i].seq};
            groups[ngroups - 1].count++;
        }
        if (status == LR_OK) qsort(groups, ngroups, sizeof *groups, group_cmp);
        size_t largest = 0;
        for (size_t g = 0; g < ngroups; g++) largest = groups[g].count > largest ? groups[g].count : largest;
        if (status == LR_OK && !(buf = malloc((largest + 1) * sizeof *buf)))
            status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    }
    if (status == LR_OK) {
        printf("lrlab compare: %zu run%s of experiment %s, %zu sides\n", nf, nf == 1 ? "" : "s", files[0].rf.experiment,
               ns);
        print_header(files, sides, ns);
        print_config_diff(files, sides, ns);
        /* Which groups every side has. */
        size_t matched = 0;
        size_t *only = calloc(ns + 1, sizeof *only);
        unsigned char *in = calloc(ns + 1, 1);
        for (size_t g = 0; only && in && g < ngroups; g++) {
            memset(in, 0, ns);
            for (size_t i = 0; i < groups[g].count; i++) in[ent[groups[g].first + i].side] = 1;
            size_t c = 0;
            for (size_t s = 0; s < ns; s++) c += in[s];
            matched += c == ns;
        }
        printf("\npoints (sweep coordinates, compressor, rank): %zu on every side, %zu on some only%s\n", matched,
               ngroups - matched, matched ? "" : " (the runs share no point: see the config differences)");
        printf("metrics: median");
        for (size_t m = 0; m < nm; m++) printf("%s %s", m ? "," : "", metrics[m]);
        if (!nm) printf(" (none)");
        printf(" with its distribution-free 95%% interval; bounds: held/n [Wilson 95%%]%s\n", nb ? "" : " (none)");
        printf("flags against A: '*' a median: |B - A| > tol max(|A|, |B|) with tol = %g (--tol), and the medians'\n"
               "                 95%% intervals apart; '!' a coverage: the Wilson intervals apart\n", a->tol);
        printf("\n%-26s", "");
        for (size_t s = 0; s < ns; s++) printf(" %-*s", s + 1 < ns ? CELL : 0, sides[s].name);
        printf("\n");
        counts cnt = {0};
        size_t nflagged = 0;
        for (size_t g = 0; status == LR_OK && g < ngroups; g++) {
            memset(in, 0, ns);
            for (size_t i = 0; i < groups[g].count; i++) in[ent[groups[g].first + i].side] = 1;
            size_t c = 0;
            for (size_t s = 0; s < ns; s++) c += in[s];
            if (c < ns) continue;
            /* The group's entries sorted by seq: its label from the first row. */
            entry *e = ent + groups[g].first;
            int f = print_group(files, ns, sides, e, groups[g].count, &k, metrics, nm, bounds, nb, a, buf, &cnt);
            nflagged += f > 0;
        }
        /* The groups some sides lack. */
        for (size_t s = 0; only && in && s < ns; s++) {
            size_t n = 0;
            for (size_t g = 0; g < ngroups; g++) {
                memset(in, 0, ns);
                for (size_t i = 0; i < groups[g].count; i++) in[ent[groups[g].first + i].side] = 1;
                if (in[s]) continue;
                char label[1024];
                group_label(files, &ent[groups[g].first], &k, label, sizeof label);
                if (n == 0) printf("\nnot in %s:\n", sides[s].name);
                if (n < 40) {
                    printf("    %s   (in", label);
                    for (size_t t = 0; t < ns; t++)
                        if (in[t]) printf(" %s", sides[t].name);
                    printf(")\n");
                }
                n++;
            }
            if (n > 40) printf("    ... and %zu more\n", n - 40);
            only[s] = n;
        }
        printf("\nsummary: %zu points compared, %zu flagged; medians: %zu of %zu flagged (tol %g); coverages: %zu of "
               "%zu flagged",
               matched, nflagged, cnt.medians_flagged, cnt.medians, a->tol, cnt.covers_flagged, cnt.covers);
        for (size_t s = 0; only && s < ns; s++)
            if (only[s]) printf("; %zu points not in %s", only[s], sides[s].name);
        printf("\n");
        free(only);
        free(in);
        if (fflush(stdout) != 0 || ferror(stdout))
            status = lr_error(LR_EIO, __FILE__, __LINE__, "cannot write the comparison to standard output");
    }
    for (size_t i = 0; ent && i < nent; i++) free(ent[i].key);
    free(ent);
    free(groups);
    free(buf);
    for (size_t b = 0; b < nb; b++) free(bounds[b]);
    free(bounds);
    key_cols_free(&k);
    sides_free(sides, ns);
    return status;
}

int lr_cmd_compare(int argc, char **argv)
{
    cmp_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        for (size_t j = 0; j < a.ncolumns; j++) free((char *)a.columns[j]);
        free(a.paths);
        return rc;
    }
    cmp_file *files = calloc(a.npaths, sizeof *files);
    int status = files ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    size_t nopen = 0;
    for (size_t i = 0; status == LR_OK && i < a.npaths; i++) {
        status = file_open(a.paths[i], &files[i]);
        nopen = i + 1;
    }
    if (status == LR_OK) status = compare_files(files, a.npaths, &a);
    for (size_t i = 0; i < nopen; i++) file_free(&files[i]);
    free(files);
    free(a.paths);
    for (size_t j = 0; j < a.ncolumns; j++) free((char *)a.columns[j]);
    return status == LR_OK ? 0 : lr_cli_fail();
}
