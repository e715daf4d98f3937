// Built when CUDA is off: the CPU build never needs CUDA. The CUDA build
// (CMakeLists.txt, KINDLING_CUDA=ON) replaces this file with native/cuda/*.cu.
namespace kd {
bool cudaAvailable() { return false; }
int cudaDeviceCount() { return 0; }
}  // namespace kd
