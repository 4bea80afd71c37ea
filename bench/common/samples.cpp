#include "bench/common/samples.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace bs::bench {

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

Summary summarize(std::vector<double> values) {
  Summary s;
  s.n = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  auto rank = [&](double p) {
    auto r = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(r, 1, values.size()) - 1];
  };
  s.min = values.front();
  s.median = rank(0.5);
  s.p99 = rank(0.99);
  s.max = values.back();
  return s;
}

void print_table(const std::string& title, const std::vector<Row>& rows) {
  std::printf("\n%s\n", title.c_str());
  std::printf("  %-52s %10s %10s %10s %10s %6s\n", "", "min", "median", "p99", "max", "n");
  for (const Row& r : rows) {
    std::printf("  %-52s %10.3f %10.3f %10.3f %10.3f %6zu  %s\n", r.label.c_str(), r.s.min, r.s.median,
                r.s.p99, r.s.max, r.s.n, r.unit.c_str());
  }
  std::fflush(stdout);
}

void print_value(const std::string& label, double value, const std::string& unit) {
  std::printf("  %-52s %10.3f %s\n", label.c_str(), value, unit.c_str());
  std::fflush(stdout);
}

void print_note(const std::string& text) {
  std::printf("  %s\n", text.c_str());
  std::fflush(stdout);
}

}  // namespace bs::bench
