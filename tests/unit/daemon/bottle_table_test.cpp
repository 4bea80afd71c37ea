// The bottle table: bottles made on first mention, and which bottles' specs claim each machine,
// kept right as specs change, claims are dropped and bottles are forgotten.
#include <catch2/catch.hpp>

#include "supervisor/bottle_table.h"
#include "unit/reconcile/plan_world.h"

using bs::supervisor::Bottle;
using bs::supervisor::BottleTable;

namespace {

void give_spec(BottleTable& t, const std::string& bottle, const std::string& machine) {
  Bottle& b = t.get(bottle);
  b.spec = bs::test::plain_spec(bottle);
  b.spec->machine = machine;
}

}  // namespace

TEST_CASE("bottle table: a bottle is made once, named, on first mention", "[daemon-unit]") {
  BottleTable t;
  CHECK(t.find("a") == nullptr);
  Bottle& a = t.get("a");
  CHECK(a.name == "a");
  a.spec_path = "/specs/a.toml";
  CHECK(&t.get("a") == &a);
  CHECK(t.find("a")->spec_path == "/specs/a.toml");
  CHECK(t.size() == 1);
  CHECK(t.contains("a"));
}

TEST_CASE("bottle table: claims follow the specs; two bottles naming one machine both claim it", "[daemon-unit]") {
  BottleTable t;
  give_spec(t, "a", "shared");
  give_spec(t, "b", "shared");
  give_spec(t, "c", "bottle-c");
  CHECK(t.claims_on("shared").empty());  // read again only when told the specs changed
  t.reindex_claims();
  CHECK(t.claims_on("shared") == std::set<std::string>{"a", "b"});
  CHECK(t.claims_on("bottle-c") == std::set<std::string>{"c"});
  CHECK(t.claims_on("nobody's").empty());

  t.get("b").spec->machine = "bottle-b";  // b's spec edited to name its own machine
  t.reindex_claims();
  CHECK(t.claims_on("shared") == std::set<std::string>{"a"});
  CHECK(t.claims_on("bottle-b") == std::set<std::string>{"b"});
}

TEST_CASE("bottle table: a dropped claim and a forgotten bottle claim nothing; the bottle is kept or gone",
          "[daemon-unit]") {
  BottleTable t;
  give_spec(t, "a", "bottle-a");
  give_spec(t, "b", "bottle-b");
  t.reindex_claims();
  t.drop_claim("a");  // released: its spec's machine is not claimed until the specs are read again
  CHECK(t.claims_on("bottle-a").empty());
  CHECK(t.contains("a"));
  t.erase("b");
  CHECK(t.claims_on("bottle-b").empty());
  CHECK_FALSE(t.contains("b"));
  t.reindex_claims();
  CHECK(t.claims_on("bottle-a") == std::set<std::string>{"a"});
}
