// Resolution cost per key: libkmod called directly versus kplug's Resolver, cold (first
// sight of each key) and cached. Keys come from a file, one per line (see
// tests/tools/alias_keys.py). Prints microseconds per key; not a test.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <libkmod.h>

#include "kmod/resolver.hpp"

using namespace kplug;
using Clock = std::chrono::steady_clock;

namespace {

template <typename F>
double us_per_key(const std::vector<std::string>& keys, int rounds, F&& lookup) {
  auto start = Clock::now();
  for (int r = 0; r < rounds; ++r)
    for (const auto& k : keys) lookup(k);
  std::chrono::duration<double, std::micro> took = Clock::now() - start;
  return took.count() / static_cast<double>(keys.size() * static_cast<std::size_t>(rounds));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_resolve MODULES_DIR KEYS_FILE\n");
    return 2;
  }
  std::vector<std::string> keys;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) keys.push_back(line);
  if (keys.empty()) {
    std::fprintf(stderr, "bench_resolve: no keys in %s\n", argv[2]);
    return 2;
  }
  KmodOptions options{argv[1], {"/nonexistent"}};
  auto direct_ctx = KmodContext::open(options);
  auto resolver_ctx = KmodContext::open(options);
  if (!direct_ctx || !resolver_ctx) {
    std::fprintf(stderr, "bench_resolve: cannot open %s\n", argv[1]);
    return 1;
  }
  std::size_t found = 0;
  double direct = us_per_key(keys, 3, [&](const std::string& k) {
    kmod_list* list = nullptr;
    if (kmod_module_new_from_lookup((*direct_ctx)->get(), k.c_str(), &list) == 0 && list) {
      ++found;
      kmod_module_unref_list(list);
    }
  });
  KmodResolver resolver(std::move(*resolver_ctx));
  double cold = us_per_key(keys, 1, [&](const std::string& k) { (void)resolver.resolve(k); });
  double cached = us_per_key(keys, 20, [&](const std::string& k) { (void)resolver.resolve(k); });
  std::printf("keys %zu (%zu matched)\n", keys.size(), found / 3);
  std::printf("libkmod direct   %8.3f us/key\n", direct);
  std::printf("resolver cold    %8.3f us/key\n", cold);
  std::printf("resolver cached  %8.3f us/key  (%.0fx faster than libkmod)\n", cached, direct / cached);
  return 0;
}
