// main() of graft_dist_tests, run under mpirun by CTest: every rank runs every test, so the
// collectives inside them meet. Ranks other than 0 print only failures.
#include <gtest/gtest.h>

#include "graft/dist/environment.hpp"

int main(int argc, char** argv) {
    graft::dist::Environment env(argc, argv, {.timeout_seconds = 15.0});
    // Read when InitGoogleTest picks the result printer.
    if (graft::dist::rank() != 0) ::testing::GTEST_FLAG(brief) = true;
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
