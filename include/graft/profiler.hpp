// graft/profiler.hpp — where a training step's time goes, op by op.
//
//   graft::profiler::Profile prof;            // records from here until it is destroyed
//   for (int i = 0; i < 10; ++i) step();
//   std::fputs(prof.table().c_str(), stdout); // name, calls, self ms, total ms, % of self time
//
// While a Profile is alive, every op that graft runs (matmul, linear, layer_norm, …), every
// backward node (LinearBackward, …), the engine's gradient accumulation and every optimizer
// step record one event on the thread that called them. An event's *total* time runs from
// entering the op to leaving it; its *self* time is the total minus the time of the events
// nested inside it (linear calling matmul, an optimizer step calling its kernel), so the self
// times of all events add up to the time spent inside graft, without double counting. The time
// a program spends between ops (its own code, Python-style glue) is not recorded: compare the
// sum of self times with the wall time of the region to see it.
//
// A program can time regions of its own the same way:
//
//   { graft::profiler::Scope s("data.next_batch"); batch = *it; }
//
// With no Profile alive a Scope costs one relaxed atomic load. Only one Profile may be alive at
// a time (a second one is a graft::Error). Times are wall-clock (steady_clock) on the calling
// thread; an op that runs OpenMP threads inside is charged once, with its elapsed time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace graft::profiler {

/// The aggregate of every event recorded under one name.
struct OpStat {
    std::string name;
    std::int64_t calls = 0;
    double total_ms = 0;  ///< summed time from entering to leaving (nested events included)
    double self_ms = 0;   ///< total_ms minus the nested events' total time
};

namespace detail {
extern std::atomic<bool> g_recording;
void begin();
void end(const char* name, std::chrono::steady_clock::time_point start);
}  // namespace detail

/// Whether a Profile is alive (events are being recorded).
inline bool recording() { return detail::g_recording.load(std::memory_order_relaxed); }

/// Records one event named `name` from construction to destruction. `name` must stay valid
/// until the Scope is destroyed (a string literal, or a Node::name() around that node's apply).
class Scope {
public:
    explicit Scope(const char* name) : name_(recording() ? name : nullptr) {
        if (name_ != nullptr) {
            detail::begin();
            start_ = std::chrono::steady_clock::now();
        }
    }
    ~Scope() {
        if (name_ != nullptr) detail::end(name_, start_);
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

private:
    const char* name_;
    std::chrono::steady_clock::time_point start_{};
};

/// Records every graft op, backward node and optimizer step while alive (see the file comment).
class Profile {
public:
    Profile();
    ~Profile();
    Profile(const Profile&) = delete;
    Profile& operator=(const Profile&) = delete;

    /// Forgets what was recorded so far (e.g. after warm-up steps); keeps recording.
    void reset();
    /// Per name, sorted by self time, largest first.
    std::vector<OpStat> stats() const;
    /// Sum of every event's self time, in ms: the time spent inside graft.
    double self_total_ms() const;
    /// A fixed-width table of the `max_rows` largest entries by self time, and a last line with
    /// the rest and the sum. Times are divided by `per` (e.g. the number of steps profiled).
    std::string table(std::size_t max_rows = 25, double per = 1.0) const;
};

}  // namespace graft::profiler

/// Times the enclosing block as an event named `name` (a string literal).
#define GRAFT_PROFILE_SCOPE(name) const ::graft::profiler::Scope graft_profile_scope_(name)
