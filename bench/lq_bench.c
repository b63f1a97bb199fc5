/* The l_q kernels' benchmark driver (bench/lq_bench.py runs it; bench/README.md):
 *   lq_bench IN.f64 N D Q REPEATS [OUT.f64]
 * reads N vectors of length D (row-major float64, as numpy writes them), and REPEATS times
 * computes for every vector SI_q and the l1 and l2 truncation errors at every k = 0 .. D
 * (src/compress/lq.h: lr_lq_si, lr_lq_sorted_magnitudes, lr_lq_tail_errors), printing each repeat's
 * seconds; with OUT it writes, once, SI (N values) then err1 and err2 (N x (D + 1) each),
 * for the script's comparison with numpy.  Reading and writing are not timed. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "compress/lq.h"

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: lq_bench IN.f64 N D Q REPEATS [OUT.f64]\n");
        return 2;
    }
    size_t n = strtoul(argv[2], NULL, 10), d = strtoul(argv[3], NULL, 10);
    double q = atof(argv[4]);
    int repeats = atoi(argv[5]);
    double *w = malloc(n * d * sizeof *w), *si = malloc(n * sizeof *si), *sorted = malloc(d * sizeof *sorted);
    double *e1 = malloc(n * (d + 1) * sizeof *e1), *e2 = malloc(n * (d + 1) * sizeof *e2);
    size_t *order = malloc(d * sizeof *order);
    void *work = malloc(lr_lq_order_work(d));
    FILE *f = fopen(argv[1], "rb");
    if (!w || !si || !sorted || !e1 || !e2 || !order || !work || !f || fread(w, sizeof *w, n * d, f) != n * d) {
        fprintf(stderr, "lq_bench: cannot read %zu x %zu values from %s\n", n, d, argv[1]);
        return 1;
    }
    fclose(f);
    for (int r = 0; r < repeats; r++) {
        double t0 = wall();
        for (size_t v = 0; v < n; v++) {
            const double *x = w + v * d;
            si[v] = lr_lq_si(x, d, 1, q);
            lr_lq_sorted_magnitudes(x, d, 1, sorted);
            lr_lq_tail_errors(sorted, d, e1 + v * (d + 1), e2 + v * (d + 1));
        }
        printf("%.9f\n", wall() - t0);
    }
    if (argc > 6) {
        FILE *o = fopen(argv[6], "wb");
        if (!o || fwrite(si, sizeof *si, n, o) != n || fwrite(e1, sizeof *e1, n * (d + 1), o) != n * (d + 1) ||
            fwrite(e2, sizeof *e2, n * (d + 1), o) != n * (d + 1) || fclose(o) != 0) {
            fprintf(stderr, "lq_bench: cannot write %s\n", argv[6]);
            return 1;
        }
    }
    free(w), free(si), free(sorted), free(e1), free(e2), free(order), free(work);
    return 0;
}
