// GPT-2: the config.json reader, Hugging Face's parameter names, the golden model written by
// tests/golden/make_gpt2_golden.py (logits, loss and every gradient against PyTorch), loading HF's
// file variants, and generation with and without the KV cache.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "golden_compare.hpp"
#include "padded_generation.hpp"
#include "test_util.hpp"

using namespace graft;
namespace fs = std::filesystem;

namespace {

// float32 throughout, sums of at most 64 products (the MLP's width) in another order than
// PyTorch's, through 5 LayerNorms and the softmaxes: the largest differences measured are 3.6e-7
// absolute on logits of order 1 and 1.5e-7 on gradients of order 1e-3…1e-1. A wrong element (a mask
// off by one, a missing scale, an untied head) is off by 1e-3 or more. Relative differences alone
// mean nothing where the exact gradient is 0: the key part of each c_attn.bias gradient is exactly 0
// (adding one vector to every key shifts a query's scores by a constant, which softmax removes), so
// both sides hold rounding noise of order 1e-9 there.
constexpr test::Tolerance kTol{1e-5, 1e-4};

const fs::path kGoldenDir = GRAFT_TEST_DATA_DIR;

models::GPT2Config tiny_config() { return models::GPT2Config::from_json_file(kGoldenDir / "gpt2_tiny_config.json"); }

const io::SafetensorsFile& golden() {
    static const io::SafetensorsFile file = io::read_safetensors(kGoldenDir / "gpt2_tiny.safetensors");
    return file;
}

/// The golden file's model tensors (HF's names, the mask buffers and lm_head.weight included).
StateDict hf_weights() {
    StateDict out;
    for (const auto& [name, t] : golden().tensors)
        if (name.starts_with("transformer.") || name == "lm_head.weight") out.insert(name, t);
    return out;
}

models::GPT2LMHead golden_model() {
    models::GPT2LMHead model(tiny_config());
    const nn::LoadReport report = model.load_pretrained(hf_weights());
    EXPECT_TRUE(report.ok()) << report.to_string();
    model.eval();
    return model;
}

/// The parameter names of HF's GPT2LMHeadModel as its saved model.safetensors lists them, for n_layer 2.
std::vector<std::string> hf_names_two_layers() {
    std::vector<std::string> names{"transformer.wte.weight", "transformer.wpe.weight"};
    for (const char* layer : {"0", "1"})
        for (const char* leaf : {"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                                 "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                                 "mlp.c_proj.weight", "mlp.c_proj.bias"})
            names.push_back(std::string("transformer.h.") + layer + "." + leaf);
    names.push_back("transformer.ln_f.weight");
    names.push_back("transformer.ln_f.bias");
    return names;
}

}  // namespace

// ---- config ---------------------------------------------------------------------------------------

TEST(GPT2Config, ReadsHuggingFaceConfigJson) {
    const models::GPT2Config c = tiny_config();
    EXPECT_EQ(c.n_layer, 2);
    EXPECT_EQ(c.n_head, 2);
    EXPECT_EQ(c.n_embd, 16);
    EXPECT_EQ(c.n_positions, 32);
    EXPECT_EQ(c.vocab_size, 50);
    EXPECT_EQ(c.n_inner, 0);  // "n_inner": null
    EXPECT_EQ(c.mlp_width(), 64);
    EXPECT_DOUBLE_EQ(c.layer_norm_epsilon, 1e-5);
    EXPECT_DOUBLE_EQ(c.resid_pdrop, 0.1);
    EXPECT_DOUBLE_EQ(c.embd_pdrop, 0.1);
    EXPECT_DOUBLE_EQ(c.attn_pdrop, 0.1);
}

TEST(GPT2Config, OptionalKeysKeepDefaultsAndUnknownKeysAreIgnored) {
    const auto c = models::GPT2Config::from_json_string(
        R"({"n_layer": 3, "n_head": 4, "n_embd": 32, "n_positions": 64, "vocab_size": 100,
            "layer_norm_epsilon": 1e-6, "n_inner": 48, "resid_pdrop": 0.0, "some_future_key": [1, 2]})");
    EXPECT_EQ(c.n_layer, 3);
    EXPECT_EQ(c.mlp_width(), 48);
    EXPECT_EQ(c.head_dim(), 8);
    EXPECT_DOUBLE_EQ(c.layer_norm_epsilon, 1e-6);
    EXPECT_DOUBLE_EQ(c.resid_pdrop, 0.0);
    EXPECT_DOUBLE_EQ(c.embd_pdrop, 0.1);
}

TEST(GPT2Config, MissingRequiredKeyNamesKeyAndFile) {
    test::ScratchDir dir("gpt2cfg");
    const fs::path path = dir.path("config.json");
    std::ofstream(path) << R"({"n_layer": 2, "n_head": 2, "n_embd": 16, "vocab_size": 50, "layer_norm_epsilon": 1e-5})";
    EXPECT_THROW_MSG(models::GPT2Config::from_json_file(path), IOError, "\"n_positions\" is missing");
    EXPECT_THROW_MSG(models::GPT2Config::from_json_file(path), IOError, path.string());
    EXPECT_THROW_MSG(models::GPT2Config::from_json_file(dir.path("absent.json")), IOError, "absent.json");
}

TEST(GPT2Config, SizesWhoseWeightsOverflowNameTheKeyAndFile) {
    test::ScratchDir dir("gpt2cfg");
    const fs::path path = dir.path("config.json");
    std::ofstream(path) << R"({"n_layer": 2, "n_head": 2, "n_embd": 16, "vocab_size": 50,
                               "n_positions": 4611686018427387904, "layer_norm_epsilon": 1e-5})";
    EXPECT_THROW_MSG(models::GPT2Config::from_json_file(path), ValueError,
                     "GPT2Config: n_positions = 4611686018427387904 and n_embd = 16 make wpe [n_positions, n_embd] "
                     "too large: the float32 byte count overflows 64 bits");
    EXPECT_THROW_MSG(models::GPT2Config::from_json_file(path), ValueError, path.string());
    models::GPT2Config c;
    c.n_positions = std::int64_t{1} << 62;
    c.n_embd = 1;
    c.n_head = 1;
    EXPECT_THROW_MSG(models::GPT2LMHead{c}, ValueError, "n_positions = 4611686018427387904 and n_embd = 1");
    c = models::GPT2Config{};
    c.vocab_size = std::int64_t{1} << 61;
    EXPECT_THROW_MSG(c.validate(), ValueError, "vocab_size = 2305843009213693952 and n_embd = 768 make wte");
    c = models::GPT2Config{};
    c.n_embd = c.n_head = std::int64_t{1} << 31;
    EXPECT_THROW_MSG(c.validate(), ValueError, "n_embd = 2147483648 make the attention weights");
    c = models::GPT2Config{};
    c.n_inner = std::int64_t{1} << 60;
    EXPECT_THROW_MSG(c.validate(), ValueError, "n_embd = 768 and an MLP width of 1152921504606846976 make the MLP");
    c = models::GPT2Config{};
    c.n_layer = std::int64_t{1} << 40;
    EXPECT_THROW_MSG(c.validate(), ValueError, "n_layer = 1099511627776, n_embd = 768");
}

TEST(GPT2Config, BadValuesAreErrors) {
    const std::string sizes = R"("n_layer": 2, "n_positions": 8, "vocab_size": 10, "layer_norm_epsilon": 1e-5)";
    EXPECT_THROW_MSG(models::GPT2Config::from_json_string("{" + sizes + R"(, "n_head": 3, "n_embd": 16})"), ValueError,
                     "n_embd 16 is not a multiple of n_head 3");
    EXPECT_THROW_MSG(models::GPT2Config::from_json_string("{" + sizes + R"(, "n_head": 2, "n_embd": "16"})"), IOError,
                     "\"n_embd\" must be an integer");
    EXPECT_THROW_MSG(
        models::GPT2Config::from_json_string("{" + sizes + R"(, "n_head": 2, "n_embd": 16, "activation_function": "relu"})"),
        ValueError, "activation_function \"relu\"");
    EXPECT_THROW_MSG(models::GPT2Config::from_json_string("{" + sizes), IOError, "not valid JSON");
}

// ---- names ----------------------------------------------------------------------------------------

TEST(GPT2Names, StateDictKeysAreHuggingFacesAndConv1DIsInByOut) {
    const models::GPT2LMHead model(tiny_config());
    EXPECT_EQ(model.state_dict().keys(), hf_names_two_layers());
    const StateDict sd = model.state_dict();
    EXPECT_EQ(sd.at("transformer.wte.weight").shape(), (Shape{50, 16}));
    EXPECT_EQ(sd.at("transformer.wpe.weight").shape(), (Shape{32, 16}));
    EXPECT_EQ(sd.at("transformer.h.1.attn.c_attn.weight").shape(), (Shape{16, 48}));
    EXPECT_EQ(sd.at("transformer.h.1.attn.c_attn.bias").shape(), (Shape{48}));
    EXPECT_EQ(sd.at("transformer.h.1.attn.c_proj.weight").shape(), (Shape{16, 16}));
    EXPECT_EQ(sd.at("transformer.h.1.mlp.c_fc.weight").shape(), (Shape{16, 64}));
    EXPECT_EQ(sd.at("transformer.h.1.mlp.c_proj.weight").shape(), (Shape{64, 16}));
    // the golden PyTorch model's parameters, in its order
    std::vector<std::string> torch_names;
    for (const auto& [name, t] : golden().tensors)
        if (name.starts_with("grad.")) torch_names.push_back(name.substr(5));
    EXPECT_EQ(torch_names, hf_names_two_layers());
}

TEST(GPT2Names, HeadIsTiedToTokenEmbedding) {
    models::GPT2LMHead model(tiny_config());
    EXPECT_FALSE(model.state_dict().contains("lm_head.weight"));
    {
        NoGradGuard guard;
        model.transformer->wte->weight.zero_();
        model.transformer->wte->weight.select(0, 7).fill_(1.0);
    }
    model.eval();
    // every logit is the dot product of the final hidden state with wte's row: only token 7 is non-zero
    const std::vector<float> logits = model.forward(from_vector<std::int64_t>({1, 2, 3}, {1, 3})).to_vector<float>();
    for (std::size_t i = 0; i < logits.size(); ++i) {
        if (i % 50 == 7) continue;
        EXPECT_EQ(logits[i], 0.f) << i;
    }
}

// ---- golden ---------------------------------------------------------------------------------------

TEST(GPT2Golden, LogitsLossAndGradientsMatchPyTorch) {
    const StateDict& g = golden().tensors;
    std::printf("  gpt2_tiny (PyTorch %s)\n", golden().metadata.at("torch").c_str());
    models::GPT2LMHead model = golden_model();
    const Tensor logits = model.forward(g.at("input_ids"));
    const Tensor loss = models::causal_lm_loss(logits, g.at("labels"));
    loss.backward();
    test::expect_close("logits", logits, g.at("logits"), kTol);
    test::expect_close("loss", loss, g.at("loss"), kTol);
    for (const auto& [name, p] : model.named_parameters()) {
        ASSERT_TRUE(p.grad().defined()) << name;
        test::expect_close("grad." + name, p.grad(), g.at("grad." + name), kTol);
    }
}

TEST(GPT2Golden, LoadsFilesWithoutTheTransformerPrefix) {
    StateDict bare;  // as the hub's "gpt2" model.safetensors: GPT2Model's names, no lm_head
    for (const auto& [name, t] : hf_weights())
        if (name.starts_with("transformer.")) bare.insert(name.substr(12), t);
    models::GPT2LMHead model(tiny_config());
    EXPECT_TRUE(model.load_pretrained(bare).ok());
    model.eval();
    NoGradGuard guard;
    test::expect_close("logits", model.forward(golden().tensors.at("input_ids")), golden().tensors.at("logits"), kTol);
}

TEST(GPT2Golden, UserRenamingComesBeforeTheHuggingFaceRules) {
    StateDict wrapped;  // a GPT2Model inside a wrapper: no "transformer." once the prefix is stripped
    for (const auto& [name, t] : hf_weights())
        if (name.starts_with("transformer.")) wrapped.insert("base_model.model." + name.substr(12), t);
    models::GPT2LMHead model(tiny_config());
    const nn::LoadReport report = model.load_pretrained(wrapped, {.strip_prefix = "base_model.model."});
    EXPECT_TRUE(report.ok()) << report.to_string();
    EXPECT_EQ(report.loaded, hf_names_two_layers());
    model.eval();
    NoGradGuard guard;
    test::expect_close("logits", model.forward(golden().tensors.at("input_ids")), golden().tensors.at("logits"), kTol);
}

TEST(GPT2Golden, StrictLoadingToleratesMaskBuffersButNotOtherStrayKeys) {
    models::GPT2LMHead model(tiny_config());
    // plain load_state_dict sees HF's buffers and lm_head.weight as unexpected; load_pretrained drops them
    EXPECT_THROW_MSG(model.load_state_dict(hf_weights()), ValueError, "transformer.h.0.attn.bias");
    StateDict extra = hf_weights();
    extra.insert("transformer.h.0.attn.extra", zeros({1}));
    EXPECT_THROW_MSG(model.load_pretrained(extra), ValueError, "transformer.h.0.attn.extra");
    const nn::LoadReport report = model.load_pretrained(extra, {.strict = false});
    EXPECT_EQ(report.unexpected, std::vector<std::string>{"transformer.h.0.attn.extra"});
}

TEST(GPT2Golden, UntiedHeadIsRejectedBeforeLoading) {
    StateDict w = hf_weights();
    w.set("lm_head.weight", add(w.at("lm_head.weight"), 1.0));
    models::GPT2LMHead model(tiny_config());
    const std::vector<float> before = model.transformer->wte->weight.to_vector<float>();
    EXPECT_THROW_MSG(model.load_pretrained(w), ValueError, "lm_head.weight [50, 16] differs from transformer.wte.weight");
    EXPECT_EQ(model.transformer->wte->weight.to_vector<float>(), before);
}

TEST(GPT2Golden, FromPretrainedAndStateDictRoundTrip) {
    test::ScratchDir dir("gpt2");
    io::save_safetensors(dir.path("model.safetensors"), hf_weights());
    auto model = models::GPT2LMHead::from_pretrained(kGoldenDir / "gpt2_tiny_config.json", dir.path("model.safetensors"));
    io::save_safetensors(dir.path("graft.safetensors"), model.state_dict());
    models::GPT2LMHead twin(tiny_config());
    twin.load_state_dict(io::load_safetensors(dir.path("graft.safetensors")));  // graft's own keys load strictly
    twin.eval();
    NoGradGuard guard;
    test::expect_close("logits", twin.forward(golden().tensors.at("input_ids")), golden().tensors.at("logits"), kTol);
}

TEST(GPT2Golden, FromPretrainedDirectoryReadsConfigAndShards) {
    // HF's layout: config.json and the weights split over two shards by model.safetensors.index.json.
    test::ScratchDir dir("gpt2");
    fs::copy_file(kGoldenDir / "gpt2_tiny_config.json", dir.path("config.json"));
    StateDict first, second;
    std::string index = R"({"weight_map": {)";
    bool comma = false;
    for (const auto& [name, t] : hf_weights()) {
        const bool in_first = name.find(".h.1.") == std::string::npos;
        (in_first ? first : second).insert(name, t);
        index += (comma ? ", \"" : "\"") + name + "\": \"" + (in_first ? "a.safetensors" : "b.safetensors") + "\"";
        comma = true;
    }
    ASSERT_FALSE(second.empty());
    io::save_safetensors(dir.path("a.safetensors"), first);
    io::save_safetensors(dir.path("b.safetensors"), second);
    std::ofstream(dir.path("model.safetensors.index.json")) << index << "}}";
    auto model = models::GPT2LMHead::from_pretrained(dir.dir());
    model.eval();
    NoGradGuard guard;
    test::expect_close("logits", model.forward(golden().tensors.at("input_ids")), golden().tensors.at("logits"), kTol);
    fs::remove(dir.path("b.safetensors"));
    EXPECT_THROW_MSG(models::GPT2LMHead::from_pretrained(dir.dir()), IOError,
                     "GPT2LMHead::from_pretrained: weights '" + dir.dir().string() + "': ");
}

TEST(GPT2Golden, FromPretrainedErrorsNameTheFile) {
    test::ScratchDir dir("gpt2");
    const auto config = kGoldenDir / "gpt2_tiny_config.json";
    StateDict partial = hf_weights();
    partial.erase("transformer.h.0.mlp.c_fc.bias");
    io::save_safetensors(dir.path("partial.safetensors"), partial);
    EXPECT_THROW_MSG(models::GPT2LMHead::from_pretrained(config, dir.path("partial.safetensors")), ValueError,
                     "GPT2LMHead::from_pretrained: weights '" + dir.path("partial.safetensors").string() + "': ");
    EXPECT_THROW_MSG(models::GPT2LMHead::from_pretrained(config, dir.path("partial.safetensors")), ValueError,
                     "transformer.h.0.mlp.c_fc.bias");
    EXPECT_THROW_MSG(models::GPT2LMHead::from_pretrained(config, dir.dir()), IOError,
                     "'" + dir.dir().string() + "' is a directory");
    EXPECT_THROW_MSG(models::GPT2LMHead::from_pretrained(dir.dir(), dir.path("partial.safetensors")), IOError,
                     "GPT2Config: '" + dir.dir().string() + "' is a directory");
    std::ofstream(dir.path("config.json"))
        << R"({"vocab_size": 50, "n_positions": 8, "n_embd": 15, "n_layer": 1, "n_head": 2, "layer_norm_epsilon": 1e-5})";
    EXPECT_THROW_MSG(models::GPT2LMHead::from_pretrained(dir.path("config.json"), dir.path("partial.safetensors")),
                     ValueError, "'" + dir.path("config.json").string() + "'");
}

TEST(GPT2Golden, LossIgnoresMinus100AndNeedsTwoPositions) {
    const Tensor logits = randn({1, 3, 5});
    const Tensor all = models::causal_lm_loss(logits, from_vector<std::int64_t>({0, 1, 2}, {1, 3}));
    const Tensor last_only = models::causal_lm_loss(logits, from_vector<std::int64_t>({0, -100, 2}, {1, 3}));
    const Tensor manual = nn::functional::cross_entropy(logits.select(1, 1), from_vector<std::int64_t>({2}, {1}));
    EXPECT_NEAR(last_only.item(), manual.item(), 1e-6);
    EXPECT_NE(all.item(), last_only.item());
    EXPECT_THROW_MSG(models::causal_lm_loss(randn({1, 1, 5}), zeros({1, 1}, DType::Int64)), ShapeError, "T ≥ 2");
}

TEST(GPT2Golden, ReplacedConv1DChildTakesEffect) {
    models::GPT2LMHead model = golden_model();
    const Tensor ids = golden().tensors.at("input_ids");
    NoGradGuard guard;
    // an identical copy in place of c_attn: same logits; a zeroed one: different logits
    auto copy = nn::clone(*std::static_pointer_cast<nn::Conv1D>(model.submodule("transformer.h.0.attn.c_attn")));
    model.replace("transformer.h.0.attn.c_attn", std::move(*copy));
    test::expect_close("logits", model.forward(ids), golden().tensors.at("logits"), kTol);
    nn::Conv1D zeroed(16, 48);
    zeroed.weight.zero_();
    model.replace("transformer.h.0.attn.c_attn", std::move(zeroed));
    EXPECT_FALSE(allclose(model.forward(ids), golden().tensors.at("logits"), 1e-3, 1e-3));
}

TEST(GPT2Golden, DropoutOnlyInTrainMode) {
    // The golden config's dropouts (attn_pdrop, resid_pdrop, embd_pdrop 0.1), then attn_pdrop
    // alone (the dropout inside the fused attention): training-mode logits differ from eval's
    // and are reproducible by seed.
    models::GPT2Config attention_only = tiny_config();
    attention_only.resid_pdrop = attention_only.embd_pdrop = 0.0;
    attention_only.attn_pdrop = 0.5;
    for (const models::GPT2Config& config : {tiny_config(), attention_only}) {
        models::GPT2LMHead model(config);
        ASSERT_TRUE(model.load_pretrained(hf_weights()).ok());
        const Tensor ids = golden().tensors.at("input_ids");
        NoGradGuard guard;
        model.train();
        manual_seed(1);
        const Tensor a = model.forward(ids);
        EXPECT_FALSE(allclose(a, golden().tensors.at("logits"), 1e-3, 1e-3));
        manual_seed(1);
        EXPECT_TRUE(allclose(model.forward(ids), a, 0.0, 0.0));
        model.eval();
        test::expect_close("eval logits", model.forward(ids), golden().tensors.at("logits"), kTol);
    }
}

// ---- generation -----------------------------------------------------------------------------------

TEST(GPT2Generate, CachedForwardEqualsFullForward) {
    models::GPT2LMHead model = golden_model();
    const Tensor ids = golden().tensors.at("input_ids");
    NoGradGuard guard;
    models::KVCache cache;
    const Tensor first = model.forward(ids.narrow(1, 0, 4), &cache);
    EXPECT_EQ(cache.length(), 4);
    const Tensor rest = model.forward(ids.narrow(1, 4, 3), &cache);
    EXPECT_EQ(cache.length(), 7);
    ASSERT_EQ(cache.layers.size(), 2u);
    EXPECT_EQ(cache.layers[1].key.shape(), (Shape{2, 2, 7, 8}));
    test::expect_close("cached logits", cat({first, rest}, 1), golden().tensors.at("logits"), kTol);
}

TEST(GPT2Generate, GreedyWithCacheEqualsRecomputingAndPyTorch) {
    models::GPT2LMHead model = golden_model();
    const Tensor prompt = golden().tensors.at("input_ids");
    const Tensor cached = models::generate(model, prompt, {.max_new_tokens = 5});
    const Tensor recomputed = models::generate(model, prompt, {.max_new_tokens = 5, .use_cache = false});
    EXPECT_EQ(cached.shape(), (Shape{2, 12}));
    EXPECT_EQ(cached.to_vector<std::int64_t>(), recomputed.to_vector<std::int64_t>());
    EXPECT_EQ(cached.to_vector<std::int64_t>(), golden().tensors.at("greedy_ids").to_vector<std::int64_t>());
}

TEST(GPT2Generate, TopKSamplingIsReproducibleWithASeed) {
    models::GPT2LMHead model = golden_model();
    const Tensor prompt = golden().tensors.at("input_ids");
    const models::GenerateOptions sample{.max_new_tokens = 12, .temperature = 1.5, .top_k = 10, .seed = 11};
    const auto a = models::generate(model, prompt, sample).to_vector<std::int64_t>();
    EXPECT_EQ(a, models::generate(model, prompt, sample).to_vector<std::int64_t>());
    models::GenerateOptions other = sample;
    other.seed = 12;
    EXPECT_NE(a, models::generate(model, prompt, other).to_vector<std::int64_t>());
    other.use_cache = false;
    other.seed = 11;
    EXPECT_EQ(a, models::generate(model, prompt, other).to_vector<std::int64_t>());
    // top_k = 1 leaves only the most likely token: greedy, whatever the temperature
    const auto top1 = models::generate(model, prompt, {.max_new_tokens = 5, .temperature = 2.0, .top_k = 1, .seed = 3});
    EXPECT_EQ(top1.to_vector<std::int64_t>(), golden().tensors.at("greedy_ids").to_vector<std::int64_t>());
}

TEST(GPT2Generate, SampledTokensComeFromTheTopK) {
    models::GPT2LMHead model = golden_model();
    const Tensor prompt = golden().tensors.at("input_ids");
    const Tensor out = models::generate(model, prompt, {.max_new_tokens = 1, .temperature = 5.0, .top_k = 3, .seed = 1});
    NoGradGuard guard;
    const Tensor last = model.forward(prompt).select(1, 6);  // [2, 50]
    for (std::int64_t b = 0; b < 2; ++b) {
        const Tensor row = last.select(0, b);
        const double picked = row.select(0, out.select(0, b).select(0, 7).item<std::int64_t>()).item();
        EXPECT_LE(sum(gt(row, picked).to(DType::Float32)).item(), 2.0) << "row " << b;
    }
}

TEST(GPT2Generate, ErrorsNameTheProblem) {
    models::GPT2LMHead model = golden_model();
    const Tensor prompt = golden().tensors.at("input_ids");  // 7 positions, n_positions 32
    EXPECT_THROW_MSG(models::generate(model, prompt, {.max_new_tokens = 26}), ValueError, "n_positions = 32");
    EXPECT_NO_THROW(models::generate(model, prompt, {.max_new_tokens = 25}));
    EXPECT_THROW_MSG(models::generate(model, prompt, {.temperature = -1}), ValueError, "temperature");
    EXPECT_THROW_MSG(models::generate(model, prompt, {.top_k = -1}), ValueError, "top_k");
    EXPECT_THROW_MSG(models::generate(model, prompt.to(DType::Int32)), DTypeError, "int64");
    NoGradGuard guard;
    models::KVCache cache;
    model.forward(zeros({1, 30}, DType::Int64), &cache);
    EXPECT_THROW_MSG(model.forward(zeros({1, 3}, DType::Int64), &cache), ValueError,
                     "33 positions (30 cached + 3 new) exceed n_positions = 32");
    EXPECT_THROW_MSG(model.forward(zeros({2, 1}, DType::Int64), &cache), ShapeError, "batch");
    EXPECT_THROW_MSG(model.forward(zeros({5}, DType::Int64)), ShapeError, "[batch, positions]");
}

// ---- the reverse direction ------------------------------------------------------------------------

/// Trains the golden model three AdamW steps and writes its state dict, the golden input ids and
/// graft's eval-mode logits to $GRAFT_EXPORT_DIR (or a temporary folder) as gpt2_graft.safetensors:
/// make_gpt2_golden.py --check-graft-export loads it into the PyTorch twin.
TEST(GoldenExport, Gpt2WritesStateDictPyTorchLoads) {
    std::optional<test::ScratchDir> scratch;
    const fs::path dir = test::export_dir(scratch);
    const StateDict& g = golden().tensors;
    models::GPT2LMHead model = golden_model();
    model.train();
    optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-2, .weight_decay = 0.01});
    std::vector<float> losses;
    for (int step = 0; step < 3; ++step) {
        const Tensor loss = models::causal_lm_loss(model.forward(g.at("input_ids")), g.at("labels"));
        losses.push_back(loss.item<float>());
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    EXPECT_LT(losses.back(), losses.front());
    model.eval();
    Tensor logits;
    {
        NoGradGuard guard;
        logits = model.forward(g.at("input_ids"));
    }
    StateDict out = model.state_dict();
    out.insert("input_ids", g.at("input_ids"));
    out.insert("logits", logits);
    const fs::path path = dir / "gpt2_graft.safetensors";
    io::save_safetensors(path, out, {{"model", "gpt2_tiny"}});
    std::printf("  wrote %s\n", path.c_str());
    EXPECT_EQ(io::load_safetensors(path).keys(), out.keys());
}

TEST(GPT2Generate, LeftPaddedBatchGeneratesWhatEachPromptGeneratesAlone) {
    // Prompts of 3, 6 and 1 tokens in one batch, padded on the left with id 0: the mask hides the
    // padding keys and wpe numbers each row from its first real token.
    models::GPT2LMHead model = golden_model();
    test::expect_padded_batch_matches_each_prompt(model, {{5, 17, 42}, {1, 2, 3, 49, 8, 33}, {30}}, 0, 6);
    EXPECT_THROW_MSG(model.forward(from_vector<std::int64_t>({1, 2}, {1, 2}), nullptr, ones({1, 3}, DType::Int64)),
                     ShapeError, "padding mask must be [batch, cached + new positions] = [1, 2], got [1, 3]");
}
