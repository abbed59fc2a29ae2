#include "vecops.h"

__global__ void add_kernel(float *out, const float *a, const float *b, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] + b[i];
}

int vec_add(float *out, const float *a, const float *b, int n) {
    add_kernel<<<(n + kBlock - 1) / kBlock, kBlock>>>(out, a, b, n);
    return static_cast<int>(cudaGetLastError());
}
