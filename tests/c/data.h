/*
 * File helpers the C tests in tests/c/ share: a .fvecs reader and a whole-file reader.
 * Bad or missing input files end the test with exit code 2 (the test cannot run).
 */
#ifndef VECMATCH_TESTS_C_DATA_H
#define VECMATCH_TESTS_C_DATA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads up to `max_rows` vectors of a .fvecs file; returns rows read, dims in *dims and the
 * row-major values (malloc'ed, the caller frees them) in *out. */
static inline size_t read_fvecs(const char *path, size_t max_rows, size_t *dims, float **out) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    int32_t d = 0;
    size_t rows = 0;
    float *data = NULL;
    while (rows < max_rows && fread(&d, sizeof d, 1, f) == 1) {
        if (d <= 0 || d > 65536) {
            fprintf(stderr, "%s: bad dimension %d\n", path, d);
            exit(2);
        }
        float *grown = realloc(data, (rows + 1) * (size_t)d * sizeof(float));
        if (!grown) {
            fprintf(stderr, "%s: out of memory\n", path);
            exit(2);
        }
        data = grown;
        if (fread(data + rows * (size_t)d, sizeof(float), (size_t)d, f) != (size_t)d) {
            fprintf(stderr, "%s: short read\n", path);
            exit(2);
        }
        rows++;
    }
    fclose(f);
    *dims = (size_t)d;
    *out = data;
    return rows;
}

/* The whole file (malloc'ed, the caller frees it) and its length in *len; NULL when it
 * cannot be read. */
static inline unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0) {
        fclose(f);
        return NULL;
    }
    unsigned char *buf = malloc((size_t)n);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

#endif
