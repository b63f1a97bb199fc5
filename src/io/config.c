/* Experiment configuration: reading libconfig files, applying command-line overrides,
 * strict validation against a schema, default filling and sweep-axis expansion.
 *
 * The libconfig tree is the single source of truth: overrides are copied into it before
 * validation, defaults are inserted into it during validation, so that the written-out
 * tree (lr_config_text) is the full resolved configuration that reproduces the run.
 * Sweep axes are expanded once into plain arrays of doubles; a sweep point is a number
 * in mixed radix over the axes (schema order, last axis fastest).
 *
 * Error messages are one line and always say where the offending value came from:
 * "file:line", "command line 'key=value'" for overrides, or "file" for a setting that
 * has no line (a default, or a group created by an override). */
#include "io/config.h"

#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *path; /* dotted path the override set */
    char *text; /* the override as given, for messages */
} ovr_rec;

typedef struct {
    char *path;
    size_t n;
    double *v;
} axis_rec;

typedef struct {
    char *path;
    size_t n;
    long *iv;
    const char **sv; /* strings owned by the libconfig tree */
    double *rv;      /* LR_KEY_REAL_LIST */
} list_rec;

struct lr_config {
    config_t lc;
    char *name; /* file name used in messages */
    ovr_rec *ovr;
    size_t novr;
    char **defaulted; /* paths filled from schema defaults */
    size_t ndefaulted;
    axis_rec *axes;
    size_t naxes;
    size_t npoints;
    list_rec *lists;
    size_t nlists;
    char *text;
    int validate_called;
    int validated;
};

/* Validation state; kept out of lr_config because it only lives during the call. */
typedef struct {
    lr_config *cfg;
    const lr_key **keys; /* all schema entries flattened, in schema order */
    size_t nkeys;
    const lr_key *const *schemas;
    size_t nschemas;
    axis_rec *slots; /* axis found for keys[i], if any */
} vctx;

/* ------------------------------------------------------------------------------------ */
/* small helpers                                                                          */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *join_path(const char *prefix, const char *name)
{
    if (!prefix || !*prefix) return xstrdup(name);
    size_t a = strlen(prefix), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, prefix, a);
    p[a] = '.';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* Whether `prefix` names `path` or one of its ancestors (component-wise, so that
 * "prob" is not a prefix of "problem"). */
static int path_has_prefix(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '.');
}

static int is_num_type(int t)
{
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 || t == CONFIG_TYPE_FLOAT;
}

static double setting_num(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT: return (double)config_setting_get_int(s);
    case CONFIG_TYPE_INT64: return (double)config_setting_get_int64(s);
    case CONFIG_TYPE_FLOAT: return config_setting_get_float(s);
    case CONFIG_TYPE_BOOL: return config_setting_get_bool(s) ? 1.0 : 0.0;
    default: return NAN;
    }
}

static const char *type_desc(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a real number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "nothing";
    }
}

/* The value as the user wrote it, for "key 'x' = <value> ..." messages. */
static void format_value(const config_setting_t *s, char *buf, size_t len)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: snprintf(buf, len, "%lld", config_setting_get_int64(s)); break;
    case CONFIG_TYPE_FLOAT: snprintf(buf, len, "%g", config_setting_get_float(s)); break;
    case CONFIG_TYPE_STRING: snprintf(buf, len, "\"%s\"", config_setting_get_string(s)); break;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, len, "%s", config_setting_get_bool(s) ? "true" : "false");
        break;
    default: snprintf(buf, len, "%s", type_desc(s)); break;
    }
}

/* libconfig setting names: a letter or '*' followed by letters, digits, '-', '_', '*'. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '*')) return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '*')) return 0;
    }
    return 1;
}

static int valid_path(const char *path)
{
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!valid_name(p, n)) return 0;
        if (!dot) return 1;
        p = dot + 1;
    }
}

/* ------------------------------------------------------------------------------------ */
/* locations for messages                                                                 */

static const ovr_rec *find_override(const lr_config *cfg, const char *path)
{
    /* The longest override covering the path wins, since a later override of a
     * sub-key is applied on top of an earlier override of its group. */
    const ovr_rec *best = NULL;
    size_t bestlen = 0;
    for (size_t i = 0; i < cfg->novr; i++) {
        size_t n = strlen(cfg->ovr[i].path);
        if (path_has_prefix(path, cfg->ovr[i].path) && (!best || n > bestlen)) {
            best = &cfg->ovr[i];
            bestlen = n;
        }
    }
    return best;
}

static int is_defaulted(const lr_config *cfg, const char *path)
{
    for (size_t i = 0; i < cfg->ndefaulted; i++)
        if (strcmp(cfg->defaulted[i], path) == 0) return 1;
    return 0;
}

/* "file:line", "command line 'k=v'" or "file": where the setting at `path` came from. */
static void locate(const lr_config *cfg, const char *path, const config_setting_t *s,
                   char *buf, size_t len)
{
    const ovr_rec *o = find_override(cfg, path);
    if (o) {
        snprintf(buf, len, "command line '%s'", o->text);
        return;
    }
    if (!is_defaulted(cfg, path) && s && config_setting_source_line(s) > 0) {
        const char *file = config_setting_source_file(s);
        snprintf(buf, len, "%s:%u", file ? file : cfg->name,
                 (unsigned)config_setting_source_line(s));
        return;
    }
    /* A group created only to hold an overridden key has no line of its own. */
    for (size_t i = 0; i < cfg->novr; i++) {
        if (path_has_prefix(cfg->ovr[i].path, path)) {
            snprintf(buf, len, "command line '%s'", cfg->ovr[i].text);
            return;
        }
    }
    snprintf(buf, len, "%s", cfg->name);
}

/* ------------------------------------------------------------------------------------ */
/* reading and overrides                                                                  */

static config_setting_t *copy_setting(config_setting_t *parent, const char *name,
                                      const config_setting_t *src)
{
    int type = config_setting_type(src);
    config_setting_t *d = config_setting_add(parent, name, type);
    if (!d) return NULL;
    int ok = CONFIG_TRUE;
    switch (type) {
    case CONFIG_TYPE_INT:
        ok = config_setting_set_int(d, config_setting_get_int(src));
        config_setting_set_format(d, config_setting_get_format(src));
        break;
    case CONFIG_TYPE_INT64:
        ok = config_setting_set_int64(d, config_setting_get_int64(src));
        config_setting_set_format(d, config_setting_get_format(src));
        break;
    case CONFIG_TYPE_FLOAT: ok = config_setting_set_float(d, config_setting_get_float(src)); break;
    case CONFIG_TYPE_BOOL: ok = config_setting_set_bool(d, config_setting_get_bool(src)); break;
    case CONFIG_TYPE_STRING:
        ok = config_setting_set_string(d, config_setting_get_string(src));
        break;
    case CONFIG_TYPE_GROUP:
    case CONFIG_TYPE_LIST:
    case CONFIG_TYPE_ARRAY: {
        int n = config_setting_length(src);
        for (int i = 0; i < n && ok; i++) {
            const config_setting_t *e = config_setting_get_elem(src, i);
            ok = copy_setting(d, type == CONFIG_TYPE_GROUP ? config_setting_name(e) : NULL, e)
                 != NULL;
        }
        break;
    }
    default: break;
    }
    return ok ? d : NULL;
}

/* libconfig's text, plus a hint for the error that sweeps like [1e-4, 0.1, 13] hit. */
static const char *parse_hint(const char *text)
{
    return text && strstr(text, "mismatched element type")
               ? " (elements of [...] must all have one type: write 13.0 for 13, or use a "
                 "list (...))"
               : "";
}

/* Parse a value in libconfig syntax; the caller destroys `scratch`.  Returns the parsed
 * setting or NULL with libconfig's error text in `why`. */
static const config_setting_t *parse_value(config_t *scratch, const char *value,
                                           const char **why)
{
    size_t n = strlen(value);
    char *text = malloc(n + 16);
    if (!text) {
        *why = "out of memory";
        return NULL;
    }
    snprintf(text, n + 16, "v = %s;", value);
    int ok = config_read_string(scratch, text);
    free(text);
    if (!ok) {
        *why = config_error_text(scratch) ? config_error_text(scratch) : "syntax error";
        return NULL;
    }
    /* "1; w = 2" would smuggle in a second setting. */
    if (config_setting_length(config_root_setting(scratch)) != 1) {
        *why = "more than one value";
        return NULL;
    }
    return config_lookup(scratch, "v");
}

/* A bare word ("gaussian", "svd_w", "runs/a.h5") stands for a string so that overrides
 * need no shell-quoted double quotes. */
static int is_bare_word(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!(isalnum(c) || strchr("_-+./:@%", c))) return 0;
    }
    return 1;
}

static int record_override(lr_config *cfg, const char *path, const char *text)
{
    /* An override of a group supersedes earlier overrides of its keys. */
    size_t j = 0;
    for (size_t i = 0; i < cfg->novr; i++) {
        if (path_has_prefix(cfg->ovr[i].path, path)) {
            free(cfg->ovr[i].path);
            free(cfg->ovr[i].text);
        } else {
            cfg->ovr[j++] = cfg->ovr[i];
        }
    }
    cfg->novr = j;
    ovr_rec *o = realloc(cfg->ovr, (cfg->novr + 1) * sizeof *o);
    if (!o) LR_ERRORF(LR_ENOMEM, "out of memory recording override '%s'", text);
    cfg->ovr = o;
    o[cfg->novr].path = xstrdup(path);
    o[cfg->novr].text = xstrdup(text);
    if (!o[cfg->novr].path || !o[cfg->novr].text) {
        free(o[cfg->novr].path);
        free(o[cfg->novr].text);
        LR_ERRORF(LR_ENOMEM, "out of memory recording override '%s'", text);
    }
    cfg->novr++;
    return LR_OK;
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && isspace((unsigned char)**b)) (*b)++;
    while (*e > *b && isspace((unsigned char)(*e)[-1])) (*e)--;
}

/* Copy `src` to `path` in the main tree, creating groups on the way and replacing what
 * was there.  `what` names the source of the value in messages. */
static int set_path(lr_config *cfg, const char *path, const config_setting_t *src,
                    const char *what)
{
    config_setting_t *g = config_root_setting(&cfg->lc);
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        if (!dot) break;
        char *name = xstrndup(p, (size_t)(dot - p));
        if (!name) LR_ERRORF(LR_ENOMEM, "%s: out of memory", what);
        config_setting_t *c = config_setting_get_member(g, name);
        if (!c) c = config_setting_add(g, name, CONFIG_TYPE_GROUP);
        if (!c || !config_setting_is_group(c)) {
            size_t n = (size_t)(dot - path);
            free(name);
            LR_ERRORF(LR_ECONFIG, "%s: key '%.*s' is %s, not a group", what, (int)n, path,
                      c ? type_desc(c) : "invalid");
        }
        free(name);
        g = c;
        p = dot + 1;
    }
    if (config_setting_get_member(g, p)) config_setting_remove(g, p);
    if (!copy_setting(g, p, src)) LR_ERRORF(LR_ECONFIG, "%s: cannot set key '%s'", what, path);
    return LR_OK;
}

static int apply_override(lr_config *cfg, const char *text)
{
    const char *eq = strchr(text, '=');
    if (!eq) LR_ERRORF(LR_ECONFIG, "command line '%s': expected key=value", text);
    const char *kb = text, *ke = eq;
    trim(&kb, &ke);
    if (kb == ke) LR_ERRORF(LR_ECONFIG, "command line '%s': empty key before '='", text);
    char *key = xstrndup(kb, (size_t)(ke - kb));
    const char *vb = eq + 1, *ve = eq + strlen(eq);
    trim(&vb, &ve);
    char *value = xstrndup(vb, (size_t)(ve - vb));
    char where[600];
    snprintf(where, sizeof where, "command line '%s'", text);
    int rc = LR_OK;
    config_t scratch;
    config_init(&scratch);
    if (!key || !value) {
        rc = lr_error(LR_ENOMEM, __FILE__, __LINE__, "%s: out of memory", where);
        goto done;
    }
    if (!valid_path(key)) {
        rc = lr_error(LR_ECONFIG, __FILE__, __LINE__,
                      "%s: '%s' is not a valid key (names are letters, digits, '_', '-', "
                      "separated by '.')",
                      where, key);
        goto done;
    }
    const char *why = NULL;
    const config_setting_t *v = parse_value(&scratch, value, &why);
    if (!v && why && !strcmp(why, "out of memory")) { /* not a reason to read a bare word */
        rc = lr_error(LR_ENOMEM, __FILE__, __LINE__, "%s: out of memory", where);
        goto done;
    }
    if (!v && is_bare_word(value)) {
        config_destroy(&scratch);
        config_init(&scratch);
        config_setting_t *s =
            config_setting_add(config_root_setting(&scratch), "v", CONFIG_TYPE_STRING);
        if (s) config_setting_set_string(s, value);
        v = s;
    }
    if (!v) {
        rc = lr_error(LR_ECONFIG, __FILE__, __LINE__, "%s: cannot parse value '%s': %s%s", where,
                      value, why ? why : "syntax error", parse_hint(why));
        goto done;
    }
    rc = set_path(cfg, key, v, where);
    if (rc == LR_OK) rc = record_override(cfg, key, text);
done:
    config_destroy(&scratch);
    free(key);
    free(value);
    return rc;
}

static int config_new(lr_config **out, const char *name)
{
    lr_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) LR_ERRORF(LR_ENOMEM, "%s: out of memory", name);
    cfg->name = xstrdup(name);
    if (!cfg->name) {
        free(cfg);
        LR_ERRORF(LR_ENOMEM, "%s: out of memory", name);
    }
    config_init(&cfg->lc);
    cfg->npoints = 1;
    *out = cfg;
    return LR_OK;
}

static int read_error(lr_config *cfg)
{
    const char *file = config_error_file(&cfg->lc);
    const char *text = config_error_text(&cfg->lc);
    LR_ERRORF(LR_ECONFIG, "%s:%d: %s%s", file ? file : cfg->name, config_error_line(&cfg->lc),
              text ? text : "syntax error", parse_hint(text));
}

static int apply_overrides(lr_config *cfg, const char *const *overrides, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!overrides[i]) LR_ERRORF(LR_EINVAL, "override %zu is NULL", i);
        LR_TRY(apply_override(cfg, overrides[i]));
    }
    return LR_OK;
}

int lr_config_read(lr_config **out, const char *path, const char *const *overrides,
                   size_t noverrides)
{
    if (!out || !path) LR_ERRORF(LR_EINVAL, "lr_config_read: NULL argument");
    *out = NULL;
    if (noverrides && !overrides) LR_ERRORF(LR_EINVAL, "lr_config_read: NULL overrides");
    /* libconfig only says "file I/O error"; check first so the message has the reason. */
    FILE *f = fopen(path, "r");
    if (!f) LR_ERRORF(LR_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int isdir = fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode);
    fclose(f);
    if (isdir) LR_ERRORF(LR_EIO, "%s: cannot open: %s", path, strerror(EISDIR));

    lr_config *cfg;
    LR_TRY(config_new(&cfg, path));
    /* @include is relative to the including file, not to the working directory. */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    if (!dir) {
        lr_config_free(cfg);
        LR_ERRORF(LR_ENOMEM, "%s: out of memory", path);
    }
    config_set_include_dir(&cfg->lc, dir);
    free(dir);
    int rc;
    if (!config_read_file(&cfg->lc, path)) {
        if (config_error_type(&cfg->lc) == CONFIG_ERR_FILE_IO && !config_error_file(&cfg->lc))
            rc = lr_error(LR_EIO, __FILE__, __LINE__, "%s: cannot open: %s", path,
                          config_error_text(&cfg->lc));
        else
            rc = read_error(cfg);
    } else {
        rc = apply_overrides(cfg, overrides, noverrides);
    }
    if (rc != LR_OK) {
        lr_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return LR_OK;
}

int lr_config_read_string(lr_config **out, const char *text, const char *name,
                          const char *const *overrides, size_t noverrides)
{
    if (!out || !text) LR_ERRORF(LR_EINVAL, "lr_config_read_string: NULL argument");
    *out = NULL;
    if (noverrides && !overrides) LR_ERRORF(LR_EINVAL, "lr_config_read_string: NULL overrides");
    lr_config *cfg;
    LR_TRY(config_new(&cfg, name ? name : "<string>"));
    int rc = config_read_string(&cfg->lc, text) ? apply_overrides(cfg, overrides, noverrides)
                                                 : read_error(cfg);
    if (rc != LR_OK) {
        lr_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return LR_OK;
}

static void free_derived(lr_config *cfg)
{
    for (size_t i = 0; i < cfg->naxes; i++) {
        free(cfg->axes[i].path);
        free(cfg->axes[i].v);
    }
    free(cfg->axes);
    cfg->axes = NULL;
    cfg->naxes = 0;
    cfg->npoints = 1;
    for (size_t i = 0; i < cfg->nlists; i++) {
        free(cfg->lists[i].path);
        free(cfg->lists[i].iv);
        free(cfg->lists[i].sv);
        free(cfg->lists[i].rv);
    }
    free(cfg->lists);
    cfg->lists = NULL;
    cfg->nlists = 0;
    free(cfg->text);
    cfg->text = NULL;
}

void lr_config_free(lr_config *cfg)
{
    if (!cfg) return;
    free_derived(cfg);
    for (size_t i = 0; i < cfg->novr; i++) {
        free(cfg->ovr[i].path);
        free(cfg->ovr[i].text);
    }
    free(cfg->ovr);
    for (size_t i = 0; i < cfg->ndefaulted; i++) free(cfg->defaulted[i]);
    free(cfg->defaulted);
    config_destroy(&cfg->lc);
    free(cfg->name);
    free(cfg);
}

const char *lr_config_peek_string(const lr_config *cfg, const char *path)
{
    if (!cfg || !path) return NULL;
    const config_setting_t *s = config_lookup(&cfg->lc, path);
    return s && config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s)
                                                             : NULL;
}

/* ------------------------------------------------------------------------------------ */
/* nearest key                                                                            */

static size_t levenshtein(const char *a, size_t la, const char *b, size_t lb)
{
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (!row) return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

static size_t max_dist(size_t len) { return len / 3 > 2 ? len / 3 : 2; }

/* Distance of `word` to the candidate path cand[0..clen): over the whole dotted path, and
 * over the last component when both live in the same group (so "problem.nosie" finds
 * "problem.noise" under the tighter per-component threshold too).  SIZE_MAX if neither
 * is within the threshold. */
static size_t candidate_dist(const char *word, const char *cand, size_t clen)
{
    size_t wl = strlen(word);
    size_t best = SIZE_MAX;
    size_t d = levenshtein(word, wl, cand, clen);
    if (d <= max_dist(wl)) best = d;
    const char *wdot = strrchr(word, '.');
    size_t wpre = wdot ? (size_t)(wdot - word) + 1 : 0;
    size_t cpre = 0;
    for (size_t i = 0; i < clen; i++)
        if (cand[i] == '.') cpre = i + 1;
    if (wpre == cpre && strncmp(word, cand, wpre) == 0) {
        size_t lw = wl - wpre;
        d = levenshtein(word + wpre, lw, cand + cpre, clen - cpre);
        if (d <= max_dist(lw) && d < best) best = d;
    }
    return best;
}

/* Nearest schema path or group prefix of one; writes it into buf, returns 0 if none. */
static int nearest_span(const lr_key *const *schemas, size_t nschemas, const char *word,
                        int with_prefixes, char *buf, size_t len)
{
    size_t best = SIZE_MAX;
    for (size_t s = 0; s < nschemas; s++) {
        if (!schemas[s]) continue;
        for (const lr_key *k = schemas[s]; k->path; k++) {
            size_t n = strlen(k->path);
            for (size_t e = with_prefixes ? 1 : n; e <= n; e++) {
                if (e < n && k->path[e] != '.') continue;
                if (strlen(word) == e && strncmp(word, k->path, e) == 0) continue;
                size_t d = candidate_dist(word, k->path, e);
                if (d < best) {
                    best = d;
                    snprintf(buf, len, "%.*s", (int)e, k->path);
                }
            }
        }
    }
    return best != SIZE_MAX;
}

const char *lr_config_nearest_key(const lr_key *const *schemas, size_t nschemas,
                                  const char *word)
{
    if (!schemas || !word) return NULL;
    char buf[512];
    if (!nearest_span(schemas, nschemas, word, 0, buf, sizeof buf)) return NULL;
    for (size_t s = 0; s < nschemas; s++) {
        if (!schemas[s]) continue;
        for (const lr_key *k = schemas[s]; k->path; k++)
            if (strcmp(k->path, buf) == 0) return k->path;
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* validation                                                                             */

static int find_key(const vctx *c, const char *path)
{
    for (size_t i = 0; i < c->nkeys; i++)
        if (strcmp(c->keys[i]->path, path) == 0) return (int)i;
    return -1;
}

static int is_key_prefix(const vctx *c, const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < c->nkeys; i++)
        if (strncmp(c->keys[i]->path, path, n) == 0 && c->keys[i]->path[n] == '.') return 1;
    return 0;
}

static int has_range(const lr_key *k)
{
    /* An all-zero range is what an omitted initializer gives: treat it as unbounded. */
    return !(k->min == 0 && k->max == 0);
}

static int check_range(const lr_key *k, double v, const char *loc, const char *what,
                       const char *shown)
{
    if (isnan(v)) LR_ERRORF(LR_ECONFIG, "%s: %s = %s is not a number", loc, what, shown);
    if (has_range(k) && (v < k->min || v > k->max))
        LR_ERRORF(LR_ECONFIG, "%s: %s = %s is out of range [%g, %g]", loc, what, shown, k->min,
                  k->max);
    return LR_OK;
}

/* One numeric value (a scalar, or an element of a list or axis) of an INT/REAL/INT_LIST
 * key.  `as_int` asks for an integer. */
static int check_number(const lr_key *k, const config_setting_t *e, int as_int,
                        const char *loc, const char *what, double *out)
{
    char shown[128];
    int t = config_setting_type(e);
    format_value(e, shown, sizeof shown);
    if (as_int && t == CONFIG_TYPE_FLOAT)
        LR_ERRORF(LR_ECONFIG, "%s: %s must be an integer, got a real number %s", loc, what,
                  shown);
    if (!is_num_type(t))
        LR_ERRORF(LR_ECONFIG, "%s: %s must be %s, got %s", loc, what,
                  as_int ? "an integer" : "a number", type_desc(e));
    double v = setting_num(e);
    LR_TRY(check_range(k, v, loc, what, shown));
    if (out) *out = v;
    return LR_OK;
}

static int in_choices(const char *choices, const char *s)
{
    size_t n = strlen(s);
    const char *p = choices;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t m = bar ? (size_t)(bar - p) : strlen(p);
        if (m == n && strncmp(p, s, n) == 0) return 1;
        if (!bar) return 0;
        p = bar + 1;
    }
}

static int check_string(const lr_key *k, const config_setting_t *e, const char *loc,
                        const char *what)
{
    if (config_setting_type(e) != CONFIG_TYPE_STRING)
        LR_ERRORF(LR_ECONFIG, "%s: %s must be a string, got %s", loc, what, type_desc(e));
    const char *s = config_setting_get_string(e);
    if (k->choices && !in_choices(k->choices, s))
        LR_ERRORF(LR_ECONFIG, "%s: %s = \"%s\" is not one of %s", loc, what, s, k->choices);
    return LR_OK;
}

/* Values of a generated axis { geom = [lo, hi, n]; } or { lin = [lo, hi, n]; }. */
static int expand_axis(const lr_key *k, const char *path, const config_setting_t *g,
                       const char *loc, axis_rec *ax)
{
    int as_int = k->type == LR_KEY_INT;
    int n = config_setting_length(g);
    const config_setting_t *m = n == 1 ? config_setting_get_elem(g, 0) : NULL;
    const char *kind = m ? config_setting_name(m) : NULL;
    if (!m || !kind || (strcmp(kind, "geom") != 0 && strcmp(kind, "lin") != 0))
        LR_ERRORF(LR_ECONFIG,
                  "%s: key '%s' is a group, so it must hold exactly one of "
                  "'geom = [lo, hi, n]' or 'lin = [lo, hi, n]'",
                  loc, path);
    int geom = strcmp(kind, "geom") == 0;
    int mt = config_setting_type(m);
    const config_setting_t *elo = NULL, *ehi = NULL, *en = NULL;
    if ((mt == CONFIG_TYPE_LIST || mt == CONFIG_TYPE_ARRAY) && config_setting_length(m) == 3) {
        elo = config_setting_get_elem(m, 0);
        ehi = config_setting_get_elem(m, 1);
        en = config_setting_get_elem(m, 2);
    }
    if (!elo || !is_num_type(config_setting_type(elo)) || !is_num_type(config_setting_type(ehi)))
        LR_ERRORF(LR_ECONFIG, "%s: key '%s.%s' must be [lo, hi, n] with numbers lo and hi", loc,
                  path, kind);
    /* libconfig arrays hold one type, so [1e-4, 0.1, 13] cannot be written: accept the
     * count as 13.0 too (or the list form (1e-4, 0.1, 13)). */
    double nv = is_num_type(config_setting_type(en)) ? setting_num(en) : NAN;
    if (!(nv >= 1) || nv != floor(nv) || nv > 1e7)
        LR_ERRORF(LR_ECONFIG, "%s: key '%s.%s' needs a count n that is an integer >= 1", loc,
                  path, kind);
    long long cnt = (long long)nv;
    double lo = setting_num(elo), hi = setting_num(ehi);
    if (!isfinite(lo) || !isfinite(hi))
        LR_ERRORF(LR_ECONFIG, "%s: key '%s.%s' needs finite lo and hi", loc, path, kind);
    if (geom && !(lo > 0 && hi > 0))
        LR_ERRORF(LR_ECONFIG, "%s: key '%s.geom' needs lo > 0 and hi > 0, got [%g, %g]", loc,
                  path, lo, hi);
    size_t len = (size_t)cnt;
    double *v = malloc(len * sizeof *v);
    if (!v) LR_ERRORF(LR_ENOMEM, "%s: out of memory expanding key '%s'", loc, path);
    for (size_t i = 0; i < len; i++) {
        double x;
        /* The ends are set exactly: pow and rounding must not move lo and hi. */
        if (i == 0)
            x = lo;
        else if (i == len - 1)
            x = hi;
        else if (geom)
            x = lo * pow(hi / lo, (double)i / (double)(len - 1));
        else
            x = lo + ((hi - lo) * (double)i) / (double)(len - 1);
        if (as_int && geom) x = round(x);
        v[i] = x;
    }
    char what[600], shown[64];
    snprintf(what, sizeof what, "key '%s' (%s axis value)", path, kind);
    for (size_t i = 0; i < len; i++) {
        snprintf(shown, sizeof shown, "%g", v[i]);
        if (as_int && v[i] != floor(v[i])) {
            free(v);
            LR_ERRORF(LR_ECONFIG, "%s: %s = %s is not an integer; choose lo, hi, n so that "
                      "the steps are whole", loc, what, shown);
        }
        if (as_int && i > 0 && v[i] == v[i - 1]) {
            free(v);
            LR_ERRORF(LR_ECONFIG,
                      "%s: key '%s' %s axis repeats the value %s after rounding to integers; "
                      "use fewer points or an explicit list",
                      loc, path, kind, shown);
        }
        int rc = check_range(k, v[i], loc, what, shown);
        if (rc) {
            free(v);
            return rc;
        }
    }
    ax->n = len;
    ax->v = v;
    return LR_OK;
}

/* Values of an explicit sweep list [a, b, c]. */
static int expand_list(const lr_key *k, const char *path, const config_setting_t *s,
                       const char *loc, axis_rec *ax)
{
    int n = config_setting_length(s);
    if (n == 0) LR_ERRORF(LR_ECONFIG, "%s: key '%s' is an empty sweep list", loc, path);
    double *v = malloc((size_t)n * sizeof *v);
    if (!v) LR_ERRORF(LR_ENOMEM, "%s: out of memory expanding key '%s'", loc, path);
    for (int i = 0; i < n; i++) {
        char what[600];
        snprintf(what, sizeof what, "key '%s' element %d", path, i + 1);
        int rc = check_number(k, config_setting_get_elem(s, i), k->type == LR_KEY_INT, loc,
                              what, &v[i]);
        if (rc) {
            free(v);
            return rc;
        }
    }
    ax->n = (size_t)n;
    ax->v = v;
    return LR_OK;
}

static int is_sweep_shape(const config_setting_t *s)
{
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY) return 1;
    if (t != CONFIG_TYPE_GROUP) return 0;
    return config_setting_get_member(s, "geom") || config_setting_get_member(s, "lin");
}

/* Type-, range- and choice-check the value `s` of key `k`; a sweep goes to `ax`. */
static int check_value(const lr_key *k, const char *path, const config_setting_t *s,
                       const char *loc, axis_rec *ax)
{
    char what[600];
    snprintf(what, sizeof what, "key '%s'", path);
    int t = config_setting_type(s);
    switch (k->type) {
    case LR_KEY_INT:
    case LR_KEY_REAL:
        if (k->sweepable) {
            if (t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY)
                return expand_list(k, path, s, loc, ax);
            if (t == CONFIG_TYPE_GROUP) return expand_axis(k, path, s, loc, ax);
        } else if (is_sweep_shape(s)) {
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' cannot be swept", loc, path);
        }
        return check_number(k, s, k->type == LR_KEY_INT, loc, what, NULL);
    case LR_KEY_BOOL:
        if (t != CONFIG_TYPE_BOOL)
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' must be true or false, got %s", loc, path,
                      type_desc(s));
        return LR_OK;
    case LR_KEY_STRING: return check_string(k, s, loc, what);
    case LR_KEY_INT_LIST:
    case LR_KEY_REAL_LIST:
    case LR_KEY_STRING_LIST: {
        if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' must be a list [...], got %s", loc, path,
                      type_desc(s));
        int n = config_setting_length(s);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, i);
            snprintf(what, sizeof what, "key '%s' element %d", path, i + 1);
            if (k->type == LR_KEY_INT_LIST) {
                LR_TRY(check_number(k, e, 1, loc, what, NULL));
                double v = setting_num(e);
                if (v < (double)LONG_MIN || v > (double)LONG_MAX)
                    LR_ERRORF(LR_ECONFIG, "%s: %s does not fit in a long", loc, what);
            } else if (k->type == LR_KEY_REAL_LIST) {
                LR_TRY(check_number(k, e, 0, loc, what, NULL));
            } else {
                LR_TRY(check_string(k, e, loc, what));
            }
        }
        return LR_OK;
    }
    case LR_KEY_GROUP:
        if (t != CONFIG_TYPE_GROUP)
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' must be a group { ... }, got %s", loc, path,
                      type_desc(s));
        return LR_OK;
    }
    LR_ERRORF(LR_EINVAL, "key '%s' has an unknown schema type %d", path, (int)k->type);
}

static int unknown_key(const vctx *c, const char *path, const char *loc)
{
    char hint[512];
    if (nearest_span(c->schemas, c->nschemas, path, 1, hint, sizeof hint))
        LR_ERRORF(LR_ECONFIG, "%s: key '%s' is not known (did you mean '%s'?)", loc, path, hint);
    LR_ERRORF(LR_ECONFIG, "%s: key '%s' is not known", loc, path);
}

static int walk(vctx *c, const config_setting_t *group, const char *prefix);

static int check_node(vctx *c, const config_setting_t *s, const char *path)
{
    char loc[600];
    locate(c->cfg, path, s, loc, sizeof loc);
    int i = find_key(c, path);
    if (i >= 0) {
        const lr_key *k = c->keys[i];
        /* Inner names of an axis group get their own "did you mean" against geom/lin. */
        if ((k->type == LR_KEY_INT || k->type == LR_KEY_REAL) && k->sweepable &&
            config_setting_is_group(s)) {
            int n = config_setting_length(s);
            for (int j = 0; j < n; j++) {
                const char *nm = config_setting_name(config_setting_get_elem(s, j));
                if (strcmp(nm, "geom") == 0 || strcmp(nm, "lin") == 0) continue;
                size_t dg = levenshtein(nm, strlen(nm), "geom", 4);
                size_t dl = levenshtein(nm, strlen(nm), "lin", 3);
                if (dg <= 2 || dl <= 2)
                    LR_ERRORF(LR_ECONFIG, "%s: key '%s.%s' is not known (did you mean '%s.%s'?)",
                              loc, path, nm, path, dg <= dl ? "geom" : "lin");
                LR_ERRORF(LR_ECONFIG,
                          "%s: key '%s.%s' is not known (an axis group holds 'geom' or 'lin')",
                          loc, path, nm);
            }
        }
        LR_TRY(check_value(k, path, s, loc, &c->slots[i]));
        if (k->type == LR_KEY_GROUP) return walk(c, s, path);
        return LR_OK;
    }
    if (is_key_prefix(c, path)) {
        if (!config_setting_is_group(s))
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' must be a group { ... }, got %s", loc, path,
                      type_desc(s));
        return walk(c, s, path);
    }
    return unknown_key(c, path, loc);
}

static int walk(vctx *c, const config_setting_t *group, const char *prefix)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, i);
        char *path = join_path(prefix, config_setting_name(s));
        if (!path) LR_ERRORF(LR_ENOMEM, "out of memory validating '%s'", prefix);
        int rc = check_node(c, s, path);
        free(path);
        if (rc) return rc;
    }
    return LR_OK;
}

/* Build the default of `k` in a scratch config; the caller destroys `scratch`. */
static int make_default(const lr_key *k, config_t *scratch, const config_setting_t **out)
{
    config_setting_t *root = config_root_setting(scratch);
    config_setting_t *s = NULL;
    *out = NULL;
    switch (k->type) {
    case LR_KEY_INT:
        if (isnan(k->def)) return LR_OK;
        if (k->def >= INT_MIN && k->def <= INT_MAX) {
            s = config_setting_add(root, "v", CONFIG_TYPE_INT);
            if (s) config_setting_set_int(s, (int)k->def);
        } else {
            s = config_setting_add(root, "v", CONFIG_TYPE_INT64);
            if (s) config_setting_set_int64(s, (long long)k->def);
        }
        break;
    case LR_KEY_REAL:
        if (isnan(k->def)) return LR_OK;
        s = config_setting_add(root, "v", CONFIG_TYPE_FLOAT);
        if (s) config_setting_set_float(s, k->def);
        break;
    case LR_KEY_BOOL:
        if (isnan(k->def)) return LR_OK;
        s = config_setting_add(root, "v", CONFIG_TYPE_BOOL);
        if (s) config_setting_set_bool(s, k->def != 0);
        break;
    case LR_KEY_STRING:
        if (!k->def_str) return LR_OK;
        s = config_setting_add(root, "v", CONFIG_TYPE_STRING);
        if (s) config_setting_set_string(s, k->def_str);
        break;
    case LR_KEY_INT_LIST:
    case LR_KEY_REAL_LIST:
    case LR_KEY_STRING_LIST: {
        if (!k->def_str) return LR_OK;
        const char *why = NULL;
        *out = parse_value(scratch, k->def_str, &why);
        if (!*out)
            LR_ERRORF(!strcmp(why, "out of memory") ? LR_ENOMEM : LR_EINVAL,
                      "schema default of key '%s' = '%s' does not parse: %s", k->path,
                      k->def_str, why);
        return LR_OK;
    }
    case LR_KEY_GROUP: return LR_OK;
    }
    if (!s) LR_ERRORF(LR_ENOMEM, "out of memory making the default of key '%s'", k->path);
    *out = s;
    return LR_OK;
}

static int fill_default(vctx *c, const lr_key *k)
{
    lr_config *cfg = c->cfg;
    if (k->required) LR_ERRORF(LR_ECONFIG, "%s: required key '%s' is missing", cfg->name, k->path);
    config_t scratch;
    config_init(&scratch);
    const config_setting_t *v;
    int rc = make_default(k, &scratch, &v);
    if (rc == LR_OK && v) {
        /* A default that fails its own checks is a schema bug; say so. */
        char loc[600];
        snprintf(loc, sizeof loc, "schema default");
        axis_rec ax = {0};
        rc = check_value(k, k->path, v, loc, &ax);
        free(ax.v);
        if (rc == LR_OK) rc = set_path(cfg, k->path, v, cfg->name);
        if (rc == LR_OK) {
            char **d = realloc(cfg->defaulted, (cfg->ndefaulted + 1) * sizeof *d);
            char *p = xstrdup(k->path);
            if (d) cfg->defaulted = d;
            if (!d || !p) {
                free(p);
                rc = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory recording the default of key '%s'", k->path);
            } else {
                cfg->defaulted[cfg->ndefaulted++] = p;
            }
        }
    }
    config_destroy(&scratch);
    return rc;
}

static int collect_axes(vctx *c)
{
    lr_config *cfg = c->cfg;
    size_t n = 0;
    for (size_t i = 0; i < c->nkeys; i++)
        if (c->slots[i].v) n++;
    if (!n) return LR_OK;
    cfg->axes = calloc(n, sizeof *cfg->axes);
    if (!cfg->axes) LR_ERRORF(LR_ENOMEM, "out of memory collecting sweep axes");
    size_t np = 1;
    for (size_t i = 0; i < c->nkeys; i++) {
        if (!c->slots[i].v) continue;
        axis_rec *a = &cfg->axes[cfg->naxes++];
        *a = c->slots[i];
        c->slots[i].v = NULL;
        a->path = xstrdup(c->keys[i]->path);
        if (!a->path) LR_ERRORF(LR_ENOMEM, "out of memory collecting sweep axes");
        if (np > SIZE_MAX / a->n)
            LR_ERRORF(LR_ECONFIG, "%s: the sweep has too many points", cfg->name);
        np *= a->n;
    }
    cfg->npoints = np;
    return LR_OK;
}

static int collect_lists(vctx *c)
{
    lr_config *cfg = c->cfg;
    cfg->lists = calloc(c->nkeys ? c->nkeys : 1, sizeof *cfg->lists);
    if (!cfg->lists) LR_ERRORF(LR_ENOMEM, "out of memory collecting lists");
    for (size_t i = 0; i < c->nkeys; i++) {
        const lr_key *k = c->keys[i];
        if (k->type != LR_KEY_INT_LIST && k->type != LR_KEY_STRING_LIST &&
            k->type != LR_KEY_REAL_LIST)
            continue;
        if (find_key(c, k->path) != (int)i) continue; /* duplicate declaration */
        const config_setting_t *s = config_lookup(&cfg->lc, k->path);
        if (!s) continue;
        list_rec *l = &cfg->lists[cfg->nlists++];
        size_t n = (size_t)config_setting_length(s);
        l->path = xstrdup(k->path);
        l->n = n;
        if (k->type == LR_KEY_INT_LIST)
            l->iv = malloc((n ? n : 1) * sizeof *l->iv);
        else if (k->type == LR_KEY_REAL_LIST)
            l->rv = malloc((n ? n : 1) * sizeof *l->rv);
        else
            l->sv = malloc((n ? n : 1) * sizeof *l->sv);
        if (!l->path || (!l->iv && !l->sv && !l->rv)) LR_ERRORF(LR_ENOMEM, "out of memory collecting lists");
        for (size_t j = 0; j < n; j++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)j);
            if (l->iv)
                l->iv[j] = (long)config_setting_get_int64(e);
            else if (l->rv)
                l->rv[j] = setting_num(e);
            else
                l->sv[j] = config_setting_get_string(e);
        }
    }
    return LR_OK;
}

static int make_text(lr_config *cfg)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) LR_ERRORF(LR_ENOMEM, "cannot write the resolved configuration: %s", strerror(errno));
    config_write(&cfg->lc, f);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        LR_ERRORF(LR_ENOMEM, "cannot write the resolved configuration");
    }
    cfg->text = buf;
    return LR_OK;
}

int lr_config_validate(lr_config *cfg, const lr_key *const *schemas, size_t nschemas)
{
    if (!cfg || (nschemas && !schemas)) LR_ERRORF(LR_EINVAL, "lr_config_validate: NULL argument");
    /* Defaults and axes are written into cfg, so a second pass would see its own output. */
    if (cfg->validate_called)
        LR_ERRORF(LR_EINVAL, "%s: lr_config_validate called twice on the same config",
                  cfg->name);
    cfg->validate_called = 1;

    vctx c = {.cfg = cfg, .schemas = schemas, .nschemas = nschemas};
    for (size_t s = 0; s < nschemas; s++)
        for (const lr_key *k = schemas[s]; k && k->path; k++) c.nkeys++;
    c.keys = malloc((c.nkeys ? c.nkeys : 1) * sizeof *c.keys);
    c.slots = calloc(c.nkeys ? c.nkeys : 1, sizeof *c.slots);
    int rc = LR_OK;
    if (!c.keys || !c.slots) {
        rc = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory validating %s", cfg->name);
        goto done;
    }
    c.nkeys = 0;
    for (size_t s = 0; s < nschemas; s++)
        for (const lr_key *k = schemas[s]; k && k->path; k++) c.keys[c.nkeys++] = k;

    rc = walk(&c, config_root_setting(&cfg->lc), "");
    for (size_t i = 0; i < c.nkeys && rc == LR_OK; i++) {
        if (find_key(&c, c.keys[i]->path) != (int)i) continue;
        if (!config_lookup(&cfg->lc, c.keys[i]->path)) rc = fill_default(&c, c.keys[i]);
    }
    if (rc == LR_OK) rc = collect_axes(&c);
    if (rc == LR_OK) rc = collect_lists(&c);
    if (rc == LR_OK) rc = make_text(cfg);
    if (rc == LR_OK)
        cfg->validated = 1;
    else
        free_derived(cfg);
done:
    if (c.slots)
        for (size_t i = 0; i < c.nkeys; i++) free(c.slots[i].v);
    free(c.slots);
    free(c.keys);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* accessors                                                                              */

size_t lr_config_npoints(const lr_config *cfg)
{
    return cfg && cfg->validated ? cfg->npoints : 0;
}

size_t lr_config_naxes(const lr_config *cfg) { return cfg && cfg->validated ? cfg->naxes : 0; }

const char *lr_config_axis_path(const lr_config *cfg, size_t axis)
{
    return cfg && cfg->validated && axis < cfg->naxes ? cfg->axes[axis].path : NULL;
}

size_t lr_config_axis_len(const lr_config *cfg, size_t axis)
{
    return cfg && cfg->validated && axis < cfg->naxes ? cfg->axes[axis].n : 0;
}

double lr_config_axis_value(const lr_config *cfg, size_t axis, size_t index)
{
    if (!cfg || !cfg->validated || axis >= cfg->naxes || index >= cfg->axes[axis].n) return NAN;
    return cfg->axes[axis].v[index];
}

size_t lr_config_axis_index(const lr_config *cfg, size_t axis, size_t point)
{
    if (!cfg || !cfg->validated || axis >= cfg->naxes) return 0;
    size_t stride = 1;
    for (size_t a = axis + 1; a < cfg->naxes; a++) stride *= cfg->axes[a].n;
    return (point / stride) % cfg->axes[axis].n;
}

int lr_config_axis_of(const lr_config *cfg, const char *path)
{
    if (!cfg || !path || !cfg->validated) return -1;
    for (size_t a = 0; a < cfg->naxes; a++)
        if (strcmp(cfg->axes[a].path, path) == 0) return (int)a;
    return -1;
}

double lr_config_num(const lr_config *cfg, size_t point, const char *path)
{
    if (!cfg || !path || !cfg->validated || point >= cfg->npoints) return NAN;
    int a = lr_config_axis_of(cfg, path);
    if (a >= 0) return cfg->axes[a].v[lr_config_axis_index(cfg, (size_t)a, point)];
    const config_setting_t *s = config_lookup(&cfg->lc, path);
    return s ? setting_num(s) : NAN;
}

const char *lr_config_str(const lr_config *cfg, const char *path)
{
    if (!cfg || !cfg->validated) return NULL;
    return lr_config_peek_string(cfg, path);
}

static const list_rec *find_list(const lr_config *cfg, const char *path)
{
    if (!cfg || !path || !cfg->validated) return NULL;
    for (size_t i = 0; i < cfg->nlists; i++)
        if (strcmp(cfg->lists[i].path, path) == 0) return &cfg->lists[i];
    return NULL;
}

size_t lr_config_int_list(const lr_config *cfg, const char *path, const long **values)
{
    const list_rec *l = find_list(cfg, path);
    if (values) *values = l ? l->iv : NULL;
    return l && l->iv ? l->n : 0;
}

size_t lr_config_real_list(const lr_config *cfg, const char *path, const double **values)
{
    const list_rec *l = find_list(cfg, path);
    if (values) *values = l ? l->rv : NULL;
    return l && l->rv ? l->n : 0;
}

size_t lr_config_str_list(const lr_config *cfg, const char *path, const char *const **values)
{
    const list_rec *l = find_list(cfg, path);
    if (values) *values = l ? l->sv : NULL;
    return l && l->sv ? l->n : 0;
}

int lr_config_given(const lr_config *cfg, const char *path)
{
    if (!cfg || !path) return 0;
    return config_lookup(&cfg->lc, path) != NULL && !is_defaulted(cfg, path);
}

const char *lr_config_where(const lr_config *cfg, const char *path, char *buf, size_t len)
{
    if (!buf || len == 0) return buf;
    if (!cfg || !path) {
        buf[0] = '\0';
        return buf;
    }
    char loc[600];
    locate(cfg, path, config_lookup(&cfg->lc, path), loc, sizeof loc);
    snprintf(buf, len, "%s: key '%s'", loc, path);
    return buf;
}

const char *lr_config_text(const lr_config *cfg) { return cfg ? cfg->text : NULL; }

const char *lr_config_filename(const lr_config *cfg) { return cfg ? cfg->name : NULL; }
