/*
 * C tests of vecmatch_collection_*: upserts, deletes, lookups, commits (deleted vectors
 * physically gone from the file), bad arguments, and searchers racing a writer. Run by
 * tests/c/run.sh under ASan + UBSan and valgrind.
 *
 * Usage: test_collection DATA_DIR ROWS
 */
#define _GNU_SOURCE /* memmem, mkdtemp */
#include "vecmatch.h"
#include "check.h"
#include "data.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether `hits` contains `key`. */
static int has_key(const uint64_t *keys, size_t n, uint64_t key) {
    for (size_t i = 0; i < n; i++)
        if (keys[i] == key) return 1;
    return 0;
}

static void test_lifecycle(const float *base, size_t rows, size_t dims, const char *path) {
    vecmatch_collection *c = NULL;
    vecmatch_collection_options manual;
    memset(&manual, 0, sizeof manual); /* zero = manual commits */
    CHECK_OK(vecmatch_collection_create(path, dims, VECMATCH_METRIC_L2, &manual, &c));
    if (!c) return;
    CHECK(vecmatch_collection_len(c) == 0);
    CHECK(vecmatch_collection_dims(c) == dims);

    /* Add: half one by one, half as a batch; all visible at once. */
    size_t half = rows / 2;
    bool replaced = true;
    for (size_t i = 0; i < half; i++) {
        CHECK_OK(vecmatch_collection_add(c, i, base + i * dims, dims, &replaced));
        CHECK(!replaced);
    }
    uint64_t *keys = malloc(rows * sizeof(uint64_t));
    for (size_t i = 0; i < rows; i++) keys[i] = i;
    size_t n_replaced = 99;
    CHECK_OK(vecmatch_collection_add_batch(c, keys + half, base + half * dims, rows - half, dims,
                                           &n_replaced));
    CHECK(n_replaced == 0);
    CHECK(vecmatch_collection_len(c) == rows);

    uint64_t out[10];
    float dist[10];
    size_t n = 0;
    CHECK_OK(vecmatch_collection_search(c, base + 7 * dims, dims, NULL, out, dist, 10, &n));
    CHECK(n == 10 && out[0] == 7 && dist[0] == 0.0f);

    /* Upsert: key 7 now holds row 8's vector, so a search for row 8 finds 7 and 8 at 0. */
    CHECK_OK(vecmatch_collection_add(c, 7, base + 8 * dims, dims, &replaced));
    CHECK(replaced);
    CHECK(vecmatch_collection_len(c) == rows);
    CHECK_OK(vecmatch_collection_search(c, base + 8 * dims, dims, NULL, out, dist, 2, &n));
    CHECK(n == 2 && dist[0] == 0.0f && dist[1] == 0.0f && has_key(out, 2, 7) && has_key(out, 2, 8));

    /* Delete: never returned again; get says not found; deleting twice reports false. */
    bool deleted = false;
    CHECK_OK(vecmatch_collection_delete(c, 3, &deleted));
    CHECK(deleted);
    CHECK_OK(vecmatch_collection_delete(c, 3, &deleted));
    CHECK(!deleted);
    CHECK(!vecmatch_collection_contains(c, 3));
    CHECK(vecmatch_collection_contains(c, 4));
    CHECK_OK(vecmatch_collection_search(c, base + 3 * dims, dims, NULL, out, dist, 10, &n));
    CHECK(n == 10 && !has_key(out, n, 3));
    float *v = malloc(dims * sizeof(float));
    CHECK_STATUS(vecmatch_collection_get(c, 3, v, dims), VECMATCH_ERR_KEY_NOT_FOUND);
    CHECK_OK(vecmatch_collection_get(c, 4, v, dims));
    CHECK(memcmp(v, base + 4 * dims, dims * sizeof(float)) == 0);
    size_t n_deleted = 0;
    uint64_t more[3] = {5, 6, 123456789};
    CHECK_OK(vecmatch_collection_delete_batch(c, more, 3, &n_deleted));
    CHECK(n_deleted == 2);
    CHECK(vecmatch_collection_len(c) == rows - 3);

    /* Batch search sees the same state. */
    size_t lens[3];
    uint64_t bk[30];
    CHECK_OK(vecmatch_collection_search_batch(c, base + 4 * dims, 3, dims, NULL, bk, NULL, 30, lens));
    CHECK(lens[0] == 10 && !has_key(bk, 30, 5) && !has_key(bk, 30, 6) && !has_key(bk, 30, 3));

    /* Commit: the file holds exactly the live rows; row 3's vector bytes are gone. */
    vecmatch_commit_report report;
    memset(&report, 0, sizeof report);
    CHECK_OK(vecmatch_collection_commit(c, &report));
    CHECK(report.written && report.rows == rows - 3);
    CHECK(vecmatch_collection_len(c) == rows - 3);
    CHECK_OK(vecmatch_collection_commit(c, &report));
    CHECK(!report.written); /* nothing pending */
    vecmatch_collection_free(c);

    size_t len = 0;
    unsigned char *bytes = read_file(path, &len);
    CHECK(bytes != NULL);
    if (bytes) {
        CHECK(memmem(bytes, len, base + 3 * dims, dims * sizeof(float)) == NULL);
        CHECK(memmem(bytes, len, base + 4 * dims, dims * sizeof(float)) != NULL);
        free(bytes);
    }
    /* Reopen: the committed state is what is there. */
    CHECK_OK(vecmatch_collection_open(path, NULL, &c));
    CHECK(vecmatch_collection_len(c) == rows - 3);
    CHECK(!vecmatch_collection_contains(c, 3) && vecmatch_collection_contains(c, 7));
    vecmatch_collection_free(c);
    vecmatch_gallery *g = NULL;
    CHECK_OK(vecmatch_gallery_open(path, &g));
    CHECK_OK(vecmatch_gallery_verify(g));
    CHECK(vecmatch_gallery_len(g) == rows - 3);
    vecmatch_gallery_free(g);
    free(keys);
    free(v);
}

static void test_bad_arguments(const float *base, size_t dims, const char *path,
                               const char *dir) {
    vecmatch_collection *c = NULL;
    char p[600];
    snprintf(p, sizeof p, "%s/missing.vmg", dir);
    CHECK_STATUS(vecmatch_collection_open(p, NULL, &c), VECMATCH_ERR_FILE_NOT_FOUND);
    CHECK_STATUS(vecmatch_collection_open(NULL, NULL, &c), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_open(path, NULL, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_create(path, dims, VECMATCH_METRIC_L2, NULL, &c),
                 VECMATCH_ERR_INVALID_ARGUMENT); /* exists */
    CHECK_STATUS(vecmatch_collection_create(p, dims, (vecmatch_metric)9, NULL, &c),
                 VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(vecmatch_collection_create(p, 0, VECMATCH_METRIC_L2, NULL, &c),
                 VECMATCH_ERR_INVALID_ARGUMENT);
    vecmatch_collection_options o = vecmatch_collection_options_default();
    CHECK(o.auto_commit_rows == 10000 && o.auto_commit_deleted_fraction == 0.25);
    o.auto_commit_deleted_fraction = 2.0;
    CHECK_STATUS(vecmatch_collection_open(path, &o, &c), VECMATCH_ERR_INVALID_ARGUMENT);
    o.auto_commit_deleted_fraction = NAN;
    CHECK_STATUS(vecmatch_collection_open(path, &o, &c), VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK(c == NULL);

    CHECK_OK(vecmatch_collection_open(path, NULL, &c));
    /* One writer per file: a second collection on the same path is refused. */
    vecmatch_collection *second = NULL;
    CHECK_STATUS(vecmatch_collection_open(path, NULL, &second), VECMATCH_ERR_LOCKED);
    CHECK(second == NULL);
    CHECK(strstr(vecmatch_last_error_message(), "locked by another writer") != NULL);
    CHECK(strcmp(vecmatch_status_str(VECMATCH_ERR_LOCKED), "locked by another writer") == 0);
    CHECK(VECMATCH_ERR_LOCKED == 301 && VECMATCH_ERR_CHANGED == 302 &&
          VECMATCH_ERR_PERMISSION == 207);
    size_t before = vecmatch_collection_len(c);
    uint64_t keys[4] = {1, 2, 3, 4};
    float out_d[4];
    uint64_t out_k[4];
    size_t n = 0;
    CHECK_STATUS(vecmatch_collection_add(NULL, 1, base, dims, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_add(c, 1, NULL, dims, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_add(c, 1, base, dims - 1, NULL), VECMATCH_ERR_DIMENSION_MISMATCH);
    float *nan_v = malloc(dims * sizeof(float));
    memcpy(nan_v, base, dims * sizeof(float));
    nan_v[1] = NAN;
    CHECK_STATUS(vecmatch_collection_add(c, 1, nan_v, dims, NULL), VECMATCH_ERR_NON_FINITE);
    CHECK_STATUS(vecmatch_collection_add_batch(NULL, keys, base, 1, dims, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_add_batch(c, NULL, base, 1, dims, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_add_batch(c, keys, NULL, 1, dims, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_add_batch(c, keys, base, 1, dims + 1, NULL), VECMATCH_ERR_DIMENSION_MISMATCH);
    /* All or nothing: the second row is NaN, so the first is not added either. */
    float *two = malloc(2 * dims * sizeof(float));
    memcpy(two, base, dims * sizeof(float));
    memcpy(two + dims, nan_v, dims * sizeof(float));
    uint64_t fresh[2] = {900001, 900002};
    CHECK_STATUS(vecmatch_collection_add_batch(c, fresh, two, 2, dims, NULL), VECMATCH_ERR_NON_FINITE);
    CHECK(!vecmatch_collection_contains(c, 900001));
    CHECK(vecmatch_collection_len(c) == before);
    CHECK_STATUS(vecmatch_collection_delete(NULL, 1, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_delete_batch(NULL, keys, 1, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_delete_batch(c, NULL, 1, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_delete_batch(c, NULL, 0, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_get(NULL, 1, out_d, 4), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_get(c, 1, NULL, dims), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_get(c, 1, out_d, 4), VECMATCH_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(vecmatch_collection_commit(NULL, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_search(NULL, base, dims, NULL, out_k, out_d, 4, &n), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_search(c, NULL, dims, NULL, out_k, out_d, 4, &n), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_search(c, base, dims, NULL, NULL, out_d, 4, &n), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_search(c, base, dims, NULL, out_k, out_d, 4, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_search(c, nan_v, dims, NULL, out_k, out_d, 4, &n), VECMATCH_ERR_NON_FINITE);
    CHECK_STATUS(vecmatch_collection_search(c, base, dims + 1, NULL, out_k, out_d, 4, &n), VECMATCH_ERR_DIMENSION_MISMATCH);
    CHECK_STATUS(vecmatch_collection_search_batch(NULL, base, 1, dims, NULL, out_k, out_d, 4, &n), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_search_batch(c, base, 1, dims, NULL, out_k, out_d, 4, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK(vecmatch_collection_len(NULL) == 0 && vecmatch_collection_dims(NULL) == 0);
    CHECK(!vecmatch_collection_contains(NULL, 1));
    vecmatch_collection_free(NULL);
    vecmatch_collection_free(c);
    free(nan_v);
    free(two);
}

/* ---- the graph across commits ---------------------------------------------------- */

/* Commits that only add rows extend the graph; a delete rebuilds it. */
static void test_graph(const float *base, size_t rows, size_t dims, const char *path) {
    if (rows > 400) rows = 400; /* graph builds under valgrind are slow */
    vecmatch_collection_options o = vecmatch_collection_options_default();
    o.auto_commit_rows = 0;
    o.auto_commit_deleted_fraction = 0;
    o.use_hnsw = true;
    vecmatch_collection *c = NULL;
    CHECK_OK(vecmatch_collection_create(path, dims, VECMATCH_METRIC_COSINE, &o, &c));
    if (!c) return;
    uint64_t *keys = malloc(rows * sizeof(uint64_t));
    for (size_t i = 0; i < rows; i++) keys[i] = i;
    size_t half = rows / 2;
    vecmatch_commit_report r;
    CHECK_OK(vecmatch_collection_add_batch(c, keys, base, half, dims, NULL));
    CHECK_OK(vecmatch_collection_commit(c, &r));
    CHECK(r.written && r.graph && r.graph_extended && r.rows == half);
    CHECK_OK(vecmatch_collection_add_batch(c, keys + half, base + half * dims, rows - half, dims,
                                           NULL));
    CHECK_OK(vecmatch_collection_commit(c, &r));
    CHECK(r.written && r.graph && r.graph_extended && r.rows == rows && r.added == rows - half);
    CHECK_OK(vecmatch_collection_delete(c, 1, NULL));
    CHECK_OK(vecmatch_collection_commit(c, &r));
    CHECK(r.written && r.graph && !r.graph_extended && r.rows == rows - 1 && r.removed == 1);
    /* Every row still finds itself through the graph. */
    uint64_t out[1];
    size_t n = 0, found = 0;
    for (size_t i = 0; i < rows; i++) {
        CHECK_OK(vecmatch_collection_search(c, base + i * dims, dims, NULL, out, NULL, 1, &n));
        found += n == 1 && out[0] == i;
    }
    CHECK(found >= rows - 1 - rows / 100);
    vecmatch_collection_free(c);
    vecmatch_gallery *g = NULL;
    CHECK_OK(vecmatch_gallery_open(path, &g));
    CHECK_OK(vecmatch_gallery_verify(g));
    CHECK(vecmatch_gallery_has_graph(g));
    vecmatch_gallery_free(g);
    free(keys);
}

/* ---- searchers racing a writer -------------------------------------------------- */

#define SEARCHERS 4

struct race {
    vecmatch_collection *c;
    const float *base;
    size_t rows, dims;
    atomic_int *deleted; /* deleted[i] = 1 once delete(i) returned */
    atomic_int done;
    int violations, errors, searches;
};

static void *searcher(void *arg) {
    struct race *r = arg;
    uint64_t keys[10];
    float d[10];
    size_t n;
    vecmatch_search_params p = vecmatch_search_params_default();
    p.k = 10;
    p.threads = 1;
    for (size_t i = 0; !atomic_load(&r->done) || i < 50; i++) {
        size_t row = (i * 7919) % r->rows;
        /* Keys deleted before this search starts must not come back. */
        int gone = atomic_load(&r->deleted[row]);
        if (vecmatch_collection_search(r->c, r->base + row * r->dims, r->dims, &p, keys, d, 10,
                                       &n) != VECMATCH_OK) {
            r->errors++;
            continue;
        }
        r->searches++;
        if (gone && has_key(keys, n, row)) {
            r->violations++;
            fprintf(stderr, "deleted key %zu returned\n", row);
        }
        /* A row the writer never deletes (not a multiple of 3) always finds itself. */
        if (row % 3 != 0 && (n == 0 || d[0] > 1e-3f)) {
            r->violations++;
            fprintf(stderr, "row %zu: n %zu, d0 %g, key0 %llu\n", row, n, n ? d[0] : -1.0, n ? (unsigned long long)keys[0] : 0ULL);
        }
    }
    return NULL;
}

static void test_race(const float *base, size_t rows, size_t dims, const char *path) {
    vecmatch_collection *c = NULL;
    vecmatch_collection_options o;
    memset(&o, 0, sizeof o);
    CHECK_OK(vecmatch_collection_create(path, dims, VECMATCH_METRIC_L2, &o, &c));
    if (!c) return;
    uint64_t *keys = malloc(rows * sizeof(uint64_t));
    for (size_t i = 0; i < rows; i++) keys[i] = i;
    CHECK_OK(vecmatch_collection_add_batch(c, keys, base, rows, dims, NULL));
    CHECK_OK(vecmatch_collection_commit(c, NULL));
    free(keys);

    struct race r = {c, base, rows, dims, calloc(rows, sizeof(atomic_int)), 0, 0, 0, 0};
    struct race rs[SEARCHERS];
    pthread_t t[SEARCHERS];
    for (int i = 0; i < SEARCHERS; i++) {
        rs[i] = r;
        rs[i].violations = rs[i].errors = rs[i].searches = 0;
    }
    /* All searchers share `done` and `deleted` through the first struct. */
    for (int i = 0; i < SEARCHERS; i++) {
        rs[i].deleted = r.deleted;
        CHECK(pthread_create(&t[i], NULL, searcher, &rs[i]) == 0);
    }
    /* The writer: delete every third row, re-add a few, commit in the middle. */
    for (size_t i = 0; i < rows; i += 3) {
        CHECK_OK(vecmatch_collection_delete(c, i, NULL));
        atomic_store(&r.deleted[i], 1);
        if (i == (rows / 6) * 3) CHECK_OK(vecmatch_collection_commit(c, NULL));
    }
    CHECK_OK(vecmatch_collection_commit(c, NULL));
    for (int i = 0; i < SEARCHERS; i++) atomic_store(&rs[i].done, 1);
    for (int i = 0; i < SEARCHERS; i++) {
        pthread_join(t[i], NULL);
        CHECK(rs[i].errors == 0);
        CHECK(rs[i].violations == 0);
        CHECK(rs[i].searches >= 50);
    }
    CHECK(vecmatch_collection_len(c) == rows - (rows + 2) / 3);
    vecmatch_collection_free(c);
    free(r.deleted);
}

/* The write-ahead log: acknowledged changes come back after a free without commit, in
 * each logging mode; bad modes are refused; a damaged log is VECMATCH_ERR_WAL_CORRUPT. */
static void test_durability(const float *base, size_t dims, const char *path) {
    vecmatch_collection *c = NULL;
    char wal[700];
    snprintf(wal, sizeof wal, "%s.wal", path);
    CHECK_OK(vecmatch_collection_create(path, dims, VECMATCH_METRIC_L2, NULL, &c));
    if (!c) return;
    CHECK_STATUS(vecmatch_collection_set_durability(NULL, VECMATCH_DURABILITY_ALWAYS, 0),
                 VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_collection_set_durability(c, VECMATCH_DURABILITY_GROUP, 0),
                 VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(vecmatch_collection_set_durability(c, (vecmatch_durability)7, 0),
                 VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK_OK(vecmatch_collection_set_durability(c, VECMATCH_DURABILITY_ALWAYS, 0));
    for (uint64_t k = 0; k < 5; k++) {
        CHECK_OK(vecmatch_collection_add(c, k, base + k * dims, dims, NULL));
    }
    CHECK_OK(vecmatch_collection_delete(c, 1, NULL));
    vecmatch_collection_free(c); /* no commit */
    FILE *f = fopen(wal, "rb");
    CHECK(f != NULL);
    if (f) fclose(f);

    c = NULL;
    CHECK_OK(vecmatch_collection_open(path, NULL, &c));
    if (!c) return;
    CHECK(vecmatch_collection_len(c) == 4);
    CHECK(vecmatch_collection_contains(c, 4) && !vecmatch_collection_contains(c, 1));
    CHECK_OK(vecmatch_collection_set_durability(c, VECMATCH_DURABILITY_GROUP, 5));
    CHECK_OK(vecmatch_collection_add(c, 9, base + 9 * dims, dims, NULL));
    vecmatch_collection_free(c);

    c = NULL;
    CHECK_OK(vecmatch_collection_open(path, NULL, &c));
    if (!c) return;
    CHECK(vecmatch_collection_len(c) == 5 && vecmatch_collection_contains(c, 9));
    vecmatch_collection_free(c);

    /* One flipped byte in the first record, with valid records after it. */
    size_t len = 0;
    unsigned char *bytes = read_file(wal, &len);
    CHECK(len > 32 + 64);
    if (bytes && len > 32 + 64) {
        bytes[32 + 40] ^= 0x10;
        FILE *w = fopen(wal, "wb");
        CHECK(w && fwrite(bytes, 1, len, w) == len);
        if (w) fclose(w);
        c = NULL;
        CHECK_STATUS(vecmatch_collection_open(path, NULL, &c), VECMATCH_ERR_WAL_CORRUPT);
        CHECK(c == NULL);
        CHECK(strstr(vecmatch_last_error_message(), ".wal") != NULL);
        bytes[32 + 40] ^= 0x10; /* repaired: opens again */
        w = fopen(wal, "wb");
        CHECK(w && fwrite(bytes, 1, len, w) == len);
        if (w) fclose(w);
        CHECK_OK(vecmatch_collection_open(path, NULL, &c));
        CHECK(vecmatch_collection_len(c) == 5);
        CHECK_OK(vecmatch_collection_commit(c, NULL));
        vecmatch_collection_free(c);
    }
    free(bytes);
    CHECK(strlen(vecmatch_status_str(VECMATCH_ERR_WAL_MISMATCH)) > 0);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s DATA_DIR ROWS\n", argv[0]);
        return 2;
    }
    size_t want = (size_t)strtoul(argv[2], NULL, 10);
    char path[512];
    size_t dims = 0;
    float *base = NULL;
    snprintf(path, sizeof path, "%s/base.fvecs", argv[1]);
    size_t rows = read_fvecs(path, want, &dims, &base);
    if (rows < 20) {
        fprintf(stderr, "need at least 20 rows\n");
        return 2;
    }
    char dir[] = "/tmp/vecmatch-ctest-coll-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    char a[600], b[600], c[600], d[600];
    snprintf(a, sizeof a, "%s/life.vmg", dir);
    snprintf(d, sizeof d, "%s/durable.vmg", dir);
    snprintf(b, sizeof b, "%s/race.vmg", dir);
    snprintf(c, sizeof c, "%s/graph.vmg", dir);
    test_lifecycle(base, rows, dims, a);
    test_bad_arguments(base, dims, a, dir);
    test_race(base, rows, dims, b);
    test_graph(base, rows, dims, c);
    test_durability(base, dims, d);
    free(base);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_report("test_collection");
}
