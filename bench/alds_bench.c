/* The C side of the ALDS allocator benchmark (bench/alds_bench.py, bench/README.md): reads
 * one problem in the lrlab.alds_input format (below), runs ALDS (lr_alds_run), the global
 * step at k = 1, uniform rank and SVD energy at every budget of the file, `repeats` times
 * each, and prints one JSON object with every allocation and every time.
 *
 * usage: alds_bench INPUT.h5 [repeats]      (default 5)
 *
 * A timed call is lr_alds_plan_alloc + the method + lr_alds_plan_free on the tables
 * already in memory (the plan validates the tables and sizes its workspace, so that cost
 * is counted); reading the file is not timed.  bench/alds_ref.py times the same span of
 * the numpy allocator (its lookup tables built from the same arrays).
 *
 * The input, HDF5 (written by bench/alds_bench.py; bench/alds_ref.py reads it too):
 *   /  attributes  format = "lrlab.alds_input", format_version = 1, name, criterion,
 *                  nlayers, jmin, nseeds, niter, seed, rho_start, rho_step,
 *                  rho_lowerings, fixed_k[nfixed] (int64 unless said)
 *   /budgets       int64 [nb] budgets of the compressible layers' parameters
 *   /keep          float64 [nb] the keep ratios they came from (informational)
 *   /layers/NNN    attributes name, n0, n1, compressible; datasets k int64 [nk],
 *                  jmax int64 [nk], err float64 [sum_i (jmax[i] + 1)] (the tables of
 *                  k[0], k[1], ... one after the other), sv float64 [jmax[0]] (optional) */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compress/alds_alloc.h"
#include "core/error.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "alds_bench: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

/* Plain HDF5 calls (not H5LT: the build's HDF5_LIBS may lack -lhdf5_hl). */
static long attr_long(hid_t f, const char *obj, const char *name)
{
    long v = 0;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) die("cannot open attribute", name);
    hid_t sp = H5Aget_space(a);
    if (H5Sget_simple_extent_npoints(sp) != 1 || H5Aread(a, H5T_NATIVE_LONG, &v) < 0)
        die("cannot read scalar attribute", name);
    H5Sclose(sp), H5Aclose(a);
    return v;
}

static double attr_double(hid_t f, const char *obj, const char *name)
{
    double v = 0;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) die("cannot open attribute", name);
    hid_t sp = H5Aget_space(a);
    if (H5Sget_simple_extent_npoints(sp) != 1 || H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
        die("cannot read scalar attribute", name);
    H5Sclose(sp), H5Aclose(a);
    return v;
}

/* An int64 array attribute into v (at most cap entries); returns its length. */
static size_t attr_longs(hid_t f, const char *obj, const char *name, long *v, size_t cap)
{
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) die("cannot open attribute", name);
    hid_t sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    if (n < 0 || (size_t)n > cap || H5Aread(a, H5T_NATIVE_LONG, v) < 0) die("cannot read attribute", name);
    H5Sclose(sp), H5Aclose(a);
    return (size_t)n;
}

/* A string attribute (fixed or variable length) compared with want. */
static int attr_is(hid_t f, const char *obj, const char *name, const char *want)
{
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return 0;
    hid_t ft = H5Aget_type(a);
    int ok = 0;
    if (H5Tget_class(ft) == H5T_STRING) {
        if (H5Tis_variable_str(ft) > 0) {
            char *s = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(ft));
            if (H5Aread(a, mt, &s) >= 0 && s) ok = !strcmp(s, want), H5free_memory(s);
            H5Tclose(mt);
        } else {
            size_t sz = H5Tget_size(ft);
            char *s = calloc(sz + 1, 1);
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, sz + 1);
            H5Tset_cset(mt, H5Tget_cset(ft));
            if (s && H5Aread(a, mt, s) >= 0) ok = !strcmp(s, want);
            H5Tclose(mt);
            free(s);
        }
    }
    H5Tclose(ft), H5Aclose(a);
    return ok;
}

/* The length of a 1-D dataset (0 if it does not exist). */
static size_t dset_len(hid_t f, const char *path)
{
    if (H5Lexists(f, path, H5P_DEFAULT) <= 0) return 0;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) die("cannot open", path);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[1];
    if (H5Sget_simple_extent_ndims(sp) != 1) die("not a 1-D dataset", path);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp), H5Dclose(d);
    return (size_t)dims[0];
}

static void read_dset(hid_t f, const char *path, hid_t type, void *buf)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0 || H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) die("cannot read", path);
    H5Dclose(d);
}

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s);
    if (!p) die("out of memory", NULL);
    return p;
}

static size_t *read_sizes(hid_t f, const char *path, size_t *n)
{
    *n = dset_len(f, path);
    long *v = xcalloc(*n, sizeof(long));
    if (*n) read_dset(f, path, H5T_NATIVE_LONG, v);
    size_t *s = xcalloc(*n, sizeof(size_t));
    for (size_t i = 0; i < *n; i++) {
        if (v[i] < 0) die("negative entry in", path);
        s[i] = (size_t)v[i];
    }
    free(v);
    return s;
}

static void print_sizes(const char *key, const size_t *v, size_t n, size_t stride)
{
    printf("\"%s\": [", key);
    for (size_t i = 0; i < n; i++) printf("%s%zu", i ? ", " : "", v[i * stride]);
    printf("]");
}

static void print_result(const lr_alds_result *r, size_t n)
{
    printf("\"objective\": %.17g, \"params\": %zu, \"params_total\": %zu, \"budget_left\": %zu, ", r->objective,
           r->params, r->params_total, r->budget_left);
    printf("\"k\": [");
    for (size_t l = 0; l < n; l++) printf("%s%zu", l ? ", " : "", r->layer[l].k);
    printf("], \"j\": [");
    for (size_t l = 0; l < n; l++) printf("%s%zu", l ? ", " : "", r->layer[l].j);
    printf("], \"dense\": [");
    for (size_t l = 0; l < n; l++) printf("%s%d", l ? ", " : "", r->layer[l].dense);
    printf("], \"err\": [");
    for (size_t l = 0; l < n; l++) printf("%s%.17g", l ? ", " : "", r->layer[l].err);
    printf("]");
}

static void print_times(const double *t, int repeats)
{
    printf("\"seconds\": [");
    for (int i = 0; i < repeats; i++) printf("%s%.9g", i ? ", " : "", t[i]);
    printf("]");
}

enum { M_ALDS, M_GLOBAL1, M_UNIFORM, M_ENERGY, M_COUNT };
static const char *method_name[M_COUNT] = {"alds", "global1", "uniform", "energy"};

int main(int argc, char **argv)
{
    if (argc < 2) die("usage: alds_bench INPUT.h5 [repeats]", NULL);
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (repeats < 1) die("repeats must be >= 1", NULL);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) die("cannot open", argv[1]);
    if (!attr_is(f, "/", "format", "lrlab.alds_input")) die("not an lrlab.alds_input file", argv[1]);
    if (attr_long(f, "/", "format_version") != 1) die("unknown format_version", argv[1]);
    size_t n = (size_t)attr_long(f, "/", "nlayers");
    lr_alds_opts o = lr_alds_opts_default();
    o.jmin = (size_t)attr_long(f, "/", "jmin");
    o.nseeds = (size_t)attr_long(f, "/", "nseeds");
    o.niter = (size_t)attr_long(f, "/", "niter");
    o.seed = (unsigned long)attr_long(f, "/", "seed");
    o.rho_start = attr_double(f, "/", "rho_start");
    o.rho_step = attr_double(f, "/", "rho_step");
    o.rho_lowerings = (size_t)attr_long(f, "/", "rho_lowerings");
    {
        long v[LR_ALDS_MAX_FIXED];
        o.nfixed = attr_longs(f, "/", "fixed_k", v, LR_ALDS_MAX_FIXED);
        for (size_t s = 0; s < o.nfixed; s++) o.fixed_k[s] = (size_t)v[s];
    }
    size_t nb;
    size_t *budgets = read_sizes(f, "/budgets", &nb);
    lr_alds_layer *L = xcalloc(n, sizeof *L);
    for (size_t l = 0; l < n; l++) {
        char g[64], path[96];
        snprintf(g, sizeof g, "/layers/%03zu", l);
        L[l].n0 = (size_t)attr_long(f, g, "n0");
        L[l].n1 = (size_t)attr_long(f, g, "n1");
        L[l].compressible = (int)attr_long(f, g, "compressible");
        if (!L[l].compressible) continue;
        size_t nk, nj;
        snprintf(path, sizeof path, "%s/k", g);
        L[l].k = read_sizes(f, path, &nk);
        snprintf(path, sizeof path, "%s/jmax", g);
        L[l].jmax = read_sizes(f, path, &nj);
        if (nj != nk) die("k and jmax differ in length in", g);
        L[l].nk = nk;
        snprintf(path, sizeof path, "%s/err", g);
        size_t ne = dset_len(f, path), want = 0;
        for (size_t i = 0; i < nk; i++) want += L[l].jmax[i] + 1;
        if (ne != want) die("err has the wrong length in", g);
        double *e = xcalloc(ne, sizeof(double));
        read_dset(f, path, H5T_NATIVE_DOUBLE, e);
        const double **ptr = xcalloc(nk, sizeof *ptr);
        for (size_t i = 0, off = 0; i < nk; off += L[l].jmax[i] + 1, i++) ptr[i] = e + off;
        L[l].err = ptr;
        snprintf(path, sizeof path, "%s/sv", g);
        if (H5Lexists(f, path, H5P_DEFAULT) > 0) {
            L[l].nsv = dset_len(f, path);
            double *s = xcalloc(L[l].nsv, sizeof(double));
            if (L[l].nsv) read_dset(f, path, H5T_NATIVE_DOUBLE, s);
            L[l].sv = s;
        }
    }
    H5Fclose(f);

    lr_alds_choice *ch = xcalloc(n, sizeof *ch);
    double *t = xcalloc((size_t)repeats, sizeof(double));
    size_t nt = o.niter + 1;
    double *obj = xcalloc(o.nseeds * nt, sizeof(double)), *rho = xcalloc(o.nseeds * nt, sizeof(double));
    size_t *halv = xcalloc(o.nseeds, sizeof(size_t)), *sk = xcalloc(o.nseeds * n, sizeof(size_t));
    /* The setup alone (validation, workspace, generator), which every timed call below includes. */
    printf("{\"program\": \"alds_bench\", \"nlayers\": %zu, \"repeats\": %d, \"plan_seconds\": [", n, repeats);
    for (int i = 0; i < repeats; i++) {
        double t0 = now();
        lr_alds_plan *p = NULL;
        if (lr_alds_plan_alloc(L, n, &o, &p) != LR_OK) die("invalid problem", lr_last_error());
        lr_alds_plan_free(p);
        printf("%s%.9g", i ? ", " : "", now() - t0);
    }
    printf("], \"runs\": [\n");
    for (size_t b = 0; b < nb; b++) {
        printf("%s {\"budget\": %zu, \"methods\": {", b ? ",\n" : "", budgets[b]);
        for (int m = 0; m < M_COUNT; m++) {
            lr_alds_result r = {.layer = ch};
            lr_alds_trace tr = {obj, rho, halv, sk, 0};
            size_t jc = 0;
            double eta = 0;
            int st = LR_OK;
            for (int i = 0; i < repeats; i++) {
                double t0 = now();
                lr_alds_plan *p = NULL;
                st = lr_alds_plan_alloc(L, n, &o, &p);
                if (st == LR_OK) {
                    switch (m) {
                    case M_ALDS: st = lr_alds_run(p, budgets[b], &r, &tr); break;
                    case M_GLOBAL1: st = lr_alds_global(p, NULL, budgets[b], &r); break;
                    case M_UNIFORM: st = lr_alds_uniform(p, budgets[b], &r, &jc); break;
                    default: st = lr_alds_svd_energy(p, budgets[b], &r, &eta); break;
                    }
                }
                lr_alds_plan_free(p);
                t[i] = now() - t0;
                if (st != LR_OK) break;
            }
            printf("%s\n  \"%s\": {", m ? "," : "", method_name[m]);
            if (st != LR_OK) {
                printf("\"error\": \"");
                for (const char *c = lr_last_error(); *c; c++)
                    if (*c == '"' || *c == '\\') printf("\\%c", *c);
                    else putchar(*c);
                printf("\"}");
                continue;
            }
            print_result(&r, n);
            printf(", ");
            if (m == M_ALDS) {
                printf("\"winner\": %zu, \"trace\": [", tr.winner);
                for (size_t s = 0; s < o.nseeds; s++) {
                    printf("%s[", s ? ", " : "");
                    for (size_t i = 0; i < nt; i++) printf("%s%.17g", i ? ", " : "", obj[s * nt + i]);
                    printf("]");
                }
                printf("], \"rho\": [");
                for (size_t s = 0; s < o.nseeds; s++) {
                    printf("%s[", s ? ", " : "");
                    for (size_t i = 0; i < nt; i++) printf("%s%.17g", i ? ", " : "", rho[s * nt + i]);
                    printf("]");
                }
                printf("], ");
                print_sizes("halvings", halv, o.nseeds, 1);
                printf(", \"seed_k\": [");
                for (size_t s = 0; s < o.nseeds; s++) {
                    printf("%s", s ? ", " : "");
                    printf("[");
                    for (size_t l = 0; l < n; l++) printf("%s%zu", l ? ", " : "", sk[s * n + l]);
                    printf("]");
                }
                printf("], ");
            }
            if (m == M_UNIFORM) printf("\"j_common\": %zu, ", jc);
            if (m == M_ENERGY) printf("\"eta\": %.17g, ", eta);
            print_times(t, repeats);
            printf("}");
        }
        printf("}}");
    }
    printf("\n]}\n");
    return 0;
}
