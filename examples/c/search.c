/*
 * A small C program using vecmatch: builds a gallery with an HNSW graph from the first
 * rows of DATA_DIR/base.fvecs, writes it to a file, opens it (mmap) and prints the five
 * nearest stored vectors of the first three queries in DATA_DIR/query.fvecs.
 *
 *   make && ./search ../../data/minilm-5k
 */
#include <vecmatch.h>

#include <stdio.h>
#include <stdlib.h>

#define ROWS 2000
#define K 5

/* Prints the failure and exits if `status` is not VECMATCH_OK. */
static void check(vecmatch_status status, const char *what) {
    if (status != VECMATCH_OK) {
        /* The message names the failure ("dimension mismatch: expected 384, got 3"). */
        fprintf(stderr, "%s: %s (status %d)\n", what, vecmatch_last_error_message(),
                (int)status);
        exit(1);
    }
}

/* Reads up to `max` vectors of a .fvecs file (int32 dims, then dims float32s per row). */
static size_t read_fvecs(const char *path, size_t max, size_t *dims, float **out) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    int32_t d = 0;
    size_t n = 0;
    float *rows = NULL;
    while (n < max && fread(&d, sizeof d, 1, f) == 1 && d > 0) {
        rows = realloc(rows, (n + 1) * (size_t)d * sizeof(float));
        if (!rows || fread(rows + n * (size_t)d, sizeof(float), (size_t)d, f) != (size_t)d) break;
        n++;
    }
    fclose(f);
    *dims = (size_t)d;
    *out = rows;
    return n;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "data/minilm-5k";
    char path[1024];
    size_t dims = 0, qdims = 0;
    float *base = NULL, *queries = NULL;
    snprintf(path, sizeof path, "%s/base.fvecs", dir);
    size_t rows = read_fvecs(path, ROWS, &dims, &base);
    snprintf(path, sizeof path, "%s/query.fvecs", dir);
    size_t nq = read_fvecs(path, 3, &qdims, &queries);
    printf("vecmatch %s (%s): %zu vectors of %zu dims\n", vecmatch_version(),
           vecmatch_hardware_acceleration(), rows, dims);

    /* Build: keys are the row numbers; cosine metric; an HNSW graph with default params. */
    vecmatch_builder *builder = NULL;
    check(vecmatch_builder_new(dims, VECMATCH_METRIC_COSINE, &builder), "builder_new");
    for (size_t i = 0; i < rows; i++)
        check(vecmatch_builder_add(builder, (uint64_t)i, base + i * dims, dims), "builder_add");
    check(vecmatch_builder_set_hnsw(builder, NULL), "builder_set_hnsw");
    check(vecmatch_builder_write(builder, "example.vmg"), "builder_write");
    vecmatch_builder_free(builder);

    /* Open (memory map) and search. */
    vecmatch_gallery *gallery = NULL;
    check(vecmatch_gallery_open("example.vmg", &gallery), "gallery_open");
    vecmatch_search_params params = vecmatch_search_params_default();
    params.k = K;
    for (size_t q = 0; q < nq && qdims == dims; q++) {
        uint64_t keys[K];
        float distances[K];
        size_t found = 0;
        check(vecmatch_gallery_search(gallery, queries + q * dims, dims, &params, keys, distances,
                                      K, &found),
              "gallery_search");
        printf("query %zu:", q);
        for (size_t i = 0; i < found; i++)
            printf("  %llu (%.3f)", (unsigned long long)keys[i], distances[i]);
        printf("\n");
    }

    /* Errors are statuses with a message, never crashes: here a query of the wrong size. */
    uint64_t keys[K];
    size_t found = 0;
    vecmatch_status s = vecmatch_gallery_search(gallery, queries, dims - 1, &params, keys, NULL, K,
                                                &found);
    printf("a bad call: status %d (%s), %s\n", (int)s, vecmatch_status_str(s),
           vecmatch_last_error_message());

    vecmatch_gallery_free(gallery);
    free(base);
    free(queries);
    return 0;
}
