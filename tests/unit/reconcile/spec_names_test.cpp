// Which files are specs and which names are valid (CONTRACT.md §3).
#include <catch2/catch.hpp>

#include <string>

#include "reconcile/spec.h"

TEST_CASE("only *.toml files not starting with '.' are specs", "[reconcile]") {
  struct Case {
    const char* file_name;
    bool is_spec;
  };
  const Case cases[] = {
      {"x.toml", true},
      {"task-1.toml", true},
      {"Foo.toml", true},        // a spec, whose bad name is then reported rather than ignored
      {"a b.toml", true},        // likewise
      {"x.toml.toml", true},
      {".x.toml.swp", false},    // vim swap
      {".x.toml.swx", false},
      {".x.toml", false},        // hidden
      {".hidden.toml", false},
      {"x.toml~", false},        // emacs / vim backup
      {"x.toml.bak", false},
      {"x.toml.tmp", false},
      {"4913", false},           // vim's write-permission probe
      {"#x.toml#", false},       // emacs auto-save
      {"x.TOML", false},         // case matters: only ".toml"
      {"x.Toml", false},
      {"x.tom", false},
      {"xtoml", false},
      {".toml", false},
      {"toml", false},
      {"", false},
      {"dir/x.toml", false},     // a file name, never a path
  };
  for (const Case& c : cases) {
    INFO("file name: '" << c.file_name << "'");
    CHECK(bs::is_spec_file_name(c.file_name) == c.is_spec);
  }
}

TEST_CASE("the bottle name is the file stem", "[reconcile]") {
  CHECK(bs::bottle_name_of("task-1.toml") == "task-1");
  CHECK(bs::bottle_name_of("x.toml.toml") == "x.toml");
  CHECK(bs::bottle_name_of("/home/u/.config/bottle-supervisor/bottles/agent.toml") == "agent");
  CHECK(bs::bottle_name_of("relative/dir/agent.toml") == "agent");
  CHECK(bs::bottle_name_of("noext") == "noext");
}

TEST_CASE("bottle and machine names: ^[a-z0-9]+(-[a-z0-9]+)*$, at most 48 / 63", "[reconcile]") {
  struct Case {
    std::string name;
    bool valid;
  };
  const Case cases[] = {
      {"a", true},
      {"0", true},
      {"task-1", true},
      {"agent-2-x9", true},
      {"123", true},
      {"a-b-c-d", true},
      {"", false},
      {"-a", false},
      {"a-", false},
      {"a--b", false},
      {"-", false},
      {"A", false},
      {"Task-1", false},
      {"a_b", false},
      {"a.b", false},
      {"a b", false},
      {"a/b", false},
      {"ä", false},
      {"a\n", false},
  };
  for (const Case& c : cases) {
    INFO("name: '" << c.name << "'");
    CHECK(bs::valid_bottle_name(c.name) == c.valid);
    CHECK(bs::valid_machine_name(c.name) == c.valid);
  }
  CHECK(bs::valid_bottle_name(std::string(48, 'a')));
  CHECK_FALSE(bs::valid_bottle_name(std::string(49, 'a')));
  CHECK(bs::valid_machine_name(std::string(49, 'a')));
  CHECK(bs::valid_machine_name(std::string(63, 'a')));
  CHECK_FALSE(bs::valid_machine_name(std::string(64, 'a')));
  // Every valid bottle name makes a valid default machine name.
  CHECK(bs::valid_machine_name("bottle-" + std::string(48, 'z')));
}

TEST_CASE("an invalid file name is reported at 1:1, the spec is otherwise read", "[reconcile]") {
  const bs::Ipv4Pool pool{bs::Ipv4{0x7f000010}, 28};
  auto r = bs::parse_bottle_spec("/specs/Foo.toml", "image = \"a\"\n", pool);
  REQUIRE_FALSE(r.has_value());
  REQUIRE(r.error().size() == 1);
  CHECK(r.error()[0].str() ==
        "/specs/Foo.toml:1:1: bottle name 'Foo' (from the file name) must match ^[a-z0-9]+(-[a-z0-9]+)*$ and be "
        "at most 48 characters");
  auto spaced = bs::parse_bottle_spec("/specs/a b.toml", "image = \"a\"\n", pool);
  REQUIRE_FALSE(spaced.has_value());
  CHECK(spaced.error()[0].message.rfind("bottle name 'a b' (from the file name)", 0) == 0);
}
