/*
 * The checks every C test in tests/c/ uses: CHECK(cond), CHECK_STATUS(call, want) (a failing
 * call must also leave a non-empty vecmatch_last_error_message()), CHECK_OK(call), and
 * check_report(name) for main's exit code. Each test is one translation unit, so the
 * counters are per test program.
 */
#ifndef VECMATCH_TESTS_C_CHECK_H
#define VECMATCH_TESTS_C_CHECK_H

#include "vecmatch.h"

#include <stdio.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        checks++;                                                                        \
        if (!(cond)) {                                                                   \
            failures++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

/* A call must return `want`; when `want` is a failure, it must leave a message. */
#define CHECK_STATUS(call, want)                                                         \
    do {                                                                                 \
        vecmatch_status got_ = (call);                                                   \
        checks++;                                                                        \
        if (got_ != (want)) {                                                            \
            failures++;                                                                  \
            fprintf(stderr, "%s:%d: %s returned %d (%s), wanted %d; message: %s\n",      \
                    __FILE__, __LINE__, #call, (int)got_, vecmatch_status_str(got_),     \
                    (int)(want), vecmatch_last_error_message());                         \
        } else if ((want) != VECMATCH_OK && vecmatch_last_error_message()[0] == '\0') {  \
            failures++;                                                                  \
            fprintf(stderr, "%s:%d: %s failed without a message\n", __FILE__, __LINE__,  \
                    #call);                                                              \
        }                                                                                \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, VECMATCH_OK)

/* Prints the tally; returns main's exit code (0 when every check passed). */
static inline int check_report(const char *test) {
    printf("%s: %d checks, %d failures\n", test, checks, failures);
    return failures == 0 ? 0 : 1;
}

#endif
