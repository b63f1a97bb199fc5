/* glibc's libmvec: the 4-wide AVX2 exp, sin and asin (each within 4 ulp of the scalar libm
 * function), for the vector paths of bvn.c and kernel_exact.c.
 *
 * LR_NTK_MVEC is defined where configure linked them (LR_HAVE_LIBMVEC_AVX2) on x86_64 with
 * a GNU C compiler.  The functions that use them are compiled for AVX2 and FMA by the
 * function attribute LR_NTK_AVX2 (gcc and clang both honour it, where clang ignores
 * "#pragma GCC target"), and run only where lr_ntk_simd_avx2() says the machine has both. */
#ifndef LR_NTK_MVEC_H
#define LR_NTK_MVEC_H

#if defined(LR_HAVE_LIBMVEC_AVX2) && defined(__x86_64__) && defined(__GNUC__)
#define LR_NTK_MVEC 1
#include <immintrin.h>

#define LR_NTK_AVX2 __attribute__((target("avx2,fma")))

/* the vector-ABI names of exp, sin and asin for 4 doubles in a ymm register */
LR_NTK_AVX2 __m256d _ZGVdN4v_exp(__m256d x);
LR_NTK_AVX2 __m256d _ZGVdN4v_sin(__m256d x);
LR_NTK_AVX2 __m256d _ZGVdN4v_asin(__m256d x);
#endif

#endif
