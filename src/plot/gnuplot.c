/* gnuplot runner, data blocks and curve sets for lrlab's figures (see gnuplot.h). */
#include "plot/gnuplot.h"

#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libconfig.h>

#include "core/error.h"
#include "lrlab_config.h"

extern char **environ;

int lr_gp_plots_dir(const char *probe, char *buf, size_t len)
{
    const char *cands[] = {getenv("LRLAB_PLOTS_DIR"), LR_SRC_PLOTS_DIR, LR_DATA_PLOTS_DIR};
    for (size_t i = 0; i < 3; i++) {
        char path[4200];
        if (!cands[i]) continue;
        snprintf(path, sizeof path, "%s/%s", cands[i], probe);
        if (access(path, R_OK) == 0 && (size_t)snprintf(buf, len, "%s", cands[i]) < len) return LR_OK;
    }
    LR_ERRORF(LR_EIO, "cannot find the gnuplot scripts (plots/%s); set LRLAB_PLOTS_DIR", probe);
}

/* ---- session ---- */

int lr_gp_session_open(lr_gp_session *s)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/lrlab-plot-XXXXXX");
    if (!mkdtemp(s->dir)) {
        s->dir[0] = '\0';
        LR_ERRORF(LR_EIO, "cannot create a temporary directory: %s", strerror(errno));
    }
    return LR_OK;
}

void lr_gp_session_close(lr_gp_session *s)
{
    if (!s->dir[0]) return;
    DIR *d = opendir(s->dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(s->dir);
    s->dir[0] = '\0';
}

FILE *lr_gp_session_fopen(const lr_gp_session *s, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    FILE *f = fopen(path, "w");
    if (!f) lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot create: %s", path, strerror(errno));
    return f;
}

/* ---- variables ---- */

void lr_gp_vars_init(lr_gp_vars *v) { memset(v, 0, sizeof *v); }

void lr_gp_vars_free(lr_gp_vars *v)
{
    free(v->text);
    memset(v, 0, sizeof *v);
}

void lr_gp_vars_clear(lr_gp_vars *v)
{
    v->len = 0;
    if (v->text) v->text[0] = '\0';
    v->status = LR_OK;
}

/* Append n bytes of s. */
static void vars_put(lr_gp_vars *v, const char *s, size_t n)
{
    if (v->status != LR_OK) return;
    if (v->len + n + 1 > v->cap) {
        size_t cap = v->cap ? v->cap : 1024;
        while (cap < v->len + n + 1) cap *= 2;
        char *t = realloc(v->text, cap);
        if (!t) {
            v->status = LR_ENOMEM;
            return;
        }
        v->text = t, v->cap = cap;
    }
    memcpy(v->text + v->len, s, n);
    v->len += n;
    v->text[v->len] = '\0';
}

static void vars_name(lr_gp_vars *v, const char *name)
{
    if (v->len) vars_put(v, "; ", 2);
    vars_put(v, name, strlen(name));
    vars_put(v, "=", 1);
}

void lr_gp_vars_str(lr_gp_vars *v, const char *name, const char *value)
{
    vars_name(v, name);
    vars_put(v, "'", 1);
    for (const char *p = value; *p; p++) {
        if (*p == '\'') vars_put(v, "''", 2);
        else vars_put(v, p, 1);
    }
    vars_put(v, "'", 1);
}

void lr_gp_vars_num(lr_gp_vars *v, const char *name, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    vars_name(v, name);
    vars_put(v, buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* ---- running gnuplot ---- */

int lr_gp_run(const char *plots_dir, const char *script, const lr_gp_vars *v)
{
    if (v->status != LR_OK) LR_ERRORF(v->status, "out of memory building gnuplot's variables for %s", script);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", plots_dir, script);
    const char *vars = v->text ? v->text : "";
    if (getenv("LRLAB_DEBUG_PLOT")) fprintf(stderr, "'%s' -e \"%s\" '%s'\n", LR_GNUPLOT, vars, path);
    int fd[2];
    if (pipe(fd) != 0) LR_ERRORF(LR_EIO, "cannot run gnuplot (%s): %s", LR_GNUPLOT, strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 2);
    posix_spawn_file_actions_addclose(&fa, fd[1]);
    char *argv[] = {(char *)LR_GNUPLOT, (char *)"-e", (char *)vars, path, NULL};
    pid_t pid;
    int e = posix_spawnp(&pid, LR_GNUPLOT, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (e != 0) {
        close(fd[0]);
        LR_ERRORF(LR_EIO, "cannot run gnuplot (%s): %s", LR_GNUPLOT, strerror(e));
    }
    char out[4096];
    size_t used = 0;
    for (;;) {
        char buf[1024];
        ssize_t r = read(fd[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        size_t take = (size_t)r < sizeof out - 1 - used ? (size_t)r : sizeof out - 1 - used;
        memcpy(out + used, buf, take);
        used += take;
    }
    out[used] = '\0';
    close(fd[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        LR_ERRORF(LR_EIO, "gnuplot failed on %s: %s", path, used ? out : "(no output)");
    return LR_OK;
}

/* ---- colours, tics, names ---- */

/* Sixteen colours distinct in print and for the common colour-vision deficiencies as far as
 * sixteen can be; the first eight are the compressors of the synthetic studies. */
static const char *const palette[16] = {"#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c",
                                        "#8c564b", "#555555", "#c51b8a", "#7f9a1b", "#17becf", "#393b79",
                                        "#ff7f0e", "#b8860b", "#9467bd", "#2f4f4f"};

const char *lr_gp_colour(int i) { return palette[((i % 16) + 16) % 16]; }

int lr_gp_compressor_colour(const char *name)
{
    /* Fixed, not first-seen: svd_w is blue and dd_rank red whichever experiment or method
     * list draws them. */
    static const struct {
        const char *name;
        int colour;
    } map[] = {{"svd_w", 0},        {"dd_rank", 1},      {"whiten", 2},     {"act_scaled", 3},
               {"dd_nuc", 4},       {"dd_svt", 5},       {"rsvd_w", 6},     {"relu_naive", 7},
               {"relu_cvx", 8},     {"relu_cvx_sq", 9},  {"uniform", 11},   {"energy", 10},
               {"global", 13},      {"alds_proxy", 12},  {"alds_l2", 14},   {"alds_sqrtk", 15},
               {"alds_true", 1},    {"data_driven", 7}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i].name, name)) return map[i].colour;
    unsigned h = 2166136261u; /* FNV-1a: the same colour for a new name in every figure */
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return (int)(h % 16);
}

void lr_gp_compressor_colours(const char *names, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (const char *p = names; *p && len < cap;) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (!n) break;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
        len += (size_t)snprintf(out + len, cap - len, "%s ", lr_gp_colour(lr_gp_compressor_colour(name)));
        p += n;
    }
    if (len >= cap) out[0] = '\0';
}

/* ---- the plot.* keys ---- */

void lr_plot_style_read(const char *config_text, lr_plot_style *st)
{
    snprintf(st->y, sizeof st->y, "err_fro");
    snprintf(st->legend, sizeof st->legend, "below");
    st->width = st->height = 0;
    st->font = 7;
    if (!config_text) return;
    config_t cf;
    config_init(&cf);
    if (config_read_string(&cf, config_text) == CONFIG_TRUE) {
        const char *s = NULL;
        if (config_lookup_string(&cf, "plot.y", &s) == CONFIG_TRUE) snprintf(st->y, sizeof st->y, "%s", s);
        if (config_lookup_string(&cf, "plot.legend", &s) == CONFIG_TRUE)
            snprintf(st->legend, sizeof st->legend, "%s", s);
        /* An integer literal (width = 7) is a real key's value too. */
        const char *reals[3] = {"plot.width", "plot.height", "plot.font"};
        double *dst[3] = {&st->width, &st->height, &st->font};
        for (int k = 0; k < 3; k++) {
            double d;
            int i;
            if (config_lookup_float(&cf, reals[k], &d) == CONFIG_TRUE) *dst[k] = d;
            else if (config_lookup_int(&cf, reals[k], &i) == CONFIG_TRUE) *dst[k] = i;
        }
    }
    config_destroy(&cf);
}

void lr_gp_vars_style(lr_gp_vars *v, const lr_plot_style *st, const char *plots_dir)
{
    lr_gp_vars_str(v, "plotsdir", plots_dir);
    lr_gp_vars_num(v, "pw", "%g", st->width);
    lr_gp_vars_num(v, "ph", "%g", st->height);
    lr_gp_vars_num(v, "fs", "%g", st->font);
    lr_gp_vars_str(v, "legend", st->legend);
}

/* ---- one figure ---- */

int lr_gp_figure(const lr_gp_session *gs, const char *plots_dir, const lr_plot_style *style, const char *script,
                 const char *stem, const char *fig, const char *title, const char *const *files, size_t nfiles,
                 const char *what, const char *columns, const lr_gp_vars *own, FILE *log)
{
    static const char *const fmts[2] = {"pdf", "png"};
    if (own && own->status != LR_OK) return lr_error(own->status, __FILE__, __LINE__, "out of memory");
    char path[4200], gp[256];
    snprintf(path, sizeof path, "%s_%s.tsv", stem, fig);
    snprintf(gp, sizeof gp, "%s.gp", script);
    int status = lr_gp_export_tsv(gs, files, nfiles, what, columns, path);
    lr_gp_vars v;
    lr_gp_vars_init(&v);
    for (int fm = 0; fm < 2 && status == LR_OK; fm++) {
        snprintf(path, sizeof path, "%s_%s.%s", stem, fig, fmts[fm]);
        lr_gp_vars_clear(&v);
        lr_gp_vars_style(&v, style, plots_dir);
        lr_gp_vars_str(&v, "dir", gs->dir);
        lr_gp_vars_str(&v, "out", path);
        lr_gp_vars_str(&v, "fmt", fmts[fm]);
        lr_gp_vars_str(&v, "title", title);
        if (own && own->len) {
            vars_put(&v, "; ", 2);
            vars_put(&v, own->text, own->len);
        }
        status = lr_gp_run(plots_dir, gp, &v);
    }
    lr_gp_vars_free(&v);
    if (status == LR_OK && log) fprintf(log, "lrlab: wrote %s_%s.{pdf,png,tsv}\n", stem, fig);
    return status;
}

/* ---- data export ---- */

int lr_gp_export_tsv(const lr_gp_session *gs, const char *const *files, size_t nfiles, const char *what,
                     const char *columns, const char *path)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) LR_ERRORF(LR_EIO, "%s: path too long", path);
    FILE *out = fopen(tmp, "w");
    if (!out) LR_ERRORF(LR_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    fprintf(out, "# %s\nfile\tseries\t%s\n", what, columns);
    int status = LR_OK;
    for (size_t i = 0; i < nfiles && status == LR_OK; i++) {
        char in_path[4200], base[256], series[512] = "", line[8192];
        snprintf(in_path, sizeof in_path, "%s/%s", gs->dir, files[i]);
        snprintf(base, sizeof base, "%s", files[i]);
        char *dot = strrchr(base, '.');
        if (dot) *dot = '\0';
        FILE *in = fopen(in_path, "r");
        if (!in) {
            status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot read: %s", in_path, strerror(errno));
            break;
        }
        while (fgets(line, sizeof line, in)) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] == '"') { /* a block's title line: "title" ["key"], named by the key if any */
                char *end = strchr(line + 1, '"'), *key = end ? strchr(end + 1, '"') : NULL;
                char *kend = key ? strchr(key + 1, '"') : NULL;
                const char *from = kend ? key + 1 : line + 1;
                int n = (int)(kend ? kend - key - 1 : end ? end - line - 1 : (long)strlen(line + 1));
                snprintf(series, sizeof series, "%.*s", n, from);
                continue;
            }
            if (!line[0] || (!series[0] && !strncmp(line, "nan ", 4))) continue; /* an empty set's block */
            fprintf(out, "%s\t%s", base, series);
            char *save = NULL;
            for (char *tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
                fprintf(out, "\t%s", tok);
            fputc('\n', out);
        }
        fclose(in);
    }
    if (fclose(out) != 0 && status == LR_OK) status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot write", tmp);
    if (status == LR_OK && rename(tmp, path) != 0)
        status = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (status != LR_OK) unlink(tmp);
    return status;
}

static int cmp_x(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

void lr_gp_tics(const double *x, size_t n, size_t max, char *out, size_t cap)
{
    double xs[64];
    size_t m = 0;
    out[0] = '\0';
    if (max > 64) max = 64;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < m && xs[j] != x[i]) j++;
        if (j < m) continue;
        if (m == max) return;
        xs[m++] = x[i];
    }
    qsort(xs, m, sizeof xs[0], cmp_x);
    size_t len = 0;
    for (size_t j = 0; j < m && len < cap; j++)
        len += (size_t)snprintf(out + len, cap - len, "%s%g", j ? " " : "", xs[j]);
    if (len >= cap) out[0] = '\0';
}

int lr_gp_names_index(lr_gp_names *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], name)) return (int)i;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return l->status = LR_ENOMEM, -1;
        l->v = v, l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(name))) return l->status = LR_ENOMEM, -1;
    return (int)l->n++;
}

void lr_gp_names_free(lr_gp_names *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ---- curve sets ---- */

lr_gp_curve *lr_gp_curves_get(lr_gp_curves *s, const char *key, const char *title, int colour,
                              int point_type)
{
    size_t max = s->max ? s->max : 256;
    if (s->n >= max - 1 || s->status != LR_OK) return NULL;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->c[i].key, key)) return &s->c[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        lr_gp_curve *c = realloc(s->c, cap * sizeof *c);
        if (!c) return s->status = LR_ENOMEM, NULL;
        s->c = c, s->cap = cap;
    }
    lr_gp_curve *c = &s->c[s->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->key, sizeof c->key, "%s", key);
    snprintf(c->title, sizeof c->title, "%s", title);
    c->colour = colour;
    c->point_type = point_type;
    return c;
}

int lr_gp_curves_has_prefix(const lr_gp_curves *s, const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < s->n; i++)
        if (!strncmp(s->c[i].key, prefix, n) && s->c[i].key[n] == '|') return 1;
    return 0;
}

void lr_gp_curve_add(lr_gp_curves *s, lr_gp_curve *c, double x, double y, double lo, double hi)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        double *r = realloc(c->rows, cap * 5 * sizeof(double));
        if (!r) {
            s->status = LR_ENOMEM;
            return;
        }
        c->rows = r, c->cap = cap;
    }
    double *r = c->rows + 5 * c->n++;
    r[0] = x, r[1] = y, r[2] = lo, r[3] = hi, r[4] = c->colour;
}

void lr_gp_curve_sort(lr_gp_curve *c)
{
    if (c->n > 1) qsort(c->rows, c->n, 5 * sizeof(double), cmp_x); /* rows is NULL while n = 0 */
}

int lr_gp_curves_write(const lr_gp_session *gs, const char *name, lr_gp_curves *s)
{
    if (s->status != LR_OK) LR_ERRORF(s->status, "out of memory collecting the curves of %s", name);
    FILE *f = lr_gp_session_fopen(gs, name);
    if (!f) return LR_EIO;
    /* An empty set still gets one block (no title, no points): gnuplot fails on a loop
     * over no blocks that reads columnheader when it comes first, so the scripts loop
     * over max(n, 1) blocks. */
    if (!s->n) fprintf(f, "\"\" \"\"\nnan nan nan nan 0\n\n\n");
    for (size_t i = 0; i < s->n; i++) {
        lr_gp_curve *c = &s->c[i];
        lr_gp_curve_sort(c);
        /* The key second: the legend title may be empty, the data export names the curve by it. */
        fprintf(f, "\"%s\" \"%s\"\n", c->title, c->key);
        for (size_t j = 0; j < c->n; j++) {
            const double *r = c->rows + 5 * j;
            fprintf(f, "%.10g %.10g %.10g %.10g %d\n", r[0], r[1], r[2], r[3], c->colour);
        }
        fprintf(f, "\n\n");
    }
    if (fclose(f) != 0) LR_ERRORF(LR_EIO, "%s/%s: cannot write", gs->dir, name);
    return LR_OK;
}

void lr_gp_vars_curve_words(lr_gp_vars *v, const char *name, const lr_gp_curves *s, int points)
{
    vars_name(v, name);
    vars_put(v, "'", 1);
    if (!s->n) vars_put(v, points ? "1" : "#000000", points ? 1 : 7);
    for (size_t i = 0; i < s->n; i++) {
        char w[32];
        int n = points ? snprintf(w, sizeof w, "%d ", s->c[i].point_type)
                       : snprintf(w, sizeof w, "%s ", lr_gp_colour(s->c[i].colour));
        vars_put(v, w, (size_t)n);
    }
    vars_put(v, "'", 1);
}

void lr_gp_curves_clear(lr_gp_curves *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->c[i].rows);
    s->n = 0;
}

void lr_gp_curves_free(lr_gp_curves *s)
{
    lr_gp_curves_clear(s);
    free(s->c);
    memset(s, 0, sizeof *s);
}
