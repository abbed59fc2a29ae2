// The host program. Without a GPU the launches report an error, which it prints: the
// example is about building, not running, CUDA code.
#include <cstdio>
#include "vecops.h"

int main() {
    int rc = vec_add(nullptr, nullptr, nullptr, 0) | vec_scale(nullptr, nullptr, 2.0f, 0) |
             vec_sum(nullptr, nullptr, 0);
    std::printf("vecops built (launch status %d)\n", rc);
    return 0;
}
