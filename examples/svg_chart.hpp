// svg_chart.hpp — a minimal SVG line chart for the examples' learning curves (no dependencies):
// named series of (x, y) points, axes with ticks, a legend. Opens in any browser.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace examples {

struct Series {
    std::string name;
    std::string color;  // any SVG colour: "#1f77b4"
    std::vector<std::pair<double, double>> points;
};

/// Writes a line chart of `series` to `path`; y spans [y_min, y_max], x the data's range.
inline void write_svg_chart(const std::filesystem::path& path, const std::string& title, const std::string& x_label,
                            const std::string& y_label, const std::vector<Series>& series, double y_min, double y_max) {
    constexpr double W = 720, H = 440, L = 70, R = 180, T = 40, B = 55;
    double x_min = INFINITY, x_max = -INFINITY;
    for (const auto& s : series)
        for (const auto& [x, y] : s.points) x_min = std::min(x_min, x), x_max = std::max(x_max, x);
    if (!(x_max > x_min)) x_min = 0, x_max = 1;
    auto px = [&](double x) { return L + (x - x_min) / (x_max - x_min) * (W - L - R); };
    auto py = [&](double y) { return H - B - (std::clamp(y, y_min, y_max) - y_min) / (y_max - y_min) * (H - T - B); };
    auto num = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, "%.3g", v);
        return std::string(b);
    };
    std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(W) + "\" height=\"" + num(H) +
                      "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg += "<text x=\"" + num(W / 2 - R / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + title + "</text>\n";
    for (int i = 0; i <= 5; ++i) {  // horizontal grid lines and y ticks
        const double yv = y_min + (y_max - y_min) * i / 5;
        svg += "<line x1=\"" + num(L) + "\" x2=\"" + num(W - R) + "\" y1=\"" + num(py(yv)) + "\" y2=\"" + num(py(yv)) +
               "\" stroke=\"#ddd\"/>\n<text x=\"" + num(L - 6) + "\" y=\"" + num(py(yv) + 4) +
               "\" text-anchor=\"end\">" + num(yv) + "</text>\n";
    }
    // x ticks at multiples of a round step (1, 2 or 5 times a power of ten), about five of them
    const double raw = (x_max - x_min) / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
    for (double xv = std::ceil(x_min / step) * step; xv <= x_max + 1e-9; xv += step)
        svg += "<text x=\"" + num(px(xv)) + "\" y=\"" + num(H - B + 18) + "\" text-anchor=\"middle\">" + num(xv) + "</text>\n";
    svg += "<rect x=\"" + num(L) + "\" y=\"" + num(T) + "\" width=\"" + num(W - L - R) + "\" height=\"" + num(H - T - B) +
           "\" fill=\"none\" stroke=\"black\"/>\n";
    svg += "<text x=\"" + num((L + W - R) / 2) + "\" y=\"" + num(H - 12) + "\" text-anchor=\"middle\">" + x_label + "</text>\n";
    svg += "<text transform=\"translate(18," + num((T + H - B) / 2) + ") rotate(-90)\" text-anchor=\"middle\">" + y_label +
           "</text>\n";
    for (std::size_t k = 0; k < series.size(); ++k) {
        const auto& s = series[k];
        std::string pts;
        for (const auto& [x, y] : s.points) pts += num(px(x)) + "," + num(py(y)) + " ";
        svg += "<polyline fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"2\" points=\"" + pts + "\"/>\n";
        const double ly = T + 10 + 20.0 * static_cast<double>(k);
        svg += "<line x1=\"" + num(W - R + 12) + "\" x2=\"" + num(W - R + 36) + "\" y1=\"" + num(ly) + "\" y2=\"" + num(ly) +
               "\" stroke=\"" + s.color + "\" stroke-width=\"2\"/>\n<text x=\"" + num(W - R + 42) + "\" y=\"" +
               num(ly + 4) + "\">" + s.name + "</text>\n";
    }
    svg += "</svg>\n";
    const auto tmp = std::filesystem::path(path.string() + ".tmp");
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << svg;
        if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
    }
    std::filesystem::rename(tmp, path);
}

}  // namespace examples
