// graft/dist/environment.hpp — the MPI job a data-parallel program runs in: start, rank, size, stop.
//
//   int main(int argc, char** argv) {
//       dist::Environment env(argc, argv);               // MPI_Init_thread; MPI_Finalize at scope exit
//       std::cout << dist::rank() << " of " << dist::world_size() << "\n";
//   }
//   mpirun -np 4 ./train                                  // four processes, ranks 0..3
//
// Faults. MPI has no way to leave one process of a job: a rank that stops while the others wait
// in a collective would leave them waiting forever. So, while an Environment lives:
// - an exception that leaves main (std::terminate), or that leaves the Environment's scope, prints
//   "graft::dist: rank R of W: <what()>; aborting all ranks" and calls MPI_Abort, which ends every
//   rank of the job: the one place graft ends a process, because MPI offers no other;
// - every collective graft runs waits at most `timeout_seconds`, then throws DistError naming the
//   collective and the rank ("… did not complete within 300 s: another rank stopped, crashed or
//   diverged"), which in turn aborts the job unless caught. A rank that dies (a signal, exit)
//   makes mpirun end the others itself.
#pragma once

#include "graft/error.hpp"

namespace graft::dist {

/// A failed or timed-out MPI operation, or ranks that disagree (models, options).
class DistError : public Error {
public:
    using Error::Error;
};

struct EnvironmentOptions {
    /// Longest wait of any collective before it throws DistError (seconds, > 0).
    double timeout_seconds = 300.0;
};

/// Starts MPI (MPI_Init_thread, MPI_THREAD_FUNNELED: MPI is called from the thread that started
/// it) for its lifetime and ends it (MPI_Finalize) in its destructor. One at a time per process;
/// DistError for a second one, or MPI already finalized. When the program started MPI itself,
/// the Environment uses that and leaves MPI_Finalize to it.
class Environment {
public:
    explicit Environment(EnvironmentOptions options = {});
    Environment(int& argc, char**& argv, EnvironmentOptions options = {});
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

private:
    void start(int* argc, char*** argv, EnvironmentOptions options);
    bool owns_mpi_ = false;
    int uncaught_at_start_ = 0;
};

/// Whether an Environment is running.
bool is_initialized();
/// This process's rank in [0, world_size()); DistError without an Environment.
int rank();
/// The number of processes in the job; DistError without an Environment.
int world_size();
/// Whether this is rank 0, the one that logs and writes files (true without an Environment).
bool is_main_process();
/// The collective timeout in force (EnvironmentOptions::timeout_seconds).
double timeout_seconds();

}  // namespace graft::dist
