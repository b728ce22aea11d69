// The generated header compiles as C++ (extern "C", no C-only constructs) and its
// declarations link against the library.
#include "vecmatch.h"

#include <cstdio>
#include <cstring>

static_assert(VECMATCH_OK == 0, "VECMATCH_OK is 0");
static_assert(sizeof(vecmatch_status) == sizeof(int), "status is int-sized");

int main() {
    vecmatch_gallery *g = nullptr;
    vecmatch_status s = vecmatch_gallery_open("/nonexistent/x.vmg", &g);
    if (s != VECMATCH_ERR_FILE_NOT_FOUND || g != nullptr) return 1;
    vecmatch_search_params p = vecmatch_search_params_default();
    if (p.k != 0 || p.exact) return 1;
    if (std::strcmp(vecmatch_version(), VECMATCH_VERSION_STRING) != 0) return 1;
    std::printf("C++: vecmatch %s, ABI %u, %s\n", vecmatch_version(), vecmatch_abi_version(),
                vecmatch_status_str(s));
    return 0;
}
