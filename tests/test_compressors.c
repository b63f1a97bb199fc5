/* The compressor registry (src/compress/list.h, registry.c): every entry of compress/list.h
 * is in lr_compressors[], found by its name and listed by lr_compressor_name_at; unknown
 * names are refused (NULL) rather than trusted; the roles that replace name tests are
 * where the experiments expect them. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "compress/compress.h"
#include "tests.h"

static const char *const listed[] = {
#define LR_COMPRESSOR(name) #name,
#include "compress/list.h"
#undef LR_COMPRESSOR
};
#define NLISTED (sizeof listed / sizeof listed[0])

static void test_registry_follows_list(void)
{
    size_t n = 0;
    while (lr_compressors[n]) n++;
    CU_ASSERT_EQUAL(n, NLISTED);
    for (size_t i = 0; i < NLISTED; i++) {
        const lr_compressor *c = lr_compressor_find(listed[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_PTR_EQUAL(c, lr_compressors[i]);
        CU_ASSERT_STRING_EQUAL(c->name, listed[i]);
        CU_ASSERT_STRING_EQUAL(lr_compressor_name_at(i), listed[i]);
        CU_ASSERT(c->fit != NULL && c->scratch != NULL && c->description && c->description[0]);
        for (size_t j = 0; j < i; j++) CU_ASSERT(strcmp(listed[i], listed[j]) != 0);
    }
    CU_ASSERT_PTR_NULL(lr_compressor_name_at(NLISTED));
    CU_ASSERT_PTR_NULL(lr_compressor_name_at((size_t)-1));
}

static void test_registry_refuses_unknown(void)
{
    CU_ASSERT_PTR_NULL(lr_compressor_find("no_such_compressor"));
    CU_ASSERT_PTR_NULL(lr_compressor_find(""));
    CU_ASSERT_PTR_NULL(lr_compressor_find(NULL));
    CU_ASSERT_PTR_NULL(lr_compressor_find("SVD_W")); /* names are case-sensitive */
}

/* The roles the experiments ask for instead of names: one data-agnostic baseline (what
 * `dd <= da` compares with), and it is data-agnostic; Theorem 2(a)'s subject is covered
 * by a theorem and data-driven. */
static void test_registry_roles(void)
{
    size_t nbase = 0, nls = 0;
    for (size_t i = 0; lr_compressors[i]; i++) {
        const lr_compressor *c = lr_compressors[i];
        if (lr_compressor_has_role(c, LR_ROLE_BASELINE)) {
            nbase++;
            CU_ASSERT_EQUAL(c->data_driven, 0);
        }
        if (lr_compressor_has_role(c, LR_ROLE_RANK_LS)) {
            nls++;
            CU_ASSERT(lr_compressor_has_role(c, LR_ROLE_THEORY));
            CU_ASSERT_EQUAL(c->data_driven, 1);
        }
    }
    CU_ASSERT_EQUAL(nbase, 1);
    CU_ASSERT_EQUAL(nls, 1);
    CU_ASSERT_EQUAL(lr_compressor_has_role(NULL, LR_ROLE_BASELINE), 0);
    CU_ASSERT_EQUAL(lr_compressor_has_role(&lr_compressor_svd_w, LR_ROLE_NONE), 0);
    const lr_compressor *comps[3] = {&lr_compressor_dd_rank, &lr_compressor_whiten, &lr_compressor_svd_w};
    CU_ASSERT_EQUAL(lr_compressor_with_role(comps, 3, LR_ROLE_BASELINE), 2);
    CU_ASSERT_EQUAL(lr_compressor_with_role(comps, 2, LR_ROLE_BASELINE), 2); /* none: n */
    CU_ASSERT_EQUAL(lr_compressor_with_role(comps, 3, LR_ROLE_THEORY | LR_ROLE_RANK_LS), 0);
}

void lr_tests_compressors(void)
{
    CU_pSuite s = CU_add_suite("compressors", NULL, NULL);
    CU_add_test(s, "registry: lr_compressors[] follows compress/list.h", test_registry_follows_list);
    CU_add_test(s, "registry: unknown names are refused", test_registry_refuses_unknown);
    CU_add_test(s, "registry: roles (one baseline, Theorem 2(a)'s subject)", test_registry_roles);
}
