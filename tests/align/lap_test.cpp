// The assignment solver against brute force on every small size, and on large instances with a planted
// optimum.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "modeconn/align.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {
namespace {

// The best total over every injective map from the smaller side into the larger, by enumeration.
double brute_force(const std::vector<double>& c, int64_t rows, int64_t cols, bool maximise) {
  const int64_t small = std::min(rows, cols), large = std::max(rows, cols);
  std::vector<int64_t> idx(static_cast<std::size_t>(large));
  std::iota(idx.begin(), idx.end(), 0);
  double best = maximise ? -1e300 : 1e300;
  do {
    double total = 0;
    for (int64_t k = 0; k < small; ++k) {
      const int64_t i = rows <= cols ? k : idx[static_cast<std::size_t>(k)];
      const int64_t j = rows <= cols ? idx[static_cast<std::size_t>(k)] : k;
      total += c[static_cast<std::size_t>(i * cols + j)];
    }
    best = maximise ? std::max(best, total) : std::min(best, total);
  } while (std::next_permutation(idx.begin(), idx.end()));
  return best;
}

double total_of(const std::vector<double>& c, int64_t cols, const std::vector<int64_t>& col_of_row) {
  double t = 0;
  for (std::size_t i = 0; i < col_of_row.size(); ++i)
    if (col_of_row[i] >= 0)
      t += c[i * static_cast<std::size_t>(cols) + static_cast<std::size_t>(col_of_row[i])];
  return t;
}

void expect_valid(const std::vector<int64_t>& a, int64_t rows, int64_t cols) {
  std::vector<int> used(static_cast<std::size_t>(cols), 0);
  int64_t assigned = 0;
  for (int64_t j : a) {
    if (j < 0) continue;
    ASSERT_LT(j, cols);
    EXPECT_EQ(used[static_cast<std::size_t>(j)]++, 0) << "column used twice";
    ++assigned;
  }
  EXPECT_EQ(assigned, std::min(rows, cols));
}

TEST(Assignment, MatchesBruteForceOnEverySmallShape) {
  Rng rng(11);
  for (int64_t rows = 1; rows <= 6; ++rows)
    for (int64_t cols = 1; cols <= 6; ++cols)
      for (int trial = 0; trial < 8; ++trial)
        for (bool maximise : {false, true}) {
          std::vector<double> c(static_cast<std::size_t>(rows * cols));
          // Small integers make ties common, which is where solvers go wrong.
          for (auto& v : c) v = trial % 2 ? static_cast<double>(rng.below(4)) : rng.uniform() * 10 - 5;
          const auto a = solve_assignment(c, rows, cols, maximise);
          ASSERT_EQ(a.size(), static_cast<std::size_t>(rows));
          expect_valid(a, rows, cols);
          EXPECT_NEAR(total_of(c, cols, a), brute_force(c, rows, cols, maximise), 1e-9)
              << rows << "x" << cols << " trial " << trial << (maximise ? " max" : " min");
        }
}

TEST(Assignment, FindsAPlantedOptimum) {
  // Diagonal entries 1 after shuffling the columns, every other entry below 0.5 but for noise: the planted
  // permutation is the unique maximum.
  for (int64_t n : {50, 300, 1000}) {
    Rng rng(static_cast<uint64_t>(n));
    std::vector<int64_t> planted(static_cast<std::size_t>(n));
    std::iota(planted.begin(), planted.end(), 0);
    for (std::size_t i = planted.size(); i > 1; --i) std::swap(planted[i - 1], planted[rng.below(i)]);
    std::vector<double> c(static_cast<std::size_t>(n * n));
    for (auto& v : c) v = rng.uniform() * 0.5;
    for (int64_t i = 0; i < n; ++i)
      c[static_cast<std::size_t>(i * n + planted[static_cast<std::size_t>(i)])] = 1.0;
    EXPECT_EQ(solve_assignment(c, n, n, true), planted) << n;
    for (auto& v : c) v = -v;
    EXPECT_EQ(solve_assignment(c, n, n, false), planted) << n;
  }
}

// The square solver (Jonker–Volgenant with row reduction) against the rectangular one (plain shortest
// augmenting paths), which a square matrix plus one column too costly to use sends through the other code.
double optimum_by_rectangular_solver(const std::vector<double>& c, int64_t n, bool maximise) {
  std::vector<double> wide(static_cast<std::size_t>(n * (n + 1)));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j)
      wide[static_cast<std::size_t>(i * (n + 1) + j)] = c[static_cast<std::size_t>(i * n + j)];
    wide[static_cast<std::size_t>(i * (n + 1) + n)] = maximise ? -1e6 : 1e6;
  }
  const auto a = solve_assignment(wide, n, n + 1, maximise);
  for (int64_t j : a) EXPECT_LT(j, n) << "the spare column was used";
  return total_of(wide, n + 1, a);
}

TEST(Assignment, SquareSolverAgreesWithRectangularOnLargeInstances) {
  Rng rng(5);
  for (int64_t n : {64, 257, 400})
    for (int kind = 0; kind < 6; ++kind)
      for (bool maximise : {false, true}) {
        std::vector<double> c(static_cast<std::size_t>(n * n)), x(static_cast<std::size_t>(n)), y(x);
        for (auto& e : x) e = rng.uniform();
        for (auto& e : y) e = rng.uniform();
        for (std::size_t k = 0; k < c.size(); ++k) {
          const double xi = x[k / static_cast<std::size_t>(n)], yj = y[k % static_cast<std::size_t>(n)];
          switch (kind) {
            case 0:
              c[k] = rng.uniform();
              break;
            case 1:
              c[k] = static_cast<double>(rng.below(5));
              break;  // heavy ties
            case 2:
              c[k] = rng.uniform() * 1e-9 + 3.0;
              break;  // near-equal values
            case 3:
              c[k] = static_cast<double>(k / static_cast<std::size_t>(n) % 7);
              break;  // identical columns
            case 4:
              c[k] = std::abs(xi - yj);
              break;  // points on a line: long augmenting paths
            default:
              c[k] = xi * yj + 0.01 * rng.uniform();  // nearly rank one
          }
        }
        const auto a = solve_assignment(c, n, n, maximise);
        expect_valid(a, n, n);
        EXPECT_NEAR(total_of(c, n, a), optimum_by_rectangular_solver(c, n, maximise), 1e-9)
            << "n " << n << " kind " << kind << (maximise ? " max" : " min");
      }
}

TEST(Assignment, RectangularUsesEverySmallerSide) {
  Rng rng(3);
  const int64_t rows = 40, cols = 70;
  std::vector<double> c(static_cast<std::size_t>(rows * cols));
  for (auto& v : c) v = rng.uniform();
  const auto a = solve_assignment(c, rows, cols, false);
  expect_valid(a, rows, cols);
  // The transposed problem must reach the same optimum.
  std::vector<double> t(c.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      t[static_cast<std::size_t>(j * rows + i)] = c[static_cast<std::size_t>(i * cols + j)];
  const auto b = solve_assignment(t, cols, rows, false);
  expect_valid(b, cols, rows);
  EXPECT_EQ(std::count(b.begin(), b.end(), -1), cols - rows);
  EXPECT_NEAR(total_of(c, cols, a), total_of(t, rows, b), 1e-9);
}

}  // namespace
}  // namespace modeconn
