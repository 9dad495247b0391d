// train::sweep: runs the recipes from one seed each, keeps their rows and logs, picks the best.
#include "graft/train/sweep.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "graft/error.hpp"
#include "graft/random.hpp"

namespace graft::train {

namespace {

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace

double Recipe::param(const std::string& key) const {
    auto it = params.find(key);
    if (it != params.end()) return it->second;
    std::string keys;
    for (const auto& [k, v] : params) keys += (keys.empty() ? "" : ", ") + k;
    throw IndexError("Recipe '" + name + "': no setting '" + key + "' (it has: " + (keys.empty() ? "none" : keys) + ")");
}

std::vector<Recipe> grid(const std::map<std::string, std::vector<double>>& axes, const std::string& prefix) {
    if (axes.empty()) throw ValueError("grid: no axis");
    std::vector<Recipe> out{Recipe{}};
    for (const auto& [key, values] : axes) {
        if (values.empty()) throw ValueError("grid: axis '" + key + "' has no value");
        std::vector<Recipe> next;
        for (const auto& r : out)
            for (double v : values) {
                Recipe e = r;
                e.params[key] = v;
                e.name += (e.name.empty() ? "" : ",") + key + "=" + number(v);
                next.push_back(std::move(e));
            }
        out = std::move(next);
    }
    if (!prefix.empty())
        for (auto& r : out) r.name = prefix + " " + r.name;
    return out;
}

SweepResult sweep(const std::vector<Recipe>& recipes, const RecipeRunner& run, const SweepOptions& options) {
    if (recipes.empty()) throw ValueError("sweep: no recipe");
    if (!run) throw ValueError("sweep: no runner");
    if (options.epochs < 1) throw ValueError("sweep: epochs must be >= 1, got " + std::to_string(options.epochs));
    if (options.early_stopping_patience < 0)
        throw ValueError("sweep: early_stopping_patience must be >= 0, got " + std::to_string(options.early_stopping_patience));
    std::set<std::string> names;
    for (const auto& r : recipes)
        if (!names.insert(r.name).second) throw ValueError("sweep: two recipes are named '" + r.name + "'");

    SweepResult result;
    result.monitor = options.monitor;
    result.higher_is_better = options.monitor_higher_is_better.value_or(options.monitor.find("loss") == std::string::npos);
    const TrainerOptions trainer_options{.epochs = options.epochs,
                                         .monitor = options.monitor,
                                         .monitor_higher_is_better = result.higher_is_better,
                                         .early_stopping_patience = options.early_stopping_patience,
                                         .restore_best_weights = true,
                                         .progress = Progress::Off};
    std::optional<std::size_t> best;
    std::string first_error;
    for (const auto& recipe : recipes) {
        SweepRun row;
        row.recipe = recipe;
        manual_seed(options.seed);
        const auto start = std::chrono::steady_clock::now();
        try {
            const FitResult fit = run(recipe, trainer_options);
            row.best_epoch = fit.best_epoch;
            row.best_step = fit.best_step;
            row.best_value = fit.best_value;
            row.epochs_run = fit.epochs_run;
            row.stopped_early = fit.stopped_early;
            row.history = fit.history;
            if (fit.best_epoch < 0 || std::isnan(fit.best_value))
                row.error = "the run logged no '" + options.monitor + "'";
        } catch (const Error& e) {
            row.error = e.what();
        }
        row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!row.error.empty()) {
            row.best_value = std::nan("");
            if (first_error.empty()) first_error = "'" + recipe.name + "': " + row.error;
        } else if (!best || (result.higher_is_better ? row.best_value > result.runs[*best].best_value
                                                     : row.best_value < result.runs[*best].best_value)) {
            best = result.runs.size();
        }
        result.runs.push_back(std::move(row));
    }
    if (!best) throw ValueError("sweep: no run produced '" + options.monitor + "'; the first failure: " + first_error);
    result.best_index = *best;
    return result;
}

std::string SweepResult::table() const {
    std::size_t width = 6;
    for (const auto& r : runs) width = std::max(width, r.recipe.name.size());
    std::ostringstream out;
    char line[512];
    std::snprintf(line, sizeof line, "  %-*s  %12s  %10s  %9s  %10s  %8s\n", static_cast<int>(width), "recipe",
                  ("best " + monitor).c_str(), "best epoch", "best step", "epochs run", "seconds");
    out << line;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const SweepRun& r = runs[i];
        if (!r.error.empty()) {
            std::snprintf(line, sizeof line, "  %-*s  failed: ", static_cast<int>(width), r.recipe.name.c_str());
            out << line << r.error << "\n";
            continue;
        }
        std::snprintf(line, sizeof line, "%c %-*s  %12.6g  %10lld  %9lld  %10lld  %8.2f\n", i == best_index ? '*' : ' ',
                      static_cast<int>(width), r.recipe.name.c_str(), r.best_value, static_cast<long long>(r.best_epoch),
                      static_cast<long long>(r.best_step), static_cast<long long>(r.epochs_run), r.seconds);
        out << line;
    }
    return out.str();
}

void SweepResult::write_csv(const std::filesystem::path& path) const {
    std::set<std::string> keys;
    for (const auto& r : runs)
        for (const auto& logs : r.history)
            for (const auto& [k, v] : logs.values) keys.insert(k);
    std::ofstream out(path);
    if (!out) throw IOError("SweepResult::write_csv: cannot write " + path.string());
    out << "recipe,epoch";
    for (const auto& k : keys) out << "," << csv_field(k);
    out << "\n";
    char buf[40];
    for (const auto& r : runs)
        for (const auto& logs : r.history) {
            out << csv_field(r.recipe.name) << "," << logs.epoch;
            for (const auto& k : keys) {
                out << ",";
                if (logs.contains(k)) {
                    std::snprintf(buf, sizeof buf, "%.17g", logs.at(k));
                    out << buf;
                }
            }
            out << "\n";
        }
    if (!out) throw IOError("SweepResult::write_csv: writing " + path.string() + " failed");
}

}  // namespace graft::train
