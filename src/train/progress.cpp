// The Trainer's progress display: live bar on a terminal, plain per-epoch lines otherwise.
#include "train/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace graft::train::detail {

namespace {

std::string format_seconds(double s) {
    char buf[32];
    if (!std::isfinite(s) || s < 0) return "?";
    if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
    else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
    else std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) / 60) % 60);
    return buf;
}

}  // namespace

ProgressDisplay::ProgressDisplay(Progress mode) {
    enabled_ = mode != Progress::Off;
    live_ = mode == Progress::Auto && isatty(STDERR_FILENO) != 0;
}

void ProgressDisplay::begin_epoch(std::int64_t epoch, std::int64_t epochs, std::int64_t batches) {
    epoch_ = epoch;
    epochs_ = epochs;
    batches_ = batches;
    start_ = std::chrono::steady_clock::now();
    last_draw_ = start_;
    if (live_) draw(0, std::nan(""), 0, true);
}

void ProgressDisplay::update(std::int64_t done, double mean_loss, std::int64_t samples) {
    if (live_) draw(done, mean_loss, samples, done == batches_);
}

void ProgressDisplay::draw(std::int64_t done, double mean_loss, std::int64_t samples, bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    constexpr int width = 24;
    const int filled = batches_ > 0 ? static_cast<int>(width * done / batches_) : 0;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(batches_ - done) : NAN;
    std::fprintf(stderr, "\repoch %lld/%lld [%s] %lld/%lld loss %.4f %.0f samples/s ETA %s\x1b[K",
                 static_cast<long long>(epoch_ + 1), static_cast<long long>(epochs_), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(batches_), mean_loss,
                 elapsed > 0 ? static_cast<double>(samples) / elapsed : 0.0, format_seconds(eta).c_str());
    std::fflush(stderr);
}

void ProgressDisplay::end_epoch(const EpochLogs& logs) {
    if (!enabled_) return;
    std::string line = "epoch " + std::to_string(epoch_ + 1) + "/" + std::to_string(epochs_);
    for (const auto& [key, value] : logs.values) {
        if (key == "epoch") continue;
        char buf[64];
        std::snprintf(buf, sizeof buf, "  %s %.4g", key.c_str(), value);
        line += buf;
    }
    std::fprintf(stderr, "%s%s\n", live_ ? "\r\x1b[K" : "", line.c_str());
    std::fflush(stderr);
}

}  // namespace graft::train::detail
