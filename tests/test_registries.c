/* Registries against their single-source lists: every id in experiments/list.h names the
 * object of that name, in order, with the hooks every experiment must have, and the
 * enumeration used by registry-validated config keys returns exactly those names. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "run/run.h"
#include "tests.h"

static void test_experiments_follow_list(void)
{
    static const char *const ids[] = {
#define LR_EXPERIMENT(id) #id,
#include "experiments/list.h"
#undef LR_EXPERIMENT
    };
    size_t n = sizeof ids / sizeof ids[0];
    for (size_t i = 0; i < n; i++) {
        const lr_experiment *e = lr_experiments[i];
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_STRING_EQUAL(e->name, ids[i]);
        CU_ASSERT_STRING_EQUAL(lr_experiment_name_at(i), ids[i]);
        CU_ASSERT_PTR_EQUAL(lr_experiment_find(ids[i]), e);
        CU_ASSERT_PTR_NOT_NULL(e->schema);
        CU_ASSERT_PTR_NOT_NULL(e->prepare);
        CU_ASSERT_PTR_NOT_NULL(e->unit);
        CU_ASSERT(e->description && *e->description);
    }
    CU_ASSERT_PTR_NULL(lr_experiments[n]);
    CU_ASSERT_PTR_NULL(lr_experiment_name_at(n));
    CU_ASSERT_PTR_NULL(lr_experiment_find("no_such_kind"));
    CU_ASSERT_PTR_NULL(lr_experiment_find(NULL));
}

void lr_tests_registries(void)
{
    CU_pSuite s = CU_add_suite("registries", NULL, NULL);
    CU_add_test(s, "experiments follow experiments/list.h", test_experiments_follow_list);
}
