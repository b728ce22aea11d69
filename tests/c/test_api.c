/*
 * C tests of the vecmatch C API, compiled against the committed include/vecmatch.h and
 * linked with the static library. Run by tests/c/run.sh under AddressSanitizer +
 * UndefinedBehaviorSanitizer and under valgrind.
 *
 * Usage: test_api DATA_DIR ROWS   (DATA_DIR holds base.fvecs and query.fvecs)
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
#include <sys/wait.h>
#include <unistd.h>

/* ---- data ------------------------------------------------------------------------ */

static char tmpdir[256];

static void path_in_tmp(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const unsigned char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_library(void) {
    CHECK(strcmp(vecmatch_version(), VECMATCH_VERSION_STRING) == 0);
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", VECMATCH_VERSION_MAJOR, VECMATCH_VERSION_MINOR,
             VECMATCH_VERSION_PATCH);
    CHECK(strcmp(vecmatch_version(), want) == 0);
    CHECK(vecmatch_abi_version() == VECMATCH_ABI_VERSION);
    const char *hw = vecmatch_hardware_acceleration();
    CHECK(hw != NULL && hw[0] != '\0');
    CHECK(strcmp(vecmatch_status_str(VECMATCH_OK), "ok") == 0);
    CHECK(strcmp(vecmatch_status_str(VECMATCH_ERR_NULL_POINTER), "ok") != 0);
    CHECK(strcmp(vecmatch_status_str((vecmatch_status)12345), "unknown status code") == 0);
    CHECK(strcmp(vecmatch_status_str((vecmatch_status)-1), "unknown status code") == 0);
    CHECK(vecmatch_last_error_message() != NULL);
}

/* VECMATCH_BACKEND naming a backend that does not exist: builders and opens fail with
 * VECMATCH_ERR_UNSUPPORTED_BACKEND. The choice is made once per process, at its first
 * use, so this runs in a child forked before the parent has called vecmatch. */
static void test_backend_override(const char *gallery_path) {
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        CHECK(0);
        return;
    }
    if (pid == 0) {
        int bad = 0;
        setenv("VECMATCH_BACKEND", "avx1024", 1);
        vecmatch_builder *b = NULL;
        bad += vecmatch_builder_new(8, VECMATCH_METRIC_DOT, &b) != VECMATCH_ERR_UNSUPPORTED_BACKEND;
        bad += b != NULL;
        bad += strstr(vecmatch_last_error_message(), "VECMATCH_BACKEND") == NULL;
        vecmatch_gallery *g = NULL;
        bad += vecmatch_gallery_open(gallery_path, &g) != VECMATCH_ERR_UNSUPPORTED_BACKEND;
        bad += g != NULL;
        bad += strcmp(vecmatch_status_str(VECMATCH_ERR_UNSUPPORTED_BACKEND),
                      "unknown status code") == 0;
        vecmatch_builder_free(b);
        vecmatch_gallery_free(g);
        _exit(bad == 0 ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Brute-force cosine top-1 over normalised copies, the oracle for the exact path. */
static size_t brute_top1(const float *base, size_t rows, size_t dims, const float *q) {
    size_t best = 0;
    double best_s = -INFINITY, qn = 0;
    for (size_t j = 0; j < dims; j++) qn += (double)q[j] * q[j];
    for (size_t i = 0; i < rows; i++) {
        double s = 0, n = 0;
        for (size_t j = 0; j < dims; j++) {
            s += (double)base[i * dims + j] * q[j];
            n += (double)base[i * dims + j] * base[i * dims + j];
        }
        s /= sqrt(n) * sqrt(qn);
        if (s > best_s) {
            best_s = s;
            best = i;
        }
    }
    return best;
}

static void test_build_and_search(const float *base, size_t rows, size_t dims,
                                  const float *queries, size_t nq, const char *exact_path,
                                  const char *hnsw_path) {
    vecmatch_builder *b = NULL;
    CHECK_OK(vecmatch_builder_new(dims, VECMATCH_METRIC_COSINE, &b));
    CHECK(b != NULL);
    /* Keys 1000 + i; half one by one, half in a batch. */
    size_t half = rows / 2;
    for (size_t i = 0; i < half; i++) CHECK_OK(vecmatch_builder_add(b, 1000 + i, base + i * dims, dims));
    uint64_t *keys = malloc((rows - half) * sizeof(uint64_t));
    for (size_t i = half; i < rows; i++) keys[i - half] = 1000 + i;
    CHECK_OK(vecmatch_builder_add_batch(b, keys, base + half * dims, rows - half, dims));
    free(keys);
    CHECK(vecmatch_builder_len(b) == rows);
    CHECK_OK(vecmatch_builder_write(b, exact_path));

    vecmatch_hnsw_params hp = vecmatch_hnsw_params_default();
    CHECK(hp.m == 16 && hp.ef_construction == 200);
    hp.m = 8;
    hp.ef_construction = 64;
    CHECK_OK(vecmatch_builder_set_hnsw(b, &hp));
    CHECK_OK(vecmatch_builder_write(b, hnsw_path));
    vecmatch_builder_free(b);

    vecmatch_gallery *g = NULL, *h = NULL;
    CHECK_OK(vecmatch_gallery_open(exact_path, &g));
    CHECK_OK(vecmatch_gallery_open(hnsw_path, &h));
    if (!g || !h) return;
    CHECK(vecmatch_gallery_len(g) == rows);
    CHECK(vecmatch_gallery_dims(g) == dims);
    CHECK(!vecmatch_gallery_has_graph(g));
    CHECK(vecmatch_gallery_has_graph(h));
    vecmatch_metric m = VECMATCH_METRIC_L2;
    CHECK_OK(vecmatch_gallery_metric(g, &m));
    CHECK(m == VECMATCH_METRIC_COSINE);
    CHECK_OK(vecmatch_gallery_verify(g));
    CHECK_OK(vecmatch_gallery_verify(h));
    CHECK(vecmatch_gallery_contains(g, 1000));
    CHECK(!vecmatch_gallery_contains(g, 999));

    /* get: the stored vector is the normalised input. */
    float *v = malloc(dims * sizeof(float));
    CHECK_OK(vecmatch_gallery_get(g, 1000 + 3, v, dims));
    double dot = 0, n = 0;
    for (size_t j = 0; j < dims; j++) {
        dot += (double)v[j] * base[3 * dims + j];
        n += (double)base[3 * dims + j] * base[3 * dims + j];
    }
    CHECK(fabs(dot / sqrt(n) - 1.0) < 1e-4);
    CHECK_STATUS(vecmatch_gallery_get(g, 7, v, dims), VECMATCH_ERR_KEY_NOT_FOUND);
    CHECK_STATUS(vecmatch_gallery_get(g, 1000, v, dims - 1), VECMATCH_ERR_BUFFER_TOO_SMALL);
    free(v);

    /* Exact search with params NULL: k = capacity, sorted, top-1 = brute force. */
    uint64_t out_keys[10];
    float out_d[10];
    size_t len = 99;
    for (size_t qi = 0; qi < nq; qi++) {
        const float *q = queries + qi * dims;
        CHECK_OK(vecmatch_gallery_search(g, q, dims, NULL, out_keys, out_d, 10, &len));
        CHECK(len == 10);
        for (size_t i = 1; i < len; i++) CHECK(out_d[i - 1] <= out_d[i]);
        CHECK(out_keys[0] == 1000 + brute_top1(base, rows, dims, q));
        /* The graph finds the same best hit for most queries; distances agree. */
        uint64_t hk[10];
        float hd[10];
        size_t hl = 0;
        vecmatch_search_params p = vecmatch_search_params_default();
        p.k = 10;
        p.ef = 128;
        CHECK_OK(vecmatch_gallery_search(h, q, dims, &p, hk, hd, 10, &hl));
        CHECK(hl == 10);
        /* exact = true on the graph gallery equals the exact gallery. */
        p.exact = true;
        CHECK_OK(vecmatch_gallery_search(h, q, dims, &p, hk, hd, 10, &hl));
        CHECK(hl == 10 && memcmp(hk, out_keys, sizeof hk) == 0);
    }

    /* A base vector finds itself at distance ~0. */
    CHECK_OK(vecmatch_gallery_search(g, base + 5 * dims, dims, NULL, out_keys, NULL, 1, &len));
    CHECK(len == 1 && out_keys[0] == 1005);

    /* Zero-initialised params are the defaults. */
    vecmatch_search_params zero;
    memset(&zero, 0, sizeof zero);
    CHECK_OK(vecmatch_gallery_search(g, queries, dims, &zero, out_keys, out_d, 10, &len));
    CHECK(len == 10);

    /* Allow list: only those keys come back. Deny list: never. */
    uint64_t allow[3] = {1000 + 1, 1000 + 2, 424242};
    vecmatch_search_params p = vecmatch_search_params_default();
    p.allow_keys = allow;
    p.allow_len = 3;
    CHECK_OK(vecmatch_gallery_search(g, queries, dims, &p, out_keys, out_d, 10, &len));
    CHECK(len == 2);
    for (size_t i = 0; i < len; i++) CHECK(out_keys[i] == 1001 || out_keys[i] == 1002);
    uint64_t best;
    CHECK_OK(vecmatch_gallery_search(g, queries, dims, NULL, &best, NULL, 1, &len));
    vecmatch_search_params dp = vecmatch_search_params_default();
    dp.deny_keys = &best;
    dp.deny_len = 1;
    CHECK_OK(vecmatch_gallery_search(g, queries, dims, &dp, out_keys, out_d, 10, &len));
    for (size_t i = 0; i < len; i++) CHECK(out_keys[i] != best);
    p.deny_keys = &best;
    p.deny_len = 1;
    CHECK_STATUS(vecmatch_gallery_search(g, queries, dims, &p, out_keys, out_d, 10, &len),
                 VECMATCH_ERR_INVALID_ARGUMENT);

    /* max_distance: every hit within it; 0 hits is a success. */
    vecmatch_search_params rp = vecmatch_search_params_default();
    rp.use_max_distance = true;
    rp.max_distance = out_d[2];
    CHECK_OK(vecmatch_gallery_search(g, queries, dims, &rp, out_keys, out_d, 10, &len));
    for (size_t i = 0; i < len; i++) CHECK(out_d[i] <= rp.max_distance);
    rp.max_distance = -1.0f;
    CHECK_OK(vecmatch_gallery_search(g, queries, dims, &rp, out_keys, out_d, 10, &len));
    CHECK(len == 0);
    rp.max_distance = NAN;
    CHECK_STATUS(vecmatch_gallery_search(g, queries, dims, &rp, out_keys, out_d, 10, &len),
                 VECMATCH_ERR_INVALID_ARGUMENT);

    /* Batch: equals one-by-one exact searches; unused slots padded. */
    size_t k = 5;
    uint64_t *bk = malloc(nq * k * sizeof(uint64_t));
    float *bd = malloc(nq * k * sizeof(float));
    size_t *bl = malloc(nq * sizeof(size_t));
    vecmatch_search_params bp = vecmatch_search_params_default();
    bp.k = k;
    CHECK_OK(vecmatch_gallery_search_batch(g, queries, nq, dims, &bp, bk, bd, nq * k, bl));
    for (size_t qi = 0; qi < nq; qi++) {
        CHECK(bl[qi] == k);
        CHECK_OK(vecmatch_gallery_search(g, queries + qi * dims, dims, &bp, out_keys, out_d, 10,
                                         &len));
        CHECK(len == k && memcmp(out_keys, bk + qi * k, k * sizeof(uint64_t)) == 0);
    }
    /* Thread counts beyond the machine (e.g. an uninitialised field) run with at most
       4 x the available cores: same answers, promptly. */
    uint64_t *tk = malloc(nq * k * sizeof(uint64_t));
    vecmatch_search_params tp = bp;
    tp.threads = SIZE_MAX;
    CHECK_OK(vecmatch_gallery_search_batch(g, queries, nq, dims, &tp, tk, NULL, nq * k, bl));
    CHECK(memcmp(tk, bk, nq * k * sizeof(uint64_t)) == 0);
    tp.threads = 100000;
    CHECK_OK(vecmatch_gallery_search(g, queries, dims, &tp, out_keys, out_d, 10, &len));
    CHECK(len == k && memcmp(out_keys, bk, k * sizeof(uint64_t)) == 0);
    free(tk);
    /* params NULL: k = capacity / n_queries; HNSW batch works too. */
    CHECK_OK(vecmatch_gallery_search_batch(h, queries, nq, dims, NULL, bk, NULL, nq * k, bl));
    for (size_t qi = 0; qi < nq; qi++) CHECK(bl[qi] == k);
    /* An allow list of two keys leaves padded slots. */
    bp.allow_keys = allow;
    bp.allow_len = 3;
    CHECK_OK(vecmatch_gallery_search_batch(g, queries, nq, dims, &bp, bk, bd, nq * k, bl));
    CHECK(bl[0] == 2 && bk[2] == VECMATCH_NO_KEY && isinf(bd[2]));
    bp.allow_keys = NULL;
    bp.allow_len = 0;
    CHECK_STATUS(vecmatch_gallery_search_batch(g, queries, nq, dims, &bp, bk, bd, nq * k - 1, bl),
                 VECMATCH_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(vecmatch_gallery_search_batch(g, queries, nq, dims - 1, &bp, bk, bd, nq * k, bl),
                 VECMATCH_ERR_DIMENSION_MISMATCH);
    CHECK_STATUS(vecmatch_gallery_search_batch(g, queries, 0, dims, &bp, bk, bd, nq * k, bl),
                 VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(vecmatch_gallery_search_batch(g, queries, SIZE_MAX / 2, dims, &bp, bk, bd, nq * k, bl),
                 VECMATCH_ERR_INVALID_ARGUMENT);
    free(bk);
    free(bd);
    free(bl);

    vecmatch_gallery_free(g);
    vecmatch_gallery_free(h);
}

static void test_bad_arguments(const float *base, size_t dims, const char *exact_path) {
    vecmatch_gallery *g = NULL;
    CHECK_OK(vecmatch_gallery_open(exact_path, &g));
    uint64_t keys[4];
    float d[4];
    size_t len = 777;
    const float *q = base;

    /* NULL for every pointer argument. */
    CHECK_STATUS(vecmatch_gallery_open(NULL, &g), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_open(exact_path, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_from_bytes(NULL, 10, &g), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_from_bytes((const uint8_t *)"x", 1, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_search(NULL, q, dims, NULL, keys, d, 4, &len), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_search(g, NULL, dims, NULL, keys, d, 4, &len), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_search(g, q, dims, NULL, NULL, d, 4, &len), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_search(g, q, dims, NULL, keys, d, 4, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK(len == 777); /* out-parameters untouched on failure */
    CHECK_STATUS(vecmatch_gallery_search_batch(NULL, q, 1, dims, NULL, keys, d, 4, &len), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_search_batch(g, NULL, 1, dims, NULL, keys, d, 4, &len), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_search_batch(g, q, 1, dims, NULL, NULL, d, 4, &len), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_search_batch(g, q, 1, dims, NULL, keys, d, 4, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_verify(NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_metric(NULL, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_metric(g, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_get(NULL, 1000, d, 4), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_gallery_get(g, 1000, NULL, dims), VECMATCH_ERR_NULL_POINTER);
    CHECK(vecmatch_gallery_len(NULL) == 0);
    CHECK(vecmatch_gallery_dims(NULL) == 0);
    CHECK(!vecmatch_gallery_has_graph(NULL));
    CHECK(!vecmatch_gallery_contains(NULL, 1000));
    vecmatch_search_params bad = vecmatch_search_params_default();
    bad.allow_keys = NULL;
    bad.allow_len = 3;
    CHECK_STATUS(vecmatch_gallery_search(g, q, dims, &bad, keys, d, 4, &len), VECMATCH_ERR_NULL_POINTER);

    vecmatch_builder *b = NULL;
    CHECK_STATUS(vecmatch_builder_new(dims, VECMATCH_METRIC_DOT, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_builder_new(0, VECMATCH_METRIC_DOT, &b), VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK(b == NULL);
    CHECK_STATUS(vecmatch_builder_new(dims, (vecmatch_metric)7, &b), VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(vecmatch_builder_add(NULL, 1, q, dims), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_builder_add_batch(NULL, keys, q, 1, dims), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_builder_set_hnsw(NULL, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_builder_write(NULL, exact_path), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_builder_build(NULL, &g), VECMATCH_ERR_NULL_POINTER);
    CHECK(vecmatch_builder_len(NULL) == 0);
    CHECK_OK(vecmatch_builder_new(dims, VECMATCH_METRIC_DOT, &b));
    CHECK_STATUS(vecmatch_builder_add(b, 1, NULL, dims), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_builder_add_batch(b, NULL, q, 1, dims), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_builder_add_batch(b, keys, NULL, 1, dims), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_builder_write(b, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_STATUS(vecmatch_builder_write(b, ""), VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(vecmatch_builder_build(b, NULL), VECMATCH_ERR_NULL_POINTER);
    CHECK_OK(vecmatch_builder_set_hnsw(b, NULL)); /* NULL params = defaults */
    vecmatch_hnsw_params hp = vecmatch_hnsw_params_default();
    hp.m = 1000;
    CHECK_STATUS(vecmatch_builder_set_hnsw(b, &hp), VECMATCH_ERR_INVALID_ARGUMENT);

    /* Wrong dims, NaN, duplicate keys, zero vectors: typed errors, builder unchanged. */
    CHECK_STATUS(vecmatch_builder_add(b, 1, q, dims - 1), VECMATCH_ERR_DIMENSION_MISMATCH);
    float *nan_v = malloc(dims * sizeof(float));
    memcpy(nan_v, q, dims * sizeof(float));
    nan_v[dims / 2] = NAN;
    CHECK_STATUS(vecmatch_builder_add(b, 1, nan_v, dims), VECMATCH_ERR_NON_FINITE);
    nan_v[dims / 2] = INFINITY;
    CHECK_STATUS(vecmatch_builder_add(b, 1, nan_v, dims), VECMATCH_ERR_NON_FINITE);
    /* Finite but so large that a dot product would overflow. */
    nan_v[dims / 2] = 1e30f;
    CHECK_STATUS(vecmatch_builder_add(b, 1, nan_v, dims), VECMATCH_ERR_OUT_OF_RANGE);
    CHECK(strcmp(vecmatch_status_str(VECMATCH_ERR_OUT_OF_RANGE), "unknown status code") != 0);
    nan_v[dims / 2] = INFINITY;
    CHECK_OK(vecmatch_builder_add(b, 1, q, dims));
    CHECK_STATUS(vecmatch_builder_add(b, 1, q, dims), VECMATCH_ERR_DUPLICATE_KEY);
    uint64_t two[2] = {2, 2};
    CHECK_STATUS(vecmatch_builder_add_batch(b, two, base, 2, dims), VECMATCH_ERR_DUPLICATE_KEY);
    CHECK_STATUS(vecmatch_builder_add_batch(b, two, base, 2, dims + 1), VECMATCH_ERR_DIMENSION_MISMATCH);
    CHECK(vecmatch_builder_len(b) == 1);
    vecmatch_builder *cb = NULL;
    CHECK_OK(vecmatch_builder_new(4, VECMATCH_METRIC_COSINE, &cb));
    float zero4[4] = {0, 0, 0, 0};
    CHECK_STATUS(vecmatch_builder_add(cb, 1, zero4, 4), VECMATCH_ERR_ZERO_VECTOR);
    vecmatch_builder_free(cb);
    /* In-memory build. */
    vecmatch_gallery *mem = NULL;
    CHECK_OK(vecmatch_builder_build(b, &mem));
    CHECK(vecmatch_gallery_len(mem) == 1);
    vecmatch_gallery_free(mem);
    /* Writing into a directory that does not exist is an I/O error. */
    CHECK_STATUS(vecmatch_builder_write(b, "/nonexistent-dir-vecmatch/x.vmg"), VECMATCH_ERR_FILE_NOT_FOUND);
    vecmatch_builder_free(b);

    /* NaN / infinite query, wrong dims, too-small buffers, k = 0 with capacity 0. */
    CHECK_STATUS(vecmatch_gallery_search(g, nan_v, dims, NULL, keys, d, 4, &len), VECMATCH_ERR_NON_FINITE);
    nan_v[0] = NAN;
    CHECK_STATUS(vecmatch_gallery_search(g, nan_v, dims, NULL, keys, d, 4, &len), VECMATCH_ERR_NON_FINITE);
    free(nan_v);
    CHECK_STATUS(vecmatch_gallery_search(g, q, dims - 1, NULL, keys, d, 4, &len), VECMATCH_ERR_DIMENSION_MISMATCH);
    CHECK_STATUS(vecmatch_gallery_search(g, q, dims + 1, NULL, keys, d, 4, &len), VECMATCH_ERR_DIMENSION_MISMATCH);
    CHECK_STATUS(vecmatch_gallery_search(g, q, 0, NULL, keys, d, 4, &len), VECMATCH_ERR_DIMENSION_MISMATCH);
    vecmatch_search_params p = vecmatch_search_params_default();
    p.k = 5;
    CHECK_STATUS(vecmatch_gallery_search(g, q, dims, &p, keys, d, 4, &len), VECMATCH_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(vecmatch_gallery_search(g, q, dims, NULL, keys, d, 0, &len), VECMATCH_ERR_INVALID_ARGUMENT);
    CHECK(len == 777);
    /* Misaligned pointers are refused, not dereferenced. */
    char raw[64];
    const float *odd_q = (const float *)(void *)(raw + 1);
    CHECK_STATUS(vecmatch_gallery_search(g, odd_q, 4, NULL, keys, d, 4, &len), VECMATCH_ERR_MISALIGNED_POINTER);
    /* A huge k is a typed error, not an allocation failure. */
    p.k = SIZE_MAX;
    CHECK_STATUS(vecmatch_gallery_search(g, q, dims, &p, keys, d, 4, &len), VECMATCH_ERR_BUFFER_TOO_SMALL);

    /* free(NULL) */
    vecmatch_gallery_free(NULL);
    vecmatch_builder_free(NULL);
    vecmatch_gallery_free(g);
}

static void test_bad_files(const char *exact_path) {
    vecmatch_gallery *g = NULL;
    char p[512];
    path_in_tmp(p, sizeof p, "missing.vmg");
    CHECK_STATUS(vecmatch_gallery_open(p, &g), VECMATCH_ERR_FILE_NOT_FOUND);
    CHECK(g == NULL);
    CHECK_STATUS(vecmatch_gallery_open(tmpdir, &g), VECMATCH_ERR_IO); /* a directory */

    size_t len = 0;
    unsigned char *bytes = read_file(exact_path, &len);
    CHECK(bytes != NULL && len > 4096);
    if (!bytes) return;

    /* Empty, garbage and truncated files. */
    path_in_tmp(p, sizeof p, "empty.vmg");
    write_file(p, bytes, 0);
    vecmatch_status s = vecmatch_gallery_open(p, &g);
    CHECK(s == VECMATCH_ERR_TRUNCATED || s == VECMATCH_ERR_BAD_MAGIC);
    path_in_tmp(p, sizeof p, "garbage.vmg");
    unsigned char garbage[4096];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (unsigned char)(i * 7 + 3);
    write_file(p, garbage, sizeof garbage);
    CHECK_STATUS(vecmatch_gallery_open(p, &g), VECMATCH_ERR_BAD_MAGIC);
    path_in_tmp(p, sizeof p, "truncated.vmg");
    write_file(p, bytes, len / 2);
    s = vecmatch_gallery_open(p, &g);
    CHECK(s == VECMATCH_ERR_TRUNCATED || s == VECMATCH_ERR_CORRUPT);
    CHECK(g == NULL);
    for (size_t cut = 0; cut < 300; cut += 7) {
        vecmatch_gallery *t = NULL;
        s = vecmatch_gallery_from_bytes(bytes, cut, &t);
        CHECK(s != VECMATCH_OK && t == NULL);
    }

    /* A newer major version. */
    unsigned char *copy = malloc(len);
    memcpy(copy, bytes, len);
    copy[8] = 99; /* format major version (u16 at offset 8) */
    copy[9] = 0;
    vecmatch_gallery *t = NULL;
    s = vecmatch_gallery_from_bytes(copy, len, &t);
    CHECK(s == VECMATCH_ERR_UNSUPPORTED_VERSION || s == VECMATCH_ERR_CHECKSUM_MISMATCH);
    CHECK(t == NULL);

    /* A flipped byte deep in the vectors: opens (O(1)), verify names the damage, and
     * searching it anyway does not crash. */
    memcpy(copy, bytes, len);
    copy[len / 2] ^= 0x40;
    path_in_tmp(p, sizeof p, "flipped.vmg");
    write_file(p, copy, len);
    s = vecmatch_gallery_open(p, &g);
    if (s == VECMATCH_OK) {
        CHECK_STATUS(vecmatch_gallery_verify(g), VECMATCH_ERR_CHECKSUM_MISMATCH);
        CHECK(strstr(vecmatch_last_error_message(), "checksum") != NULL);
        size_t dims = vecmatch_gallery_dims(g);
        float *q = calloc(dims, sizeof(float));
        q[0] = 1.0f;
        uint64_t keys[10];
        size_t n = 0;
        vecmatch_status ss = vecmatch_gallery_search(g, q, dims, NULL, keys, NULL, 10, &n);
        CHECK(ss == VECMATCH_OK || ss == VECMATCH_ERR_CORRUPT);
        free(q);
        vecmatch_gallery_free(g);
    } else {
        CHECK(s == VECMATCH_ERR_CHECKSUM_MISMATCH || s == VECMATCH_ERR_CORRUPT);
    }
    /* Every single-byte flip in the first 512 bytes: a status, never a crash. */
    for (size_t i = 0; i < 512 && i < len; i++) {
        memcpy(copy, bytes, 512);
        copy[i] ^= 0xFF;
        t = NULL;
        s = vecmatch_gallery_from_bytes(copy, len, &t);
        if (s == VECMATCH_OK) {
            vecmatch_status v = vecmatch_gallery_verify(t);
            (void)v;
            vecmatch_gallery_free(t);
        } else {
            CHECK(t == NULL);
            CHECK(vecmatch_last_error_message()[0] != '\0');
        }
    }
    free(copy);
    free(bytes);
}

/* ---- threads ---------------------------------------------------------------------- */

#define THREADS 8
#define TK 10

struct thread_job {
    const vecmatch_gallery *g;
    const float *queries;
    size_t nq, dims;
    const uint64_t *expect; /* nq × TK */
    int mismatches;
    int errors;
};

static void *search_thread(void *arg) {
    struct thread_job *job = arg;
    uint64_t keys[TK];
    float d[TK];
    size_t len;
    vecmatch_search_params p = vecmatch_search_params_default();
    p.k = TK;
    p.threads = 1;
    for (int round = 0; round < 3; round++) {
        for (size_t qi = 0; qi < job->nq; qi++) {
            if (vecmatch_gallery_search(job->g, job->queries + qi * job->dims, job->dims, &p,
                                        keys, d, TK, &len) != VECMATCH_OK) {
                job->errors++;
                continue;
            }
            if (len != TK || memcmp(keys, job->expect + qi * TK, sizeof keys) != 0) job->mismatches++;
        }
        /* An error on this thread must not disturb the others' messages. */
        if (vecmatch_gallery_search(job->g, job->queries, job->dims + 1, &p, keys, d, TK, &len) !=
                VECMATCH_ERR_DIMENSION_MISMATCH ||
            strstr(vecmatch_last_error_message(), "dimension") == NULL)
            job->errors++;
    }
    return NULL;
}

static void test_threads(const char *path, const float *queries, size_t nq) {
    vecmatch_gallery *g = NULL;
    CHECK_OK(vecmatch_gallery_open(path, &g));
    if (!g) return;
    size_t dims = vecmatch_gallery_dims(g);
    uint64_t *expect = malloc(nq * TK * sizeof(uint64_t));
    vecmatch_search_params p = vecmatch_search_params_default();
    p.k = TK;
    p.threads = 1;
    size_t len;
    float d[TK];
    for (size_t qi = 0; qi < nq; qi++)
        CHECK_OK(vecmatch_gallery_search(g, queries + qi * dims, dims, &p, expect + qi * TK, d, TK, &len));
    pthread_t tids[THREADS];
    struct thread_job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (struct thread_job){g, queries, nq, dims, expect, 0, 0};
        CHECK(pthread_create(&tids[t], NULL, search_thread, &jobs[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(tids[t], NULL);
        CHECK(jobs[t].errors == 0);
        CHECK(jobs[t].mismatches == 0);
    }
    free(expect);
    vecmatch_gallery_free(g);
}

/* f16 and i8 storage: element type reported, f32 and compact distances, bad types. */
static void test_storage(const float *base, size_t rows, size_t dims, const float *queries,
                         size_t nq) {
    const vecmatch_element_type types[3] = {VECMATCH_ELEMENT_F16, VECMATCH_ELEMENT_I8,
                                            VECMATCH_ELEMENT_I4};
    vecmatch_gallery *f = NULL;
    {
        vecmatch_builder *b = NULL;
        CHECK_OK(vecmatch_builder_new(dims, VECMATCH_METRIC_DOT, &b));
        for (size_t i = 0; i < rows; i++) CHECK_OK(vecmatch_builder_add(b, i, base + i * dims, dims));
        CHECK_STATUS(vecmatch_builder_set_storage(b, 7, false), VECMATCH_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(vecmatch_builder_set_storage(NULL, VECMATCH_ELEMENT_F16, false),
                     VECMATCH_ERR_NULL_POINTER);
        CHECK_OK(vecmatch_builder_build(b, &f));
        vecmatch_builder_free(b);
    }
    for (int t = 0; t < 3; t++) {
        vecmatch_builder *b = NULL;
        CHECK_OK(vecmatch_builder_new(dims, VECMATCH_METRIC_DOT, &b));
        for (size_t i = 0; i < rows; i++) CHECK_OK(vecmatch_builder_add(b, i, base + i * dims, dims));
        CHECK_OK(vecmatch_builder_set_storage(b, types[t], true));
        vecmatch_hnsw_params hp = vecmatch_hnsw_params_default();
        CHECK_OK(vecmatch_builder_set_hnsw(b, &hp));
        vecmatch_gallery *g = NULL;
        CHECK_OK(vecmatch_builder_build(b, &g));
        vecmatch_builder_free(b);
        if (!g || !f) continue;
        vecmatch_element_type et = VECMATCH_ELEMENT_F32;
        CHECK_OK(vecmatch_gallery_element_type(g, &et));
        CHECK(et == types[t]);
        CHECK_OK(vecmatch_gallery_element_type(f, &et));
        CHECK(et == VECMATCH_ELEMENT_F32);
        CHECK_STATUS(vecmatch_gallery_element_type(g, NULL), VECMATCH_ERR_NULL_POINTER);
        CHECK_OK(vecmatch_gallery_verify(g));
        for (size_t qi = 0; qi < nq; qi++) {
            const float *q = queries + qi * dims;
            uint64_t fk[10], gk[10], rk[10];
            float fd[10], gd[10], rd[10];
            size_t fl = 0, gl = 0, rl = 0;
            vecmatch_search_params p = vecmatch_search_params_default();
            p.k = 10;
            p.exact = true;
            CHECK_OK(vecmatch_gallery_search(f, q, dims, &p, fk, fd, 10, &fl));
            /* Re-ranked with the f32 rows (the default): the f32 answer. */
            CHECK_OK(vecmatch_gallery_search(g, q, dims, &p, gk, gd, 10, &gl));
            CHECK(fl == 10 && gl == 10);
            for (size_t i = 0; i < gl && i < fl; i++) {
                CHECK(gk[i] == fk[i]);
                CHECK(fabsf(gd[i] - fd[i]) < 1e-5f);
            }
            /* Compact distances only: close to the f32 ones. */
            p.no_rerank = true;
            CHECK_OK(vecmatch_gallery_search(g, q, dims, &p, rk, rd, 10, &rl));
            CHECK(rl == 10);
            CHECK(fabsf(rd[0] - fd[0]) < (types[t] == VECMATCH_ELEMENT_I4 ? 0.1f : 0.02f));
        }
        vecmatch_gallery_free(g);
    }
    vecmatch_gallery_free(f);
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
    size_t nq = read_fvecs(path, 20, &qdims, &queries);
    if (rows < 10 || qdims != dims) {
        fprintf(stderr, "bad data: %zu rows, dims %zu/%zu\n", rows, dims, qdims);
        return 2;
    }

    snprintf(tmpdir, sizeof tmpdir, "%s", "/tmp/vecmatch-ctest-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    char exact_path[512], hnsw_path[512];
    path_in_tmp(exact_path, sizeof exact_path, "exact.vmg");
    path_in_tmp(hnsw_path, sizeof hnsw_path, "hnsw.vmg");

    test_backend_override(exact_path); /* first: before this process uses vecmatch */
    test_library();
    test_build_and_search(base, rows, dims, queries, nq, exact_path, hnsw_path);
    test_bad_arguments(base, dims, exact_path);
    test_bad_files(exact_path);
    test_storage(base, rows, dims, queries, nq);
    test_threads(exact_path, queries, nq);
    test_threads(hnsw_path, queries, nq);

    free(base);
    free(queries);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);

    return check_report("test_api");
}
