// The post-processors of a tokenizer.json: the special tokens around a text or a pair.
#include "tokenizers/components.hpp"

namespace graft::tokenizers::detail {

namespace {

Token special(std::int64_t id) { return {id, Span{}, true}; }

void append(Sequence& to, const Sequence& from, std::int64_t type_id) {
    to.tokens.insert(to.tokens.end(), from.tokens.begin(), from.tokens.end());
    to.type_ids.insert(to.type_ids.end(), from.tokens.size(), type_id);
}

// TemplateProcessing: "single" and "pair" lists of {"SpecialToken": {id, type_id}} and
// {"Sequence": {id: "A"|"B", type_id}}.
class Template final : public PostProcessor {
public:
    Template(const json& j, const JsonPath& at, const TokenResolver& resolve)
        : single_(read(j, "single", at, resolve)), pair_(read(j, "pair", at, resolve)) {}
    void process(Sequence& a, std::optional<Sequence>& b, bool add_special_tokens) const override {
        const auto& items = b ? pair_ : single_;
        Sequence out;
        for (const Item& item : items) {
            if (item.special) {
                if (add_special_tokens) {
                    out.tokens.push_back(special(item.special_id));
                    out.type_ids.push_back(item.type_id);
                }
            } else if (item.sequence_b) {
                if (b) append(out, *b, item.type_id);
            } else {
                append(out, a, item.type_id);
            }
        }
        a = std::move(out);
        b.reset();
    }

private:
    struct Item {
        bool special = false;
        std::int64_t special_id = 0;
        bool sequence_b = false;
        std::int64_t type_id = 0;
    };
    static std::vector<Item> read(const json& j, const char* key, const JsonPath& at, const TokenResolver& resolve) {
        auto it = j.find(key);
        const JsonPath here = at / key;
        if (it == j.end() || !it->is_array()) here.fail("expected an array of template pieces");
        std::vector<Item> items;
        for (std::size_t i = 0; i < it->size(); ++i) {
            const json& piece = (*it)[i];
            Item item;
            if (piece.contains("SpecialToken")) {
                const json& s = object_field(piece, "SpecialToken", here[i]);
                item.special = true;
                item.special_id = resolve(string_field(s, "id", here[i] / "SpecialToken"), here[i] / "SpecialToken" / "id");
                item.type_id = int_or(s, "type_id", 0, here[i] / "SpecialToken");
            } else if (piece.contains("Sequence")) {
                const json& s = object_field(piece, "Sequence", here[i]);
                const std::string id = string_field(s, "id", here[i] / "Sequence");
                if (id != "A" && id != "B") (here[i] / "Sequence" / "id").fail("expected \"A\" or \"B\", found \"" + id + "\"");
                item.sequence_b = id == "B";
                item.type_id = int_or(s, "type_id", 0, here[i] / "Sequence");
            } else {
                here[i].fail("expected {\"SpecialToken\": …} or {\"Sequence\": …}, found " + piece.dump());
            }
            items.push_back(item);
        }
        return items;
    }
    std::vector<Item> single_, pair_;
};

// BertProcessing: [CLS] A [SEP] (B [SEP]); RobertaProcessing: <s> A </s> (</s> B </s>).
class ClsSep final : public PostProcessor {
public:
    ClsSep(const json& j, const JsonPath& at, const TokenResolver& resolve, bool roberta)
        : cls_(read(j, "cls", at, resolve)), sep_(read(j, "sep", at, resolve)), roberta_(roberta) {}
    void process(Sequence& a, std::optional<Sequence>& b, bool add_special_tokens) const override {
        Sequence out;
        if (add_special_tokens) out.tokens.push_back(special(cls_));
        out.tokens.insert(out.tokens.end(), a.tokens.begin(), a.tokens.end());
        if (add_special_tokens) out.tokens.push_back(special(sep_));
        out.type_ids.assign(out.tokens.size(), 0);
        if (b) {
            if (add_special_tokens && roberta_) {
                out.tokens.push_back(special(sep_));
                out.type_ids.push_back(1);
            }
            append(out, *b, 1);
            if (add_special_tokens) {
                out.tokens.push_back(special(sep_));
                out.type_ids.push_back(1);
            }
        }
        a = std::move(out);
        b.reset();
    }

private:
    static std::int64_t read(const json& j, const char* key, const JsonPath& at, const TokenResolver& resolve) {
        auto it = j.find(key);
        if (it == j.end() || !it->is_array() || it->empty() || !(*it)[0].is_string())
            (at / key).fail("expected [\"token\", id]");
        return resolve((*it)[0].get<std::string>(), at / key);
    }
    std::int64_t cls_, sep_;
    bool roberta_;
};

// ByteLevel's post-processor only trims offsets in Hugging Face's library; the reference leaves
// the tokens as they are.
class PassThrough final : public PostProcessor {
public:
    void process(Sequence&, std::optional<Sequence>&, bool) const override {}
};

class PostProcessorSequence final : public PostProcessor {
public:
    PostProcessorSequence(const json& j, const JsonPath& at, const TokenResolver& resolve) {
        auto it = j.find("processors");
        if (it == j.end() || !it->is_array()) at.fail("Sequence needs a \"processors\" array");
        for (std::size_t i = 0; i < it->size(); ++i) steps_.push_back(make_post_processor((*it)[i], (at / "processors")[i], resolve));
    }
    void process(Sequence& a, std::optional<Sequence>& b, bool add_special_tokens) const override {
        for (const auto& step : steps_) step->process(a, b, add_special_tokens);
    }

private:
    std::vector<std::unique_ptr<PostProcessor>> steps_;
};

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& j, const JsonPath& at, const TokenResolver& resolve) {
    const std::string type = component_type(j, at);
    if (type == "TemplateProcessing") return std::make_unique<Template>(j, at, resolve);
    if (type == "BertProcessing") return std::make_unique<ClsSep>(j, at, resolve, false);
    if (type == "RobertaProcessing") return std::make_unique<ClsSep>(j, at, resolve, true);
    if (type == "ByteLevel") return std::make_unique<PassThrough>();
    if (type == "Sequence") return std::make_unique<PostProcessorSequence>(j, at, resolve);
    (at / "type").fail("unsupported post-processor type \"" + type +
                       "\" (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)");
}

}  // namespace graft::tokenizers::detail
