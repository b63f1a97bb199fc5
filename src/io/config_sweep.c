/* Experiment configuration, part 3 of 3: sweeps.  A sweepable key may hold a list or a
 * generated axis instead of a scalar; each is expanded once into a plain array of
 * doubles.  A sweep point is a number in mixed radix over the axes (schema order, last
 * axis fastest). */
#include "io/config_impl.h"

#include "core/error.h"

#include <libconfig.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (!elo || !lr_cfg_is_num_type(config_setting_type(elo)) || !lr_cfg_is_num_type(config_setting_type(ehi)))
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
        int rc = lr_cfg_check_number(k, config_setting_get_elem(s, i), k->type == LR_KEY_INT, loc,
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

int lr_cfg_is_sweep_shape(const config_setting_t *s)
{
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY) return 1;
    if (t != CONFIG_TYPE_GROUP) return 0;
    return config_setting_get_member(s, "geom") || config_setting_get_member(s, "lin");
}

/* Type-, range- and choice-check the value `s` of key `k`; a sweep goes to `ax`. */
/* Inner names of an axis group get their own "did you mean" against geom/lin. */
static int check_axis_names(const char *path, const config_setting_t *s, const char *loc)
{
    int n = config_setting_length(s);
    for (int j = 0; j < n; j++) {
        const char *nm = config_setting_name(config_setting_get_elem(s, j));
        if (strcmp(nm, "geom") == 0 || strcmp(nm, "lin") == 0) continue;
        size_t dg = lr_cfg_levenshtein(nm, strlen(nm), "geom", 4);
        size_t dl = lr_cfg_levenshtein(nm, strlen(nm), "lin", 3);
        if (dg <= 2 || dl <= 2)
            LR_ERRORF(LR_ECONFIG, "%s: key '%s.%s' is not known (did you mean '%s.%s'?)", loc,
                      path, nm, path, dg <= dl ? "geom" : "lin");
        LR_ERRORF(LR_ECONFIG, "%s: key '%s.%s' is not known (an axis group holds 'geom' or 'lin')",
                  loc, path, nm);
    }
    return LR_OK;
}

int lr_cfg_expand_sweep(const lr_key *k, const char *path, const config_setting_t *s,
                        const char *loc, axis_rec *ax)
{
    if (config_setting_is_group(s)) {
        LR_TRY(check_axis_names(path, s, loc));
        return expand_axis(k, path, s, loc, ax);
    }
    return expand_list(k, path, s, loc, ax);
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
    size_t np = 1;
    for (size_t i = 0; i < c->nkeys; i++) {
        if (!c->slots[i].v) continue;
        axis_rec *a = &cfg->axes[cfg->naxes++];
        *a = c->slots[i];
        c->slots[i].v = NULL;
        a->path = lr_cfg_strdup(c->keys[i]->path);
        if (!a->path) LR_ERRORF(LR_ENOMEM, "out of memory collecting sweep axes");
        if (np > SIZE_MAX / a->n)
            LR_ERRORF(LR_ECONFIG, "%s: the sweep has too many points", cfg->name);
        np *= a->n;
    }
    cfg->npoints = np;
    return LR_OK;
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
    return s ? lr_cfg_setting_num(s) : NAN;
}

