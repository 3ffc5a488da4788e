// Square linear assignment by Jonker & Volgenant (1987): column reduction, reduction transfer, augmenting
// row reduction, then shortest augmenting paths for the few rows still free. On dense random matrices the
// first three phases assign nearly every row with one pass over its costs each, which is where the speed over
// a plain shortest-augmenting-path solver comes from.
#include <cmath>
#include <limits>

#include "align/lap_internal.hpp"
#include "modeconn/error.hpp"

namespace modeconn {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::ptrdiff_t kFree = -1;

// State shared by the phases: v are the column duals; a row's dual is implicit (its reduced-cost minimum).
struct Solver {
  const double* c;
  double sign;  // -1 to maximise: every cost is read negated, so the caller's matrix is not copied
  std::size_t n;
  std::vector<double> v;
  std::vector<std::ptrdiff_t> col_of_row, row_of_col;
  std::vector<std::size_t> free_rows;

  const double* row(std::size_t i) const { return c + i * n; }

  // v[j] = min_i c_ij; each column goes to its cheapest row, and a row that is the cheapest of several
  // columns keeps one of them. Scanning columns from the last keeps the first on ties, as JV do.
  void column_reduction() {
    std::vector<std::size_t> cheapest_row(n, 0);
    for (std::size_t j = 0; j < n; ++j) v[j] = sign * c[j];
    for (std::size_t i = 1; i < n; ++i) {  // row by row, reading memory in order
      const double* r = row(i);
      for (std::size_t j = 0; j < n; ++j)
        if (sign * r[j] < v[j]) {
          v[j] = sign * r[j];
          cheapest_row[j] = i;
        }
    }
    std::vector<unsigned> matches(n, 0);
    for (std::size_t jj = n; jj-- > 0;) {
      const std::size_t i = cheapest_row[jj];
      if (matches[i]++ == 0) {
        col_of_row[i] = static_cast<std::ptrdiff_t>(jj);
        row_of_col[jj] = static_cast<std::ptrdiff_t>(i);
      }
    }
    // Reduction transfer: a row that took exactly one column moves its slack to that column's dual, so
    // that the column looks less attractive to the rows competing for it later.
    for (std::size_t i = 0; i < n; ++i) {
      if (matches[i] == 0) {
        free_rows.push_back(i);
        continue;
      }
      if (matches[i] != 1) continue;
      const auto j1 = static_cast<std::size_t>(col_of_row[i]);
      const double* r = row(i);
      double least = kInf;
      for (std::size_t j = 0; j < n; ++j)
        if (j != j1 && sign * r[j] - v[j] < least) least = sign * r[j] - v[j];
      if (std::isfinite(least)) v[j1] -= least - (sign * r[j1] - v[j1]);
    }
  }

  struct TwoLowest {
    double lowest, second;
    std::size_t column;  // where the lowest is
  };

  // The lowest and second lowest reduced cost of row i. The branch is rarely taken once the two are small, so
  // this scalar scan runs near the load rate (a four-lane branch-free version measured 17% slower).
  TwoLowest two_lowest(std::size_t i) const {
    const double* r = row(i);
    TwoLowest t{sign * r[0] - v[0], kInf, 0};
    for (std::size_t j = 1; j < n; ++j) {
      const double h = sign * r[j] - v[j];
      if (h < t.second) {
        if (h >= t.lowest) {
          t.second = h;
        } else {
          t.second = t.lowest;
          t.lowest = h;
          t.column = j;
        }
      }
    }
    return t;
  }

  // A column other than j1 where row i's reduced cost equals its lowest (there is one when the two lowest
  // tie).
  std::size_t other_column_at(std::size_t i, std::size_t j1, double lowest) const {
    const double* r = row(i);
    for (std::size_t j = 0; j < n; ++j)
      if (j != j1 && sign * r[j] - v[j] == lowest) return j;
    return j1;
  }

  // Each free row takes the column of its lowest reduced cost, lowering that column's dual to the row's
  // second lowest so the edge stays tight; a row it displaces is retried at once when the dual strictly
  // dropped, otherwise in the next round. Two rounds, as JV found best; the steps are capped because
  // near-equal values can make a row and its rival swap one column back and forth for long.
  void augmenting_row_reduction() {
    const std::size_t max_steps = 4 * n + 16;
    for (int round = 0; round < 2 && !free_rows.empty(); ++round) {
      std::vector<std::size_t> todo;
      todo.swap(free_rows);
      std::size_t k = 0, steps = 0;
      while (k < todo.size()) {
        const std::size_t i = todo[k++];
        if (++steps > max_steps) {  // leave the rest to the augmenting-path phase
          free_rows.push_back(i);
          continue;
        }
        const TwoLowest t = two_lowest(i);
        std::size_t j1 = t.column;
        const double lowest = t.lowest, second = t.second;
        std::ptrdiff_t displaced = row_of_col[j1];
        const bool strict = lowest < second;  // second is finite: a row is free only when n >= 2
        if (strict) {
          v[j1] -= second - lowest;
        } else if (displaced != kFree) {
          j1 = other_column_at(i, j1, lowest);  // a tie: take another column of the same cost
          displaced = row_of_col[j1];
        }
        col_of_row[i] = static_cast<std::ptrdiff_t>(j1);
        row_of_col[j1] = static_cast<std::ptrdiff_t>(i);
        if (displaced != kFree) {
          col_of_row[static_cast<std::size_t>(displaced)] = kFree;
          if (strict)
            todo[--k] = static_cast<std::size_t>(displaced);
          else
            free_rows.push_back(static_cast<std::size_t>(displaced));
        }
      }
    }
  }

  // Working arrays of the augmenting-path phase. Columns live in slots [0, low) settled, [low, up) at the
  // current minimum distance, [up, n) not yet reached; each slot keeps its column's distance and dual beside
  // it, so the scans read memory in order (only the row of costs is read by column).
  struct Slots {
    std::vector<std::size_t> col, pred;  // pred is by column: the row that reached it
    std::vector<double> dist, v;
    explicit Slots(std::size_t n) : col(n), pred(n), dist(n), v(n) {}
    void swap(std::size_t a, std::size_t b) {
      std::swap(col[a], col[b]);
      std::swap(dist[a], dist[b]);
      std::swap(v[a], v[b]);
    }
  };

  // Dijkstra over reduced costs from one free row to the nearest free column, then the duals of the settled
  // columns move and the path flips.
  void augment(std::size_t start, Slots& s) {
    const double* r0 = row(start);
    for (std::size_t j = 0; j < n; ++j) {
      s.col[j] = j;
      s.v[j] = v[j];
      s.dist[j] = sign * r0[j] - v[j];
      s.pred[j] = start;
    }
    std::size_t low = 0, up = 0, settled_end = 0, sink = n;
    double min_dist = 0;
    while (sink == n) {
      if (up == low) {
        // Gather every unreached column at the smallest distance.
        settled_end = low;
        min_dist = s.dist[up++];
        for (std::size_t k = up; k < n; ++k) {
          const double h = s.dist[k];
          if (h <= min_dist) {
            if (h < min_dist) {
              up = low;
              min_dist = h;
            }
            s.swap(k, up++);
          }
        }
        if (!std::isfinite(min_dist))
          throw Error(ErrorKind::internal, "assignment: no finite augmenting path");
        for (std::size_t k = low; k < up; ++k)
          if (row_of_col[s.col[k]] == kFree) {
            sink = s.col[k];
            break;
          }
        if (sink != n) break;
      }
      // Settle one column at the minimum and relax the columns not yet reached through its row.
      const std::size_t settled = low++;
      const auto i = static_cast<std::size_t>(row_of_col[s.col[settled]]);
      const double* r = row(i);
      const double h = sign * r[s.col[settled]] - s.v[settled] - min_dist;
      for (std::size_t k = up; k < n; ++k) {
        const double d = sign * r[s.col[k]] - s.v[k] - h;
        if (d < s.dist[k]) {
          s.dist[k] = d;
          s.pred[s.col[k]] = i;
          if (d == min_dist) {
            if (row_of_col[s.col[k]] == kFree) {
              sink = s.col[k];
              break;
            }
            s.swap(k, up++);
          }
        }
      }
    }
    // Columns settled before the last minimum move their duals by how much closer than it they were (the
    // ones settled at the minimum itself would move by zero).
    for (std::size_t k = 0; k < settled_end; ++k) v[s.col[k]] += s.dist[k] - min_dist;
    for (std::size_t j = sink;;) {  // flip the path
      const std::size_t i = s.pred[j];
      row_of_col[j] = static_cast<std::ptrdiff_t>(i);
      const std::ptrdiff_t next = col_of_row[i];
      col_of_row[i] = static_cast<std::ptrdiff_t>(j);
      if (i == start) break;
      j = static_cast<std::size_t>(next);
    }
  }
};

}  // namespace

std::vector<int64_t> solve_square(std::span<const double> cost, int64_t size, bool maximise) {
  const auto n = static_cast<std::size_t>(size);
  Solver s{cost.data(),
           maximise ? -1.0 : 1.0,
           n,
           std::vector<double>(n),
           std::vector<std::ptrdiff_t>(n, kFree),
           std::vector<std::ptrdiff_t>(n, kFree),
           {}};
  s.column_reduction();
  s.augmenting_row_reduction();
  Solver::Slots slots(n);
  const std::vector<std::size_t> remaining = s.free_rows;
  for (std::size_t i : remaining) s.augment(i, slots);
  std::vector<int64_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    MODECONN_EXPECTS(s.col_of_row[i] != kFree, "assignment left a row free");
    out[i] = s.col_of_row[i];
  }
  return out;
}

}  // namespace modeconn
