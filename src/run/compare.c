/* `lrlab compare`'s statistics and config diff (the command itself: cli/cmd_compare.c).
 *
 * The median's interval.  For n independent draws with population median M, the number B
 * of draws below M is Binomial(n, 1/2), so for the order statistics x_(1) <= ... <= x_(n)
 * P(x_(j) <= M <= x_(n+1-j)) = 1 - 2 P(B <= j - 1), whatever the distribution (Hollander,
 * Wolfe and Chicken, Nonparametric Statistical Methods, 3rd ed., section 3.6).  The largest
 * j with P(B <= j - 1) <= (1 - level) / 2 gives the shortest such interval at that level;
 * the binomial CDF is GSL's.  Two runs' medians are called different beyond the noise when
 * these intervals do not overlap (a conservative test: each holds its median at 95%).
 *
 * The config diff.  A results file stores its resolved config (every default filled in,
 * io/config.h), so two runs differ exactly where these texts differ: each is parsed with
 * libconfig and flattened to key = value lines (a list or an axis group is one value), and
 * the diff is key by key. */
#include "run/compare.h"

#include <gsl/gsl_cdf.h>
#include <libconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/text.h"

void lr_median_interval(const double *sorted, size_t n, double level, double *lo, double *hi)
{
    if (n == 0) {
        *lo = *hi = NAN;
        return;
    }
    double tail = (1.0 - level) / 2.0;
    size_t j = 0; /* ranks 1-based; j = 0: none qualifies */
    while (j + 1 <= n / 2 && gsl_cdf_binomial_P((unsigned)j, 0.5, (unsigned)n) <= tail) j++;
    if (j == 0) j = 1; /* the whole range: its level is 1 - 2^(1-n), below `level` */
    *lo = sorted[j - 1];
    *hi = sorted[n - j];
}

/* ---- the flattened config ---- */

/* A real with the fewest digits (up to 17) that read back as the same double, always
 * with a point or an exponent so that it reads as a real (1.0, not 1). */
static void real_text(double x, char *buf, size_t len)
{
    lr_text_real(x, buf, len);
    if (isfinite(x) && !strpbrk(buf, ".e")) snprintf(buf + strlen(buf), len - strlen(buf), ".0");
}

static int is_axis_group(const config_setting_t *s)
{
    return config_setting_is_group(s) &&
           (config_setting_get_member(s, "geom") || config_setting_get_member(s, "lin") ||
            config_setting_get_member(s, "list") || config_setting_get_member(s, "zip"));
}

/* The value of setting s in libconfig-like syntax. */
static void value_text(const config_setting_t *s, lr_strbuf *b)
{
    char num[64];
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
        snprintf(num, sizeof num, "%d", config_setting_get_int(s));
        lr_strbuf_puts(b, num);
        break;
    case CONFIG_TYPE_INT64:
        snprintf(num, sizeof num, "%lld", config_setting_get_int64(s));
        lr_strbuf_puts(b, num);
        break;
    case CONFIG_TYPE_FLOAT:
        real_text(config_setting_get_float(s), num, sizeof num);
        lr_strbuf_puts(b, num);
        break;
    case CONFIG_TYPE_BOOL: lr_strbuf_puts(b, config_setting_get_bool(s) ? "true" : "false"); break;
    case CONFIG_TYPE_STRING:
        lr_strbuf_puts(b, "\"");
        lr_strbuf_puts(b, config_setting_get_string(s));
        lr_strbuf_puts(b, "\"");
        break;
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        int list = config_setting_type(s) == CONFIG_TYPE_LIST;
        lr_strbuf_puts(b, list ? "(" : "[");
        for (int i = 0; i < config_setting_length(s); i++) {
            if (i) lr_strbuf_puts(b, ", ");
            value_text(config_setting_get_elem(s, (unsigned)i), b);
        }
        lr_strbuf_puts(b, list ? ")" : "]");
        break;
    }
    case CONFIG_TYPE_GROUP:
        lr_strbuf_puts(b, "{ ");
        for (int i = 0; i < config_setting_length(s); i++) {
            const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
            lr_strbuf_puts(b, config_setting_name(m));
            lr_strbuf_puts(b, " = ");
            value_text(m, b);
            lr_strbuf_puts(b, "; ");
        }
        lr_strbuf_puts(b, "}");
        break;
    default: lr_strbuf_puts(b, "?");
    }
}

static int flat_add(lr_flat_config *f, const char *key, const char *val)
{
    char **k = realloc(f->key, (f->n + 1) * sizeof *k);
    if (k) f->key = k;
    char **v = k ? realloc(f->val, (f->n + 1) * sizeof *v) : NULL;
    if (v) f->val = v;
    if (!k || !v) return LR_ENOMEM;
    f->key[f->n] = strdup(key);
    f->val[f->n] = strdup(val);
    if (!f->key[f->n] || !f->val[f->n]) {
        free(f->key[f->n]);
        free(f->val[f->n]);
        return LR_ENOMEM;
    }
    f->n++;
    return LR_OK;
}

static int flatten(const config_setting_t *g, const char *prefix, lr_flat_config *f)
{
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        char key[1024];
        snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", config_setting_name(s));
        if (config_setting_is_group(s) && !is_axis_group(s)) {
            LR_TRY(flatten(s, key, f));
            continue;
        }
        lr_strbuf b = {0};
        value_text(s, &b);
        int st = b.failed ? LR_ENOMEM : flat_add(f, key, b.s ? b.s : "");
        free(b.s);
        if (st != LR_OK) return st;
    }
    return LR_OK;
}

int lr_config_flatten(const char *text, const char *name, lr_flat_config *out)
{
    memset(out, 0, sizeof *out);
    config_t lc;
    config_init(&lc);
    if (!config_read_string(&lc, text ? text : "")) {
        int line = config_error_line(&lc);
        char why[256];
        snprintf(why, sizeof why, "%s", config_error_text(&lc));
        config_destroy(&lc);
        LR_ERRORF(LR_EDATA, "%s: its stored config does not parse (line %d: %s)", name, line, why);
    }
    int st = flatten(config_root_setting(&lc), "", out);
    config_destroy(&lc);
    if (st != LR_OK) {
        lr_flat_config_free(out);
        LR_ERRORF(LR_ENOMEM, "%s: out of memory reading its config", name);
    }
    return LR_OK;
}

void lr_flat_config_free(lr_flat_config *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->key[i]);
        free(f->val[i]);
    }
    free(f->key);
    free(f->val);
    memset(f, 0, sizeof *f);
}

const char *lr_flat_config_get(const lr_flat_config *f, const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->key[i], key)) return f->val[i];
    return NULL;
}
