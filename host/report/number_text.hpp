// One number as printf formats it, for the reports' tables and CSVs: private to host/report.
#pragma once

#include <cstdio>
#include <string>

namespace modeconn {

inline std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace modeconn
