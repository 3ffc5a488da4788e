// PyTorch's SGD-with-momentum and Adam update rules over one flat parameter vector: private to host/train.
#pragma once

#include <span>
#include <vector>

#include "modeconn/train.hpp"

namespace modeconn {

class OptimizerState {
 public:
  OptimizerState(const TrainOptions& options, std::size_t size);
  // One update: g += weight_decay · decay_at (PyTorch's L2 term), then the optimizer's rule on `params`.
  // `decay_at` is the point weight decay is measured at: the parameters themselves when training a model,
  // φ(t) scaled by c_k(t) when fitting a curve.
  void step(std::span<float> params, std::span<const float> grad, std::span<const float> decay_at);

 private:
  TrainOptions o_;
  std::vector<float> m1_, m2_;
  long long t_ = 0;
};

}  // namespace modeconn
