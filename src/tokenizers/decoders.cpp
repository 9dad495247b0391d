// The decoders of a tokenizer.json: token strings back to text, with the JS reference's semantics.
#include "tokenizers/byte_level.hpp"
#include "tokenizers/components.hpp"

namespace graft::tokenizers::detail {

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    if (from.empty()) return s;
    std::string out;
    std::size_t pos = 0;
    for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
        out.append(s, pos, hit - pos);
        out += to;
    }
    out.append(s, pos, std::string::npos);
    return out;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// The clean-up of Hugging Face's decode: no space before . ? ! , and the English contractions.
std::string clean_up_tokenization(std::string s) {
    static const std::pair<const char*, const char*> rules[] = {{" .", "."},   {" ?", "?"},   {" !", "!"},     {" ,", ","},
                                                                {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"},
                                                                {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : rules) s = replace_all(std::move(s), from, to);
    return s;
}

// Byte-level tokens back to bytes, then to UTF-8 (a cut character becomes U+FFFD); added tokens,
// which are plain text, pass through.
class ByteLevel final : public Decoder {
public:
    explicit ByteLevel(std::vector<std::string> added) : added_(std::move(added)) {}
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        std::vector<std::string> out;
        std::string bytes;
        auto flush = [&] {
            if (!bytes.empty()) out.push_back(utf8_lossy(bytes));
            bytes.clear();
        };
        for (const std::string& token : tokens) {
            if (std::find(added_.begin(), added_.end(), token) != added_.end()) {
                flush();
                out.push_back(token);
                continue;
            }
            for (char32_t c : to_u32(token, "ByteLevel decoder")) {
                const int b = char_to_byte(c);
                if (b < 0) throw TokenizerError("ByteLevel decoder: token \"" + token + "\" holds a character that stands for no byte");
                bytes.push_back(static_cast<char>(b));
            }
        }
        flush();
        return out;
    }

private:
    std::vector<std::string> added_;
};

class WordPiece final : public Decoder {
public:
    WordPiece(const json& j, const JsonPath& at)
        : prefix_(string_or(j, "prefix", "##", at)), cleanup_(bool_or(j, "cleanup", false, at)) {}
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (i != 0) {
                if (!prefix_.empty() && starts_with(tokens[i], prefix_)) tokens[i].erase(0, prefix_.size());
                else tokens[i] = std::string(1, ' ').append(tokens[i]);
            }
            if (cleanup_) tokens[i] = clean_up_tokenization(std::move(tokens[i]));
        }
        return tokens;
    }

private:
    std::string prefix_;
    bool cleanup_;
};

class Metaspace final : public Decoder {
public:
    Metaspace(const json& j, const JsonPath& at) : replacement_(string_or(j, "replacement", "\xE2\x96\x81", at)) {}
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            tokens[i] = replace_all(std::move(tokens[i]), replacement_, " ");
            if (i == 0 && starts_with(tokens[i], " ")) tokens[i].erase(0, 1);
        }
        return tokens;
    }

private:
    std::string replacement_;
};

class BPEDecoder final : public Decoder {
public:
    BPEDecoder(const json& j, const JsonPath& at) : suffix_(string_or(j, "suffix", "</w>", at)) {}
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i)
            tokens[i] = replace_all(std::move(tokens[i]), suffix_, i + 1 == tokens.size() ? "" : " ");
        return tokens;
    }

private:
    std::string suffix_;
};

class Replace final : public Decoder {
public:
    Replace(const json& j, const JsonPath& at) {
        const json& pattern = object_field(j, "pattern", at);
        if (!pattern.contains("String"))
            (at / "pattern").fail("only {\"String\": …} patterns are supported, found " + pattern.dump());
        from_ = string_field(pattern, "String", at / "pattern");
        to_ = string_or(j, "content", "", at);
    }
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (auto& t : tokens) t = replace_all(std::move(t), from_, to_);
        return tokens;
    }

private:
    std::string from_, to_;
};

class Fuse final : public Decoder {
public:
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        std::string all;
        for (const auto& t : tokens) all += t;
        return {all};
    }
};

// Up to `start` leading and `stop` trailing `content` characters removed from each token.
class Strip final : public Decoder {
public:
    Strip(const json& j, const JsonPath& at)
        : start_(static_cast<std::size_t>(int_or(j, "start", 0, at))), stop_(static_cast<std::size_t>(int_or(j, "stop", 0, at))) {
        const std::u32string content = to_u32(string_or(j, "content", " ", at), "Strip decoder");
        if (content.size() != 1) (at / "content").fail("expected one character");
        content_ = content[0];
    }
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (auto& t : tokens) {
            const std::u32string chars = to_u32(t, "Strip decoder");
            std::size_t b = 0, e = chars.size();
            while (b < start_ && b < e && chars[b] == content_) ++b;
            for (std::size_t k = 0; k < stop_ && e > b && chars[e - 1] == content_; ++k) --e;
            t = to_utf8(std::u32string_view(chars).substr(b, e - b));
        }
        return tokens;
    }

private:
    std::size_t start_, stop_;
    char32_t content_;
};

// Runs of "<0xXX>" tokens become the text of their bytes (U+FFFD where they cut a character; a
// byte order mark opening a run dropped, as the reference's TextDecoder does).
class ByteFallback final : public Decoder {
public:
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        std::vector<std::string> out;
        std::string bytes;
        auto flush = [&] {
            if (bytes.empty()) return;
            std::string text = utf8_lossy(bytes);
            if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
            out.push_back(std::move(text));
            bytes.clear();
        };
        for (auto& t : tokens) {
            const int b = byte_of(t);
            if (b >= 0) {
                bytes.push_back(static_cast<char>(b));
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        flush();
        return out;
    }

private:
    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    static int byte_of(const std::string& t) {
        if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
        const int hi = hex(t[3]), lo = hex(t[4]);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }
};

class DecoderSequence final : public Decoder {
public:
    DecoderSequence(const json& j, const JsonPath& at, const std::vector<std::string>& added) {
        auto it = j.find("decoders");
        if (it == j.end() || !it->is_array()) at.fail("Sequence needs a \"decoders\" array");
        for (std::size_t i = 0; i < it->size(); ++i) steps_.push_back(make_decoder((*it)[i], (at / "decoders")[i], added));
    }
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (const auto& step : steps_) tokens = step->decode_chain(std::move(tokens));
        return tokens;
    }

private:
    std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& j, const JsonPath& at, const std::vector<std::string>& added_tokens) {
    const std::string type = component_type(j, at);
    if (type == "ByteLevel") return std::make_unique<ByteLevel>(added_tokens);
    if (type == "WordPiece") return std::make_unique<WordPiece>(j, at);
    if (type == "Metaspace") return std::make_unique<Metaspace>(j, at);
    if (type == "BPEDecoder") return std::make_unique<BPEDecoder>(j, at);
    if (type == "Replace") return std::make_unique<Replace>(j, at);
    if (type == "Fuse") return std::make_unique<Fuse>();
    if (type == "Strip") return std::make_unique<Strip>(j, at);
    if (type == "ByteFallback") return std::make_unique<ByteFallback>();
    if (type == "Sequence") return std::make_unique<DecoderSequence>(j, at, added_tokens);
    (at / "type").fail("unsupported decoder type \"" + type +
                       "\" (supported: ByteLevel, WordPiece, Metaspace, BPEDecoder, Replace, Fuse, Strip, ByteFallback, Sequence)");
}

}  // namespace graft::tokenizers::detail
