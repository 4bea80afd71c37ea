// Latency samples and the tables every benchmark prints. A benchmark never fails on time: it
// reports what it measured, and the reader compares with the targets in BENCHMARKS.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace bs::bench {

using Clock = std::chrono::steady_clock;

// Milliseconds between two steady-clock points, as a double (sub-millisecond matters here).
double ms_between(Clock::time_point from, Clock::time_point to);

struct Summary {
  std::size_t n = 0;
  double min = 0, median = 0, p99 = 0, max = 0;
};

// Nearest-rank percentiles: p99 of 200 samples is the 198th smallest, never an interpolation
// between samples. An empty input gives n = 0 and zeros.
Summary summarize(std::vector<double> values);

// One row of a result table: a label, a summary and the unit it is in.
struct Row {
  std::string label;
  Summary s;
  std::string unit = "ms";
};

// Prints "title" and the rows as a fixed-width table (label, min, median, p99, max, n).
void print_table(const std::string& title, const std::vector<Row>& rows);

// Prints "  label: value unit" lines under a table, for single numbers.
void print_value(const std::string& label, double value, const std::string& unit);
void print_note(const std::string& text);

}  // namespace bs::bench
