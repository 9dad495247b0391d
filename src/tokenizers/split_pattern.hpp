// Internal: the patterns of the Split pre-tokenizer ({"Regex": …} or {"String": …}) and the
// pre-tokenization regexes of GPT-2, Llama-3 and Qwen2, matched over code points.
//
// A Regex pattern runs with the reference's semantics (the JS port rewrites Oniguruma syntax to
// a JavaScript "u" regex): \s and \S are \p{White_Space} and its complement, "." is [^\n], and
// (?i:…) folds ASCII letters only. The three known patterns, byte for byte as tokenizer.json files
// spell them, run on hand-written matchers; any other pattern runs on ICU's regex engine after
// that rewrite.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizers/json_fields.hpp"

namespace graft::tokenizers::detail {

/// [begin, end) code points of a match.
using Match = std::pair<std::size_t, std::size_t>;

class SplitPattern {
public:
    virtual ~SplitPattern() = default;
    /// The non-empty matches in `s`, left to right, as a global regex finds them.
    virtual void find_all(const std::u32string& s, std::vector<Match>& out) const = 0;
};

/// GPT-2's pattern, as Split spells it (\s is \p{White_Space}).
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
/// Llama-3's pattern (numbers in runs of at most three digits).
inline constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
/// Qwen2's pattern (Llama-3's with one digit per match).
inline constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

/// The end of the match of GPT-2's pattern at `i` (< s.size()); `js_space`: \s is JavaScript's
/// native \s (ByteLevel's built-in regex) rather than \p{White_Space} (a Split pattern).
std::size_t gpt2_match(const std::u32string& s, std::size_t i, bool js_space);

/// A Regex pattern: a hand-written matcher when `regex` is one of the known patterns, else ICU.
/// TokenizerError naming `at` when ICU rejects the pattern.
std::unique_ptr<SplitPattern> make_regex_pattern(const std::string& regex, const JsonPath& at);
/// A Regex pattern on ICU whatever it is (the known patterns' reference path).
std::unique_ptr<SplitPattern> make_icu_pattern(const std::string& regex, const JsonPath& at);
/// A String pattern: the literal, matched left to right without overlap.
std::unique_ptr<SplitPattern> make_string_pattern(std::u32string literal);
/// The Oniguruma pattern rewritten for ICU with the reference's semantics (see the top).
std::string rewrite_for_icu(const std::string& regex);

}  // namespace graft::tokenizers::detail
