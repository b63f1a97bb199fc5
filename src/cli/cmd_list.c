/* `lrlab list`: what lrlab can run, with one line each, and every config key. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bounds/bounds.h"
#include "cli/cli.h"
#include "compress/compress.h"
#include "run/run.h"

static const char *type_name(lr_key_type t)
{
    switch (t) {
    case LR_KEY_INT: return "int";
    case LR_KEY_REAL: return "real";
    case LR_KEY_BOOL: return "bool";
    case LR_KEY_STRING: return "string";
    case LR_KEY_INT_LIST: return "int list";
    case LR_KEY_STRING_LIST: return "string list";
    case LR_KEY_GROUP: return "group";
    case LR_KEY_REAL_LIST: return "real list";
    }
    return "?";
}

/* Lines of `lrlab list` fit a terminal of this many columns: a long description wraps
 * under its own column. */
enum { LIST_WIDTH = 100 };

/* "  NAME  TEXT" with NAME padded to `width` and TEXT wrapped at word boundaries, each
 * continuation line indented to TEXT's column. */
static void print_row(int indent, int width, const char *name, const char *text)
{
    int col = indent + width + 1, room = LIST_WIDTH - col;
    if (room < 30) room = 30;
    printf("%*s%-*s ", indent, "", width, name);
    const char *p = text;
    int first = 1;
    while (*p == ' ') p++;
    while (*p) {
        size_t n = strlen(p), cut = n;
        if ((int)n > room) {
            cut = (size_t)room;
            /* At a space, or after a '|' of a long list of words. */
            while (cut > 0 && p[cut] != ' ' && p[cut - 1] != '|') cut--;
            if (cut == 0) { /* one word longer than the column: keep it whole */
                cut = (size_t)room;
                while (p[cut] && p[cut] != ' ') cut++;
            }
        }
        if (!first) printf("%*s", col, "");
        printf("%.*s\n", (int)cut, p);
        first = 0;
        p += cut;
        while (*p == ' ') p++;
    }
    if (first) printf("\n");
}

/* The widest name of a registry, to align its section's column. */
static int name_width(const char *(*name)(size_t i))
{
    int w = 0;
    for (size_t i = 0; name(i); i++)
        if ((int)strlen(name(i)) > w) w = (int)strlen(name(i));
    return w;
}

static void print_keys(const lr_key *k)
{
    int w = 0;
    for (const lr_key *q = k; q->path; q++)
        if ((int)strlen(q->path) > w) w = (int)strlen(q->path);
    for (; k->path; k++) {
        char def[96];
        if (k->required) snprintf(def, sizeof def, "required");
        else if (k->def_str) snprintf(def, sizeof def, "default %s", k->def_str[0] ? k->def_str : "\"\"");
        else if (!isnan(k->def)) snprintf(def, sizeof def, "default %g", k->def);
        else snprintf(def, sizeof def, "optional");
        char range[80], words[512], text[2048];
        lr_key_range_text(k, range, sizeof range);
        const char *choices = lr_key_choices_text(k, words, sizeof words);
        snprintf(text, sizeof text, "%-11s %s%s; %s%s%s%s%s", type_name(k->type),
                 k->sweepable ? "sweepable, " : "", def, k->doc, choices ? ": " : "",
                 choices ? choices : "", range[0] ? "; in " : "", range);
        print_row(4, w, k->path, text);
    }
}

int lr_cmd_list(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: lrlab list\n\nList the experiments (with their config keys), "
               "compressors and bounds lrlab knows.\n");
        return 0;
    }
    printf("Experiments (config key 'experiment'):\n");
    int w = name_width(lr_experiment_name_at);
    for (size_t i = 0; lr_experiments[i]; i++) print_row(2, w, lr_experiments[i]->name, lr_experiments[i]->description);
    printf("\nCompressors (compress.methods):\n");
    w = name_width(lr_compressor_name_at);
    for (size_t i = 0; lr_compressors[i]; i++) print_row(2, w, lr_compressors[i]->name, lr_compressors[i]->description);
    printf("\nBounds (bounds.names):\n");
    w = name_width(lr_bound_name_at);
    for (size_t i = 0; lr_bounds[i]; i++) {
        const lr_bound *b = lr_bounds[i];
        char text[2048];
        snprintf(text, sizeof text, "%s [%s%s, on %s]: %s", b->theorem, lr_bound_kind_name(b->kind),
                 b->direction == LR_BOUND_LOWER ? ", lower bound" : "", b->compressor, b->statement);
        print_row(2, w, b->name, text);
        if (b->assumes) {
            snprintf(text, sizeof text, "assumes %s: NaN where the run does not meet it (unless "
                     "bounds.outside_assumptions = true)", lr_bound_assumptions_text(b->assumes));
            print_row(2, w, "", text);
        }
    }
    printf("\nConfig keys common to every experiment:\n");
    print_keys(lr_common_schema);
    printf("\nConfig keys of the bounds (experiments that evaluate bounds):\n");
    print_keys(lr_bounds_schema);
    /* Each compressor reads its own keys; an experiment may declare one of them itself
     * (with its own default or doc), and then its declaration is the one listed there. */
    for (size_t i = 0; lr_compressors[i]; i++)
        if (lr_compressors[i]->keys && lr_compressors[i]->keys[0].path) {
            printf("\nConfig keys of compressor '%s':\n", lr_compressors[i]->name);
            print_keys(lr_compressors[i]->keys);
        }
    for (size_t i = 0; lr_experiments[i]; i++) {
        const lr_experiment *e = lr_experiments[i];
        printf("\nConfig keys of experiment '%s':\n", e->name);
        print_keys(e->schema);
        for (size_t j = 0; e->includes && e->includes[j]; j++)
            if (e->includes[j] == lr_bounds_schema) printf("    (and the bounds' keys above)\n");
    }
    printf("\nA sweepable key also takes [a, b, c], { geom = [lo, hi, n]; }, "
           "{ lin = [lo, hi, n]; }\nor { list = [a, b, c]; }; a group form with "
           "zip = \"name\" moves together with the other axes\nof that zip.\n");
    return 0;
}
