// Internal: Python-style formatting of layer options, so that extra_repr() reads like PyTorch's.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "graft/functional/conv.hpp"
#include "graft/tensor.hpp"

namespace graft::nn::pyfmt {

/// Python's repr of a float: "1e-05", "0.5", "1.0", "0.0001", "1e+16".
inline std::string py_float(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    char buf[64];
    // Shortest round-trip digits in scientific form: "d[.ddd]e±XX".
    const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    const std::string sci(buf, res.ptr);
    const std::size_t e_pos = sci.find('e');
    std::string mantissa = sci.substr(0, e_pos);
    const int exponent = std::atoi(sci.c_str() + e_pos + 1);
    std::string sign;
    if (mantissa[0] == '-') {
        sign = "-";
        mantissa.erase(0, 1);
    }
    std::string digits;
    for (char c : mantissa)
        if (c != '.') digits += c;
    if (exponent < -4 || exponent >= 16) {
        std::string exp = std::to_string(std::abs(exponent));
        if (exp.size() < 2) exp = "0" + exp;
        return sign + digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "") + "e" +
               (exponent < 0 ? "-" : "+") + exp;
    }
    if (exponent < 0) return sign + "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    const std::size_t int_len = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= int_len) return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
    return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

inline const char* py_bool(bool b) { return b ? "True" : "False"; }

/// Python's repr of a tuple of ints: "(768,)", "(4, 5)".
inline std::string py_tuple(const Shape& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

/// As PyTorch prints an int-or-tuple option: "2" when both sides agree, "(2, 3)" otherwise.
inline std::string size2_repr(const Size2& s) { return s.h == s.w ? std::to_string(s.h) : py_tuple({s.h, s.w}); }

}  // namespace graft::nn::pyfmt
