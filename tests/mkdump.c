/* tests/mkdump DIR: write the test dumps (good.h5 and one broken dump per kind) into DIR
 * for the end-to-end tests. */
#include <stdio.h>

#include "dumpgen.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkdump DIR\n");
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
