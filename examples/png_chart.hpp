// png_chart.hpp — a line chart rasterised into an RGB image and written with data::write_png:
// gridlines, axes, one coloured polyline with point markers per series. No text (there is no font
// here): the examples print the colours' meaning and write the same chart as a labelled SVG.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <graft/graft.hpp>

namespace examples {

struct PngSeries {
    std::array<float, 3> rgb;  // 0..1
    std::vector<std::pair<double, double>> points;
};

/// Writes `series` (x in [x_min, x_max], y in [y_min, y_max]) as a width×height PNG with
/// vertical gridlines at `x_grid` and horizontal ones every `y_step`.
inline void write_png_chart(const std::filesystem::path& path, const std::vector<PngSeries>& series, double x_min,
                            double x_max, const std::vector<double>& x_grid, double y_min, double y_max, double y_step,
                            std::int64_t width = 640, std::int64_t height = 400) {
    const std::int64_t L = 40, R = 20, T = 20, B = 40;
    graft::Tensor img = graft::ones({3, height, width});
    float* px = img.data_ptr<float>();
    auto put = [&](std::int64_t x, std::int64_t y, const std::array<float, 3>& c) {
        if (x < 0 || y < 0 || x >= width || y >= height) return;
        for (int ch = 0; ch < 3; ++ch) px[(ch * height + y) * width + x] = c[ch];
    };
    auto to_x = [&](double v) { return L + (v - x_min) / (x_max - x_min) * static_cast<double>(width - L - R); };
    auto to_y = [&](double v) { return static_cast<double>(height - B) - (v - y_min) / (y_max - y_min) * static_cast<double>(height - T - B); };
    const std::array<float, 3> grid{0.88f, 0.88f, 0.88f}, axis{0.2f, 0.2f, 0.2f};
    for (double v = y_min; v <= y_max + 1e-9; v += y_step)
        for (std::int64_t x = L; x < width - R; ++x) put(x, std::lround(to_y(v)), grid);
    for (double v : x_grid)
        for (std::int64_t y = T; y < height - B; ++y) put(std::lround(to_x(v)), y, grid);
    for (std::int64_t x = L; x < width - R; ++x) put(x, height - B, axis);
    for (std::int64_t y = T; y <= height - B; ++y) put(L, y, axis);
    for (const auto& s : series) {
        for (std::size_t i = 0; i + 1 < s.points.size(); ++i) {
            const double x0 = to_x(s.points[i].first), y0 = to_y(s.points[i].second);
            const double x1 = to_x(s.points[i + 1].first), y1 = to_y(s.points[i + 1].second);
            const int n = static_cast<int>(std::max(std::fabs(x1 - x0), std::fabs(y1 - y0))) + 1;
            for (int k = 0; k <= n; ++k) {
                const double t = static_cast<double>(k) / n;
                const auto x = std::lround(x0 + t * (x1 - x0)), y = std::lround(y0 + t * (y1 - y0));
                for (int d = -1; d <= 1; ++d) put(x, y + d, s.rgb), put(x + d, y, s.rgb);
            }
        }
        for (const auto& [vx, vy] : s.points)
            for (int dy = -3; dy <= 3; ++dy)
                for (int dx = -3; dx <= 3; ++dx) put(std::lround(to_x(vx)) + dx, std::lround(to_y(vy)) + dy, s.rgb);
    }
    graft::data::write_png(path, img);
}

}  // namespace examples
