// Training on the device: the control points, the optimizer's moments, the gradient and the BatchNorm running
// statistics live on the card for the whole run; a step sends up the minibatch's row numbers and the path
// coefficients and brings back the loss. One trainer for every model: an MLP is its layer graph (mlp_graph),
// whose parameters lie in the MLP's order, without BatchNorm.
#include "cuda_backend.cuh"
#include "graph_backward.cuh"
#include "kernels.cuh"
#include "modeconn/graph_eval.hpp"
#include "modeconn/train.hpp"

namespace modeconn::cuda {
namespace {

class CudaTrainer final : public GraphTrainer {
 public:
  // `train_bn`: BatchNorm in train mode (batch statistics, `buffers` updated), as graph training and curve
  // fitting run; an MLP has none.
  CudaTrainer(CudaBackend& backend, Graph graph, const Path& path, std::span<const float> buffers,
              std::size_t first, std::size_t last, const Split& split, const TrainOptions& options)
      : backend_(backend),
        graph_(std::move(graph)),
        split_(split),
        o_(options),
        num_cp_(path.points.size()),
        first_(first),
        last_(last),
        np_(static_cast<std::size_t>(graph_.num_params())),
        points_(num_cp_ * np_),
        m1_(backend.buffer<float>((last - first) * np_)),
        m2_(backend.buffer<float>(options.optimizer == Optimizer::adam ? (last - first) * np_ : 0)),
        g_(backend.buffer<float>(np_)),
        phi_(backend.buffer<float>(num_cp_ > 1 ? np_ : 0)),
        buffers_(buffers.size()),
        coef_(num_cp_) {
    MODECONN_EXPECTS(first < last && last <= num_cp_, "trained control points inside the path");
    MODECONN_EXPECTS(buffers.size() == static_cast<std::size_t>(graph_.num_buffers()), "buffer sizes");
    for (const auto& p : path.points) MODECONN_EXPECTS(p.size() == np_, "control point size");
    const cudaStream_t s = backend_.context().stream();
    for (std::size_t k = 0; k < num_cp_; ++k) points_.upload(path.points[k].data(), np_, s, k * np_);
    buffers_.upload(buffers.data(), buffers.size(), s);
    m1_.fill_bytes(0, s);  // PyTorch's state starts at zero (SGD's first step overwrites it)
    m2_.fill_bytes(0, s);
  }

  PointMetrics step(std::span<const double> coef, std::span<const int64_t> rows) override {
    MODECONN_EXPECTS(coef.size() == num_cp_, "one coefficient per control point");
    const cudaStream_t s = backend_.context().stream();
    const float* phi = points_.data();  // a model: φ = θ
    if (num_cp_ > 1) {
      coef_.upload(coef.data(), num_cp_, s);
      interpolate(points_.data(), static_cast<int64_t>(num_cp_), static_cast<int64_t>(np_), coef_.data(), 1,
                  0, static_cast<int64_t>(np_), phi_.data(), static_cast<int64_t>(np_), s);
      phi = phi_.data();
    }
    const PointMetrics metrics =
        graph_device_metrics_and_grad(backend_, graph_, phi, buffers_.data(), graph_.num_buffers() > 0,
                                      split_, rows, g_.data(), workspace_);  // waits for the loss
    const OptimizerStep o = optimizer_step_at(o_, ++t_);
    for (std::size_t k = first_; k < last_; ++k) {
      float* theta = points_.data() + k * np_;
      const std::size_t state = (k - first_) * np_;
      // Weight decay at c_k·φ for a curve; at θ itself for a model.
      optimizer_step(theta, m1_.data() + state, o.adam ? m2_.data() + state : nullptr, g_.data(),
                     num_cp_ > 1 ? phi : theta, num_cp_ > 1 ? static_cast<float>(coef[k]) : 1.f,
                     static_cast<int64_t>(np_), o, s);
    }
    return metrics;
  }

  void read(Path& path) override {
    MODECONN_EXPECTS(path.points.size() == num_cp_, "the path this trainer was made from");
    const cudaStream_t s = backend_.context().stream();
    for (std::size_t k = first_; k < last_; ++k)
      MODECONN_CUDA_CHECK(cudaMemcpyAsync(path.points[k].data(), points_.data() + k * np_,
                                          np_ * sizeof(float), cudaMemcpyDeviceToHost, s));
    backend_.context().synchronize();
  }

  void read_buffers(std::span<float> buffers) override {
    MODECONN_EXPECTS(buffers.size() == buffers_.size(), "the buffers this trainer was made with");
    buffers_.download(buffers.data(), buffers.size(), backend_.context().stream());
    backend_.context().synchronize();
  }

 private:
  CudaBackend& backend_;
  Graph graph_;
  const Split& split_;
  TrainOptions o_;
  std::size_t num_cp_, first_, last_, np_;
  DeviceBuffer<float> points_, m1_, m2_, g_, phi_, buffers_;
  DeviceBuffer<double> coef_;
  DeviceBackpropWorkspace workspace_;
  long long t_ = 0;
};

}  // namespace

std::unique_ptr<Trainer> CudaBackend::make_trainer(const Path& path, std::size_t first, std::size_t last,
                                                   const Split& split, const TrainOptions& options) {
  MODECONN_EXPECTS(split.task == path.arch.task, "data of the model's task");
  return std::make_unique<CudaTrainer>(*this, mlp_graph(path.arch), path, std::span<const float>{}, first,
                                       last, split, options);
}

std::unique_ptr<GraphTrainer> make_graph_trainer(CudaBackend& backend, const Graph& graph, const Path& points,
                                                 std::span<const float> buffers, std::size_t first,
                                                 std::size_t last, const Split& split,
                                                 const TrainOptions& options) {
  return std::make_unique<CudaTrainer>(backend, graph, points, buffers, first, last, split, options);
}

}  // namespace modeconn::cuda
