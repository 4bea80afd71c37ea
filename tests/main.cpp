// Catch2's runner, plus one mode of the test binary's own: `<test binary> _boot-vm <config>`
// stands in for smolvm's VM process, whose command line is exactly
// ["/proc/self/exe", "_boot-vm", "<data dir>/boot-config.json"] (smolvm 1.32.2). Tests exec
// /proc/self/exe that way to get a process the supervisor's exact identity rule accepts; it waits
// until its stdin closes (the test releases it) and exits 0.
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <cstring>

#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
  if (argc >= 3 && std::strcmp(argv[1], "_boot-vm") == 0) {
    char c;
    while (::read(STDIN_FILENO, &c, 1) > 0) {
    }
    return 0;
  }
  return Catch::Session().run(argc, argv);
}
