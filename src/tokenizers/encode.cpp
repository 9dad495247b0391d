// The encoding pipeline: added tokens cut out, then normalizer, pre-tokenizer and model on each
// piece between them, then the post-processor — in the order and with the rules of the reference.
#include <limits>

#include "tokenizers/tokenizer_impl.hpp"

namespace graft::tokenizers {

using detail::Text;
using detail::Token;

template <typename Chars>
std::vector<TokenizerImpl::Section> TokenizerImpl::split_added(const Chars& chars, const Splitter& splitter) const {
    std::vector<Section> sections;
    if (splitter.entries.empty()) {
        if (!chars.empty()) sections.push_back({0, chars.size(), std::nullopt});
        return sections;
    }
    std::size_t start = 0;
    for (std::size_t i = 0; i < chars.size();) {
        const auto c = static_cast<char32_t>(chars[i]);
        if (c < 128 && !splitter.ascii_first[c]) {  // the common case, without a call
            ++i;
            continue;
        }
        const auto hit = splitter.match(chars, i);
        if (!hit) {
            ++i;
            continue;
        }
        if (i > start) sections.push_back({start, i, std::nullopt});
        sections.push_back({i, i + hit->second, hit->first});
        i += hit->second;
        start = i;
    }
    if (start < chars.size()) sections.push_back({start, chars.size(), std::nullopt});
    // lstrip / rstrip: the whitespace before / after the added token goes.
    for (std::size_t k = 0; k < sections.size(); ++k) {
        if (!sections[k].added) continue;
        const AddedToken& token = added[*sections[k].added];
        if (token.lstrip && k > 0 && !sections[k - 1].added) {
            Section& s = sections[k - 1];
            while (s.end > s.begin && detail::is_js_space(static_cast<char32_t>(chars[s.end - 1]))) --s.end;
        }
        if (token.rstrip && k + 1 < sections.size() && !sections[k + 1].added) {
            Section& s = sections[k + 1];
            while (s.begin < s.end && detail::is_js_space(static_cast<char32_t>(chars[s.begin]))) ++s.begin;
        }
    }
    return sections;
}

void TokenizerImpl::encode_sequence(std::string_view utf8, std::vector<Token>& out) const {
    if (ascii_path_ && utf8.size() < std::numeric_limits<std::uint32_t>::max() && detail::is_ascii(utf8)) {
        encode_ascii(utf8, out);
        return;
    }
    const Text text = detail::decode_utf8(utf8, "encode");
    std::vector<Text> words;
    const auto sections = split_added(text.chars, raw_);
    for (std::size_t index = 0; index < sections.size(); ++index) {
        const Section& section = sections[index];
        if (section.begin == section.end) continue;
        if (section.added) {
            out.push_back({added[*section.added].id, detail::join_spans(text.spans, section.begin, section.end)});
            continue;
        }
        Text piece = text.sub(section.begin, section.end);
        if (normalizer) piece = normalizer->normalize(piece);
        if (piece.empty()) continue;
        for (const Section& sub : split_added(piece.chars, normalized_)) {
            if (sub.begin == sub.end) continue;
            if (sub.added) {
                out.push_back({added[*sub.added].id, detail::join_spans(piece.spans, sub.begin, sub.end)});
                continue;
            }
            words.clear();
            Text part = piece.sub(sub.begin, sub.end);
            if (pre_tokenizer) pre_tokenizer->split(part, index, words);
            else words.push_back(std::move(part));
            model->tokenize(words, out);
        }
    }
}

namespace {

// The buffers of encode_ascii, kept per thread so that encoding text after text allocates nothing.
struct AsciiScratch {
    std::string text;                    // the normalized bytes of a section
    std::vector<std::uint32_t> origin;   // the original byte of each
    std::vector<detail::ByteRange> words;
};

AsciiScratch& ascii_scratch() {
    thread_local AsciiScratch scratch;
    return scratch;
}

}  // namespace

void TokenizerImpl::encode_ascii(std::string_view text, std::vector<Token>& out) const {
    AsciiScratch& scratch = ascii_scratch();
    std::string& piece = scratch.text;
    std::vector<std::uint32_t>& origin = scratch.origin;
    const auto sections = split_added(text, raw_);
    for (const Section& section : sections) {
        if (section.begin == section.end) continue;
        if (section.added) {
            out.push_back({added[*section.added].id,
                           {static_cast<std::uint32_t>(section.begin), static_cast<std::uint32_t>(section.end)}});
            continue;
        }
        piece.clear();
        origin.clear();
        for (std::size_t i = section.begin; i < section.end; ++i) {
            const std::int16_t c = ascii_map_[static_cast<unsigned char>(text[i])];
            if (c < 0) continue;
            piece.push_back(static_cast<char>(c));
            origin.push_back(static_cast<std::uint32_t>(i));
        }
        if (piece.empty()) continue;
        for (const Section& sub : split_added(std::string_view(piece), normalized_)) {
            if (sub.begin == sub.end) continue;
            if (sub.added) {
                out.push_back({added[*sub.added].id, {origin[sub.begin], origin[sub.end - 1] + 1}});
                continue;
            }
            scratch.words.clear();
            if (pre_tokenizer)
                pre_tokenizer->split_ascii(std::string_view(piece).substr(sub.begin, sub.end - sub.begin),
                                           static_cast<std::uint32_t>(sub.begin), scratch.words);
            else
                scratch.words.push_back({static_cast<std::uint32_t>(sub.begin), static_cast<std::uint32_t>(sub.end)});
            model->tokenize_ascii(piece, origin.data(), scratch.words, out);
        }
    }
}

namespace {

// Longest first: a token comes off the end of the longer sequence until both fit `budget`.
void truncate(std::vector<Token>& a, std::vector<Token>* b, std::size_t budget) {
    while (a.size() + (b ? b->size() : 0) > budget) {
        if (b && b->size() > a.size()) b->pop_back();
        else a.pop_back();
    }
}

}  // namespace

Encoding TokenizerImpl::encode(std::string_view text, const std::string_view* pair, bool add_special_tokens,
                               std::optional<std::size_t> max_length) const {
    detail::Sequence a;
    std::optional<detail::Sequence> b;
    encode_sequence(text, a.tokens);
    if (pair) {
        b.emplace();
        encode_sequence(*pair, b->tokens);
    }
    if (max_length) {
        std::size_t specials = 0;
        if (post_processor) {
            detail::Sequence empty_a;
            std::optional<detail::Sequence> empty_b;
            if (pair) empty_b.emplace();
            post_processor->process(empty_a, empty_b, add_special_tokens);
            specials = empty_a.tokens.size();
        }
        if (specials > *max_length)
            throw TokenizerError("encode: max_length " + std::to_string(*max_length) + " leaves no room for the " +
                                 std::to_string(specials) + " special tokens");
        truncate(a.tokens, b ? &b->tokens : nullptr, *max_length - specials);
    }
    a.type_ids.assign(a.tokens.size(), 0);
    if (b) b->type_ids.assign(b->tokens.size(), 1);
    if (post_processor) post_processor->process(a, b, add_special_tokens);
    if (b) {  // no post-processor, or one that keeps the pair apart: the pair follows the text
        a.tokens.insert(a.tokens.end(), b->tokens.begin(), b->tokens.end());
        a.type_ids.insert(a.type_ids.end(), b->type_ids.begin(), b->type_ids.end());
    }
    const auto& vocab = model->vocab().tokens;
    Encoding enc;
    const std::size_t n = a.tokens.size();
    enc.ids.reserve(n);
    enc.tokens.reserve(n);
    enc.offsets.reserve(n);
    for (const Token& t : a.tokens) {
        enc.ids.push_back(t.id);
        enc.tokens.push_back(static_cast<std::size_t>(t.id) < vocab.size() ? vocab[static_cast<std::size_t>(t.id)] : std::string());
        enc.offsets.emplace_back(t.span.begin, t.span.end);
        enc.special_tokens_mask.push_back(t.special ? 1 : 0);
    }
    enc.attention_mask.assign(n, 1);
    enc.type_ids = std::move(a.type_ids);
    return enc;
}

Encoding Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
    return impl_->encode(text, nullptr, add_special_tokens, std::nullopt);
}

Encoding Tokenizer::encode_pair(std::string_view text, std::string_view pair, bool add_special_tokens) const {
    return impl_->encode(text, &pair, add_special_tokens, std::nullopt);
}

}  // namespace graft::tokenizers
