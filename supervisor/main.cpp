#include <cstdio>

int main() {
  std::puts("bottle-supervisor " BS_VERSION);
  return 0;
}
