// Encode throughput of graft::tokenizers in MB/s of UTF-8 input: the corpus of the tokenizer
// goldens (Debian license paragraphs, package descriptions, adversarial strings), repeated to
// about 1 MB, for each tokenizer type:
//   encode_one_thread            text by text with encode
//   encode_batch/threads:1       in batches of 512 with encode_batch, Padding::None, one thread
//   encode_batch/threads:all     the same on all threads (graft's default thread count)
//   encode_batch_padded          the same, padded to each batch's longest row (the corpus's
//                                1000-token strings make that most of the time)
// The encode_batch cases measure the CPU time of the whole process (all threads), so that MB per
// CPU-second on one and on all threads show what splitting the work costs even where other work
// leaves no core free to scale onto.
// bench/tokenizers_js_bench.mjs measures the JS reference on the same texts;
// bench/tokenizers_compare.sh runs both and prints the table of docs/text.md.
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "graft/runtime.hpp"
#include "graft/tokenizers/tokenizer.hpp"
#include "io/read_text.hpp"

namespace {

using graft::tokenizers::Padding;
using graft::tokenizers::Tokenizer;

const std::string kDir = GRAFT_TOKENIZER_DATA_DIR;

const std::vector<std::string>& texts() {
    static const std::vector<std::string> all = [] {
        const auto corpus = nlohmann::json::parse(graft::io::detail::read_text_file(kDir + "/corpus.json.gz", "bench"))
                                .get<std::vector<std::string>>();
        std::vector<std::string> out;
        std::size_t bytes = 0;
        while (bytes < (1u << 20))
            for (const auto& t : corpus) {
                out.push_back(t);
                bytes += t.size();
            }
        return out;
    }();
    return all;
}

// The texts in batches of 512, as a training loop feeds them (one batch of all would pad every
// row to the longest text of the corpus).
const std::vector<std::vector<std::string>>& batches() {
    static const std::vector<std::vector<std::string>> all = [] {
        std::vector<std::vector<std::string>> out;
        for (std::size_t i = 0; i < texts().size(); i += 512)
            out.emplace_back(texts().begin() + static_cast<std::ptrdiff_t>(i),
                             texts().begin() + static_cast<std::ptrdiff_t>(std::min(i + 512, texts().size())));
        return out;
    }();
    return all;
}

std::int64_t total_bytes() {
    std::int64_t n = 0;
    for (const auto& t : texts()) n += static_cast<std::int64_t>(t.size());
    return n;
}

const Tokenizer& tokenizer(const std::string& name) {
    static std::map<std::string, Tokenizer> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        Tokenizer tok = name == "gpt2" ? Tokenizer::from_gpt2_files(kDir + "/gpt2_encoder.json.gz", kDir + "/gpt2_vocab.bpe.gz")
                                       : Tokenizer::from_file(kDir + "/" + name + ".json");
        it = cache.emplace(name, std::move(tok)).first;
    }
    return it->second;
}

void encode_one_thread(benchmark::State& state, const std::string& name) {
    const Tokenizer& tok = tokenizer(name);
    for (auto _ : state)
        for (const auto& t : texts()) benchmark::DoNotOptimize(tok.encode(t));
    state.SetBytesProcessed(state.iterations() * total_bytes());
}

// encode_batch over the batches on `threads` threads (0: graft's default).
void encode_batch(benchmark::State& state, const std::string& name, int threads, Padding padding) {
    const Tokenizer& tok = tokenizer(name);
    const int all = graft::get_num_threads();
    graft::set_num_threads(threads > 0 ? threads : all);
    for (auto _ : state)
        for (const auto& batch : batches()) benchmark::DoNotOptimize(tok.encode_batch(batch, {.padding = padding}));
    state.SetBytesProcessed(state.iterations() * total_bytes());
    state.counters["threads"] = graft::get_num_threads();
    graft::set_num_threads(all);
}

}  // namespace

BENCHMARK_CAPTURE(encode_one_thread, gpt2, std::string("gpt2"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(encode_one_thread, wordpiece, std::string("bert"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(encode_one_thread, byte_fallback, std::string("llama"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(encode_one_thread, unigram, std::string("unigram"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, threads_1/gpt2, std::string("gpt2"), 1, Padding::None)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, threads_all/gpt2, std::string("gpt2"), 0, Padding::None)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, padded_threads_all/gpt2, std::string("gpt2"), 0, Padding::Longest)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, threads_1/wordpiece, std::string("bert"), 1, Padding::None)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, threads_all/wordpiece, std::string("bert"), 0, Padding::None)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, padded_threads_all/wordpiece, std::string("bert"), 0, Padding::Longest)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, threads_1/byte_fallback, std::string("llama"), 1, Padding::None)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, threads_all/byte_fallback, std::string("llama"), 0, Padding::None)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, padded_threads_all/byte_fallback, std::string("llama"), 0, Padding::Longest)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, threads_1/unigram, std::string("unigram"), 1, Padding::None)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, threads_all/unigram, std::string("unigram"), 0, Padding::None)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, padded_threads_all/unigram, std::string("unigram"), 0, Padding::Longest)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

BENCHMARK_MAIN();
