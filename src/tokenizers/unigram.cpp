// Unigram (SentencePiece): each word cut into the vocabulary pieces whose scores (log
// probabilities) sum highest, by Viterbi over every piece that starts at each character, as the
// reference does: a character no piece starts with is the unk token scored at the lowest score
// less 10, each piece follows the first best path to its start by the rounded sum with its own
// score, and consecutive unk tokens of a section fuse into one. With byte_fallback (which Hugging Face's library honours and the JS port
// ignores), an unknown character becomes its UTF-8 bytes as "<0xXX>" tokens instead.
#include <algorithm>
#include <array>
#include <cstdio>

#include "tokenizers/models.hpp"

namespace graft::tokenizers::detail {

namespace {

class Unigram final : public Model {
public:
    Unigram(const json& j, const JsonPath& at) : byte_fallback_(bool_or(j, "byte_fallback", false, at)) {
        auto vocab = j.find("vocab");
        if (vocab == j.end() || !vocab->is_array()) at.fail("Unigram needs a \"vocab\" array of [piece, score]");
        if (vocab->empty()) (at / "vocab").fail("the vocabulary is empty");
        vocab_.ids.reserve(vocab->size());
        scores_.reserve(vocab->size());
        for (std::size_t i = 0; i < vocab->size(); ++i) {
            const json& entry = (*vocab)[i];
            if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number())
                (at / "vocab")[i].fail("expected [piece, score], found " + entry.dump());
            vocab_.set(entry[0].get<std::string>(), static_cast<std::int64_t>(i));
            scores_.push_back(entry[1].get<double>());
        }
        const double min_score = *std::min_element(scores_.begin(), scores_.end());
        unk_score_ = min_score - 10.0;
        const std::int64_t unk = int_or(j, "unk_id", -1, at);
        if (unk >= static_cast<std::int64_t>(scores_.size()))
            (at / "unk_id").fail("id " + std::to_string(unk) + " is outside the vocabulary (" + std::to_string(scores_.size()) + " pieces)");
        if (unk >= 0) {
            unk_id_ = unk;
            scores_[static_cast<std::size_t>(unk)] = unk_score_;
        }
        // The trie of the pieces (a repeated piece keeps its last id, as the vocabulary does).
        nodes_.push_back(-1);
        for (const auto& [piece, id] : vocab_.ids) {
            std::int32_t node = 0;
            for (char32_t c : to_u32(piece, "Unigram vocab")) {
                auto [it, inserted] = children_.try_emplace(edge(node, c), static_cast<std::int32_t>(nodes_.size()));
                if (inserted) nodes_.push_back(-1);
                node = it->second;
            }
            if (node != 0) nodes_[static_cast<std::size_t>(node)] = id;
        }
        if (byte_fallback_) {
            for (int b = 0; b < 256; ++b) {
                char name[8];
                std::snprintf(name, sizeof name, "<0x%02X>", b);
                byte_ids_[static_cast<std::size_t>(b)] = vocab_.find(name).value_or(-1);
            }
        }
    }

    void tokenize(const std::vector<Text>& words, std::vector<Token>& out) const override {
        const std::size_t first = out.size();
        std::vector<Node> nodes;
        std::vector<std::uint32_t> end_start, by_end;
        std::vector<std::int32_t> path;
        for (const Text& w : words) {
            const std::size_t n = w.size();
            if (n == 0) continue;
            // The lattice: every piece starting at each position (shortest first), the unk
            // character where no piece of one character starts, in the reference's order.
            nodes.clear();
            for (std::size_t b = 0; b < n; ++b) {
                bool single = false;
                std::int32_t node = 0;
                for (std::size_t e = b; e < n; ++e) {
                    auto it = children_.find(edge(node, w.chars[e]));
                    if (it == children_.end()) break;
                    node = it->second;
                    const std::int64_t id = nodes_[static_cast<std::size_t>(node)];
                    if (id < 0) continue;
                    if (e == b) single = true;
                    nodes.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e + 1), id, scores_[static_cast<std::size_t>(id)]});
                }
                if (!single) nodes.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(b + 1), kUnknown, unk_score_});
            }
            // The nodes by end position, each list in insertion order.
            end_start.assign(n + 2, 0);
            for (const Node& x : nodes) ++end_start[x.end + 1];
            for (std::size_t e = 1; e < end_start.size(); ++e) end_start[e] += end_start[e - 1];
            by_end.resize(nodes.size());
            {
                std::vector<std::uint32_t> cursor(end_start.begin(), end_start.end() - 1);
                for (std::size_t k = 0; k < nodes.size(); ++k) by_end[cursor[nodes[k].end]++] = static_cast<std::uint32_t>(k);
            }
            // Viterbi as the reference runs it: each node takes the first node ending where it
            // begins whose path score plus the node's own score is highest (the sum, rounded,
            // decides: the choice can depend on the node's score).
            const auto best_before = [&](std::size_t pos, double score, double& total) {
                std::int32_t best = -1;
                for (std::uint32_t k = end_start[pos]; k < end_start[pos + 1]; ++k) {
                    const double s = nodes[by_end[k]].backtrace + score;
                    if (best < 0 || s > total) {
                        best = static_cast<std::int32_t>(by_end[k]);
                        total = s;
                    }
                }
                return best;
            };
            for (Node& x : nodes) {
                if (x.begin == 0) {
                    x.backtrace = x.score;
                    x.prev = -1;
                } else {
                    x.prev = best_before(x.begin, x.score, x.backtrace);
                }
            }
            double total = 0;
            path.clear();
            for (std::int32_t k = best_before(n, 0.0, total); k >= 0; k = nodes[static_cast<std::size_t>(k)].prev) path.push_back(k);
            for (auto it = path.rbegin(); it != path.rend(); ++it) {
                const Node& x = nodes[static_cast<std::size_t>(*it)];
                emit(w, x.begin, x.end, x.id, out);
            }
        }
        if (unk_id_) fuse_unknowns(out, first, *unk_id_);
    }

    Vocab& vocab() override { return vocab_; }
    const Vocab& vocab() const override { return vocab_; }
    std::optional<std::int64_t> unk_id() const override { return unk_id_; }

private:
    static constexpr std::int64_t kUnknown = -1;  // a character no piece starts with

    struct Node {
        std::uint32_t begin, end;
        std::int64_t id;
        double score;
        double backtrace = 0;  // the score of the best path ending with this node
        std::int32_t prev = -1;  // the node before it on that path, -1 for the start
    };

    static std::uint64_t edge(std::int32_t node, char32_t c) { return (static_cast<std::uint64_t>(node) << 21) | c; }

    // Appends the piece [b, e) of `w`; an unknown character becomes the unk token, or its bytes
    // with byte_fallback.
    void emit(const Text& w, std::size_t b, std::size_t e, std::int64_t id, std::vector<Token>& out) const {
        const Span span = join_spans(w.spans, b, e);
        if (id != kUnknown) {
            out.push_back({id, span});
            return;
        }
        if (byte_fallback_) {
            std::string bytes;
            append_utf8(bytes, w.chars[b]);
            if (std::all_of(bytes.begin(), bytes.end(), [&](char c) { return byte_ids_[static_cast<unsigned char>(c)] >= 0; })) {
                for (char c : bytes) out.push_back({byte_ids_[static_cast<unsigned char>(c)], span});
                return;
            }
        }
        if (!unk_id_)
            throw TokenizerError("Unigram: the character at bytes " + std::to_string(span.begin) + ".." + std::to_string(span.end) +
                                 " matches no piece and the model has no unk_id");
        out.push_back({*unk_id_, span});
    }

    Vocab vocab_;
    std::vector<double> scores_;
    double unk_score_ = 0;
    std::optional<std::int64_t> unk_id_;
    bool byte_fallback_;
    std::vector<std::int64_t> nodes_;  // per trie node: the id of the piece ending there, or -1
    std::unordered_map<std::uint64_t, std::int32_t> children_;  // (node, character) → node
    std::array<std::int64_t, 256> byte_ids_{};
};

}  // namespace

std::unique_ptr<Model> make_unigram(const json& j, const JsonPath& at) { return std::make_unique<Unigram>(j, at); }

}  // namespace graft::tokenizers::detail
