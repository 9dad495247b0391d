// Internal to graft::dist: graft's communicator, MPI error codes as DistError, and the bounded
// wait every collective goes through.
#pragma once

#include <mpi.h>

#include <string>

#include "graft/dist/environment.hpp"

namespace graft::dist::detail {

/// graft's own duplicate of MPI_COMM_WORLD (errors returned, not fatal); DistError without an
/// Environment. `what` names the caller.
MPI_Comm communicator(const char* what);

/// DistError "<what> on rank R: <MPI's message>" unless rc is MPI_SUCCESS.
void check(int rc, const std::string& what);

/// Whether `request` completed (polls it once; MPI progresses other requests meanwhile).
bool test(MPI_Request& request, const std::string& what);

/// Waits for `request`, polling, for at most timeout_seconds(); then DistError naming `what`.
void wait(MPI_Request& request, const std::string& what);

}  // namespace graft::dist::detail
