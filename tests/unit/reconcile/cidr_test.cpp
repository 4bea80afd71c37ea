// CIDRs, allowlists and the loopback pool: CONTRACT.md §3 (desired allowlist) and §5 (pool rules).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "reconcile/cidr.h"

namespace {

std::string canon(const std::string& s) {
  auto c = bs::parse_cidr(s);
  INFO("input: " << s);
  REQUIRE(c.has_value());
  return c->str();
}

std::string cidr_error(const std::string& s) {
  auto c = bs::parse_cidr(s);
  INFO("input: " << s);
  REQUIRE_FALSE(c.has_value());
  return c.error();
}

bs::Cidr cidr(const std::string& s) {
  auto c = bs::parse_cidr(s);
  REQUIRE(c.has_value());
  return *c;
}

bs::Ipv4 ipv4(const std::string& s) {
  auto a = bs::parse_ipv4(s);
  REQUIRE(a.has_value());
  return *a;
}

bs::Allowlist allowlist(const std::vector<std::string>& strs) {
  auto a = bs::parse_allowlist(strs);
  REQUIRE(a.has_value());
  return *a;
}

}  // namespace

TEST_CASE("parse_ipv4 accepts strict dotted quads", "[reconcile]") {
  CHECK(ipv4("127.0.0.1").value == 0x7f000001u);
  CHECK(ipv4("0.0.0.0").value == 0u);
  CHECK(ipv4("255.255.255.255").value == 0xffffffffu);
  CHECK(ipv4("10.20.30.40").str() == "10.20.30.40");
  CHECK(ipv4("127.0.0.16") < ipv4("127.0.0.31"));
}

TEST_CASE("parse_ipv4 rejects everything else and says why", "[reconcile]") {
  struct Case {
    const char* input;
    const char* message;
  };
  const Case cases[] = {
      {"", "\"\" is not a valid IPv4 address: it is empty"},
      {"127.1", "\"127.1\" is not a valid IPv4 address: expected four decimal octets a.b.c.d"},
      {"1.2.3.4.5", "\"1.2.3.4.5\" is not a valid IPv4 address: expected four decimal octets a.b.c.d"},
      {"1.2..4", "\"1.2..4\" is not a valid IPv4 address: an octet is empty"},
      {"01.2.3.4",
       "\"01.2.3.4\" is not a valid IPv4 address: octet \"01\" has a leading zero (octal or decimal is "
       "ambiguous)"},
      {"1.2.3.256", "\"1.2.3.256\" is not a valid IPv4 address: octet \"256\" is out of range (0..255)"},
      {"1.2.3.0000", "\"1.2.3.0000\" is not a valid IPv4 address: octet \"0000\" has a leading zero (octal "
                     "or decimal is ambiguous)"},
      {"1.2.3.x", "\"1.2.3.x\" is not a valid IPv4 address: octet \"x\" is not a decimal number"},
      {" 1.2.3.4", "\" 1.2.3.4\" is not a valid IPv4 address: octet \" 1\" is not a decimal number"},
      {"0x7f.0.0.1", "\"0x7f.0.0.1\" is not a valid IPv4 address: octet \"0x7f\" is not a decimal number"},
      {"1.2.3.4/32", "\"1.2.3.4/32\" is not a valid IPv4 address: octet \"4/32\" is not a decimal number"},
      {"1.2.3.-1", "\"1.2.3.-1\" is not a valid IPv4 address: octet \"-1\" is not a decimal number"},
      {"1.2.3.99999999999", "\"1.2.3.99999999999\" is not a valid IPv4 address: octet \"99999999999\" is out "
                            "of range (0..255)"},
  };
  for (const Case& c : cases) {
    auto a = bs::parse_ipv4(c.input);
    INFO("input: " << c.input);
    REQUIRE_FALSE(a.has_value());
    CHECK(a.error() == c.message);
  }
}

TEST_CASE("parse_cidr canonicalises IPv4: bare addresses, host bits", "[reconcile]") {
  CHECK(canon("10.0.0.0/8") == "10.0.0.0/8");
  CHECK(canon("10.1.2.3/8") == "10.0.0.0/8");
  CHECK(canon("1.2.3.4") == "1.2.3.4/32");
  CHECK(canon("127.0.0.16/32") == "127.0.0.16/32");
  CHECK(canon("192.168.255.255/17") == "192.168.128.0/17");
  CHECK(canon("255.255.255.255/0") == "0.0.0.0/0");
  CHECK(canon("0.0.0.0/0") == "0.0.0.0/0");
  CHECK(canon("172.16.5.4/12") == "172.16.0.0/12");
  CHECK(canon("8.8.8.8/31") == "8.8.8.8/31");
  CHECK(canon("8.8.8.9/31") == "8.8.8.8/31");
  CHECK(bs::parse_cidr("10.1.2.3/8")->v6 == false);
}

TEST_CASE("parse_cidr canonicalises IPv6 to RFC 5952", "[reconcile]") {
  CHECK(canon("::") == "::/128");
  CHECK(canon("::/0") == "::/0");
  CHECK(canon("::1") == "::1/128");
  CHECK(canon("2001:DB8::1/32") == "2001:db8::/32");
  CHECK(canon("2001:db8::1") == "2001:db8::1/128");
  CHECK(canon("2001:0db8:0000:0000:0000:0000:0000:0001") == "2001:db8::1/128");
  // The longest run of zeros is compressed, the first one on a tie, never a single group.
  CHECK(canon("2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1/128");
  CHECK(canon("2001:0:0:1:0:0:0:1") == "2001:0:0:1::1/128");
  CHECK(canon("2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1/128");
  CHECK(canon("1:2:3:4:5:6:7::") == "1:2:3:4:5:6:7:0/128");
  CHECK(canon("::2:3:4:5:6:7:8") == "0:2:3:4:5:6:7:8/128");
  CHECK(canon("fe80::/10") == "fe80::/10");
  CHECK(canon("fe80:1234::/10") == "fe80::/10");
  CHECK(canon("FD00::ABCD/8") == "fd00::/8");
  // IPv4-mapped addresses keep a dotted tail; they are IPv6 networks, not IPv4 ones.
  CHECK(canon("::ffff:1.2.3.4") == "::ffff:1.2.3.4/128");
  CHECK(canon("::FFFF:0102:0304") == "::ffff:1.2.3.4/128");
  CHECK(canon("64:ff9b::192.0.2.33/96") == "64:ff9b::/96");
  CHECK(bs::parse_cidr("::ffff:1.2.3.4")->v6);
  CHECK(cidr("::ffff:1.2.3.4") != cidr("1.2.3.4"));
}

TEST_CASE("parse_cidr rejects invalid forms naming the value and the expected form", "[reconcile]") {
  const std::string forms =
      "; use a.b.c.d/n (n 0..32), a bare IPv4 address, or an IPv6 network like 2001:db8::/32 (n 0..128)";
  struct Case {
    const char* input;
    const char* reason;
  };
  const Case cases[] = {
      {"", "it is empty"},
      {"10.0.0.300/8", "octet \"300\" is out of range (0..255)"},
      {"10.0.0.0/33", "prefix length \"33\" is out of range (0..32)"},
      {"10.0.0.0/", "the prefix length after '/' is empty (0..32)"},
      {"10.0.0.0/-1", "prefix length \"-1\" is not a decimal number (0..32)"},
      {"10.0.0.0/+8", "prefix length \"+8\" is not a decimal number (0..32)"},
      {"10.0.0.0/08", "prefix length \"08\" has a leading zero"},
      {"10.0.0.0/8/8", "prefix length \"8/8\" is not a decimal number (0..32)"},
      {"10.0.0.0/ 8", "prefix length \" 8\" is not a decimal number (0..32)"},
      {"10.0.0/8", "expected four decimal octets a.b.c.d"},
      {"example.com", "host names are not allowed, only IP networks"},
      {"localhost/32", "host names are not allowed, only IP networks"},
      {"a.b.c.d/8", "octet \"a\" is not a decimal number"},
      {"::1/129", "prefix length \"129\" is out of range (0..128)"},
      {"::1/1000", "prefix length \"1000\" is out of range (0..128)"},
      {"1::2::3", "'::' may appear only once"},
      {":::", "'::' may appear only once"},
      {"1:2:3:4:5:6:7:8:9", "expected 8 groups, found 9 (use '::' for a run of zero groups)"},
      {"1:2:3:4:5:6:7", "expected 8 groups, found 7 (use '::' for a run of zero groups)"},
      {"1:2:3:4:5:6:7::8", "too many groups around '::' (at most 7 besides it)"},
      {":1:2:3:4:5:6:7", "empty group (a single ':' at an end, or ':::')"},
      {"1::2:", "empty group (a single ':' at an end, or ':::')"},
      {"12345::", "group \"12345\" has more than 4 hex digits"},
      {"g::1", "group \"g\" is not hexadecimal"},
      {"fe80::1%eth0", "zone ids ('%...') name an interface, not a network"},
      {"1.2.3.4::", "an embedded IPv4 address may only be the last part"},
      {"::1.2.3.4:5", "an embedded IPv4 address may only be the last part"},
      {"::ffff:1.2.3.400", "embedded IPv4 \"1.2.3.400\": octet \"400\" is out of range (0..255)"},
  };
  for (const Case& c : cases) {
    CHECK(cidr_error(c.input) == "\"" + std::string(c.input) + "\" is not a valid CIDR: " + c.reason + forms);
  }
}

TEST_CASE("CIDRs order v4 before v6, then by network address, then by prefix", "[reconcile]") {
  CHECK(cidr("255.255.255.255/32") < cidr("::/0"));
  CHECK(cidr("9.0.0.0/8") < cidr("10.0.0.0/8"));
  CHECK(cidr("10.0.0.0/8") < cidr("10.0.0.0/16"));
  CHECK(cidr("10.0.0.0/16") < cidr("10.0.0.1/32"));
  CHECK(cidr("2.0.0.0/8") < cidr("10.0.0.0/8"));  // numerically, not as strings
  CHECK(cidr("::1/128") < cidr("2001:db8::/32"));
  CHECK(cidr("2001:db8::/32") < cidr("2001:db8::/48"));
  CHECK(cidr("10.1.2.3/8") == cidr("10.0.0.0/8"));
  CHECK(bs::host_cidr(ipv4("127.0.0.16")) == cidr("127.0.0.16/32"));
  CHECK(bs::host_cidr(ipv4("127.0.0.16")).str() == "127.0.0.16/32");
}

TEST_CASE("allowlists are canonical sets: order, duplicates and host bits do not matter", "[reconcile]") {
  const bs::Allowlist a = allowlist({"127.0.0.16/32", "10.0.0.0/8", "2001:db8::/32"});
  CHECK(allowlist({"2001:DB8::1/32", "10.0.0.0/8", "127.0.0.16"}) == a);
  CHECK(allowlist({"10.0.0.0/8", "127.0.0.16/32", "10.0.0.0/8", "2001:db8::/32", "127.0.0.16"}) == a);
  CHECK(allowlist({"10.9.9.9/8", "127.0.0.16/32", "2001:db8:ffff::/32"}) == a);
  CHECK(bs::to_strings(a) == std::vector<std::string>{"10.0.0.0/8", "127.0.0.16/32", "2001:db8::/32"});
  CHECK(bs::to_string(a) == "[\"10.0.0.0/8\", \"127.0.0.16/32\", \"2001:db8::/32\"]");
  CHECK(bs::to_string(bs::Allowlist{}) == "[]");
  CHECK(allowlist({}).empty());
  // Different networks are different allowlists, even when one contains the other.
  CHECK(allowlist({"10.0.0.0/8"}) != allowlist({"10.0.0.0/8", "10.1.0.0/16"}));
  CHECK(allowlist({"127.0.0.16/32"}) != allowlist({"127.0.0.17/32"}));
  CHECK(bs::make_allowlist({cidr("10.0.0.0/8"), cidr("1.0.0.0/8"), cidr("10.0.0.0/8")}) ==
        bs::Allowlist{cidr("1.0.0.0/8"), cidr("10.0.0.0/8")});
}

TEST_CASE("parse_allowlist names the entry that does not parse", "[reconcile]") {
  auto a = bs::parse_allowlist({"10.0.0.0/8", "127.0.0.300/32"});
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error().rfind("allowlist entry 2 of 2: \"127.0.0.300/32\" is not a valid CIDR: octet \"300\"", 0) == 0);
}

TEST_CASE("the default pool leases 127.0.0.16 .. 127.0.0.31", "[reconcile]") {
  auto p = bs::parse_pool("127.0.0.16/28");
  REQUIRE(p.has_value());
  CHECK(p->str() == "127.0.0.16/28");
  CHECK(p->size() == 16);
  CHECK(p->leasable_count() == 16);
  CHECK(p->at(0) == ipv4("127.0.0.16"));
  CHECK(p->at(15) == ipv4("127.0.0.31"));
  for (std::uint64_t i = 0; i < p->size(); ++i) CHECK(p->leasable(p->at(i)));
  CHECK(p->leasable(ipv4("127.0.0.16")));  // the pool's "network address": a loopback alias like any
  CHECK(p->leasable(ipv4("127.0.0.31")));  // the pool's "broadcast address"
  CHECK_FALSE(p->contains(ipv4("127.0.0.15")));
  CHECK_FALSE(p->leasable(ipv4("127.0.0.15")));
  CHECK_FALSE(p->contains(ipv4("127.0.0.32")));
  CHECK_FALSE(p->leasable(ipv4("127.0.0.1")));
  CHECK_FALSE(p->contains(ipv4("10.0.0.16")));
  const bs::Ipv4Pool dflt;
  CHECK(dflt.prefix == 28);
}

TEST_CASE("pools never lease 127.0.0.0, 127.0.0.1 or 127.255.255.255", "[reconcile]") {
  auto p24 = bs::parse_pool("127.0.0.0/24");
  REQUIRE(p24.has_value());
  CHECK(p24->size() == 256);
  CHECK(p24->leasable_count() == 254);
  CHECK(p24->contains(ipv4("127.0.0.0")));
  CHECK_FALSE(p24->leasable(ipv4("127.0.0.0")));
  CHECK_FALSE(p24->leasable(ipv4("127.0.0.1")));
  CHECK(p24->leasable(ipv4("127.0.0.2")));
  CHECK(p24->leasable(ipv4("127.0.0.255")));

  auto p16 = bs::parse_pool("127.1.0.0/16");
  REQUIRE(p16.has_value());
  CHECK(p16->size() == 65536);
  CHECK(p16->leasable_count() == 65536);
  CHECK(p16->at(65535) == ipv4("127.1.255.255"));

  auto p8 = bs::parse_pool("127.0.0.0/8");
  REQUIRE(p8.has_value());
  CHECK(p8->size() == (std::uint64_t{1} << 24));
  CHECK(p8->leasable_count() == (std::uint64_t{1} << 24) - 3);
  CHECK_FALSE(p8->leasable(ipv4("127.255.255.255")));
  CHECK(p8->leasable(ipv4("127.255.255.254")));

  auto one = bs::parse_pool("127.0.0.9/32");
  REQUIRE(one.has_value());
  CHECK(one->size() == 1);
  CHECK(one->leasable(ipv4("127.0.0.9")));
}

TEST_CASE("parse_pool masks host bits and rejects pools outside 127.0.0.0/8", "[reconcile]") {
  auto masked = bs::parse_pool("127.0.0.20/28");
  REQUIRE(masked.has_value());
  CHECK(masked->str() == "127.0.0.16/28");
  CHECK(masked->network == ipv4("127.0.0.16"));

  struct Case {
    const char* input;
    const char* message;
  };
  const Case cases[] = {
      {"10.0.0.0/28", "loopback pool \"10.0.0.0/28\" must lie inside 127.0.0.0/8 (e.g. \"127.0.0.16/28\")"},
      {"127.0.0.0/7", "loopback pool \"127.0.0.0/7\" must lie inside 127.0.0.0/8 (e.g. \"127.0.0.16/28\")"},
      {"0.0.0.0/0", "loopback pool \"0.0.0.0/0\" must lie inside 127.0.0.0/8 (e.g. \"127.0.0.16/28\")"},
      {"::1/128",
       "loopback pool \"::1/128\" must be an IPv4 network inside 127.0.0.0/8 (e.g. \"127.0.0.16/28\")"},
      {"127.0.0.16", "loopback pool \"127.0.0.16\" needs a prefix length: write it as a.b.c.d/n (e.g. "
                     "\"127.0.0.16/28\")"},
      {"127.0.0.16/33", "loopback pool \"127.0.0.16/33\" is not a valid IPv4 network: prefix length \"33\" is "
                        "out of range (0..32) (e.g. \"127.0.0.16/28\")"},
      {"127.0.0.0/31", "loopback pool \"127.0.0.0/31\" has no leasable address (127.0.0.0, 127.0.0.1 and "
                       "127.255.255.255 are never leased)"},
      {"127.0.0.1/32", "loopback pool \"127.0.0.1/32\" has no leasable address (127.0.0.0, 127.0.0.1 and "
                       "127.255.255.255 are never leased)"},
  };
  for (const Case& c : cases) {
    auto p = bs::parse_pool(c.input);
    INFO("input: " << c.input);
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error() == c.message);
  }
}
