// bf16 autocast for CUDA. tch exposes autocast on/off but not its dtype, and CUDA autocast
// defaults to fp16 (which would need loss scaling); this sets the CUDA autocast dtype to
// bfloat16, as `torch.autocast("cuda", dtype=torch.bfloat16)` does. Never throws across the
// C boundary: returns 0 on success, -1 on failure.
#include <ATen/autocast_mode.h>

extern "C" int synboost_autocast_cuda_bf16(int enable) {
  try {
    at::autocast::set_autocast_dtype(at::kCUDA, enable ? at::kBFloat16 : at::kHalf);
    return 0;
  } catch (...) {
    return -1;
  }
}
