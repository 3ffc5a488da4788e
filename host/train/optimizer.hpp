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
  // `decay_at` is the point weight decay is measured at: the parameters themselves when training a model.
  void step(std::span<float> params, std::span<const float> grad, std::span<const float> decay_at);
  // The same update for control points trained along a curve, params holding scale.size() points of
  // g.size() values: point k's gradient is scale[k]·g and its decay is measured at scale[k]·φ, formed element
  // by element as they are used (the values step() would be given, without writing them out first).
  void step_curve(std::span<float> params, std::span<const float> scale, std::span<const float> g,
                  std::span<const float> phi);

 private:
  // The rule on elements [offset + begin, offset + end) with gradient scale·g[i] + wd·(scale·decay[i]).
  void update(float* params, int64_t offset, float scale, const float* g, const float* decay, int64_t n);

  TrainOptions o_;
  std::vector<float> m1_, m2_;
  long long t_ = 0;
};

}  // namespace modeconn
