#include "vecops.h"

template <typename T>
__global__ void scale_kernel(T *out, const T *a, T k, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        out[i] = k * a[i];
}

int vec_scale(float *out, const float *a, float k, int n) {
    scale_kernel<float><<<(n + kBlock - 1) / kBlock, kBlock>>>(out, a, k, n);
    return static_cast<int>(cudaGetLastError());
}
