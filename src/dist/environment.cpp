// The MPI environment: start and stop, rank and size, and the abort-on-fault policy
// (graft/dist/environment.hpp).
#include "graft/dist/environment.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <sstream>
#include <string>
#include <thread>

#include "dist/mpi_call.hpp"

namespace graft::dist {

namespace {
struct State {
    bool running = false;
    MPI_Comm comm = MPI_COMM_NULL;
    int rank = 0;
    int size = 1;
    double timeout_seconds = 300.0;
    std::terminate_handler previous_terminate = nullptr;
};
State state;

/// Ends every rank of the job after saying why (the Environment's fault policy).
[[noreturn]] void abort_job(const std::string& why) {
    std::fprintf(stderr, "graft::dist: rank %d of %d: %s; aborting all ranks (MPI_Abort)\n", state.rank, state.size,
                 why.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();  // MPI_Abort does not return; this only satisfies [[noreturn]]
}

[[noreturn]] void terminate_handler() {
    std::string why = "terminate called";
    if (const std::exception_ptr current = std::current_exception()) {
        try {
            std::rethrow_exception(current);
        } catch (const std::exception& e) {
            why = std::string("uncaught exception: ") + e.what();
        } catch (...) {
            why = "uncaught exception of a type not derived from std::exception";
        }
    }
    abort_job(why);
}
}  // namespace

Environment::Environment(EnvironmentOptions options) { start(nullptr, nullptr, options); }

Environment::Environment(int& argc, char**& argv, EnvironmentOptions options) { start(&argc, &argv, options); }

void Environment::start(int* argc, char*** argv, EnvironmentOptions options) {
    if (state.running) throw DistError("dist::Environment: one is already running in this process");
    if (!(options.timeout_seconds > 0.0))
        throw ValueError("dist::Environment: timeout_seconds must be positive, got " +
                         std::to_string(options.timeout_seconds));
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) throw DistError("dist::Environment: MPI was already finalized in this process");
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        int provided = 0;
        const int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) throw DistError("dist::Environment: MPI_Init_thread failed (code " + std::to_string(rc) + ")");
        owns_mpi_ = true;
    }
    MPI_Comm comm = MPI_COMM_NULL;
    detail::check(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "dist::Environment: MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    state.comm = comm;
    MPI_Comm_rank(comm, &state.rank);
    MPI_Comm_size(comm, &state.size);
    state.timeout_seconds = options.timeout_seconds;
    state.previous_terminate = std::set_terminate(terminate_handler);
    state.running = true;
    uncaught_at_start_ = std::uncaught_exceptions();
}

Environment::~Environment() {
    // Leaving by an exception: the other ranks may be waiting for this one in a collective.
    if (std::uncaught_exceptions() > uncaught_at_start_) abort_job("left the dist::Environment by an exception");
    std::set_terminate(state.previous_terminate);
    MPI_Comm_free(&state.comm);
    state = State{};
    if (owns_mpi_) MPI_Finalize();
}

bool is_initialized() { return state.running; }

int rank() {
    detail::communicator("dist::rank");
    return state.rank;
}

int world_size() {
    detail::communicator("dist::world_size");
    return state.size;
}

bool is_main_process() { return !state.running || state.rank == 0; }

double timeout_seconds() { return state.timeout_seconds; }

namespace detail {

namespace {
/// 2 → "2", 0.5 → "0.5" (the shortest form that reads back).
std::string seconds_text(double seconds) {
    std::ostringstream out;
    out << seconds;
    return out.str();
}
}  // namespace

MPI_Comm communicator(const char* what) {
    if (!state.running) throw DistError(std::string(what) + ": no dist::Environment is running (create one first)");
    return state.comm;
}

void check(int rc, const std::string& what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(rc, text, &length);
    throw DistError(what + " on rank " + std::to_string(state.rank) + ": " + std::string(text, length));
}

bool test(MPI_Request& request, const std::string& what) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    return done != 0;
}

void wait(MPI_Request& request, const std::string& what) {
    const auto start = std::chrono::steady_clock::now();
    const auto limit = std::chrono::duration<double>(state.timeout_seconds);
    for (int polls = 0; !test(request, what); ++polls) {
        if (std::chrono::steady_clock::now() - start > limit)
            throw DistError(what + " did not complete within " + seconds_text(state.timeout_seconds) +
                            " s on rank " + std::to_string(state.rank) + " of " + std::to_string(state.size) +
                            ": another rank stopped, crashed or diverged (called other collectives)");
        // Poll hot briefly, then give the core to the other ranks (oversubscribed machines).
        if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
        else std::this_thread::yield();
    }
}

}  // namespace detail

}  // namespace graft::dist
