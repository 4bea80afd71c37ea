#include "harness.h"

#include <catch2/catch.hpp>
#include <iostream>
#include <regex>

namespace bs::integ {

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

void print_metric(const std::string& name, long long ms) {
  std::cout << "metric: " << name << "=" << ms << std::endl;
  WARN("metric: " << name << "=" << ms);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool mentions_pid(const std::string& detail, std::int64_t pid) {
  return std::regex_search(detail, std::regex("pid " + std::to_string(pid) + "([^0-9]|$)"));
}

std::vector<Json> mentioning(const std::vector<Json>& events, const std::string& text) {
  std::vector<Json> out;
  for (const Json& e : events) {
    if (contains(e.value("detail", ""), text)) out.push_back(e);
  }
  return out;
}

std::vector<Json> kills_of_rogue(const std::vector<Json>& kills, std::int64_t rogue) {
  std::vector<Json> out;
  for (const Json& k : kills) {
    const std::string detail = k.value("detail", "");
    if (mentions_pid(detail, rogue)) {
      out.push_back(k);
    } else {
      CHECK(contains(detail, "unverifiable"));
      CHECK(contains(detail, "agent.pid"));
    }
  }
  return out;
}

std::vector<Json> wait_kills_of_rogue(TempHome& h, const std::string& bottle, std::int64_t rogue) {
  std::vector<Json> kills;
  h.wait_until("a drift-killed event naming pid " + std::to_string(rogue), [&] {
    kills = h.events("drift-killed", bottle);
    for (const Json& k : kills) {
      if (mentions_pid(k.value("detail", ""), rogue)) return true;
    }
    return false;
  });
  return kills_of_rogue(kills, rogue);
}

}  // namespace bs::integ
