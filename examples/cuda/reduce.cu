#include "vecops.h"

__global__ void sum_kernel(float *out, const float *a, int n) {
    __shared__ float part[kBlock];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    part[threadIdx.x] = i < n ? a[i] : 0.0f;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) atomicAdd(out, part[0]);
}

int vec_sum(float *out, const float *a, int n) {
    sum_kernel<<<(n + kBlock - 1) / kBlock, kBlock>>>(out, a, n);
    return static_cast<int>(cudaGetLastError());
}
