// Catch2's main for the raw-socket tests. Cases that need network namespaces pass with a
// "SKIPPED: ..." warning when they cannot run here (not root); this main then exits 77 if
// nothing failed, so ctest (SKIP_RETURN_CODE 77) reports the entry as skipped, not passed.
// A failure still exits nonzero and not 77, so it is never hidden by a skip.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "netns.hpp"

int main(int argc, char* argv[]) {
  constexpr int kSkipped = 77;
  const int failed = Catch::Session().run(argc, argv);
  if (failed != 0) return 1;
  return omega::test::VethPair::skipped() ? kSkipped : 0;
}
