// The similarity matrices of weight matching, kept between visits to a layer and updated for the neighbouring
// units that moved since, instead of recomputed.
#pragma once

#include <cstdint>
#include <vector>

#include "modeconn/align.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/model.hpp"

namespace modeconn {

class WeightSimilarity {
 public:
  // The models and the backend (which runs the matrix products) must outlive this object.
  WeightSimilarity(const Model& a, const Model& b, Backend& products);

  // S[i][j] for hidden layer h: how well B's unit j fits A's unit i, with the neighbouring layers' current
  // alignment applied to B: A_h·B'_h^T + A_{h+1}^T·B'_{h+1} + a_h·b_h^T, products in float32 as Git Re-Basin
  // computes them, summed into float64 for the assignment.
  std::vector<double> operator()(const Alignment& al, std::size_t h);

 private:
  // One of a layer's two products, with the neighbouring alignment it was computed for.
  struct Product {
    std::vector<float> value;  // n×n
    LayerAlignment used;       // empty until first computed
    int updates = 0;           // low-rank updates since it was last computed whole
  };

  // Brings p up to date with X · Y'ᵀ, Y's columns aligned by `al`: whole, or by replacing moved columns'
  // terms.
  void refresh(Product& p, const float* x, const float* y, int64_t n, int64_t width,
               const LayerAlignment* al) const;

  const Model& a_;
  const Model& b_;
  Backend& products_;
  std::vector<Product> in_, out_;
  std::vector<std::vector<float>> a_next_t_,
      b_next_t_;  // per hidden layer h: layer h+1's weights, transposed
};

}  // namespace modeconn
