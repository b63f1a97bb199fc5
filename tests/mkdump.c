/* tests/mkdump DIR: write the test dumps (good.h5 and one broken dump per kind) into DIR
 * for the end-to-end tests.
 * tests/mkdump --set-string FILE NAME VALUE: rewrite FILE's root string attribute NAME
 * (the e2e tests make a results file that names an unknown experiment; HDF5 1.8's object
 * headers carry checksums, so the bytes cannot just be patched). */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "dumpgen.h"

static int set_string(const char *path, const char *name, const char *value)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return 1;
    if (H5Aexists(f, name) > 0) H5Adelete(f, name);
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) + 1);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, t, value) < 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return H5Fclose(f) < 0 || bad;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--set-string")) {
        if (set_string(argv[2], argv[3], argv[4]) == 0) return 0;
        fprintf(stderr, "mkdump: cannot set attribute %s of %s\n", argv[3], argv[2]);
        return 1;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: mkdump DIR | mkdump --set-string FILE NAME VALUE\n");
        return 2;
    }
    for (int k = 0; k < LR_DUMPGEN_NKINDS; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.h5", argv[1], lr_dumpgen_names[k]);
        if (lr_dumpgen_write(path, (lr_dumpgen_kind)k) != 0) {
            fprintf(stderr, "mkdump: cannot write %s\n", path);
            return 1;
        }
    }
    return 0;
}
