// Linear assignment by shortest augmenting paths with dual variables (Jonker & Volgenant 1987; the
// rectangular form of Crouse 2016): one Dijkstra-like search per row over reduced costs.
#include <algorithm>
#include <cmath>
#include <limits>

#include "modeconn/align.hpp"
#include "modeconn/error.hpp"

namespace modeconn {
namespace {

// Minimises over an n×m cost matrix with n ≤ m; returns the column of each row.
std::vector<int64_t> solve_wide(const std::vector<double>& cost, int64_t n, int64_t m) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> u(static_cast<std::size_t>(n), 0.0), v(static_cast<std::size_t>(m), 0.0);
  std::vector<double> dist(static_cast<std::size_t>(m));
  std::vector<int64_t> path(static_cast<std::size_t>(m)), col4row(static_cast<std::size_t>(n), -1),
      row4col(static_cast<std::size_t>(m), -1), remaining(static_cast<std::size_t>(m));
  std::vector<char> seen_row(static_cast<std::size_t>(n)), seen_col(static_cast<std::size_t>(m));

  for (int64_t cur = 0; cur < n; ++cur) {
    std::fill(dist.begin(), dist.end(), kInf);
    std::fill(seen_row.begin(), seen_row.end(), 0);
    std::fill(seen_col.begin(), seen_col.end(), 0);
    for (int64_t j = 0; j < m; ++j) remaining[static_cast<std::size_t>(j)] = m - 1 - j;
    int64_t num_remaining = m;
    double min_val = 0;
    int64_t i = cur, sink = -1;
    while (sink < 0) {
      seen_row[static_cast<std::size_t>(i)] = 1;
      const double* row = cost.data() + i * m;
      const double ui = u[static_cast<std::size_t>(i)];
      int64_t best = -1;
      double lowest = kInf;
      for (int64_t it = 0; it < num_remaining; ++it) {
        const int64_t j = remaining[static_cast<std::size_t>(it)];
        const double r = min_val + row[j] - ui - v[static_cast<std::size_t>(j)];
        if (r < dist[static_cast<std::size_t>(j)]) {
          path[static_cast<std::size_t>(j)] = i;
          dist[static_cast<std::size_t>(j)] = r;
        }
        // Ties go to a free column: the search ends sooner.
        if (dist[static_cast<std::size_t>(j)] < lowest ||
            (dist[static_cast<std::size_t>(j)] == lowest && row4col[static_cast<std::size_t>(j)] < 0)) {
          lowest = dist[static_cast<std::size_t>(j)];
          best = it;
        }
      }
      min_val = lowest;
      if (!std::isfinite(min_val)) throw Error(ErrorKind::internal, "assignment: no finite augmenting path");
      const int64_t j = remaining[static_cast<std::size_t>(best)];
      if (row4col[static_cast<std::size_t>(j)] < 0) sink = j;
      else i = row4col[static_cast<std::size_t>(j)];
      seen_col[static_cast<std::size_t>(j)] = 1;
      remaining[static_cast<std::size_t>(best)] = remaining[static_cast<std::size_t>(--num_remaining)];
    }
    // Update the duals so that reduced costs stay non-negative, then flip the augmenting path.
    u[static_cast<std::size_t>(cur)] += min_val;
    for (int64_t r = 0; r < n; ++r)
      if (seen_row[static_cast<std::size_t>(r)] && r != cur)
        u[static_cast<std::size_t>(r)] += min_val - dist[static_cast<std::size_t>(col4row[static_cast<std::size_t>(r)])];
    for (int64_t c = 0; c < m; ++c)
      if (seen_col[static_cast<std::size_t>(c)]) v[static_cast<std::size_t>(c)] -= min_val - dist[static_cast<std::size_t>(c)];
    for (int64_t j = sink;;) {
      const int64_t r = path[static_cast<std::size_t>(j)];
      row4col[static_cast<std::size_t>(j)] = r;
      std::swap(col4row[static_cast<std::size_t>(r)], j);
      if (r == cur) break;
    }
  }
  return col4row;
}

}  // namespace

std::vector<int64_t> solve_assignment(std::span<const double> cost, int64_t rows, int64_t cols, bool maximise) {
  MODECONN_EXPECTS(rows >= 0 && cols >= 0 && cost.size() == static_cast<std::size_t>(rows * cols), "cost matrix size");
  for (double c : cost)
    if (!std::isfinite(c)) throw Error(ErrorKind::internal, "assignment: the cost matrix holds a NaN or Inf");
  if (rows == 0) return {};
  if (cols == 0) return std::vector<int64_t>(static_cast<std::size_t>(rows), -1);
  const bool transpose = rows > cols;
  const int64_t n = transpose ? cols : rows, m = transpose ? rows : cols;
  std::vector<double> c(cost.size());
  const double sign = maximise ? -1.0 : 1.0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const double value = sign * cost[static_cast<std::size_t>(i * cols + j)];
      c[static_cast<std::size_t>(transpose ? j * rows + i : i * cols + j)] = value;
    }
  const std::vector<int64_t> assigned = solve_wide(c, n, m);
  if (!transpose) return assigned;
  std::vector<int64_t> out(static_cast<std::size_t>(rows), -1);
  for (int64_t j = 0; j < n; ++j) out[static_cast<std::size_t>(assigned[static_cast<std::size_t>(j)])] = j;
  return out;
}

}  // namespace modeconn
