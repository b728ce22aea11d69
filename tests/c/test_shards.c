/*
 * C tests of vecmatch_shards_*: a gallery split into shard files answers exact searches
 * (single, batch, filtered, ranged) exactly as one gallery of all rows; mismatched shards,
 * bad arguments and duplicate keys are statuses with messages; concurrent searches on one
 * handle. Compiled against the committed include/vecmatch.h; run by tests/c/run.sh under
 * AddressSanitizer + UndefinedBehaviorSanitizer and under valgrind.
 *
 * Usage: test_shards DATA_DIR ROWS   (DATA_DIR holds base.fvecs and query.fvecs)
 */
#define _POSIX_C_SOURCE 200809L
#include "vecmatch.h"
#include "check.h"
#include "data.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 3
#define K 10

static char tmpdir[256];
static char shard_paths[SHARDS][512];
static char whole_path[512];

/* Writes the whole gallery and SHARDS shards (row i goes to shard i % SHARDS), keys
 * 7 * i + 3. */
static void build(const float *base, size_t rows, size_t dims, vecmatch_metric metric) {
    vecmatch_builder *whole = NULL, *part[SHARDS] = {NULL};
    CHECK_OK(vecmatch_builder_new(dims, metric, &whole));
    for (int s = 0; s < SHARDS; s++) CHECK_OK(vecmatch_builder_new(dims, metric, &part[s]));
    for (size_t i = 0; i < rows; i++) {
        uint64_t key = 7 * (uint64_t)i + 3;
        CHECK_OK(vecmatch_builder_add(whole, key, base + i * dims, dims));
        CHECK_OK(vecmatch_builder_add(part[i % SHARDS], key, base + i * dims, dims));
    }
    snprintf(whole_path, sizeof whole_path, "%s/whole.vmg", tmpdir);
    CHECK_OK(vecmatch_builder_write(whole, whole_path));
    vecmatch_builder_free(whole);
    for (int s = 0; s < SHARDS; s++) {
        snprintf(shard_paths[s], sizeof shard_paths[s], "%s/shard-%d.vmg", tmpdir, s);
        CHECK_OK(vecmatch_builder_write(part[s], shard_paths[s]));
        vecmatch_builder_free(part[s]);
    }
}

static vecmatch_shards *open_all(void) {
    const char *paths[SHARDS];
    for (int s = 0; s < SHARDS; s++) paths[s] = shard_paths[s];
    vecmatch_shards *set = NULL;
    CHECK_OK(vecmatch_shards_open(paths, SHARDS, &set));
    return set;
}

/* Exact searches with the given params: shards and whole gallery agree, hit for hit. */
static void compare(const vecmatch_shards *set, const vecmatch_gallery *g, const float *queries,
                    size_t nq, size_t dims, vecmatch_search_params p) {
    p.exact = true;
    uint64_t ka[K], kb[K];
    float da[K], db[K];
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < nq; i++) {
        CHECK_OK(vecmatch_gallery_search(g, queries + i * dims, dims, &p, ka, da, K, &na));
        CHECK_OK(vecmatch_shards_search(set, queries + i * dims, dims, &p, kb, db, K, &nb));
        CHECK(na == nb);
        for (size_t j = 0; j < na && j < nb; j++) CHECK(ka[j] == kb[j] && da[j] == db[j]);
    }
    size_t cap = nq * K;
    uint64_t *bka = malloc(cap * sizeof *bka), *bkb = malloc(cap * sizeof *bkb);
    float *bda = malloc(cap * sizeof *bda), *bdb = malloc(cap * sizeof *bdb);
    size_t *la = malloc(nq * sizeof *la), *lb = malloc(nq * sizeof *lb);
    p.k = K;
    CHECK_OK(vecmatch_gallery_search_batch(g, queries, nq, dims, &p, bka, bda, cap, la));
    CHECK_OK(vecmatch_shards_search_batch(set, queries, nq, dims, &p, bkb, bdb, cap, lb));
    CHECK(memcmp(la, lb, nq * sizeof *la) == 0);
    CHECK(memcmp(bka, bkb, cap * sizeof *bka) == 0);
    for (size_t i = 0; i < cap; i++) CHECK(bda[i] == bdb[i] || (isinf(bda[i]) && isinf(bdb[i])));
    free(bka);
    free(bkb);
    free(bda);
    free(bdb);
    free(la);
    free(lb);
}

static void test_equals_one_gallery(const float *base, size_t rows, size_t dims,
                                    const float *queries, size_t nq) {
    vecmatch_metric metrics[3] = {VECMATCH_METRIC_COSINE, VECMATCH_METRIC_DOT, VECMATCH_METRIC_L2};
    for (int m = 0; m < 3; m++) {
        build(base, rows, dims, metrics[m]);
        vecmatch_shards *set = open_all();
        vecmatch_gallery *g = NULL;
        CHECK_OK(vecmatch_gallery_open(whole_path, &g));
        CHECK(vecmatch_shards_len(set) == rows);
        CHECK(vecmatch_shards_count(set) == SHARDS);
        CHECK(vecmatch_shards_dims(set) == dims);
        CHECK_OK(vecmatch_shards_verify(set));

        vecmatch_search_params p = vecmatch_search_params_default();
        compare(set, g, queries, nq, dims, p);

        uint64_t allow[64];
        for (size_t i = 0; i < 64; i++) allow[i] = 7 * (uint64_t)(i * 5) + 3;
        p = vecmatch_search_params_default();
        p.allow_keys = allow;
        p.allow_len = 64;
        compare(set, g, queries, nq, dims, p);

        p = vecmatch_search_params_default();
        p.deny_keys = allow;
        p.deny_len = 64;
        compare(set, g, queries, nq, dims, p);

        /* A radius around the 3rd best hit of query 0: some queries have fewer than K. */
        uint64_t k3[3];
        float d3[3];
        size_t n3 = 0;
        p = vecmatch_search_params_default();
        p.exact = true;
        CHECK_OK(vecmatch_gallery_search(g, queries, dims, &p, k3, d3, 3, &n3));
        p.use_max_distance = true;
        p.max_distance = d3[2];
        compare(set, g, queries, nq, dims, p);

        vecmatch_gallery_free(g);
        vecmatch_shards_free(set);
    }
}

static void test_errors(const float *base, size_t dims) {
    vecmatch_shards *set = NULL;
    const char *paths[2] = {shard_paths[0], NULL};
    CHECK_STATUS(vecmatch_shards_open(NULL, 1, &set), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_shards_open(paths, 0, &set), VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(vecmatch_shards_open(paths, 1, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_shards_open(paths, 2, &set), VECMATCH_ERR_NULL_POINTER);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.vmg", tmpdir);
    paths[1] = missing;
    CHECK_STATUS(vecmatch_shards_open(paths, 2, &set), VECMATCH_ERR_FILE_NOT_FOUND);
    CHECK(strstr(vecmatch_last_error_message(), "missing.vmg") != NULL);
    CHECK(set == NULL);

    /* A shard of another dimension, then one holding a key of shard 0 (key 3). */
    char odd[600], dup[600];
    snprintf(odd, sizeof odd, "%s/odd.vmg", tmpdir);
    snprintf(dup, sizeof dup, "%s/dup.vmg", tmpdir);
    vecmatch_builder *b = NULL;
    CHECK_OK(vecmatch_builder_new(dims - 1, VECMATCH_METRIC_L2, &b));
    CHECK_OK(vecmatch_builder_add(b, 1, base, dims - 1));
    CHECK_OK(vecmatch_builder_write(b, odd));
    vecmatch_builder_free(b);
    paths[1] = odd;
    CHECK_STATUS(vecmatch_shards_open(paths, 2, &set), VECMATCH_ERR_SHARD_MISMATCH);
    CHECK(strstr(vecmatch_last_error_message(), "odd.vmg") != NULL);
    CHECK(set == NULL);
    CHECK_OK(vecmatch_builder_new(dims, VECMATCH_METRIC_L2, &b));
    CHECK_OK(vecmatch_builder_add(b, 3, base, dims));
    CHECK_OK(vecmatch_builder_write(b, dup));
    vecmatch_builder_free(b);
    paths[1] = dup;
    CHECK_OK(vecmatch_shards_open(paths, 2, &set));
    CHECK_STATUS(vecmatch_shards_verify(set), VECMATCH_ERR_SHARD_MISMATCH);
    CHECK(strstr(vecmatch_last_error_message(), "key 3") != NULL);

    /* Search arguments: nothing is written on failure. */
    uint64_t keys[K];
    float dist[K];
    size_t n = 12345;
    CHECK_STATUS(vecmatch_shards_search(NULL, base, dims, NULL, keys, dist, K, &n),
                 VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_shards_search(set, base, dims - 1, NULL, keys, dist, K, &n),
                 VECMATCH_ERR_DIMENSION_MISMATCH);
    CHECK_STATUS(vecmatch_shards_search(set, NULL, dims, NULL, keys, dist, K, &n),
                 VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_shards_search_batch(set, base, 1, dims - 1, NULL, keys, dist, K, &n),
                 VECMATCH_ERR_DIMENSION_MISMATCH);
    size_t lens[2] = {12345, 12345};
    CHECK_STATUS(vecmatch_shards_search_batch(set, base, 2, dims, NULL, keys, dist, 1, lens),
                 VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK(n == 12345 && lens[0] == 12345 && lens[1] == 12345);
    /* A duplicated key comes back once. */
    CHECK_OK(vecmatch_shards_search(set, base, dims, NULL, keys, dist, K, &n));
    size_t threes = 0;
    for (size_t i = 0; i < n; i++) threes += keys[i] == 3;
    CHECK(threes == 1);
    vecmatch_shards_free(set);

    CHECK(vecmatch_shards_len(NULL) == 0);
    CHECK(vecmatch_shards_dims(NULL) == 0);
    CHECK(vecmatch_shards_count(NULL) == 0);
    CHECK_STATUS(vecmatch_shards_verify(NULL), VECMATCH_ERR_NULL_POINTER);
    vecmatch_shards_free(NULL);
}

struct job {
    const vecmatch_shards *set;
    const float *queries;
    size_t nq, dims;
    const uint64_t *want;
    int bad;
};

static void *search_loop(void *arg) {
    struct job *j = arg;
    vecmatch_search_params p = vecmatch_search_params_default();
    p.exact = true;
    p.threads = 1;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < j->nq; i++) {
            uint64_t keys[K];
            size_t n = 0;
            if (vecmatch_shards_search(j->set, j->queries + i * j->dims, j->dims, &p, keys, NULL,
                                       K, &n) != VECMATCH_OK ||
                n != K || memcmp(keys, j->want + i * K, sizeof keys) != 0)
                j->bad++;
        }
    }
    return NULL;
}

static void test_threads(const float *queries, size_t nq, size_t dims) {
    vecmatch_shards *set = open_all();
    uint64_t *want = calloc(nq * K, sizeof *want);
    size_t *lens = calloc(nq, sizeof *lens);
    vecmatch_search_params p = vecmatch_search_params_default();
    p.exact = true;
    CHECK_OK(vecmatch_shards_search_batch(set, queries, nq, dims, &p, want, NULL, nq * K, lens));
    pthread_t t[4];
    struct job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){set, queries, nq, dims, want, 0};
        CHECK(pthread_create(&t[i], NULL, search_loop, &jobs[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(jobs[i].bad == 0);
    }
    free(want);
    free(lens);
    vecmatch_shards_free(set);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s DATA_DIR ROWS\n", argv[0]);
        return 2;
    }
    size_t want_rows = (size_t)strtoul(argv[2], NULL, 10);
    char path[512];
    size_t dims = 0, qdims = 0;
    float *base = NULL, *queries = NULL;
    snprintf(path, sizeof path, "%s/base.fvecs", argv[1]);
    size_t rows = read_fvecs(path, want_rows, &dims, &base);
    snprintf(path, sizeof path, "%s/query.fvecs", argv[1]);
    size_t nq = read_fvecs(path, 10, &qdims, &queries);
    if (rows < 3 * K || qdims != dims || dims < 2) {
        fprintf(stderr, "bad data: %zu rows, dims %zu/%zu\n", rows, dims, qdims);
        return 2;
    }
    snprintf(tmpdir, sizeof tmpdir, "%s", "/tmp/vecmatch-cshards-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }

    test_equals_one_gallery(base, rows, dims, queries, nq);
    test_errors(base, dims);
    test_threads(queries, nq, dims);

    free(base);
    free(queries);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report("test_shards");
}
