// cli.hpp — command-line handling shared by the example programs: walking the options, reading
// their values with checks that name the option (positive_list: "5,10,30"), and a main() wrapper
// that prints an error as "<program>: <message>" and exits with status 2.
//
//   examples::Cli cli(argc, argv);
//   while (cli.next()) {
//       if (cli.is("--epochs")) a.epochs = cli.positive();
//       else if (cli.is("--lr")) a.lr = cli.number();
//       else cli.unknown();
//   }
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include <graft/error.hpp>

namespace examples {

class Cli {
public:
    Cli(int argc, char** argv) : args_(argv + 1, argv + argc) {}

    /// Advances to the next argument; false when there are none left.
    bool next() {
        if (pos_ >= args_.size()) return false;
        key_ = args_[pos_++];
        return true;
    }
    const std::string& key() const { return key_; }
    bool is(const char* name) const { return key_ == name; }
    bool is_help() const { return key_ == "--help" || key_ == "-h"; }
    /// Whether the current argument is an option (starts with '-') rather than a positional one.
    bool is_option() const { return !key_.empty() && key_[0] == '-'; }

    /// The current option's value (the next argument).
    std::string value() {
        if (pos_ >= args_.size()) throw graft::ValueError("option " + key_ + " needs a value");
        return args_[pos_++];
    }
    /// An integer value of at least 1.
    std::int64_t positive() { return integer_at_least(1); }
    /// An integer value of at least 0.
    std::int64_t non_negative() { return integer_at_least(0); }
    /// An integer value of at least `min`.
    std::int64_t integer_at_least(std::int64_t min) {
        const std::string v = value();
        std::size_t used = 0;
        long long n = 0;
        try {
            n = std::stoll(v, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != v.size() || v.empty()) throw graft::ValueError("option " + key_ + " needs an integer, got '" + v + "'");
        if (n < min) throw graft::ValueError("option " + key_ + " must be at least " + std::to_string(min) + ", got " + v);
        return static_cast<std::int64_t>(n);
    }
    /// A floating-point value.
    double number() {
        const std::string v = value();
        std::size_t used = 0;
        double x = 0;
        try {
            x = std::stod(v, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != v.size() || v.empty()) throw graft::ValueError("option " + key_ + " needs a number, got '" + v + "'");
        return x;
    }
    /// Throws the error for an option the program does not know.
    [[noreturn]] void unknown() const { throw graft::ValueError("unknown option " + key_ + " (see --help)"); }

private:
    std::vector<std::string> args_;
    std::size_t pos_ = 0;
    std::string key_;
};

/// A comma-separated list of positive integers ("5,10,30"), sorted, repeats dropped. ValueError
/// naming `flag` and the text for anything else or an empty list.
inline std::vector<std::int64_t> positive_list(const std::string& s, const char* flag) {
    std::vector<std::int64_t> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        char* end = nullptr;
        const long long v = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || v < 1)
            throw graft::ValueError(std::string(flag) + ": expected positive integers separated by commas, got '" + s + "'");
        out.push_back(v);
    }
    if (out.empty()) throw graft::ValueError(std::string(flag) + ": empty list");
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

/// Runs `body` and turns an exception into "<program>: <message>" on stderr and exit status 2.
template <class F>
int guarded_main(const char* program, F&& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 2;
    }
}

}  // namespace examples
