// Linear assignment: square problems go to Jonker & Volgenant's full algorithm (lap_square.cpp); rectangular
// ones to shortest augmenting paths with dual variables (the rectangular form of Crouse 2016), one
// Dijkstra-like search per row over reduced costs.
#include <algorithm>
#include <cmath>
#include <limits>

#include "align/lap_internal.hpp"
#include "modeconn/align.hpp"
#include "modeconn/error.hpp"

namespace modeconn {
namespace {

// Minimises over an n×m cost matrix with n < m, starting from zero duals (with spare columns, optimality
// needs v ≤ 0 on the columns left unassigned, which the search keeps only from v = 0); the column of each
// row.
std::vector<int64_t> solve_wide(const std::vector<double>& cost, int64_t n, int64_t m) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> u(static_cast<std::size_t>(n), 0.0), v(static_cast<std::size_t>(m), 0.0);
  std::vector<double> dist(static_cast<std::size_t>(m));
  std::vector<int64_t> path(static_cast<std::size_t>(m)), col4row(static_cast<std::size_t>(n), -1),
      row4col(static_cast<std::size_t>(m), -1);
  std::vector<char> seen_row(static_cast<std::size_t>(n)), seen_col(static_cast<std::size_t>(m));

  // The columns not yet reached by a search live in slots, with their reduced-cost bounds and duals copied
  // alongside, so that the inner loop reads memory in order.
  std::vector<int64_t> slot_col(static_cast<std::size_t>(m)), slot_path(static_cast<std::size_t>(m));
  std::vector<double> slot_dist(static_cast<std::size_t>(m)), slot_v(static_cast<std::size_t>(m));

  for (int64_t cur = 0; cur < n; ++cur) {
    if (col4row[static_cast<std::size_t>(cur)] >= 0) continue;
    std::fill(seen_row.begin(), seen_row.end(), 0);
    std::fill(seen_col.begin(), seen_col.end(), 0);
    for (int64_t j = 0; j < m; ++j) {
      slot_col[static_cast<std::size_t>(j)] = j;
      slot_dist[static_cast<std::size_t>(j)] = kInf;
      slot_v[static_cast<std::size_t>(j)] = v[static_cast<std::size_t>(j)];
    }
    int64_t num_remaining = m;
    double min_val = 0;
    int64_t i = cur, sink = -1;
    while (sink < 0) {
      seen_row[static_cast<std::size_t>(i)] = 1;
      const double* row = cost.data() + i * m;
      const double base = min_val - u[static_cast<std::size_t>(i)];
      int64_t best = -1;
      double lowest = kInf;
      for (int64_t it = 0; it < num_remaining; ++it) {
        const auto k = static_cast<std::size_t>(it);
        const double r = base + row[slot_col[k]] - slot_v[k];
        if (r < slot_dist[k]) {
          slot_dist[k] = r;
          slot_path[k] = i;
        }
        if (slot_dist[k] < lowest) {
          lowest = slot_dist[k];
          best = it;
        }
      }
      min_val = lowest;
      if (!std::isfinite(min_val)) throw Error(ErrorKind::internal, "assignment: no finite augmenting path");
      const auto b = static_cast<std::size_t>(best);
      const int64_t j = slot_col[b];
      dist[static_cast<std::size_t>(j)] = slot_dist[b];
      path[static_cast<std::size_t>(j)] = slot_path[b];
      if (row4col[static_cast<std::size_t>(j)] < 0)
        sink = j;
      else
        i = row4col[static_cast<std::size_t>(j)];
      seen_col[static_cast<std::size_t>(j)] = 1;
      const auto last = static_cast<std::size_t>(--num_remaining);
      slot_col[b] = slot_col[last];
      slot_dist[b] = slot_dist[last];
      slot_v[b] = slot_v[last];
      slot_path[b] = slot_path[last];
    }
    // Update the duals so that reduced costs stay non-negative, then flip the augmenting path.
    u[static_cast<std::size_t>(cur)] += min_val;
    for (int64_t r = 0; r < n; ++r)
      if (seen_row[static_cast<std::size_t>(r)] && r != cur)
        u[static_cast<std::size_t>(r)] +=
            min_val - dist[static_cast<std::size_t>(col4row[static_cast<std::size_t>(r)])];
    for (int64_t c = 0; c < m; ++c)
      if (seen_col[static_cast<std::size_t>(c)])
        v[static_cast<std::size_t>(c)] -= min_val - dist[static_cast<std::size_t>(c)];
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

std::vector<int64_t> solve_assignment(std::span<const double> cost, int64_t rows, int64_t cols,
                                      bool maximise) {
  MODECONN_EXPECTS(rows >= 0 && cols >= 0 && cost.size() == static_cast<std::size_t>(rows * cols),
                   "cost matrix size");
  for (double c : cost)
    if (!std::isfinite(c)) throw Error(ErrorKind::internal, "assignment: the cost matrix holds a NaN or Inf");
  if (rows == 0) return {};
  if (cols == 0) return std::vector<int64_t>(static_cast<std::size_t>(rows), -1);
  if (rows == cols) return solve_square(cost, rows, maximise);
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
