// Fused optimizer updates: one pass over a parameter per step.
#include "kernels.h"
