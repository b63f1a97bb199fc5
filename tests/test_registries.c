/* Registries against their single-source lists: every id in experiments/list.h names the
 * object of that name, in order, with the hooks every experiment must have, and the
 * enumeration used by registry-validated config keys returns exactly those names. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "gen/gen.h"
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

/* Each generator kind's name table: name_at and parse are inverse, every enum value has a
 * name, and unknown or NULL names are refused. */
static void test_generator_kinds(void)
{
    struct {
        const char *(*name_at)(size_t);
        int (*parse)(const char *);
        size_t count;
    } kinds[] = {{lr_noise_kind_name_at, lr_noise_kind_parse, LR_NOISE_ROW_CORRELATED + 1},
                 {lr_x_kind_name_at, lr_x_kind_parse, LR_X_SPECTRUM + 1},
                 {lr_tail_kind_name_at, lr_tail_kind_parse, LR_TAIL_FILE + 1}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t n = 0;
        while (kinds[k].name_at(n)) {
            CU_ASSERT_EQUAL(kinds[k].parse(kinds[k].name_at(n)), (int)n);
            n++;
        }
        CU_ASSERT_EQUAL(n, kinds[k].count);
        CU_ASSERT_EQUAL(kinds[k].parse("no_such_kind"), -1);
        CU_ASSERT_EQUAL(kinds[k].parse(NULL), -1);
    }
}

void lr_tests_registries(void)
{
    CU_pSuite s = CU_add_suite("registries", NULL, NULL);
    CU_add_test(s, "experiments follow experiments/list.h", test_experiments_follow_list);
    CU_add_test(s, "generator kinds: one name table each", test_generator_kinds);
}
