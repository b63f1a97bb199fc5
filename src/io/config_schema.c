/* Experiment configuration, part 2 of 3: the schema.  Strict validation of the libconfig
 * tree against the schema (type, range and choice checks, registry names), default
 * filling, the nearest-key hints of the "is not known" messages, and the non-sweep lists.
 * Sweep values are handed to config_sweep.c. */
#include "io/config_impl.h"

#include "core/error.h"
#include "core/text.h"

#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* nearest key                                                                            */

size_t lr_cfg_levenshtein(const char *a, size_t la, const char *b, size_t lb)
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
    size_t d = lr_cfg_levenshtein(word, wl, cand, clen);
    if (d <= max_dist(wl)) best = d;
    const char *wdot = strrchr(word, '.');
    size_t wpre = wdot ? (size_t)(wdot - word) + 1 : 0;
    size_t cpre = 0;
    for (size_t i = 0; i < clen; i++)
        if (cand[i] == '.') cpre = i + 1;
    if (wpre == cpre && strncmp(word, cand, wpre) == 0) {
        size_t lw = wl - wpre;
        d = lr_cfg_levenshtein(word + wpre, lw, cand + cpre, clen - cpre);
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

/* A bound of magnitude 1e300 or more is how a schema says "no bound" (1e300 rather than
 * INFINITY keeps an overflowed 1e999 out of range). */
static int unbounded(double x) { return fabs(x) >= 1e300; }

const char *lr_key_range_text(const lr_key *k, char *buf, size_t len)
{
    if (!buf || len == 0) return buf;
    buf[0] = '\0';
    if (!k || !has_range(k)) return buf;
    char lo[32], hi[32];
    if (unbounded(k->min) && k->min < 0)
        snprintf(lo, sizeof lo, "(-inf");
    else {
        lo[0] = '[';
        lr_text_real(k->min, lo + 1, sizeof lo - 1);
    }
    if (unbounded(k->max) && k->max > 0)
        snprintf(hi, sizeof hi, "inf)");
    else {
        lr_text_real(k->max, hi, sizeof hi - 1);
        strcat(hi, "]");
    }
    snprintf(buf, len, "%s, %s", lo, hi);
    return buf;
}

int lr_cfg_check_range(const lr_key *k, double v, const char *loc, const char *what,
                       const char *shown)
{
    if (isnan(v)) LR_ERRORF(LR_ECONFIG, "%s: %s = %s is not a number", loc, what, shown);
    /* libconfig reads a literal beyond the double range (1e999) as inf. */
    if (isinf(v)) LR_ERRORF(LR_ECONFIG, "%s: %s = %s is not a finite number", loc, what, shown);
    if (has_range(k) && (v < k->min || v > k->max)) {
        char range[80];
        LR_ERRORF(LR_ECONFIG, "%s: %s = %s is out of range %s", loc, what, shown,
                  lr_key_range_text(k, range, sizeof range));
    }
    return LR_OK;
}

/* One numeric value (a scalar, or an element of a list or axis) of an INT/REAL/INT_LIST
 * key.  `as_int` asks for an integer. */
int lr_cfg_check_number(const lr_key *k, const config_setting_t *e, int as_int,
                        const char *loc, const char *what, double *out)
{
    char shown[128];
    int t = config_setting_type(e);
    lr_cfg_format_value(e, shown, sizeof shown);
    if (as_int && t == CONFIG_TYPE_FLOAT)
        LR_ERRORF(LR_ECONFIG, "%s: %s must be an integer, got a real number %s", loc, what,
                  shown);
    if (!lr_cfg_is_num_type(t))
        LR_ERRORF(LR_ECONFIG, "%s: %s must be %s, got %s", loc, what,
                  as_int ? "an integer" : "a number", lr_cfg_type_desc(e));
    double v = lr_cfg_setting_num(e);
    LR_TRY(lr_cfg_check_range(k, v, loc, what, shown));
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

int lr_key_allows(const lr_key *k, const char *word)
{
    if (!k || !word) return 0;
    if (k->names) {
        for (size_t i = 0;; i++) {
            const char *nm = k->names(i);
            if (!nm) return 0;
            if (strcmp(nm, word) == 0) return 1;
        }
    }
    return !k->choices || in_choices(k->choices, word);
}

const char *lr_key_choices_text(const lr_key *k, char *buf, size_t len)
{
    if (!k || !buf || len == 0 || (!k->names && !k->choices)) return NULL;
    if (!k->names) {
        snprintf(buf, len, "%s", k->choices);
        return buf;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; used < len; i++) {
        const char *nm = k->names(i);
        if (!nm) break;
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "", nm);
    }
    return buf;
}

static int check_string(const lr_key *k, const config_setting_t *e, const char *loc,
                        const char *what)
{
    if (config_setting_type(e) != CONFIG_TYPE_STRING)
        LR_ERRORF(LR_ECONFIG, "%s: %s must be a string, got %s", loc, what, lr_cfg_type_desc(e));
    const char *s = config_setting_get_string(e);
    if (!lr_key_allows(k, s)) {
        char words[512];
        lr_key_choices_text(k, words, sizeof words);
        if (!words[0])
            LR_ERRORF(LR_ECONFIG, "%s: %s = \"%s\" is not allowed: no names are registered", loc,
                      what, s);
        LR_ERRORF(LR_ECONFIG, "%s: %s = \"%s\" is not one of %s", loc, what, s, words);
    }
    return LR_OK;
}

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
            if (t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_GROUP)
                return lr_cfg_expand_sweep(k, path, s, loc, ax);
        } else if (lr_cfg_is_sweep_shape(s)) {
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' cannot be swept", loc, path);
        }
        return lr_cfg_check_number(k, s, k->type == LR_KEY_INT, loc, what, NULL);
    case LR_KEY_BOOL:
        if (t != CONFIG_TYPE_BOOL)
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' must be true or false, got %s", loc, path,
                      lr_cfg_type_desc(s));
        return LR_OK;
    case LR_KEY_STRING: return check_string(k, s, loc, what);
    case LR_KEY_INT_LIST:
    case LR_KEY_REAL_LIST:
    case LR_KEY_STRING_LIST: {
        if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' must be a list [...], got %s", loc, path,
                      lr_cfg_type_desc(s));
        int n = config_setting_length(s);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, i);
            snprintf(what, sizeof what, "key '%s' element %d", path, i + 1);
            if (k->type == LR_KEY_INT_LIST) {
                LR_TRY(lr_cfg_check_number(k, e, 1, loc, what, NULL));
                double v = lr_cfg_setting_num(e);
                if (v < (double)LONG_MIN || v > (double)LONG_MAX)
                    LR_ERRORF(LR_ECONFIG, "%s: %s does not fit in a long", loc, what);
            } else if (k->type == LR_KEY_REAL_LIST) {
                LR_TRY(lr_cfg_check_number(k, e, 0, loc, what, NULL));
            } else {
                LR_TRY(check_string(k, e, loc, what));
            }
        }
        return LR_OK;
    }
    case LR_KEY_GROUP:
        if (t != CONFIG_TYPE_GROUP)
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' must be a group { ... }, got %s", loc, path,
                      lr_cfg_type_desc(s));
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
    lr_cfg_locate(c->cfg, path, s, loc, sizeof loc);
    int i = find_key(c, path);
    if (i >= 0) {
        const lr_key *k = c->keys[i];
        LR_TRY(check_value(k, path, s, loc, &c->slots[i]));
        if (k->type == LR_KEY_GROUP) return walk(c, s, path);
        return LR_OK;
    }
    if (is_key_prefix(c, path)) {
        if (!config_setting_is_group(s))
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' must be a group { ... }, got %s", loc, path,
                      lr_cfg_type_desc(s));
        return walk(c, s, path);
    }
    return unknown_key(c, path, loc);
}

static int walk(vctx *c, const config_setting_t *group, const char *prefix)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, i);
        char *path = lr_cfg_join_path(prefix, config_setting_name(s));
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
        *out = lr_cfg_parse_value(scratch, k->def_str, &why);
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
        lr_cfg_axis_release(&ax);
        if (rc == LR_OK) rc = lr_cfg_set_path(cfg, k->path, v, cfg->name);
        if (rc == LR_OK) {
            char **d = realloc(cfg->defaulted, (cfg->ndefaulted + 1) * sizeof *d);
            char *p = lr_cfg_strdup(k->path);
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
        l->path = lr_cfg_strdup(k->path);
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
                l->rv[j] = lr_cfg_setting_num(e);
            else
                l->sv[j] = config_setting_get_string(e);
        }
    }
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
    if (rc == LR_OK) rc = lr_cfg_collect_axes(&c);
    if (rc == LR_OK) rc = collect_lists(&c);
    if (rc == LR_OK) rc = lr_cfg_make_text(cfg);
    if (rc == LR_OK)
        cfg->validated = 1;
    else
        lr_cfg_free_derived(cfg);
done:
    if (c.slots)
        for (size_t i = 0; i < c.nkeys; i++) lr_cfg_axis_release(&c.slots[i]);
    free(c.slots);
    free(c.keys);
    return rc;
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

