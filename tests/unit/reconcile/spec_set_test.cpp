// The spec folder as a whole: duplicate machines and fixed loopbacks (CONTRACT.md §3).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "reconcile/spec_set.h"
#include "test_values.h"

using bs::test::kPool;

namespace {


bs::SpecFile file(const std::string& name, const std::string& text) {
  return bs::SpecFile{name + ".toml", "/specs/" + name + ".toml", text, std::nullopt};
}

// name as a plain C string: GCC 13+ warns (-Wdangling-reference) when a returned reference could
// bind to a temporary argument, as entry(es, "bad") makes one when it takes a std::string.
const bs::SpecEntry& entry(const std::vector<bs::SpecEntry>& es, const char* name) {
  auto it = std::find_if(es.begin(), es.end(), [&](const bs::SpecEntry& e) { return e.name == name; });
  REQUIRE(it != es.end());
  return *it;
}

std::vector<std::string> names(const std::vector<bs::SpecEntry>& es) {
  std::vector<std::string> out;
  for (const auto& e : es) out.push_back(e.name);
  return out;
}

}  // namespace

TEST_CASE("valid specs resolve to entries sorted by name", "[reconcile]") {
  const auto es = bs::resolve_specs({file("zeta", "image = \"a\""), file("alpha", "image = \"a\""),
                                     file("mid", "image = \"a\"\ncpus = 3")},
                                    kPool);
  CHECK(names(es) == std::vector<std::string>{"alpha", "mid", "zeta"});
  for (const auto& e : es) {
    CHECK(e.spec.has_value());
    CHECK_FALSE(e.error.has_value());
    CHECK(e.path == "/specs/" + e.name + ".toml");
  }
  CHECK(entry(es, "mid").spec->cpus == 3);
  CHECK(entry(es, "alpha").spec->machine == "bottle-alpha");
  CHECK(bs::resolve_specs({}, kPool).empty());
}

TEST_CASE("an invalid spec is an error entry without a spec", "[reconcile]") {
  // The daemon keeps the bottle's last valid desired state; resolve_specs only reports.
  const auto es = bs::resolve_specs({file("good", "image = \"a\""), file("bad", "image = \"a\"\ncpus = 0")}, kPool);
  const auto& bad = entry(es, "bad");
  CHECK_FALSE(bad.spec.has_value());
  REQUIRE(bad.error.has_value());
  CHECK(*bad.error == "/specs/bad.toml:2:8: cpus = 0 is out of range (1..64)");
  CHECK(bad.path == "/specs/bad.toml");
  CHECK(entry(es, "good").spec.has_value());
}

TEST_CASE("all diagnostics of an invalid spec are in its error, one per line", "[reconcile]") {
  const auto es = bs::resolve_specs({file("bad", "cpus = 0\nmemory = 1")}, kPool);
  REQUIRE(es.size() == 1);
  REQUIRE(es[0].error.has_value());
  CHECK(*es[0].error ==
        "/specs/bad.toml:1:1: neither 'image' nor 'from' is set; set exactly one (e.g. image = \"alpine:3.20\")\n"
        "/specs/bad.toml:1:8: cpus = 0 is out of range (1..64)\n"
        "/specs/bad.toml:2:10: memory = 1 is out of range (64..1048576 MiB)");
}

TEST_CASE("an access error is the entry's error and the text is not parsed", "[reconcile]") {
  bs::SpecFile f = file("shared", "image = \"a\"");
  f.access_error = "/specs/shared.toml is writable by group or others (chmod go-w /specs/shared.toml)";
  const auto es = bs::resolve_specs({f}, kPool);
  REQUIRE(es.size() == 1);
  CHECK(es[0].name == "shared");
  CHECK_FALSE(es[0].spec.has_value());
  CHECK(es[0].error == f.access_error);
}

TEST_CASE("the same machine: the first file name wins, whatever the input order", "[reconcile]") {
  const std::vector<bs::SpecFile> files = {file("a", "image = \"x\"\nmachine = \"shared\""),
                                           file("b", "image = \"x\"\nmachine = \"shared\"")};
  for (bool reversed : {false, true}) {
    auto input = files;
    if (reversed) std::reverse(input.begin(), input.end());
    const auto es = bs::resolve_specs(input, kPool);
    CHECK(entry(es, "a").spec.has_value());
    CHECK_FALSE(entry(es, "a").error.has_value());
    CHECK_FALSE(entry(es, "b").spec.has_value());
    CHECK(entry(es, "b").error == std::optional<std::string>("machine 'shared' is already used by /specs/a.toml"));
  }
}

TEST_CASE("a machine equal to another bottle's default machine conflicts too", "[reconcile]") {
  const auto es = bs::resolve_specs({file("b", "image = \"x\""), file("a", "image = \"x\"\nmachine = \"bottle-b\"")},
                                    kPool);
  CHECK(entry(es, "a").spec.has_value());
  CHECK(entry(es, "b").error == std::optional<std::string>("machine 'bottle-b' is already used by /specs/a.toml"));
}

TEST_CASE("the same fixed loopback: the first file name wins; auto never conflicts", "[reconcile]") {
  const auto es = bs::resolve_specs({file("web", "image = \"x\"\nloopback = \"127.0.0.20\""),
                                     file("api", "image = \"x\"\nloopback = \"127.0.0.20\""),
                                     file("c1", "image = \"x\"\nloopback = \"auto\""),
                                     file("c2", "image = \"x\"")},
                                    kPool);
  CHECK(entry(es, "api").spec.has_value());
  CHECK(entry(es, "web").error == std::optional<std::string>("loopback 127.0.0.20 is already used by /specs/api.toml"));
  CHECK(entry(es, "c1").spec.has_value());
  CHECK(entry(es, "c2").spec.has_value());
}

TEST_CASE("three-way conflicts name the one winner, in every input order", "[reconcile]") {
  std::vector<bs::SpecFile> files = {file("c", "image = \"x\"\nmachine = \"m\""),
                                     file("a", "image = \"x\"\nmachine = \"m\""),
                                     file("b", "image = \"x\"\nmachine = \"m\"")};
  std::sort(files.begin(), files.end(), [](const auto& x, const auto& y) { return x.file_name < y.file_name; });
  do {
    const auto es = bs::resolve_specs(files, kPool);
    CHECK(names(es) == std::vector<std::string>{"a", "b", "c"});
    CHECK(entry(es, "a").spec.has_value());
    CHECK(entry(es, "b").error == std::optional<std::string>("machine 'm' is already used by /specs/a.toml"));
    CHECK(entry(es, "c").error == std::optional<std::string>("machine 'm' is already used by /specs/a.toml"));
    CHECK_FALSE(entry(es, "b").spec.has_value());
    CHECK_FALSE(entry(es, "c").spec.has_value());
  } while (std::next_permutation(files.begin(), files.end(),
                                 [](const auto& x, const auto& y) { return x.file_name < y.file_name; }));
}

TEST_CASE("a spec losing on both machine and loopback names both", "[reconcile]") {
  const auto es = bs::resolve_specs({file("a", "image = \"x\"\nmachine = \"m\"\nloopback = \"127.0.0.17\""),
                                     file("b", "image = \"x\"\nmachine = \"m\"\nloopback = \"127.0.0.17\"")},
                                    kPool);
  CHECK(entry(es, "b").error == std::optional<std::string>("machine 'm' is already used by /specs/a.toml\n"
                                                           "loopback 127.0.0.17 is already used by /specs/a.toml"));
}

TEST_CASE("invalid and losing specs claim nothing", "[reconcile]") {
  // a is invalid (cpus), so b owns machine m; c loses m to b, so d may use c's loopback.
  const auto es = bs::resolve_specs({file("a", "image = \"x\"\nmachine = \"m\"\ncpus = 0"),
                                     file("b", "image = \"x\"\nmachine = \"m\""),
                                     file("c", "image = \"x\"\nmachine = \"m\"\nloopback = \"127.0.0.18\""),
                                     file("d", "image = \"x\"\nloopback = \"127.0.0.18\"")},
                                    kPool);
  CHECK_FALSE(entry(es, "a").spec.has_value());
  CHECK(entry(es, "b").spec.has_value());
  CHECK(entry(es, "c").error == std::optional<std::string>("machine 'm' is already used by /specs/b.toml"));
  CHECK(entry(es, "d").spec.has_value());
}

TEST_CASE("the winner is chosen by file name, not by bottle or machine name", "[reconcile]") {
  // Byte order of file names: "a-2.toml" < "a.toml" ('-' sorts before '.').
  const auto es = bs::resolve_specs({file("a", "image = \"x\"\nmachine = \"m\""),
                                     file("a-2", "image = \"x\"\nmachine = \"m\"")},
                                    kPool);
  CHECK(entry(es, "a-2").spec.has_value());
  CHECK(entry(es, "a").error == std::optional<std::string>("machine 'm' is already used by /specs/a-2.toml"));
}

TEST_CASE("a SpecParseMemo parses a file again only when its text or the pool changed", "[reconcile]") {
  bs::SpecParseMemo memo;
  const std::vector<bs::SpecFile> files{file("a", "image = \"x\""), file("b", "image = \"x\"\ncpus = 0")};
  const auto first = bs::resolve_specs(files, kPool, &memo);
  CHECK(memo.parsed() == 2);
  CHECK(memo.size() == 2);

  const auto again = bs::resolve_specs(files, kPool, &memo);
  CHECK(memo.parsed() == 2);
  CHECK(again == first);  // errors included: b's diagnostics come back as they were
  CHECK(again == bs::resolve_specs(files, kPool));

  auto edited = files;
  edited[0].text = "image = \"y\"";
  const auto after_edit = bs::resolve_specs(edited, kPool, &memo);
  CHECK(memo.parsed() == 3);
  REQUIRE(entry(after_edit, "a").spec);
  CHECK(entry(after_edit, "a").spec->image == "y");

  const bs::Ipv4Pool other{bs::Ipv4{0x7f000100}, 28};
  bs::resolve_specs(edited, other, &memo);
  CHECK(memo.parsed() == 5);  // a pool change can change what is valid: everything again

  bs::resolve_specs({edited[0]}, other, &memo);
  CHECK(memo.parsed() == 5);
  CHECK(memo.size() == 1);  // b's file is gone: its parse is forgotten
}
