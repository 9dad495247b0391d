// The op profiler (graft/profiler.hpp): a per-thread stack of open events for self times, and
// one process-wide table of aggregates behind a mutex, touched only while a Profile is alive.
#include "graft/profiler.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "graft/error.hpp"

namespace graft::profiler {

namespace detail {

std::atomic<bool> g_recording{false};

namespace {

struct Frame {
    double child_ms = 0;  // total time of the events that ran nested inside this one
};

thread_local std::vector<Frame> t_stack;

std::mutex g_mutex;
std::unordered_map<std::string, OpStat>& table() {
    static std::unordered_map<std::string, OpStat> t;
    return t;
}

}  // namespace

void begin() { t_stack.push_back(Frame{}); }

void end(const char* name, std::chrono::steady_clock::time_point start) {
    const double total = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const double child = t_stack.empty() ? 0.0 : t_stack.back().child_ms;
    if (!t_stack.empty()) t_stack.pop_back();
    if (!t_stack.empty()) t_stack.back().child_ms += total;
    if (!recording()) return;  // the Profile ended while this event was open
    std::lock_guard<std::mutex> lock(g_mutex);
    OpStat& s = table()[name];
    if (s.name.empty()) s.name = name;
    ++s.calls;
    s.total_ms += total;
    s.self_ms += total - child;
}

}  // namespace detail

Profile::Profile() {
    bool expected = false;
    if (!detail::g_recording.compare_exchange_strong(expected, true))
        throw Error("profiler::Profile: another Profile is already recording (only one may be alive at a time)");
    reset();
}

Profile::~Profile() { detail::g_recording.store(false); }

void Profile::reset() {
    std::lock_guard<std::mutex> lock(detail::g_mutex);
    detail::table().clear();
}

std::vector<OpStat> Profile::stats() const {
    std::vector<OpStat> out;
    {
        std::lock_guard<std::mutex> lock(detail::g_mutex);
        for (const auto& [name, s] : detail::table()) out.push_back(s);
    }
    std::sort(out.begin(), out.end(), [](const OpStat& a, const OpStat& b) {
        return a.self_ms != b.self_ms ? a.self_ms > b.self_ms : a.name < b.name;
    });
    return out;
}

double Profile::self_total_ms() const {
    double sum = 0;
    for (const OpStat& s : stats()) sum += s.self_ms;
    return sum;
}

std::string Profile::table(std::size_t max_rows, double per) const {
    if (!(per > 0)) throw ValueError("profiler::Profile::table: per must be positive, got " + std::to_string(per));
    const std::vector<OpStat> all = stats();
    double sum = 0;
    for (const OpStat& s : all) sum += s.self_ms;
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "%-28s %10s %10s %10s %7s\n", "name", "calls", "self ms", "total ms", "self %");
    out += line;
    double rest = 0;
    std::int64_t rest_calls = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const OpStat& s = all[i];
        if (i >= max_rows) {
            rest += s.self_ms;
            rest_calls += s.calls;
            continue;
        }
        std::snprintf(line, sizeof line, "%-28.28s %10.1f %10.3f %10.3f %6.1f%%\n", s.name.c_str(),
                      static_cast<double>(s.calls) / per, s.self_ms / per, s.total_ms / per,
                      sum > 0 ? 100.0 * s.self_ms / sum : 0.0);
        out += line;
    }
    if (all.size() > max_rows) {
        std::snprintf(line, sizeof line, "%-28s %10.1f %10.3f %10s %6.1f%%\n",
                      ("(" + std::to_string(all.size() - max_rows) + " more)").c_str(),
                      static_cast<double>(rest_calls) / per, rest / per, "", sum > 0 ? 100.0 * rest / sum : 0.0);
        out += line;
    }
    std::snprintf(line, sizeof line, "%-28s %10s %10.3f\n", "sum of self times", "", sum / per);
    out += line;
    return out;
}

}  // namespace graft::profiler
