// Training BPE and WordPiece vocabularies (train.hpp): count the words, merge the most frequent
// pair until the vocabulary is full, write the tokenizer.json and load it.
#include "graft/tokenizers/train.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "tokenizers/byte_level.hpp"
#include "tokenizers/components.hpp"

namespace graft::tokenizers {

using detail::json;
using detail::JsonPath;

namespace {

// Symbols of the words being merged, as strings with integer ids.
struct Symbols {
    std::vector<std::string> strings;
    std::unordered_map<std::string, int> ids;
    int id(const std::string& s) {
        auto [it, inserted] = ids.try_emplace(s, static_cast<int>(strings.size()));
        if (inserted) strings.push_back(s);
        return it->second;
    }
};

struct Word {
    std::vector<int> symbols;
    std::int64_t count;
};

std::uint64_t key(int a, int b) { return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b); }

// Merges learnt from the words, best first, as (left, right) symbol strings. `merged(a, b)` is
// the string of the new symbol; `room` how many merges the vocabulary has space for.
std::vector<std::pair<std::string, std::string>> learn_merges(std::vector<Word>& words, Symbols& symbols, std::size_t room,
                                                              std::size_t min_frequency,
                                                              const std::function<std::string(const std::string&, const std::string&)>& merged) {
    std::unordered_map<std::uint64_t, std::int64_t> counts;
    std::unordered_map<std::uint64_t, std::unordered_set<std::size_t>> where;
    for (std::size_t w = 0; w < words.size(); ++w)
        for (std::size_t i = 0; i + 1 < words[w].symbols.size(); ++i) {
            const auto k = key(words[w].symbols[i], words[w].symbols[i + 1]);
            counts[k] += words[w].count;
            where[k].insert(w);
        }
    std::vector<std::pair<std::string, std::string>> merges;
    std::unordered_set<std::string> seen_results;
    while (merges.size() < room) {
        std::uint64_t best = 0;
        std::int64_t best_count = 0;
        for (const auto& [k, c] : counts) {
            if (c < best_count || c <= 0) continue;
            if (c == best_count) {
                const auto& [ba, bb] = std::pair(symbols.strings[best >> 32], symbols.strings[best & 0xFFFFFFFFu]);
                const auto& [ka, kb] = std::pair(symbols.strings[k >> 32], symbols.strings[k & 0xFFFFFFFFu]);
                if (std::tie(ka, kb) >= std::tie(ba, bb)) continue;
            }
            best = k;
            best_count = c;
        }
        if (best_count < static_cast<std::int64_t>(std::max<std::size_t>(min_frequency, 1))) break;
        const int a = static_cast<int>(best >> 32), b = static_cast<int>(best & 0xFFFFFFFFu);
        const std::string result = merged(symbols.strings[static_cast<std::size_t>(a)], symbols.strings[static_cast<std::size_t>(b)]);
        const int ab = symbols.id(result);
        merges.emplace_back(symbols.strings[static_cast<std::size_t>(a)], symbols.strings[static_cast<std::size_t>(b)]);
        const auto affected = where[best];
        for (std::size_t w : affected) {
            Word& word = words[w];
            auto& s = word.symbols;
            for (std::size_t i = 0; i + 1 < s.size(); ++i) counts[key(s[i], s[i + 1])] -= word.count;
            std::vector<int> next;
            for (std::size_t i = 0; i < s.size(); ++i) {
                if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
                    next.push_back(ab);
                    ++i;
                } else {
                    next.push_back(s[i]);
                }
            }
            s = std::move(next);
            for (std::size_t i = 0; i + 1 < s.size(); ++i) {
                const auto k = key(s[i], s[i + 1]);
                counts[k] += word.count;
                where[k].insert(w);
            }
        }
        counts.erase(best);
        where.erase(best);
    }
    return merges;
}

// The corpus through `normalizer` and `pre_tokenizer`, counted by word.
std::map<std::u32string, std::int64_t> count_words(const std::vector<std::string>& corpus, const detail::Normalizer* normalizer,
                                                   const detail::PreTokenizer* pre_tokenizer, bool split_before_metaspace) {
    std::map<std::u32string, std::int64_t> counts;
    std::vector<detail::Text> words;
    for (std::size_t i = 0; i < corpus.size(); ++i) {
        detail::Text text = detail::decode_utf8(corpus[i], ("train: corpus[" + std::to_string(i) + "]").c_str());
        if (text.empty()) continue;
        if (normalizer) text = normalizer->normalize(text);
        words.clear();
        if (pre_tokenizer) pre_tokenizer->split(text, 0, words);
        else words.push_back(text);
        for (const auto& w : words) {
            if (!split_before_metaspace) {
                if (!w.empty()) ++counts[w.chars];
                continue;
            }
            std::size_t start = 0;
            for (std::size_t k = 1; k <= w.size(); ++k)
                if (k == w.size() || w.chars[k] == U'\u2581') {
                    ++counts[w.chars.substr(start, k - start)];
                    start = k;
                }
        }
    }
    return counts;
}

std::string utf8_of(char32_t c) {
    std::string s;
    detail::append_utf8(s, c);
    return s;
}

void check_options(const TrainOptions& options, const char* who, std::size_t fixed) {
    if (options.vocab_size < fixed)
        throw TokenizerError(std::string(who) + ": vocab_size " + std::to_string(options.vocab_size) + " is smaller than the " +
                             std::to_string(fixed) + " tokens every vocabulary of this kind starts with");
    std::set<std::string> unique(options.special_tokens.begin(), options.special_tokens.end());
    if (unique.size() != options.special_tokens.size() || unique.count(""))
        throw TokenizerError(std::string(who) + ": special_tokens must be distinct and non-empty");
}

json added_tokens(const std::vector<std::string>& specials) {
    json list = json::array();
    for (std::size_t i = 0; i < specials.size(); ++i)
        list.push_back({{"id", i}, {"content", specials[i]}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                        {"normalized", false}, {"special", true}});
    return list;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// vocab: specials, then `initial` in order, then the merge results, each once.
json build_vocab(const std::vector<std::string>& specials, const std::vector<std::string>& initial,
                 const std::vector<std::string>& results) {
    json vocab = json::object();
    std::size_t next = 0;
    auto add = [&](const std::string& s) {
        if (!vocab.contains(s)) vocab[s] = next++;
    };
    for (const auto& s : specials) add(s);
    for (const auto& s : initial) add(s);
    for (const auto& s : results) add(s);
    return vocab;
}

}  // namespace

Tokenizer train_bpe(const std::vector<std::string>& corpus, const TrainOptions& options) {
    check_options(options, "train_bpe", options.special_tokens.size() + 256);
    const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
    const auto pre = detail::make_pre_tokenizer(byte_level, {"train_bpe", "pre_tokenizer"});
    Symbols symbols;
    std::vector<std::string> alphabet;
    for (char32_t c : detail::byte_to_char()) alphabet.push_back(utf8_of(c));
    std::sort(alphabet.begin(), alphabet.end());
    for (const auto& s : alphabet) symbols.id(s);
    std::vector<Word> words;
    for (const auto& [w, count] : count_words(corpus, nullptr, pre.get(), false)) {
        Word word{{}, count};
        for (char32_t c : w) word.symbols.push_back(symbols.id(utf8_of(c)));
        words.push_back(std::move(word));
    }
    const auto merges = learn_merges(words, symbols, options.vocab_size - options.special_tokens.size() - alphabet.size(),
                                     options.min_frequency, [](const std::string& a, const std::string& b) { return a + b; });
    std::vector<std::string> results;
    json merge_list = json::array();
    for (const auto& [a, b] : merges) {
        results.push_back(a + b);
        merge_list.push_back(a + " " + b);
    }
    const json j = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
                    {"added_tokens", added_tokens(options.special_tokens)}, {"normalizer", nullptr}, {"pre_tokenizer", byte_level},
                    {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                               {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
                               {"vocab", build_vocab(options.special_tokens, alphabet, results)}, {"merges", merge_list}}},
                    {"post_processor", byte_level}, {"decoder", byte_level}};
    return Tokenizer::from_json(j.dump(), "train_bpe");
}

Tokenizer train_byte_fallback_bpe(const std::vector<std::string>& corpus, const TrainOptions& options) {
    check_options(options, "train_byte_fallback_bpe", options.special_tokens.size() + 256);
    const std::string meta = "\xE2\x96\x81";
    const json normalizer = {{"type", "Sequence"},
                             {"normalizers", {{{"type", "Prepend"}, {"prepend", meta}},
                                              {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", meta}}}}};
    const auto norm = detail::make_normalizer(normalizer, {"train_byte_fallback_bpe", "normalizer"});
    const auto words_counted = count_words(corpus, norm.get(), nullptr, true);
    std::map<char32_t, std::int64_t> char_counts;
    for (const auto& [w, count] : words_counted)
        for (char32_t c : w) char_counts[c] += count;
    std::vector<std::string> initial;
    static const char* hex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) initial.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
    Symbols symbols;
    std::vector<std::string> alphabet;
    for (const auto& [c, count] : char_counts)
        if (count >= static_cast<std::int64_t>(options.min_frequency) &&
            initial.size() + alphabet.size() + options.special_tokens.size() < options.vocab_size)
            alphabet.push_back(utf8_of(c));
    std::set<std::string> in_alphabet(alphabet.begin(), alphabet.end());
    std::vector<Word> words;
    for (const auto& [w, count] : words_counted) {
        // A character outside the alphabet breaks the word: no merge reaches across it.
        Word word{{}, count};
        for (char32_t c : w) {
            if (in_alphabet.count(utf8_of(c))) {
                word.symbols.push_back(symbols.id(utf8_of(c)));
            } else {
                if (!word.symbols.empty()) words.push_back(word);
                word.symbols.clear();
            }
        }
        if (!word.symbols.empty()) words.push_back(std::move(word));
    }
    initial.insert(initial.end(), alphabet.begin(), alphabet.end());
    const std::size_t used = options.special_tokens.size() + initial.size();
    const auto merges = learn_merges(words, symbols, options.vocab_size > used ? options.vocab_size - used : 0, options.min_frequency,
                                     [](const std::string& a, const std::string& b) { return a + b; });
    std::vector<std::string> results;
    json merge_list = json::array();
    for (const auto& [a, b] : merges) {
        results.push_back(a + b);
        merge_list.push_back(json::array({a, b}));
    }
    const bool bos = has(options.special_tokens, "<s>");
    json single = json::array(), pair = json::array();
    if (bos) {
        single.push_back({{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}});
        pair.push_back({{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}});
    }
    single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    pair.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    if (bos) pair.push_back({{"SpecialToken", {{"id", "<s>"}, {"type_id", 1}}}});
    pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});
    const json decoder = {{"type", "Sequence"},
                          {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", meta}}}, {"content", " "}},
                                        {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                        {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
    const json j = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
                    {"added_tokens", added_tokens(options.special_tokens)}, {"normalizer", normalizer}, {"pre_tokenizer", nullptr},
                    {"model", {{"type", "BPE"}, {"dropout", nullptr},
                               {"unk_token", has(options.special_tokens, "<unk>") ? json("<unk>") : json(nullptr)},
                               {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr}, {"fuse_unk", true},
                               {"byte_fallback", true}, {"ignore_merges", false},
                               {"vocab", build_vocab(options.special_tokens, initial, results)}, {"merges", merge_list}}},
                    {"post_processor", {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", json::object()}}},
                    {"decoder", decoder}};
    return Tokenizer::from_json(j.dump(), "train_byte_fallback_bpe");
}

Tokenizer train_wordpiece(const std::vector<std::string>& corpus, const TrainOptions& options) {
    check_options(options, "train_wordpiece", options.special_tokens.size());
    const std::string prefix = "##";
    const json normalizer = {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
                             {"strip_accents", nullptr}, {"lowercase", true}};
    const json pre_tokenizer = {{"type", "BertPreTokenizer"}};
    const auto norm = detail::make_normalizer(normalizer, {"train_wordpiece", "normalizer"});
    const auto pre = detail::make_pre_tokenizer(pre_tokenizer, {"train_wordpiece", "pre_tokenizer"});
    Symbols symbols;
    std::vector<Word> words;
    std::set<std::string> initial_set;
    for (const auto& [w, count] : count_words(corpus, norm.get(), pre.get(), false)) {
        Word word{{}, count};
        for (std::size_t i = 0; i < w.size(); ++i) {
            const std::string s = (i ? prefix : std::string()) + utf8_of(w[i]);
            initial_set.insert(s);
            word.symbols.push_back(symbols.id(s));
        }
        words.push_back(std::move(word));
    }
    std::vector<std::string> initial(initial_set.begin(), initial_set.end());
    if (options.special_tokens.size() + initial.size() > options.vocab_size) initial.resize(options.vocab_size - options.special_tokens.size());
    const std::size_t used = options.special_tokens.size() + initial.size();
    const auto merges = learn_merges(words, symbols, options.vocab_size - used, options.min_frequency,
                                     [&](const std::string& a, const std::string& b) {
                                         return a + (b.compare(0, prefix.size(), prefix) == 0 ? b.substr(prefix.size()) : b);
                                     });
    std::vector<std::string> results;
    for (const auto& [a, b] : merges) results.push_back(a + (b.compare(0, prefix.size(), prefix) == 0 ? b.substr(prefix.size()) : b));
    const bool cls_sep = has(options.special_tokens, "[CLS]") && has(options.special_tokens, "[SEP]");
    json post = nullptr;
    if (cls_sep) {
        auto special = [](const char* id, int type) { return json{{"SpecialToken", {{"id", id}, {"type_id", type}}}}; };
        auto seq = [](const char* id, int type) { return json{{"Sequence", {{"id", id}, {"type_id", type}}}}; };
        post = {{"type", "TemplateProcessing"},
                {"single", {special("[CLS]", 0), seq("A", 0), special("[SEP]", 0)}},
                {"pair", {special("[CLS]", 0), seq("A", 0), special("[SEP]", 0), seq("B", 1), special("[SEP]", 1)}},
                {"special_tokens", json::object()}};
    }
    json vocab = build_vocab(options.special_tokens, initial, results);
    const json j = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
                    {"added_tokens", added_tokens(options.special_tokens)}, {"normalizer", normalizer}, {"pre_tokenizer", pre_tokenizer},
                    {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", prefix},
                               {"max_input_chars_per_word", 100}, {"vocab", vocab}}},
                    {"post_processor", post}, {"decoder", {{"type", "WordPiece"}, {"prefix", prefix}, {"cleanup", true}}}};
    return Tokenizer::from_json(j.dump(), "train_wordpiece");
}

}  // namespace graft::tokenizers
