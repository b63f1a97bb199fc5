/* libFuzzer target: the layer-dump reader on valid dumps with fields made wrong (issue 11).
 *
 * The structured twin of fuzz_dump.c.  Byte mutations of an HDF5 file mostly break HDF5's
 * own structures; this target keeps the file valid HDF5 and makes lrlab's fields wrong.
 * It starts from the good test dump (tests/dumpgen.c: two linear layers and /inputs) and
 * applies up to MAX_EDITS edits, each RECORD bytes of the input:
 *     byte 0      which field (FIELDS below: an attribute, a dataset or a group of the dump)
 *     byte 1      what replaces it (delete; an integer, real, fixed or variable-length
 *                 string scalar; an integer array; a float64, float32 or integer dataset of
 *                 a given shape and fill; an empty group)
 *     bytes 2-10  the value: the shape and fill of a dataset, an index into tables of
 *                 telling integers and strings, or raw bits
 * Whatever stood at the field (attribute or link) is removed first, so any field can
 * become any kind of thing.  The file is then read as `lrlab run` reads a dump
 * (fuzz_dump_common.c): every input must end in LR_OK or a refusal with a message. */
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpgen.h"
#include "fuzz_dump_common.h"

#define MAX_EDITS 4
#define RECORD 11

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
    const char *obj, *name;
} FIELDS[] = {
    {"/", "format"},           {"/", "format_version"},    {"/", "nlayers"},
    {"/", "network"},          {"/layers/000", "kind"},    {"/layers/000", "module"},
    {"/layers/000", "post"},   {"/layers/000", "rows_total"}, {"/layers/000", "kernel"},
    {"/layers/000", "stride"}, {"/layers/000", "padding"}, {"/layers/000", "dilation"},
    {"/layers/000", "in_shape"}, {"/layers/000", "out_shape"}, {"/layers/001", "kind"},
    {"/layers/001", "post"},   {"/layers/001", "rows_total"}, {"/inputs", "n_calib"},
    {"/inputs", "test_accuracy"}, {"/layers/000", "W"},    {"/layers/000", "b"},
    {"/layers/000", "X"},      {"/layers/000", "Y"},       {"/layers/000", "rows"},
    {"/layers/001", "W"},      {"/layers/001", "b"},       {"/layers/001", "X"},
    {"/layers/001", "Y"},      {"/inputs", "x"},           {"/inputs", "labels"},
    {"/layers", "002"},        {"/layers", "000"},         {"/", "inputs"},
    {"/", "layers"},
    /* Issue 14: a grouped conv's groups, a layernorm's affine. */
    {"/layers/000", "groups"}, {"/layers/000", "post0_weight"}, {"/layers/000", "post0_bias"},
    {"/layers/000", "post1_weight"},
};
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

static const long long INTS[] = {0, 1, 2, 3, -1, 5, 6, 7, 20, 40, 60, 4096, 2147483647LL,
                                 2147483648LL, 4294967296LL, INT64_MAX, INT64_MIN, 1000000007LL};
#define NINTS (sizeof INTS / sizeof INTS[0])

static const char *const STRINGS[] = {
    "linear", "conv2d", "relu", "sequential", "layers", "lrlab.layers", "", "relu,maxpool2d(2,2),flatten",
    "leaky_relu(1e308)", "maxpool2d(0,0)", "flatten", "gelu", "tanh", "softmax", "leaky_relu(nan)",
    "maxpool2d(99999999999,1)", "relu,", ",", "((((", "relu,relu,relu,relu,relu,relu,relu,relu,relu,relu",
    "maxpool2d(2,2)", "leaky_relu(-1)", "sigmoid,flatten", "conv2d\x01", "linear ",
    "layernorm(1e-05)", "layernorm(0),relu", "relu,layernorm(1e-05)", "layernorm(-1)", "layernorm",
};
#define NSTRINGS (sizeof STRINGS / sizeof STRINGS[0])

enum { DELETE, INT, REAL, FIXED_STRING, VLEN_STRING, INT_ARRAY, F64_DATASET, F32_DATASET,
       INT_DATASET, F64_DATASET_3D, GROUP, NKINDS };

static const char *template_path(void)
{
    static char path[4200];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s.template", lr_fuzz_dump_path());
        if (lr_dumpgen_write(path, LR_DUMPGEN_GOOD) != 0) abort();
    }
    return path;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out) abort();
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) abort();
    fclose(in);
    if (fclose(out) != 0) abort();
}

/* A dataset fill: ordinary values or a telling one. */
static double fill_value(unsigned pattern, size_t i)
{
    switch (pattern % 6) {
    case 0: return sin(1.0 + (double)i);
    case 1: return 0.0;
    case 2: return NAN;
    case 3: return INFINITY;
    case 4: return 1e300;
    default: return (double)(i % 7) - 3.0;
    }
}

static void put_dataset(hid_t obj, const char *name, hid_t ftype, int rank, const hsize_t *dims,
                        unsigned pattern)
{
    size_t n = 1;
    for (int k = 0; k < rank; k++) n *= dims[k];
    double *v = malloc((n ? n : 1) * sizeof(double));
    if (!v) return;
    for (size_t i = 0; i < n; i++) v[i] = fill_value(pattern, i);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) {
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        H5Dclose(ds);
    }
    H5Sclose(sp);
    free(v);
}

static void put_string(hid_t obj, const char *name, const char *s, int vlen)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, vlen ? H5T_VARIABLE : strlen(s) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, t, vlen ? (const void *)&s : (const void *)s);
        H5Aclose(a);
    }
    H5Sclose(sp);
    H5Tclose(t);
}

static void put_ints(hid_t obj, const char *name, const long long *v, hsize_t n)
{
    hid_t sp = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, H5T_NATIVE_LLONG, v);
        H5Aclose(a);
    }
    H5Sclose(sp);
}

static void edit(hid_t file, const uint8_t *r)
{
    const char *objname = FIELDS[r[0] % NFIELDS].obj, *name = FIELDS[r[0] % NFIELDS].name;
    unsigned kind = r[1] % NKINDS;
    const uint8_t *v = r + 2;
    hid_t obj = H5Oopen(file, objname, H5P_DEFAULT);
    if (obj < 0) return;
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    if (H5Lexists(obj, name, H5P_DEFAULT) > 0) H5Ldelete(obj, name, H5P_DEFAULT);
    long long raw;
    memcpy(&raw, v + 1, sizeof raw);
    long long iv = v[0] < 0xc0 ? INTS[v[0] % NINTS] : raw;
    const char *sv = STRINGS[v[0] % NSTRINGS];
    hsize_t dims[3] = {v[1] % 65, v[2] % 65, v[3] % 9};
    switch (kind) {
    case DELETE: break;
    case INT: put_ints(obj, name, &iv, 0); break;
    case REAL: {
        double d = v[0] < 0xc0 ? (double)iv * 0.5 : (double)raw;
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(obj, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            H5Awrite(a, H5T_NATIVE_DOUBLE, &d);
            H5Aclose(a);
        }
        H5Sclose(sp);
        break;
    }
    case FIXED_STRING: put_string(obj, name, sv, 0); break;
    case VLEN_STRING: put_string(obj, name, sv, 1); break;
    case INT_ARRAY: {
        long long a[4];
        for (int k = 0; k < 4; k++) a[k] = INTS[v[1 + k] % NINTS];
        put_ints(obj, name, a, 1 + v[5] % 4);
        break;
    }
    case F64_DATASET: put_dataset(obj, name, H5T_IEEE_F64LE, 1 + (v[4] & 1), dims, v[5]); break;
    case F32_DATASET: put_dataset(obj, name, H5T_IEEE_F32LE, 1 + (v[4] & 1), dims, v[5]); break;
    case INT_DATASET: put_dataset(obj, name, H5T_STD_I64LE, 1 + (v[4] & 1), dims, v[5] % 2 ? 5 : 1); break;
    case F64_DATASET_3D: put_dataset(obj, name, H5T_IEEE_F64LE, 3, dims, v[5]); break;
    case GROUP: {
        hid_t g = H5Gcreate2(obj, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g >= 0) H5Gclose(g);
        break;
    }
    }
    H5Oclose(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = lr_fuzz_dump_path(), *tmpl = template_path();
    copy_file(tmpl, path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) abort();
    for (size_t e = 0; e < MAX_EDITS && (e + 1) * RECORD <= size; e++) edit(file, data + e * RECORD);
    H5Fclose(file);
    lr_fuzz_dump_read(path);
    return 0;
}
