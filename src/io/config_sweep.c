/* Experiment configuration, part 3 of 3: sweeps.  A sweepable key may hold a list or an
 * axis group instead of a scalar; each is expanded once into a plain array of doubles.
 *
 * Axes with the same zip tag ({ ...; zip = "size"; }) form one group and move together;
 * every other axis is a group of its own.  Groups are ordered by their first axis in
 * schema order, and a sweep point is a number in mixed radix over the groups, the last
 * group fastest: without zips that is the mixed radix over the axes, as before zips. */
#include "io/config_impl.h"

#include "core/error.h"
#include "core/text.h"

#include <libconfig.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values of a generated axis member `m` ("geom" or "lin" = [lo, hi, n]) of key `path`. */
static int expand_generated(const lr_key *k, const char *path, const config_setting_t *m,
                            const char *loc, axis_rec *ax)
{
    int as_int = k->type == LR_KEY_INT;
    const char *kind = config_setting_name(m);
    int geom = strcmp(kind, "geom") == 0;
    int mt = config_setting_type(m);
    const config_setting_t *elo = NULL, *ehi = NULL, *en = NULL;
    if ((mt == CONFIG_TYPE_LIST || mt == CONFIG_TYPE_ARRAY) && config_setting_length(m) == 3) {
        elo = config_setting_get_elem(m, 0);
        ehi = config_setting_get_elem(m, 1);
        en = config_setting_get_elem(m, 2);
    }
    if (!elo || !lr_cfg_is_num_type(config_setting_type(elo)) ||
        !lr_cfg_is_num_type(config_setting_type(ehi)))
        LR_ERRORF(LR_ECONFIG, "%s: key '%s.%s' must be [lo, hi, n] with numbers lo and hi", loc,
                  path, kind);
    /* libconfig arrays hold one type, so [1e-4, 0.1, 13] cannot be written: accept the
     * count as 13.0 too (or the list form (1e-4, 0.1, 13)). */
    double nv = lr_cfg_is_num_type(config_setting_type(en)) ? lr_cfg_setting_num(en) : NAN;
    if (!(nv >= 1) || nv != floor(nv) || nv > 1e7)
        LR_ERRORF(LR_ECONFIG, "%s: key '%s.%s' needs a count n that is an integer >= 1", loc,
                  path, kind);
    long long cnt = (long long)nv;
    double lo = lr_cfg_setting_num(elo), hi = lr_cfg_setting_num(ehi);
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
        lr_text_real(v[i], shown, sizeof shown);
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
        int rc = lr_cfg_check_range(k, v[i], loc, what, shown);
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
        int rc = lr_cfg_check_number(k, config_setting_get_elem(s, i), k->type == LR_KEY_INT,
                                     loc, what, &v[i]);
        if (rc) {
            free(v);
            return rc;
        }
    }
    ax->n = (size_t)n;
    ax->v = v;
    return LR_OK;
}

int lr_cfg_is_sweep_shape(const config_setting_t *s)
{
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY) return 1;
    if (t != CONFIG_TYPE_GROUP) return 0;
    return config_setting_get_member(s, "geom") || config_setting_get_member(s, "lin") ||
           config_setting_get_member(s, "list") || config_setting_get_member(s, "zip");
}

/* Type-, range- and choice-check the value `s` of key `k`; a sweep goes to `ax`. */
/* The members an axis group may hold: one value member, and optionally "zip". */
static const char *const axis_members[] = {"geom", "lin", "list", "zip"};
enum { N_MEMBERS = sizeof axis_members / sizeof axis_members[0] };

/* Inner names of an axis group get their own "did you mean" against the members. */
static int check_axis_names(const char *path, const config_setting_t *s, const char *loc)
{
    int n = config_setting_length(s);
    for (int j = 0; j < n; j++) {
        const char *nm = config_setting_name(config_setting_get_elem(s, j));
        /* A member is recognised without the edit distance, which allocates: a run short of
         * memory must not report a valid key as unknown (the allocation-failure sweep). */
        int member = 0;
        for (size_t i = 0; i < N_MEMBERS; i++) member |= !strcmp(nm, axis_members[i]);
        if (member) continue;
        size_t best = SIZE_MAX, bi = 0;
        for (size_t i = 0; i < N_MEMBERS && best; i++) {
            size_t d = lr_cfg_levenshtein(nm, strlen(nm), axis_members[i],
                                          strlen(axis_members[i]));
            if (d < best) best = d, bi = i;
        }
        if (best == 0) continue;
        if (best <= 2)
            LR_ERRORF(LR_ECONFIG, "%s: key '%s.%s' is not known (did you mean '%s.%s'?)", loc,
                      path, nm, path, axis_members[bi]);
        LR_ERRORF(LR_ECONFIG,
                  "%s: key '%s.%s' is not known (an axis group holds 'geom', 'lin' or 'list', "
                  "and optionally 'zip')",
                  loc, path, nm);
    }
    return LR_OK;
}

/* The zip tag of axis group `g`, if any, into ax->zip. */
static int read_zip(const char *path, const config_setting_t *g, const char *loc, axis_rec *ax)
{
    const config_setting_t *z = config_setting_get_member(g, "zip");
    if (!z) return LR_OK;
    if (config_setting_type(z) != CONFIG_TYPE_STRING)
        LR_ERRORF(LR_ECONFIG, "%s: key '%s.zip' must be a string (the name of the zip), got %s",
                  loc, path, lr_cfg_type_desc(z));
    const char *tag = config_setting_get_string(z);
    if (!tag[0]) LR_ERRORF(LR_ECONFIG, "%s: key '%s.zip' must not be empty", loc, path);
    ax->zip = lr_cfg_strdup(tag);
    if (!ax->zip) LR_ERRORF(LR_ENOMEM, "%s: out of memory expanding key '%s'", loc, path);
    return LR_OK;
}

/* An axis group { geom|lin|list = ...; zip = "tag"; }. */
static int expand_group(const lr_key *k, const char *path, const config_setting_t *g,
                        const char *loc, axis_rec *ax)
{
    LR_TRY(check_axis_names(path, g, loc));
    const config_setting_t *m = NULL;
    int nvalues = 0;
    for (size_t i = 0; i + 1 < N_MEMBERS; i++) {
        const config_setting_t *e = config_setting_get_member(g, axis_members[i]);
        if (e) m = e, nvalues++;
    }
    if (nvalues != 1)
        LR_ERRORF(LR_ECONFIG,
                  "%s: key '%s' is a group, so it must hold exactly one of "
                  "'geom = [lo, hi, n]', 'lin = [lo, hi, n]' or 'list = [a, b, ...]' "
                  "(and optionally 'zip = \"name\"')",
                  loc, path);
    int rc;
    if (strcmp(config_setting_name(m), "list") == 0) {
        char lpath[600];
        snprintf(lpath, sizeof lpath, "%s.list", path);
        int t = config_setting_type(m);
        if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
            LR_ERRORF(LR_ECONFIG, "%s: key '%s' must be a list [a, b, ...], got %s", loc, lpath,
                      lr_cfg_type_desc(m));
        rc = expand_list(k, lpath, m, loc, ax);
    } else {
        rc = expand_generated(k, path, m, loc, ax);
    }
    if (rc == LR_OK) rc = read_zip(path, g, loc, ax);
    if (rc != LR_OK) lr_cfg_axis_release(ax);
    return rc;
}

int lr_cfg_expand_sweep(const lr_key *k, const char *path, const config_setting_t *s,
                        const char *loc, axis_rec *ax)
{
    if (config_setting_is_group(s)) return expand_group(k, path, s, loc, ax);
    return expand_list(k, path, s, loc, ax);
}

void lr_cfg_axis_release(axis_rec *ax)
{
    free(ax->path);
    free(ax->v);
    free(ax->zip);
    *ax = (axis_rec){0};
}

/* The first axis before `a` with the same zip tag, or a itself. */
static size_t zip_first(const lr_config *cfg, size_t a)
{
    const char *tag = cfg->axes[a].zip;
    for (size_t b = 0; tag && b < a; b++)
        if (cfg->axes[b].zip && strcmp(cfg->axes[b].zip, tag) == 0) return b;
    return a;
}

/* Where axis a's values (zip: its tag) came from: the member of an axis group if it has
 * one, so that an override of "key.list" or "key.zip" is named. */
static void locate_axis(const lr_config *cfg, size_t a, int zip, char *buf, size_t len)
{
    const char *path = cfg->axes[a].path;
    const config_setting_t *s = config_lookup(&cfg->lc, path);
    for (size_t i = 0; s && config_setting_is_group(s) && i < N_MEMBERS; i++) {
        if ((i + 1 == N_MEMBERS) != zip) continue;
        const config_setting_t *m = config_setting_get_member(s, axis_members[i]);
        if (!m) continue;
        char sub[600];
        snprintf(sub, sizeof sub, "%s.%s", path, axis_members[i]);
        lr_cfg_locate(cfg, sub, m, buf, len);
        return;
    }
    lr_cfg_locate(cfg, path, s, buf, len);
}

/* A zip tag that only one axis carries means nothing; if it is close to another tag it
 * is a typo that would silently turn a zip into a Cartesian product. */
static int check_lone_zip(const lr_config *cfg, size_t a)
{
    const char *tag = cfg->axes[a].zip;
    for (size_t b = 0; b < cfg->naxes; b++)
        if (b != a && cfg->axes[b].zip && strcmp(cfg->axes[b].zip, tag) == 0) return LR_OK;
    for (size_t b = 0; b < cfg->naxes; b++) {
        const char *other = cfg->axes[b].zip;
        if (b == a || !other || lr_cfg_levenshtein(tag, strlen(tag), other, strlen(other)) > 2)
            continue;
        char loc[600];
        locate_axis(cfg, a, 1, loc, sizeof loc);
        LR_ERRORF(LR_ECONFIG,
                  "%s: key '%s' is the only axis with zip = \"%s\" (did you mean \"%s\", the "
                  "zip of key '%s'?)",
                  loc, cfg->axes[a].path, tag, other, cfg->axes[b].path);
    }
    return LR_OK;
}

/* Group the axes by zip tag (checking that the axes of a zip have one length), then
 * count the points and give each axis the stride of its group. */
static int number_points(lr_config *cfg)
{
    size_t ng = 0, np = 1;
    for (size_t a = 0; a < cfg->naxes; a++) {
        axis_rec *ax = &cfg->axes[a];
        size_t first = zip_first(cfg, a);
        if (first == a) {
            ax->group = ng++;
            if (np > SIZE_MAX / ax->n)
                LR_ERRORF(LR_ECONFIG, "%s: the sweep has too many points", cfg->name);
            np *= ax->n;
            continue;
        }
        ax->group = cfg->axes[first].group;
        if (ax->n != cfg->axes[first].n) {
            char loc[600], loc0[600];
            locate_axis(cfg, a, 0, loc, sizeof loc);
            locate_axis(cfg, first, 0, loc0, sizeof loc0);
            LR_ERRORF(LR_ECONFIG,
                      "%s: key '%s' has %zu values but key '%s' (%s) has %zu: the axes with "
                      "zip = \"%s\" move together and need the same number of values",
                      loc, ax->path, ax->n, cfg->axes[first].path, loc0, cfg->axes[first].n,
                      ax->zip);
        }
    }
    for (size_t a = 0; a < cfg->naxes; a++)
        if (cfg->axes[a].zip) LR_TRY(check_lone_zip(cfg, a));
    for (size_t a = 0; a < cfg->naxes; a++) {
        size_t stride = 1;
        for (size_t b = 0; b < cfg->naxes; b++)
            if (cfg->axes[b].group > cfg->axes[a].group && zip_first(cfg, b) == b)
                stride *= cfg->axes[b].n;
        cfg->axes[a].stride = stride;
    }
    cfg->ngroups = ng;
    cfg->npoints = np;
    return LR_OK;
}

int lr_cfg_collect_axes(vctx *c)
{
    lr_config *cfg = c->cfg;
    size_t n = 0;
    for (size_t i = 0; i < c->nkeys; i++)
        if (c->slots[i].v) n++;
    if (!n) return LR_OK;
    cfg->axes = calloc(n, sizeof *cfg->axes);
    if (!cfg->axes) LR_ERRORF(LR_ENOMEM, "out of memory collecting sweep axes");
    for (size_t i = 0; i < c->nkeys; i++) {
        if (!c->slots[i].v) continue;
        axis_rec *a = &cfg->axes[cfg->naxes++];
        *a = c->slots[i];
        c->slots[i] = (axis_rec){0};
        a->path = lr_cfg_strdup(c->keys[i]->path);
        if (!a->path) LR_ERRORF(LR_ENOMEM, "out of memory collecting sweep axes");
    }
    return number_points(cfg);
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
    return (point / cfg->axes[axis].stride) % cfg->axes[axis].n;
}

size_t lr_config_ngroups(const lr_config *cfg)
{
    return cfg && cfg->validated ? cfg->ngroups : 0;
}

size_t lr_config_axis_group(const lr_config *cfg, size_t axis)
{
    return cfg && cfg->validated && axis < cfg->naxes ? cfg->axes[axis].group : SIZE_MAX;
}

const char *lr_config_axis_zip(const lr_config *cfg, size_t axis)
{
    return cfg && cfg->validated && axis < cfg->naxes ? cfg->axes[axis].zip : NULL;
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
    return s ? lr_cfg_setting_num(s) : NAN;
}

