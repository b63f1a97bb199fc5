/* The CUnit runner of lrlab's unit tests. */
#include <CUnit/Basic.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>

#include "io/h5.h"
#include "tests.h"

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    lr_h5_quiet();
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    lr_tests_config();
    lr_tests_linalg();
    lr_tests_gen();
    lr_tests_bounds();
    lr_tests_results();
    lr_tests_convex();
    lr_tests_thm2();
    lr_tests_real();
    lr_tests_gram();
    lr_tests_bounds_hold();
    lr_tests_registries();
    lr_tests_plot();
    lr_tests_spectrum();
    lr_tests_nn();
    lr_tests_activation();
    lr_tests_train();
    lr_tests_lod();
    lr_tests_net_lowrank();
    lr_tests_compressors();
    lr_tests_compressed();
    lr_tests_alds_alloc();
    lr_tests_grouped();
    lr_tests_gmm();
    lr_tests_ntk_equiv();
    lr_tests_ntk_act();
    lr_tests_ntk_ternary();
    lr_tests_ntk_kernel();
    lr_tests_compare();
    lr_tests_dist();
    lr_tests_lq();
    lr_tests_failure();
    CU_basic_set_mode(CU_BRM_NORMAL);
    /* tests/unit "SUITE NAME": that suite alone. */
    CU_pSuite only = argc > 1 ? CU_get_suite(argv[1]) : NULL;
    if (argc > 1 && !only) {
        fprintf(stderr, "no suite named \"%s\"\n", argv[1]);
        CU_cleanup_registry();
        return 1;
    }
    if (only) CU_basic_run_suite(only);
    else CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "no unit test ran\n");
        return 1;
    }
    return failed ? 1 : 0;
}
