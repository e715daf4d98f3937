// nn kernels: im2col/col2im convolution, pooling, batch norm, fused
// cross-entropy and optimizer updates.
#include "kernels.h"
