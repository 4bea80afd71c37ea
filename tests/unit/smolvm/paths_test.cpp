#include <catch2/catch.hpp>
#include <map>

#include "smolvm/paths.h"
#include "smolvm/sha256.h"

using bs::platform::map_env;
using bs::platform::Os;
using bs::smolvm::derive_paths;

TEST_CASE("smolvm paths follow XDG and HOME on Linux", "[smolvm]") {
  SECTION("XDG unset") {
    auto p = derive_paths(map_env({{"HOME", "/home/u"}}), std::nullopt, Os::Linux);
    CHECK(p.db == "/home/u/.local/share/smolvm/server/smolvm.db");
    CHECK(p.server_dir == "/home/u/.local/share/smolvm/server");
    CHECK(p.vms_dir == "/home/u/.cache/smolvm/vms");
    CHECK(p.data_root.empty());
  }
  SECTION("XDG set") {
    auto p = derive_paths(map_env({{"HOME", "/home/u"}, {"XDG_DATA_HOME", "/data"}, {"XDG_CACHE_HOME", "/cache"}}),
                          std::nullopt, Os::Linux);
    CHECK(p.db == "/data/smolvm/server/smolvm.db");
    CHECK(p.vms_dir == "/cache/smolvm/vms");
  }
  SECTION("relative or empty XDG values are ignored") {
    auto p = derive_paths(map_env({{"HOME", "/home/u"}, {"XDG_DATA_HOME", "data"}, {"XDG_CACHE_HOME", ""}}),
                          std::nullopt, Os::Linux);
    CHECK(p.db == "/home/u/.local/share/smolvm/server/smolvm.db");
    CHECK(p.vms_dir == "/home/u/.cache/smolvm/vms");
  }
}

TEST_CASE("SMOLVM_DATA_DIR and the override act as HOME with XDG unset", "[smolvm]") {
  const std::map<std::string, std::string> xdg = {
      {"HOME", "/home/u"}, {"XDG_DATA_HOME", "/data"}, {"XDG_CACHE_HOME", "/cache"}, {"SMOLVM_DATA_DIR", "/root-a"}};
  SECTION("SMOLVM_DATA_DIR beats XDG") {
    auto p = derive_paths(map_env(xdg), std::nullopt, Os::Linux);
    CHECK(p.data_root == "/root-a");
    CHECK(p.db == "/root-a/.local/share/smolvm/server/smolvm.db");
    CHECK(p.vms_dir == "/root-a/.cache/smolvm/vms");
  }
  SECTION("the override beats SMOLVM_DATA_DIR") {
    auto p = derive_paths(map_env(xdg), std::string("/root-b"), Os::Linux);
    CHECK(p.data_root == "/root-b");
    CHECK(p.db == "/root-b/.local/share/smolvm/server/smolvm.db");
    CHECK(p.vms_dir == "/root-b/.cache/smolvm/vms");
  }
  SECTION("an empty override or variable counts as unset") {
    auto p = derive_paths(map_env(xdg), std::string(""), Os::Linux);
    CHECK(p.data_root == "/root-a");
    auto q = derive_paths(map_env({{"HOME", "/home/u"}, {"SMOLVM_DATA_DIR", ""}}), std::nullopt, Os::Linux);
    CHECK(q.data_root.empty());
    CHECK(q.db == "/home/u/.local/share/smolvm/server/smolvm.db");
  }
}

TEST_CASE("smolvm paths on macOS ignore XDG", "[smolvm]") {
  auto p = derive_paths(map_env({{"HOME", "/Users/u"}, {"XDG_DATA_HOME", "/data"}}), std::nullopt, Os::MacOS);
  CHECK(p.db == "/Users/u/Library/Application Support/smolvm/server/smolvm.db");
  CHECK(p.vms_dir == "/Users/u/Library/Caches/smolvm/vms");
  auto r = derive_paths(map_env({{"HOME", "/Users/u"}, {"SMOLVM_DATA_DIR", "/r"}}), std::nullopt, Os::MacOS);
  CHECK(r.db == "/r/Library/Application Support/smolvm/server/smolvm.db");
  CHECK(r.vms_dir == "/r/Library/Caches/smolvm/vms");
}

TEST_CASE("VM data dirs are named by the first 16 hex of sha256(name)", "[smolvm]") {
  CHECK(bs::smolvm::vm_dir_hash("default") == "37a8eec1ce19687d");
  CHECK(bs::smolvm::vm_dir_hash("sb1") == "320983ce679b69a1");
  auto p = derive_paths(map_env({{"HOME", "/home/u"}}), std::nullopt, Os::Linux);
  CHECK(p.vm_data_dir("sb1") == "/home/u/.cache/smolvm/vms/320983ce679b69a1");
  CHECK(p.boot_config("default") == "/home/u/.cache/smolvm/vms/37a8eec1ce19687d/boot-config.json");
}

TEST_CASE("sha256 matches the FIPS 180-4 vectors and padding boundaries", "[smolvm]") {
  using bs::smolvm::sha256_hex;
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(sha256_hex(std::string(55, 'a')) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(sha256_hex(std::string(56, 'a')) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK(sha256_hex(std::string(63, 'a')) == "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
  CHECK(sha256_hex(std::string(64, 'a')) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}
