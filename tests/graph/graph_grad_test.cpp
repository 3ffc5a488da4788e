// The CPU backward through layer graphs against central finite differences of the independent float64
// reference (graph_reference.hpp): every op, BatchNorm with the running statistics (eval) and with the
// minibatch's own (train, each BatchNorm's statistics measured with the earlier ones already
// batch-normalised), and the running statistics updated as PyTorch's train mode updates them.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "graph/graph_models.hpp"
#include "graph_reference.hpp"
#include "modeconn/graph_eval.hpp"
#include "support/check.hpp"

namespace modeconn {
namespace {

struct Reference {
  double loss = 0, error = 0;
  std::vector<test::BnStats> stats;  // train: each BatchNorm's batch mean and biased variance
};

// Mean cross-entropy and error over the minibatch in float64 at parameters `theta`.
Reference reference_batch(const Graph& g, const std::vector<double>& theta,
                          const std::vector<double>& buffers, const Split& s,
                          const std::vector<int64_t>& rows, bool train) {
  Reference r;
  r.stats.resize(g.nodes.size());
  const auto forward = [&](int64_t row) {
    return test::reference_forward(g, theta.data(), buffers.data(), s.x.data() + row * s.features,
                                   train ? &r.stats : nullptr);
  };
  if (train)
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      if (g.nodes[i].op != Op::batch_norm) continue;
      // The BatchNorm's input with every earlier BatchNorm on its batch statistics already.
      const std::size_t in = static_cast<std::size_t>(g.nodes[i].inputs[0]);
      const int64_t c = g.nodes[i].shape[0];
      std::vector<double> sum(static_cast<std::size_t>(c)), sq(sum.size());
      int64_t count = 0;
      for (int64_t row : rows) {
        const std::vector<double> x = forward(row)[in];
        const int64_t per = static_cast<int64_t>(x.size()) / c;
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t k = 0; k < per; ++k) {
            const double v = x[static_cast<std::size_t>(ch * per + k)];
            sum[static_cast<std::size_t>(ch)] += v;
            sq[static_cast<std::size_t>(ch)] += v * v;
          }
        count += per;
      }
      for (int64_t ch = 0; ch < c; ++ch) {
        const double mean = sum[static_cast<std::size_t>(ch)] / static_cast<double>(count);
        r.stats[i].mean.push_back(mean);
        r.stats[i].var.push_back(sq[static_cast<std::size_t>(ch)] / static_cast<double>(count) - mean * mean);
      }
    }
  for (int64_t row : rows) {
    const std::vector<double> z = forward(row).back();
    const int32_t label = s.labels[static_cast<std::size_t>(row)];
    double m = z[0];
    std::size_t best = 0;
    for (std::size_t j = 1; j < z.size(); ++j)
      if (z[j] > z[best]) best = j;
    m = z[best];
    double sum = 0;
    for (double v : z) sum += std::exp(v - m);
    r.loss += m + std::log(sum) - z[static_cast<std::size_t>(label)];
    r.error += static_cast<int32_t>(best) == label ? 0 : 1;
  }
  r.loss /= static_cast<double>(rows.size());
  r.error /= static_cast<double>(rows.size());
  return r;
}

struct GradCase {
  test::GraphCase graph;
  bool train_bn;
};
void PrintTo(const GradCase& c, std::ostream* out) {
  *out << c.graph.name << (c.train_bn ? " train" : " eval");
}

class GraphGradient : public ::testing::TestWithParam<GradCase> {};

TEST_P(GraphGradient, MatchesFiniteDifferencesOfTheFloat64Reference) {
  const GradCase c = GetParam();
  const GraphModel m = test::random_graph_model(c.graph.json, 11);
  const Graph& g = m.graph;
  const Split s = test::random_graph_split(g, 20, g.output_size(), 12);
  const std::vector<int64_t> rows{3, 17, 0, 19,
                                  8, 8,  12};  // one row twice, as a minibatch drawn with replacement may

  std::vector<float> buffers = m.buffers;
  std::vector<float> grad(m.params.size(), NAN);
  const PointMetrics got =
      make_cpu_graph_runner()->metrics_and_grad(g, m.params, buffers, c.train_bn, s, rows, grad);

  std::vector<double> theta(m.params.begin(), m.params.end());
  const std::vector<double> buf64(m.buffers.begin(), m.buffers.end());
  const Reference want = reference_batch(g, theta, buf64, s, rows, c.train_bn);
  EXPECT_TRUE(test::close(got.loss, want.loss, 1e-5)) << got.loss << " vs " << want.loss;
  EXPECT_DOUBLE_EQ(got.error, want.error);

  // Every parameter of a small graph; an even spread of at most 300 otherwise (the linear layers' are many
  // and alike).
  const std::size_t stride = std::max<std::size_t>(1, theta.size() / 300);
  const double h = 1e-6;
  int checked = 0;
  for (std::size_t i = 0; i < theta.size(); i += stride) {
    const double keep = theta[i];
    theta[i] = keep + h;
    const double up = reference_batch(g, theta, buf64, s, rows, c.train_bn).loss;
    theta[i] = keep - h;
    const double down = reference_batch(g, theta, buf64, s, rows, c.train_bn).loss;
    theta[i] = keep;
    EXPECT_TRUE(test::close(grad[i], (up - down) / (2 * h), 1e-3, 2e-5))
        << "parameter " << i << ": " << grad[i] << " vs " << (up - down) / (2 * h);
    ++checked;
  }
  EXPECT_GT(checked, 30);

  // Train mode moves the running statistics 10% of the way to the batch's, the variance unbiased; eval mode
  // leaves them.
  const TensorPlaces places = tensor_places(g);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].op != Op::batch_norm) continue;
    const TensorPlace& mean = places[i][static_cast<std::size_t>(TensorRole::running_mean)];
    const TensorPlace& var = places[i][static_cast<std::size_t>(TensorRole::running_var)];
    const double count =
        static_cast<double>(rows.size()) *
        static_cast<double>(g.nodes[i].shape.size() == 3 ? g.nodes[i].shape[1] * g.nodes[i].shape[2] : 1);
    for (int64_t ch = 0; ch < mean.size; ++ch) {
      const auto at_m = static_cast<std::size_t>(mean.offset + ch),
                 at_v = static_cast<std::size_t>(var.offset + ch);
      double want_mean = m.buffers[at_m], want_var = m.buffers[at_v];
      if (c.train_bn) {
        want_mean = 0.9 * want_mean + 0.1 * want.stats[i].mean[static_cast<std::size_t>(ch)];
        want_var =
            0.9 * want_var + 0.1 * want.stats[i].var[static_cast<std::size_t>(ch)] * count / (count - 1);
      }
      EXPECT_TRUE(test::close(buffers[at_m], want_mean, 1e-5)) << g.nodes[i].name << " mean " << ch;
      EXPECT_TRUE(test::close(buffers[at_v], want_var, 1e-5)) << g.nodes[i].name << " var " << ch;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cpu, GraphGradient,
    ::testing::Values(GradCase{test::kGraphCases[0], false}, GradCase{test::kGraphCases[0], true},
                      GradCase{test::kGraphCases[1], false}, GradCase{test::kGraphCases[1], true},
                      GradCase{test::kGraphCases[2], false}, GradCase{test::kGraphCases[2], true},
                      GradCase{test::kGraphCases[3], false}, GradCase{test::kGraphCases[3], true}),
    [](const ::testing::TestParamInfo<GradCase>& p) {
      return std::string(p.param.graph.name) + (p.param.train_bn ? "_TrainBn" : "_EvalBn");
    });

}  // namespace
}  // namespace modeconn
