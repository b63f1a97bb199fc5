/* The C side of the exact-kernel benchmark (bench/ntk_bench.py, bench/README.md): reads a
 * data matrix and the network's settings in the lrlab.ntk_input format (below), computes the
 * exact infinite-width CK and NTK with lr_ntk_kernel_exact (src/ntk/kernel_exact.h) `repeats`
 * times, writes the kernels of the last call to an HDF5 file for the comparison with
 * bench/ntk_ref.py, and prints one JSON line with the timings.
 *
 * usage: ntk_bench INPUT.h5 OUTPUT.h5 [repeats]      (default 3)
 *
 * Timing: lr_ntk_kernel_plan_alloc is timed on its own (plan_seconds), once; the plan then
 * serves every call, and each lr_ntk_kernel_exact call is timed (call_seconds: X^T X, every
 * layer's kernels, the NTK recursion, the copies into CK and NTK).  The plan's buffers are
 * touched for the first time by the first call, so its page faults are in call_seconds[0]
 * only; the driver reports the median of the calls and the first call apart.  Reading the
 * input and writing the output are not timed.  After the output is written, the Gram
 * matrix alone (lr_syrk, the call lr_ntk_kernel_exact starts with) is timed `repeats`
 * times (gram_seconds), so that the driver can split a call into the Gram and the layers; and
 * the recursion alone, lr_ntk_kernel_exact_gram from that Gram (computed outside the timer),
 * `repeats` times (recursion_seconds), its kernels compared bit for bit with the whole call's
 * (recursion_bitwise_equal).
 *
 * The input, HDF5 (written by bench/ntk_bench.py; bench/ntk_ref.py reads it too):
 *   /X             float64 [n][p]: sample j is row j, i.e. read as column-major the p x n
 *                  matrix X of docs/theory.md section 5 with one sample per column
 *   /  attributes  format = "lrlab.ntk_input", format_version = 1 (int64),
 *                  activations: the L layers' specs joined by ';' (lr_ntk_act_parse syntax,
 *                  e.g. "relu;relu;relu", "sigma_T(1,-0.5,1.2);..."),
 *                  tau0 (float64), method ("auto", "closed", "mehler", "reference"),
 *                  mehler_order (int64), z_max, panel (float64), gl_nodes (int64): the
 *                  Mehler rule of lr_ntk_kernel_opts (the reference side uses the same)
 *
 * The output, HDF5: /CK and /NTK float64 [n][n] (symmetric; the NTK is all NaN, and
 * ntk_defined 0, when some layer's sigma' holds a Dirac mass), root attributes tau [L+1],
 * centre [L], method and dmethod (the methods each layer used, ';'-joined), trunc_max,
 * ntk_defined, blas_core. */
#include <cblas.h>
#include <gsl/gsl_errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/error.h"
#include "core/mat.h"
#include "ntk/kernel_exact.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "ntk_bench: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s);
    if (!p) die("out of memory", NULL);
    return p;
}

/* Plain HDF5 calls (not H5LT: the build's HDF5_LIBS may lack -lhdf5_hl). */
static void attr_scalar(hid_t f, const char *name, hid_t type, void *v)
{
    hid_t a = H5Aopen_by_name(f, "/", name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) die("cannot open attribute", name);
    hid_t sp = H5Aget_space(a);
    if (H5Sget_simple_extent_npoints(sp) != 1 || H5Aread(a, type, v) < 0) die("cannot read scalar attribute", name);
    H5Sclose(sp), H5Aclose(a);
}

static long attr_long(hid_t f, const char *name)
{
    long v = 0;
    attr_scalar(f, name, H5T_NATIVE_LONG, &v);
    return v;
}

static double attr_double(hid_t f, const char *name)
{
    double v = 0;
    attr_scalar(f, name, H5T_NATIVE_DOUBLE, &v);
    return v;
}

/* A string attribute (fixed or variable length, as h5py writes them), malloc'ed. */
static char *attr_string(hid_t f, const char *name)
{
    hid_t a = H5Aopen_by_name(f, "/", name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) die("cannot open attribute", name);
    hid_t ft = H5Aget_type(a);
    if (H5Tget_class(ft) != H5T_STRING) die("not a string attribute", name);
    char *out = NULL;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(ft));
    if (H5Tis_variable_str(ft) > 0) {
        char *s = NULL;
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &s) < 0 || !s) die("cannot read attribute", name);
        out = strdup(s);
        H5free_memory(s);
    } else {
        size_t sz = H5Tget_size(ft);
        out = xcalloc(sz + 1, 1);
        H5Tset_size(mt, sz + 1);
        if (H5Aread(a, mt, out) < 0) die("cannot read attribute", name);
    }
    if (!out) die("out of memory", NULL);
    H5Tclose(mt), H5Tclose(ft), H5Aclose(a);
    return out;
}

static void write_attr_doubles(hid_t f, const char *name, const double *v, size_t n)
{
    hsize_t d = n;
    hid_t sp = H5Screate_simple(1, &d, NULL);
    hid_t a = H5Acreate2(f, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, v) < 0) die("cannot write attribute", name);
    H5Aclose(a), H5Sclose(sp);
}

static void write_attr_string(hid_t f, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(s) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, t, s) < 0) die("cannot write attribute", name);
    H5Aclose(a), H5Sclose(sp), H5Tclose(t);
}

static void write_square(hid_t f, const char *name, const double *v, size_t n)
{
    hsize_t d[2] = {n, n};
    hid_t sp = H5Screate_simple(2, d, NULL);
    hid_t ds = H5Dcreate2(f, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) die("cannot write", name);
    H5Dclose(ds), H5Sclose(sp);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, size_t n)
{
    double *s = xcalloc(n, sizeof *s);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

static void print_list(const char *key, const double *v, size_t n)
{
    printf("\"%s\": [", key);
    for (size_t i = 0; i < n; i++) printf("%s%.9g", i ? ", " : "", v[i]);
    printf("]");
}

/* The methods of the layers joined by ';' into buf. */
static void join_methods(const lr_ntk_kernel_method *m, size_t L, char *buf, size_t size)
{
    buf[0] = 0;
    for (size_t l = 0; l < L; l++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", l ? ";" : "", lr_ntk_kernel_method_name(m[l]));
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) die("usage: ntk_bench INPUT.h5 OUTPUT.h5 [repeats]", NULL);
    int repeats = argc > 3 ? atoi(argv[3]) : 3;
    if (repeats < 1) die("repeats must be >= 1", NULL);
    gsl_set_error_handler_off();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) die("cannot open", argv[1]);
    char *fmt = attr_string(f, "format");
    if (strcmp(fmt, "lrlab.ntk_input") != 0) die("not an lrlab.ntk_input file", argv[1]);
    if (attr_long(f, "format_version") != 1) die("unknown format_version", argv[1]);
    free(fmt);
    char *specs = attr_string(f, "activations"), *mname = attr_string(f, "method");
    double tau0 = attr_double(f, "tau0");
    lr_ntk_kernel_opts o = lr_ntk_kernel_defaults();
    long order = attr_long(f, "mehler_order"), nodes = attr_long(f, "gl_nodes");
    if (order < 1 || nodes < 1) die("bad mehler_order or gl_nodes", argv[1]);
    o.mehler_order = (size_t)order, o.gl_nodes = (size_t)nodes;
    o.z_max = attr_double(f, "z_max"), o.panel = attr_double(f, "panel");

    lr_ntk_act acts[LR_NTK_MAX_LAYERS];
    size_t L = 0;
    for (char *save = NULL, *tok = strtok_r(specs, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        if (L == LR_NTK_MAX_LAYERS) die("too many layers in", argv[1]);
        if (lr_ntk_act_parse(tok, &acts[L]) != LR_OK) die("bad activation", lr_last_error());
        L++;
    }
    if (L == 0) die("no activations in", argv[1]);
    int method = -1;
    for (int m = LR_NTK_KERNEL_AUTO; m <= LR_NTK_KERNEL_REFERENCE; m++)
        if (!strcmp(mname, lr_ntk_kernel_method_name((lr_ntk_kernel_method)m))) method = m;
    if (method < 0) die("unknown method", mname);

    hid_t ds = H5Dopen2(f, "/X", H5P_DEFAULT);
    if (ds < 0) die("no dataset /X in", argv[1]);
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[2];
    if (H5Sget_simple_extent_ndims(sp) != 2) die("/X is not 2-D", argv[1]);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    size_t n = (size_t)dims[0], p = (size_t)dims[1];
    double *xd = xcalloc(n * p, sizeof *xd);
    if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, xd) < 0) die("cannot read /X", argv[1]);
    H5Sclose(sp), H5Dclose(ds), H5Fclose(f);
    lr_mat X = lr_mat_wrap(xd, p, n); /* row j of the file = column j of X */

    double *ck = xcalloc(n * n, sizeof *ck), *nt = xcalloc(n * n, sizeof *nt);
    lr_mat CK = lr_mat_wrap(ck, n, n), NTK = lr_mat_wrap(nt, n, n);
    double t0 = now();
    lr_ntk_kernel_plan *plan = lr_ntk_kernel_plan_alloc(n, L, &o);
    double plan_s = now() - t0;
    if (!plan) die("lr_ntk_kernel_plan_alloc failed", lr_last_error());
    double *calls = xcalloc((size_t)repeats, sizeof *calls);
    lr_ntk_kernel_info info;
    for (int r = 0; r < repeats; r++) {
        t0 = now();
        int st = lr_ntk_kernel_exact(plan, X, acts, L, tau0, (lr_ntk_kernel_method)method, CK, NTK, &info);
        calls[r] = now() - t0;
        if (st != LR_OK) die("lr_ntk_kernel_exact failed", lr_last_error());
    }
    /* The recursion alone (lr_ntk_kernel_exact_gram from the same Gram, computed outside the
     * timer): it must give the whole call's kernels bit for bit. */
    double *k0 = xcalloc(n * n, sizeof *k0), *ck2 = xcalloc(n * n, sizeof *ck2), *nt2 = xcalloc(n * n, sizeof *nt2);
    lr_mat K0 = lr_mat_wrap(k0, n, n), CK2 = lr_mat_wrap(ck2, n, n), NTK2 = lr_mat_wrap(nt2, n, n);
    if (lr_syrk('T', 1.0, X, 0.0, K0) != LR_OK) die("lr_syrk failed", lr_last_error());
    double *recs = xcalloc((size_t)repeats, sizeof *recs);
    for (int r = 0; r < repeats; r++) {
        t0 = now();
        int st = lr_ntk_kernel_exact_gram(plan, K0, acts, L, tau0, (lr_ntk_kernel_method)method, CK2, NTK2, NULL);
        recs[r] = now() - t0;
        if (st != LR_OK) die("lr_ntk_kernel_exact_gram failed", lr_last_error());
    }
    int rec_same = !memcmp(ck, ck2, n * n * sizeof *ck) && (!info.ntk_defined || !memcmp(nt, nt2, n * n * sizeof *nt));
    free(k0), free(ck2), free(nt2);
    t0 = now();
    lr_ntk_kernel_plan_free(plan);
    double free_s = now() - t0;

    hid_t g = H5Fcreate(argv[2], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) die("cannot create", argv[2]);
    write_square(g, "CK", ck, n);
    write_square(g, "NTK", nt, n);
    write_attr_doubles(g, "tau", info.tau, L + 1);
    write_attr_doubles(g, "centre", info.centre, L);
    char meth[LR_NTK_MAX_LAYERS * 12], dmeth[LR_NTK_MAX_LAYERS * 12];
    join_methods(info.method, L, meth, sizeof meth);
    join_methods(info.dmethod, L, dmeth, sizeof dmeth);
    write_attr_string(g, "method", meth);
    write_attr_string(g, "dmethod", dmeth);
    write_attr_doubles(g, "trunc_max", &info.trunc_max, 1);
    double defined = info.ntk_defined;
    write_attr_doubles(g, "ntk_defined", &defined, 1);
    const char *core = openblas_get_corename();
    write_attr_string(g, "blas_core", core ? core : "unknown");
    if (H5Fclose(g) < 0) die("cannot close", argv[2]);

    /* The Gram matrix alone, into the CK buffer (written out already, its pages touched). */
    double *grams = xcalloc((size_t)repeats, sizeof *grams);
    for (int r = 0; r < repeats; r++) {
        t0 = now();
        if (lr_syrk('T', 1.0, X, 0.0, CK) != LR_OK) die("lr_syrk failed", lr_last_error());
        grams[r] = now() - t0;
    }

    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("{\"program\": \"ntk_bench\", \"n\": %zu, \"p\": %zu, \"layers\": %zu, \"repeats\": %d, "
           "\"omp_threads\": %d, \"blas_core\": \"%s\", \"blas_threads\": %d, \"method\": \"%s\", "
           "\"dmethod\": \"%s\", \"trunc_max\": %.6g, \"ntk_defined\": %d, \"plan_seconds\": %.9g, "
           "\"free_seconds\": %.9g, ",
           n, p, L, repeats, threads, core ? core : "unknown", openblas_get_num_threads(), meth, dmeth,
           info.trunc_max, info.ntk_defined, plan_s, free_s);
    print_list("call_seconds", calls, (size_t)repeats);
    printf(", \"first_call_seconds\": %.9g, \"call_seconds_median\": %.9g", calls[0], median(calls, (size_t)repeats));
    if (repeats > 1) printf(", \"later_calls_median\": %.9g", median(calls + 1, (size_t)repeats - 1));
    printf(", ");
    print_list("gram_seconds", grams, (size_t)repeats);
    printf(", \"gram_seconds_median\": %.9g, ", median(grams, (size_t)repeats));
    print_list("recursion_seconds", recs, (size_t)repeats);
    printf(", \"recursion_seconds_median\": %.9g, \"recursion_bitwise_equal\": %s", median(recs, (size_t)repeats),
           rec_same ? "true" : "false");
    printf("}\n");
    free(calls), free(grams), free(recs), free(ck), free(nt), free(xd), free(specs), free(mname);
    return 0;
}
