/* Experiment configuration, part 1 of 3: reading libconfig files and applying
 * command-line overrides, plus the helpers the other parts share (config_impl.h).
 * config_schema.c validates the tree against a schema; config_sweep.c expands axes.
 *
 * The libconfig tree is the single source of truth: overrides are copied into it before
 * validation, defaults are inserted into it during validation, so that the written-out
 * tree (lr_config_text) is the full resolved configuration that reproduces the run.
 *
 * Error messages are one line and always say where the offending value came from:
 * "file:line", "command line 'key=value'" for overrides, or "file" for a setting that
 * has no line (a default, or a group created by an override). */
#include "io/config_impl.h"

#include "core/error.h"
#include "core/text.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------------------------ */
/* small helpers                                                                          */

char *lr_cfg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

char *lr_cfg_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *lr_cfg_join_path(const char *prefix, const char *name)
{
    if (!prefix || !*prefix) return lr_cfg_strdup(name);
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

int lr_cfg_is_num_type(int t)
{
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 || t == CONFIG_TYPE_FLOAT;
}

double lr_cfg_setting_num(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT: return (double)config_setting_get_int(s);
    case CONFIG_TYPE_INT64: return (double)config_setting_get_int64(s);
    case CONFIG_TYPE_FLOAT: return config_setting_get_float(s);
    case CONFIG_TYPE_BOOL: return config_setting_get_bool(s) ? 1.0 : 0.0;
    default: return NAN;
    }
}

const char *lr_cfg_type_desc(const config_setting_t *s)
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
void lr_cfg_format_value(const config_setting_t *s, char *buf, size_t len)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: snprintf(buf, len, "%lld", config_setting_get_int64(s)); break;
    case CONFIG_TYPE_FLOAT: lr_text_real(config_setting_get_float(s), buf, len); break;
    case CONFIG_TYPE_STRING: snprintf(buf, len, "\"%s\"", config_setting_get_string(s)); break;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, len, "%s", config_setting_get_bool(s) ? "true" : "false");
        break;
    default: snprintf(buf, len, "%s", lr_cfg_type_desc(s)); break;
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
void lr_cfg_locate(const lr_config *cfg, const char *path, const config_setting_t *s,
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
const config_setting_t *lr_cfg_parse_value(config_t *scratch, const char *value,
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
    o[cfg->novr].path = lr_cfg_strdup(path);
    o[cfg->novr].text = lr_cfg_strdup(text);
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
int lr_cfg_set_path(lr_config *cfg, const char *path, const config_setting_t *src,
                    const char *what)
{
    config_setting_t *g = config_root_setting(&cfg->lc);
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        if (!dot) break;
        char *name = lr_cfg_strndup(p, (size_t)(dot - p));
        if (!name) LR_ERRORF(LR_ENOMEM, "%s: out of memory", what);
        config_setting_t *c = config_setting_get_member(g, name);
        if (!c) c = config_setting_add(g, name, CONFIG_TYPE_GROUP);
        if (!c || !config_setting_is_group(c)) {
            size_t n = (size_t)(dot - path);
            free(name);
            LR_ERRORF(LR_ECONFIG, "%s: key '%.*s' is %s, not a group", what, (int)n, path,
                      c ? lr_cfg_type_desc(c) : "invalid");
        }
        free(name);
        g = c;
        p = dot + 1;
    }
    if (config_setting_get_member(g, p)) config_setting_remove(g, p);
    if (!copy_setting(g, p, src)) LR_ERRORF(LR_ECONFIG, "%s: cannot set key '%s'", what, path);
    return LR_OK;
}

/* libconfig 1.5 reads an integer literal beyond 32 bits, written without the L suffix,
 * modulo 2^32 and says nothing (seed = 9999999999 runs with seed 1410065407).  So the text
 * is scanned before libconfig sees it: a decimal integer literal outside
 * [-2^31, 2^31 - 1] without L is refused, naming where and what it would have become.
 * Strings, comments, names and reals are skipped.  `where` names the source ("FILE" or
 * "command line '...'"); with_line adds ":LINE" (files). */
static int check_int_literals(const char *text, const char *where, int with_line)
{
    int line = 1;
    for (const char *p = text; *p;) {
        if (*p == '\n') {
            line++, p++;
        } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            while (*p && *p != '\n') p++;
        } else if (p[0] == '/' && p[1] == '*') {
            for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++) line += *p == '\n';
            if (*p) p += 2;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                line += *p == '\n';
            }
            if (*p) p++;
        } else if (isalpha((unsigned char)*p) || *p == '_' || *p == '@') {
            while (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '*' || *p == '@') p++;
        } else if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
            for (p += 2; isxdigit((unsigned char)*p) || *p == 'L'; p++) continue;
        } else if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
            const char *s = p;
            int real = 0;
            while (isdigit((unsigned char)*p)) p++;
            if (*p == '.') {
                real = 1;
                for (p++; isdigit((unsigned char)*p); p++) continue;
            }
            if (*p == 'e' || *p == 'E') {
                real = 1;
                p++;
                if (*p == '+' || *p == '-') p++;
                while (isdigit((unsigned char)*p)) p++;
            }
            if (*p == 'L') {
                p++;
                continue;
            }
            if (real) continue;
            int neg = s > text && s[-1] == '-';
            size_t nd = (size_t)(p - s);
            while (nd > 1 && *s == '0') s++, nd--;
            int big = nd > 10 || (nd == 10 && strncmp(s, neg ? "2147483648" : "2147483647", 10) > 0);
            if (big) {
                char lit[32];
                snprintf(lit, sizeof lit, "%s%.*s", neg ? "-" : "", nd < 24 ? (int)nd : 24, s);
                if (with_line)
                    LR_ERRORF(LR_ECONFIG, "%s:%d: integer %s is beyond libconfig's 32-bit integers (it would "
                              "be read modulo 2^32); write %sL for a 64-bit integer or %s.0 for a real", where, line, lit, lit, lit);
                LR_ERRORF(LR_ECONFIG, "%s: integer %s is beyond libconfig's 32-bit integers (it would be "
                          "read modulo 2^32); write %sL for a 64-bit integer or %s.0 for a real", where, lit, lit, lit);
            }
        } else {
            p++;
        }
    }
    return LR_OK;
}

static int apply_override(lr_config *cfg, const char *text)
{
    const char *eq = strchr(text, '=');
    if (!eq) LR_ERRORF(LR_ECONFIG, "command line '%s': expected key=value", text);
    const char *kb = text, *ke = eq;
    trim(&kb, &ke);
    if (kb == ke) LR_ERRORF(LR_ECONFIG, "command line '%s': empty key before '='", text);
    char *key = lr_cfg_strndup(kb, (size_t)(ke - kb));
    const char *vb = eq + 1, *ve = eq + strlen(eq);
    trim(&vb, &ve);
    char *value = lr_cfg_strndup(vb, (size_t)(ve - vb));
    char where[600];
    snprintf(where, sizeof where, "command line '%s'", text);
    int rc = LR_OK;
    config_t scratch;
    config_init(&scratch);
    if (!key || !value) {
        rc = lr_error(LR_ENOMEM, __FILE__, __LINE__, "%s: out of memory", where);
        goto done;
    }
    if ((rc = check_int_literals(value, where, 0)) != LR_OK) goto done;
    if (!valid_path(key)) {
        rc = lr_error(LR_ECONFIG, __FILE__, __LINE__,
                      "%s: '%s' is not a valid key (names are letters, digits, '_', '-', "
                      "separated by '.')",
                      where, key);
        goto done;
    }
    const char *why = NULL;
    const config_setting_t *v = lr_cfg_parse_value(&scratch, value, &why);
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
    if (!v && strchr(value, ',') && !strchr("[({\"", value[0])) {
        /* Hydra's and argparse's habit, key=2,4: a libconfig list needs its brackets. */
        rc = lr_error(LR_ECONFIG, __FILE__, __LINE__,
                      "%s: cannot parse value '%s': a list needs brackets: write '%s=[%s]' "
                      "(quoted, for the shell)", where, value, key, value);
        goto done;
    }
    if (!v) {
        rc = lr_error(LR_ECONFIG, __FILE__, __LINE__, "%s: cannot parse value '%s': %s%s", where,
                      value, why ? why : "syntax error", parse_hint(why));
        goto done;
    }
    rc = lr_cfg_set_path(cfg, key, v, where);
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
    cfg->name = lr_cfg_strdup(name);
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
    if (isdir) {
        fclose(f);
        LR_ERRORF(LR_EIO, "%s: cannot open: %s", path, strerror(EISDIR));
    }
    /* The text itself, for what libconfig would read wrong (check_int_literals). */
    char *text = NULL;
    size_t tlen = 0;
    FILE *mem = open_memstream(&text, &tlen);
    char chunk[8192];
    size_t got;
    while (mem && (got = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, got, mem);
    fclose(f);
    if (!mem || fclose(mem) != 0 || !text) {
        free(text);
        LR_ERRORF(LR_ENOMEM, "%s: out of memory reading the config", path);
    }
    int lit = check_int_literals(text, path, 1);
    free(text);
    if (lit != LR_OK) return lit;

    lr_config *cfg;
    LR_TRY(config_new(&cfg, path));
    /* @include is relative to the including file, not to the working directory. */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? lr_cfg_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : lr_cfg_strdup(".");
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
    LR_TRY(check_int_literals(text, name ? name : "<string>", 1));
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

void lr_cfg_free_derived(lr_config *cfg)
{
    for (size_t i = 0; i < cfg->naxes; i++) lr_cfg_axis_release(&cfg->axes[i]);
    free(cfg->axes);
    cfg->axes = NULL;
    cfg->naxes = 0;
    cfg->ngroups = 0;
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
    lr_cfg_free_derived(cfg);
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

/* ------------------------------------------------------------------------------------ */
/* accessors of the tree                                                                  */

const char *lr_config_peek_string(const lr_config *cfg, const char *path)
{
    if (!cfg || !path) return NULL;
    const config_setting_t *s = config_lookup(&cfg->lc, path);
    return s && config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s)
                                                             : NULL;
}


const char *lr_config_str(const lr_config *cfg, const char *path)
{
    if (!cfg || !cfg->validated) return NULL;
    return lr_config_peek_string(cfg, path);
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
    lr_cfg_locate(cfg, path, config_lookup(&cfg->lc, path), loc, sizeof loc);
    snprintf(buf, len, "%s: key '%s'", loc, path);
    return buf;
}

const char *lr_config_text(const lr_config *cfg) { return cfg ? cfg->text : NULL; }

const char *lr_config_filename(const lr_config *cfg) { return cfg ? cfg->name : NULL; }

int lr_cfg_make_text(lr_config *cfg)
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

