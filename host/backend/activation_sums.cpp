// Means, standard deviations and covariance from the float64 sums every backend accumulates.
#include <algorithm>
#include <cmath>

#include "modeconn/backend.hpp"

namespace modeconn {

ActivationStats ActivationSums::finish() const {
  const std::size_t un = sum_a.size();
  const double count = static_cast<double>(rows);
  ActivationStats st;
  st.max_a = max_a;
  st.max_b = max_b;
  st.mean_a.resize(un);
  st.mean_b.resize(un);
  st.std_a.resize(un);
  st.std_b.resize(un);
  for (std::size_t j = 0; j < un; ++j) {
    st.mean_a[j] = sum_a[j] / count;
    st.mean_b[j] = sum_b[j] / count;
    st.std_a[j] = std::sqrt(std::max(0.0, sq_a[j] / count - st.mean_a[j] * st.mean_a[j]));
    st.std_b[j] = std::sqrt(std::max(0.0, sq_b[j] / count - st.mean_b[j] * st.mean_b[j]));
  }
  st.covariance.resize(un * un);
  for (std::size_t i = 0; i < un; ++i)
    for (std::size_t j = 0; j < un; ++j)
      st.covariance[i * un + j] = cross[i * un + j] / count - st.mean_a[i] * st.mean_b[j];
  return st;
}

}  // namespace modeconn
