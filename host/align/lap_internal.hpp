// The solvers behind solve_assignment.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace modeconn {

// Minimum- (or maximum-) cost perfect assignment of a square n×n row-major matrix of finite costs; the column
// of each row.
std::vector<int64_t> solve_square(std::span<const double> cost, int64_t n, bool maximise);

}  // namespace modeconn
