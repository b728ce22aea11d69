/*
 * C tests of labels and filters: vecmatch_builder_add_labeled, vecmatch_filter_* setters,
 * filtered single and batch searches (one filter for all queries, one per query) on
 * galleries with and without a graph and on collections with pending labelled rows, a
 * key predicate called from several threads, and bad arguments. Run by tests/c/run.sh
 * under ASan + UBSan and valgrind.
 *
 * Usage: test_filter DATA_DIR ROWS
 */
#define _GNU_SOURCE /* mkdtemp */
#include "vecmatch.h"
#include "check.h"
#include "data.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Row r carries label r % 10, and label 100 when r % 7 == 0. Keys are rows + 1000. */
static size_t row_labels(size_t r, uint32_t out[2]) {
    out[0] = (uint32_t)(r % 10);
    if (r % 7 == 0) {
        out[1] = 100;
        return 2;
    }
    return 1;
}

static int admitted_all_3_100(uint64_t key) {
    size_t r = (size_t)(key - 1000);
    return r % 10 == 3 && r % 7 == 0;
}

static atomic_long predicate_calls;

/* Admits even keys; called from several threads. */
static bool even_keys(uint64_t key, void *ctx) {
    atomic_fetch_add(&predicate_calls, 1);
    return key % 2 == (uint64_t)(uintptr_t)ctx;
}

#define K 5

/* Searches every query with `filter`: each hit must satisfy `ok`, and there must be K
 * hits (each filter used here admits at least K rows). */
static void check_gallery(const vecmatch_gallery *g, const float *q, size_t nq, size_t d,
                          const vecmatch_filter *filter, int (*ok)(uint64_t)) {
    uint64_t keys[K];
    float dist[K];
    size_t len = 0;
    for (size_t i = 0; i < nq; i++) {
        CHECK_OK(vecmatch_gallery_search_filtered(g, q + i * d, d, NULL, filter, keys, dist, K,
                                                  &len));
        CHECK(len == K);
        for (size_t j = 0; j < len; j++) CHECK(ok(keys[j]));
        for (size_t j = 1; j < len; j++) CHECK(dist[j - 1] <= dist[j]);
    }
    /* The same filter for the whole batch, then the batch with one handle per query. */
    uint64_t *bk = malloc(nq * K * sizeof *bk);
    size_t *lens = malloc(nq * sizeof *lens);
    const vecmatch_filter **each = malloc(nq * sizeof *each);
    for (size_t i = 0; i < nq; i++) each[i] = filter;
    for (size_t n_filters = 1; n_filters <= nq; n_filters += nq - 1) {
        CHECK_OK(vecmatch_gallery_search_batch_filtered(g, q, nq, d, NULL, each, n_filters, bk,
                                                        NULL, nq * K, lens));
        for (size_t i = 0; i < nq; i++) {
            CHECK(lens[i] == K);
            for (size_t j = 0; j < lens[i]; j++) CHECK(ok(bk[i * K + j]));
        }
        if (nq == 1) break;
    }
    if (nq > 2) {
        CHECK_STATUS(vecmatch_gallery_search_batch_filtered(g, q, nq, d, NULL, each, 2, bk, NULL,
                                                            nq * K, lens),
                     VECMATCH_ERR_INVALID_ARGUMENT);
    }
    CHECK_STATUS(vecmatch_gallery_search_batch_filtered(g, q, nq, d, NULL, NULL, 1, bk, NULL,
                                                        nq * K, lens),
                 VECMATCH_ERR_NULL_POINTER);
    free(each);
    free(lens);
    free(bk);
}

static int even(uint64_t key) { return key % 2 == 0; }
static int any_1_2_not_100(uint64_t key) {
    size_t r = (size_t)(key - 1000);
    return (r % 10 == 1 || r % 10 == 2) && r % 7 != 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s DATA_DIR ROWS\n", argv[0]);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/base.fvecs", argv[1]);
    size_t d = 0;
    float *base = NULL;
    size_t n = read_fvecs(path, (size_t)atol(argv[2]), &d, &base);
    snprintf(path, sizeof path, "%s/query.fvecs", argv[1]);
    size_t dq = 0;
    float *queries = NULL;
    size_t nq = read_fvecs(path, 8, &dq, &queries);
    if (n < 500 || dq != d) {
        fprintf(stderr, "need at least 500 rows of matching dims\n");
        free(base);
        free(queries);
        return 2;
    }

    vecmatch_filter *f = NULL;
    CHECK_STATUS(vecmatch_filter_new(NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_OK(vecmatch_filter_new(&f));
    const uint32_t all[] = {3, 100};
    CHECK_OK(vecmatch_filter_all_labels(f, all, 2));
    CHECK_STATUS(vecmatch_filter_all_labels(NULL, all, 2), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_filter_any_labels(f, NULL, 3), VECMATCH_ERR_NULL_POINTER);

    for (int graph = 0; graph < 2; graph++) {
        vecmatch_builder *b = NULL;
        CHECK_OK(vecmatch_builder_new(d, VECMATCH_METRIC_COSINE, &b));
        for (size_t r = 0; r < n; r++) {
            uint32_t l[2];
            size_t nl = row_labels(r, l);
            CHECK_OK(vecmatch_builder_add_labeled(b, 1000 + r, base + r * d, d, l, nl));
        }
        CHECK_STATUS(vecmatch_builder_add_labeled(b, 1, base, d, NULL, 2),
                     VECMATCH_ERR_NULL_POINTER);
        CHECK_OK(vecmatch_builder_add_labeled(b, 1, base, d, NULL, 0));
        if (graph) {
            vecmatch_hnsw_params hp = vecmatch_hnsw_params_default();
            CHECK_OK(vecmatch_builder_set_hnsw(b, &hp));
        }
        vecmatch_gallery *g = NULL;
        CHECK_OK(vecmatch_builder_build(b, &g));
        vecmatch_builder_free(b);
        CHECK_OK(vecmatch_gallery_verify(g));

        check_gallery(g, queries, nq, d, f, admitted_all_3_100);

        vecmatch_filter *f2 = NULL;
        CHECK_OK(vecmatch_filter_new(&f2));
        const uint32_t any[] = {1, 2}, none[] = {100};
        CHECK_OK(vecmatch_filter_any_labels(f2, any, 2));
        CHECK_OK(vecmatch_filter_no_labels(f2, none, 1));
        check_gallery(g, queries, nq, d, f2, any_1_2_not_100);

        /* A predicate, called from the search threads. */
        vecmatch_filter *f3 = NULL;
        CHECK_OK(vecmatch_filter_new(&f3));
        atomic_store(&predicate_calls, 0);
        CHECK_OK(vecmatch_filter_predicate(f3, even_keys, (void *)(uintptr_t)0));
        check_gallery(g, queries, nq, d, f3, even);
        CHECK(atomic_load(&predicate_calls) > 0);
        /* Removing it admits everything again; an allow list of two keys gives two hits. */
        CHECK_OK(vecmatch_filter_predicate(f3, NULL, NULL));
        const uint64_t two[] = {1000, 1001};
        CHECK_OK(vecmatch_filter_allow_keys(f3, two, 2));
        uint64_t keys[K];
        size_t len = 0;
        CHECK_OK(vecmatch_gallery_search_filtered(g, queries, d, NULL, f3, keys, NULL, K, &len));
        CHECK(len == 2);
        CHECK_OK(vecmatch_filter_deny_keys(f3, two, 1));
        CHECK_OK(vecmatch_gallery_search_filtered(g, queries, d, NULL, f3, keys, NULL, K, &len));
        CHECK(len == 1 && keys[0] == 1001);
        CHECK_STATUS(vecmatch_gallery_search_filtered(g, queries, d, NULL, NULL, keys, NULL, K,
                                                      &len),
                     VECMATCH_ERR_NULL_POINTER);
        vecmatch_filter_free(f3);
        vecmatch_filter_free(f2);
        vecmatch_gallery_free(g);
    }

    /* A collection: pending labelled rows are filtered like committed ones. */
    char dir[] = "/tmp/vecmatch-filter-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(path, sizeof path, "%s/c.vmg", dir);
    vecmatch_collection_options o = vecmatch_collection_options_default();
    o.auto_commit_rows = 0;
    vecmatch_collection *c = NULL;
    CHECK_OK(vecmatch_collection_create(path, d, VECMATCH_METRIC_COSINE, &o, &c));
    for (size_t r = 0; r < n; r++) {
        uint32_t l[2];
        size_t nl = row_labels(r, l);
        bool replaced = true;
        CHECK_OK(vecmatch_collection_add_labeled(c, 1000 + r, base + r * d, d, l, nl, &replaced));
        CHECK(!replaced);
        if (r == n / 2) CHECK_OK(vecmatch_collection_commit(c, NULL));
    }
    for (int round = 0; round < 2; round++) {
        uint64_t keys[K];
        size_t len = 0;
        for (size_t i = 0; i < nq; i++) {
            CHECK_OK(vecmatch_collection_search_filtered(c, queries + i * d, d, NULL, f, keys,
                                                         NULL, K, &len));
            CHECK(len == K);
            for (size_t j = 0; j < len; j++) CHECK(admitted_all_3_100(keys[j]));
        }
        uint64_t *bk = malloc(nq * K * sizeof *bk);
        size_t *lens = malloc(nq * sizeof *lens);
        const vecmatch_filter *one[] = {f};
        CHECK_OK(vecmatch_collection_search_batch_filtered(c, queries, nq, d, NULL, one, 1, bk,
                                                           NULL, nq * K, lens));
        for (size_t i = 0; i < nq; i++) {
            CHECK(lens[i] == K);
            for (size_t j = 0; j < lens[i]; j++) CHECK(admitted_all_3_100(bk[i * K + j]));
        }
        free(lens);
        free(bk);
        CHECK_OK(vecmatch_collection_commit(c, NULL));
    }
    vecmatch_collection_free(c);
    remove(path);
    remove(dir);

    vecmatch_filter_free(f);
    vecmatch_filter_free(NULL);
    free(queries);
    free(base);
    return check_report("test_filter");
}
