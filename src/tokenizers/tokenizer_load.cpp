// Building a Tokenizer from tokenizer.json, and writing it back.
#include <fstream>

#include "io/read_text.hpp"
#include "tokenizers/tokenizer_impl.hpp"

namespace graft::tokenizers {

using detail::json;
using detail::JsonPath;

TokenizerImpl::TokenizerImpl(const json& j, const std::string& source) {
    const JsonPath top{source, ""};
    if (!j.is_object()) top.fail(std::string("expected a JSON object, found ") + j.type_name());
    json_text = j.dump();
    auto present = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
    if (present("normalizer")) normalizer = detail::make_normalizer(j["normalizer"], top / "normalizer");
    if (present("pre_tokenizer")) pre_tokenizer = detail::make_pre_tokenizer(j["pre_tokenizer"], top / "pre_tokenizer");
    if (!present("model")) top.fail("missing \"model\"");
    model = detail::make_model(j["model"], top / "model");

    if (present("added_tokens")) {
        const json& list = j["added_tokens"];
        if (!list.is_array()) (top / "added_tokens").fail("expected an array");
        for (std::size_t i = 0; i < list.size(); ++i) {
            const JsonPath at = (top / "added_tokens")[i];
            const json& t = list[i];
            if (!t.is_object()) at.fail("expected an object");
            AddedToken token;
            const std::string content = detail::string_field(t, "content", at);
            if (content.empty()) (at / "content").fail("an added token cannot be empty");
            token.content = detail::to_u32(content, source.c_str());
            token.id = detail::int_or(t, "id", -1, at);
            if (token.id < 0 || token.id >= (std::int64_t{1} << 31)) (at / "id").fail("expected an id in [0, 2^31)");
            token.special = detail::bool_or(t, "special", false, at);
            token.lstrip = detail::bool_or(t, "lstrip", false, at);
            token.rstrip = detail::bool_or(t, "rstrip", false, at);
            token.normalized = detail::bool_or(t, "normalized", !token.special, at);
            model->vocab().set(content, token.id);
            if (token.special) special_tokens.push_back(content);
            added.push_back(std::move(token));
        }
    }
    model->finish_vocab();
    for (std::size_t i = 0; i < added.size(); ++i) {
        if (added[i].normalized && normalizer) {
            detail::Text t;
            for (char32_t c : added[i].content) t.push(c, {});
            normalized_.add(normalizer->normalize(t).chars, i);
        } else {
            raw_.add(added[i].content, i);
        }
    }
    raw_.finish();
    normalized_.finish();
    ascii_path_ = (!normalizer || normalizer->ascii_per_character()) && (!pre_tokenizer || pre_tokenizer->has_ascii_path());
    for (char32_t c = 0; c < 128 && ascii_path_; ++c) {
        if (!normalizer) {
            ascii_map_[c] = static_cast<std::int16_t>(c);
            continue;
        }
        detail::Text one;
        one.push(c, {0, 1});
        const detail::Text mapped = normalizer->normalize(one);
        if (mapped.empty()) ascii_map_[c] = -1;
        else if (mapped.size() == 1 && mapped.chars[0] < 128) ascii_map_[c] = static_cast<std::int16_t>(mapped.chars[0]);
        else ascii_path_ = false;
    }

    const detail::TokenResolver resolve = [this](const std::string& token, const JsonPath& at) -> std::int64_t {
        const std::u32string content = detail::to_u32(token, "post_processor");
        for (const auto& a : added)
            if (a.content == content) return a.id;
        if (auto id = model->vocab().find(token)) return *id;
        at.fail("special token \"" + token + "\" is neither an added token nor in the vocabulary");
    };
    if (present("post_processor")) post_processor = detail::make_post_processor(j["post_processor"], top / "post_processor", resolve);
    std::vector<std::string> added_contents;
    for (const auto& a : added) added_contents.push_back(detail::to_utf8(a.content));
    if (present("decoder")) decoder = detail::make_decoder(j["decoder"], top / "decoder", added_contents);
}

void TokenizerImpl::Splitter::add(std::u32string content, std::size_t token) {
    if (!content.empty()) entries.emplace_back(std::move(content), token);
}

void TokenizerImpl::Splitter::finish() {
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const char32_t first = entries[i].first[0];
        by_first[first].push_back(i);
        if (first < 128) ascii_first[first] = true;
        else non_ascii_first = true;
    }
    for (auto& [c, list] : by_first)
        std::stable_sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
            return entries[a].first.size() > entries[b].first.size();
        });
}

namespace {

template <typename Chars, typename Entries, typename ByFirst>
std::optional<std::pair<std::size_t, std::size_t>> longest_entry(const Chars& s, std::size_t at, const Entries& entries,
                                                                 const ByFirst& by_first) {
    auto it = by_first.find(static_cast<char32_t>(s[at]));
    if (it == by_first.end()) return std::nullopt;
    for (std::size_t e : it->second) {
        const std::u32string& content = entries[e].first;
        if (at + content.size() > s.size()) continue;
        std::size_t k = 0;
        while (k < content.size() && static_cast<char32_t>(s[at + k]) == content[k]) ++k;
        if (k == content.size()) return std::make_pair(entries[e].second, content.size());
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::pair<std::size_t, std::size_t>> TokenizerImpl::Splitter::match(const std::u32string& s, std::size_t at) const {
    const char32_t c = s[at];
    if (c < 128 ? !ascii_first[c] : !non_ascii_first) return std::nullopt;
    return longest_entry(s, at, entries, by_first);
}

std::optional<std::pair<std::size_t, std::size_t>> TokenizerImpl::Splitter::match(std::string_view s, std::size_t at) const {
    const auto c = static_cast<unsigned char>(s[at]);
    if (c >= 128 || !ascii_first[c]) return std::nullopt;
    return longest_entry(s, at, entries, by_first);
}

Tokenizer::Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_json(std::string_view text, const std::string& source) {
    json j;
    try {
        j = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
        throw TokenizerError(source + ": not valid JSON: " + e.what());
    }
    return Tokenizer(std::make_shared<const TokenizerImpl>(j, source));
}

Tokenizer Tokenizer::from_file(const std::filesystem::path& path) {
    return from_json(io::detail::read_text_file(path, "Tokenizer::from_file"), path.string());
}

std::string Tokenizer::to_json() const { return json::parse(impl_->json_text).dump(2); }

void Tokenizer::save(const std::filesystem::path& path) const {
    std::ofstream out(path, std::ios::binary);
    if (!out) throw TokenizerError("Tokenizer::save: cannot open " + path.string() + " for writing");
    out << to_json();
    out.close();
    if (!out) throw TokenizerError("Tokenizer::save: writing " + path.string() + " failed");
}

std::optional<std::int64_t> Tokenizer::token_to_id(std::string_view token) const { return impl_->model->vocab().find(token); }

std::string Tokenizer::id_to_token(std::int64_t id) const {
    const auto& tokens = impl_->model->vocab().tokens;
    if (id < 0 || static_cast<std::size_t>(id) >= tokens.size() || (tokens[static_cast<std::size_t>(id)].empty()))
        throw TokenizerError("id_to_token: id " + std::to_string(id) + " is not in the vocabulary (" +
                             std::to_string(tokens.size()) + " ids)");
    return tokens[static_cast<std::size_t>(id)];
}

std::size_t Tokenizer::vocab_size() const { return impl_->model->vocab().tokens.size(); }

std::int64_t Tokenizer::pad_id() const {
    for (const char* name : {"[PAD]", "<pad>", "<|endoftext|>", "</s>"})
        if (auto id = token_to_id(name)) return *id;
    return 0;
}

}  // namespace graft::tokenizers
