// The Llama family: the config.json reader, Hugging Face's parameter names, the golden models written
// by tests/golden/make_llama_golden.py (a tied float32 Llama and a sharded BF16 Qwen2: logits, loss and
// gradients against PyTorch, greedy generation, sequence classification with left and right padding),
// generation with and without the KV cache, top-p sampling, and LoRA on the attention projections.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include "golden_compare.hpp"
#include "padded_generation.hpp"
#include "graft/io/hf_config.hpp"
#include "graft/io/pretrained.hpp"
#include "test_util.hpp"

using namespace graft;
namespace fs = std::filesystem;

namespace {

// float32 throughout; graft computes RoPE's angles in double where HF's twin uses float32 (a
// difference of order 1e-7 relative at these positions), sums of at most 64 products in another
// order than PyTorch's. A wrong element (a k/v head repeated in the wrong order, the interleaved
// RoPE layout, a missing bias) is off by 1e-2 or more.
constexpr test::Tolerance kLogitTol{1e-5, 1e-5};
constexpr test::Tolerance kGradTol{1e-5, 1e-4};

const fs::path kGoldenDir = GRAFT_TEST_DATA_DIR;
const fs::path kLlamaDir = kGoldenDir / "llama_tiny";
const fs::path kQwen2Dir = kGoldenDir / "qwen2_tiny";

const StateDict& golden() {
    static const io::SafetensorsFile file = io::read_safetensors(kGoldenDir / "llama_golden.safetensors");
    return file.tensors;
}

models::LlamaForCausalLM golden_model(const fs::path& dir) {
    models::LlamaForCausalLM model = models::LlamaForCausalLM::from_pretrained(dir);
    model.eval();
    return model;
}

/// llama_tiny's config.json with the text `from` replaced by `to`.
io::HfConfig edited_config(const std::string& from, const std::string& to) {
    std::ifstream in(kLlamaDir / "config.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    return io::HfConfig::from_text(text, "'edited/config.json'");
}

void expect_causal_lm_matches(const std::string& key, const fs::path& dir) {
    const StateDict& g = golden();
    std::printf("  %s: %s against its PyTorch twin\n", key.c_str(), dir.filename().string().c_str());
    models::LlamaForCausalLM model = golden_model(dir);
    model.freeze("model.embed_tokens.*");
    const Tensor logits = model.forward(g.at(key + ".input_ids"));
    const Tensor loss = models::causal_lm_loss(logits, g.at(key + ".input_ids"));
    loss.backward();
    test::expect_close(key + ".logits", logits, g.at(key + ".logits"), kLogitTol);
    test::expect_close(key + ".loss", loss, g.at(key + ".loss"), kLogitTol);
    std::size_t compared = 0;
    for (const auto& [name, p] : model.named_parameters()) {
        if (name == "model.embed_tokens.weight") {
            EXPECT_FALSE(p.grad().defined()) << "the frozen embedding got a gradient";
            continue;
        }
        ASSERT_TRUE(p.grad().defined()) << name;
        test::expect_close("grad." + name, p.grad(), g.at(key + ".grad." + name), kGradTol);
        ++compared;
    }
    EXPECT_EQ(compared, model.named_parameters().size() - 1);
}

}  // namespace

// ---- config ---------------------------------------------------------------------------------------

TEST(LlamaConfig, ReadsHuggingFaceConfigJson) {
    const auto c = models::LlamaConfig::from_json_file(kLlamaDir / "config.json");
    EXPECT_EQ(c.vocab_size, 96);
    EXPECT_EQ(c.hidden_size, 32);
    EXPECT_EQ(c.intermediate_size, 64);
    EXPECT_EQ(c.num_hidden_layers, 2);
    EXPECT_EQ(c.num_attention_heads, 4);
    EXPECT_EQ(c.kv_heads(), 2);
    EXPECT_EQ(c.head_width(), 8);
    EXPECT_EQ(c.max_position_embeddings, 64);
    EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
    EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_FALSE(c.attention_bias);
    EXPECT_FALSE(c.qkv_bias);
    EXPECT_EQ(c.pad_token_id, std::optional<std::int64_t>(0));

    const auto q = models::LlamaConfig::from_json_file(kQwen2Dir / "config.json");
    EXPECT_EQ(q.model_type, "qwen2");
    EXPECT_TRUE(q.qkv_bias);
    EXPECT_FALSE(q.attention_bias);
    EXPECT_FALSE(q.tie_word_embeddings);
    EXPECT_DOUBLE_EQ(q.rope_theta, 1e6);
    EXPECT_FALSE(q.pad_token_id.has_value());
}

TEST(LlamaConfig, DefaultsAndExplicitHeadDim) {
    const auto c = models::LlamaConfig::from_hf_config(edited_config("\"num_key_value_heads\": 2,", "\"head_dim\": 16,"));
    EXPECT_EQ(c.kv_heads(), 4);  // absent: one kv head per query head
    EXPECT_EQ(c.head_width(), 16);
    models::LlamaAttention attn(c);
    EXPECT_EQ(attn.q_proj->weight.shape(), (Shape{64, 32}));
    EXPECT_EQ(attn.o_proj->weight.shape(), (Shape{32, 64}));
}

TEST(LlamaConfig, SettingsThisCodeCannotRunNameTheKeyAndFile) {
    EXPECT_THROW_MSG(models::LlamaConfig::from_hf_config(edited_config("\"rope_scaling\": null",
                                                                "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}")),
                     ValueError, "'edited/config.json': rope_scaling = {");
    EXPECT_THROW_MSG(models::LlamaConfig::from_hf_config(edited_config("\"silu\"", "\"gelu\"")), ValueError,
                     "'edited/config.json': hidden_act = \"gelu\"");
    EXPECT_THROW_MSG(models::LlamaConfig::from_hf_config(edited_config("\"rope_scaling\": null", "\"use_sliding_window\": true")),
                     ValueError, "use_sliding_window");
    EXPECT_THROW_MSG(models::LlamaConfig::from_hf_config(edited_config("\"rope_scaling\": null", "\"partial_rotary_factor\": 0.5")),
                     ValueError, "partial_rotary_factor");
    EXPECT_THROW_MSG(models::LlamaConfig::from_hf_config(edited_config("\"hidden_size\": 32,", "")), IOError, "hidden_size");
    EXPECT_THROW_MSG(models::LlamaConfig::from_hf_config(edited_config("\"llama\"", "\"mistral\"")), ValueError,
                     "model_type = \"mistral\"");
    EXPECT_THROW_MSG(models::LlamaConfig::from_hf_config(edited_config("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3")),
                     ValueError, "num_key_value_heads 3");
    EXPECT_THROW_MSG(models::LlamaConfig::from_hf_config(edited_config("\"num_attention_heads\": 4", "\"num_attention_heads\": 5")),
                     ValueError, "'edited/config.json'");
}

TEST(LlamaConfig, BadSizesAreErrors) {
    models::LlamaConfig c = models::LlamaConfig::from_json_file(kLlamaDir / "config.json");
    c.head_dim = 7;
    EXPECT_THROW_MSG(c.validate(), ValueError, "even");
    c.head_dim = 0;
    c.vocab_size = std::int64_t{1} << 60;
    EXPECT_THROW_MSG(c.validate(), ValueError, "overflows 64 bits");
    c.vocab_size = 96;
    c.pad_token_id = 96;
    EXPECT_THROW_MSG(c.validate(), ValueError, "pad_token_id 96");
}

TEST(LlamaConfig, AttentionDropoutIsReadValidatedAndAppliedOnlyInTraining) {
    EXPECT_DOUBLE_EQ(models::LlamaConfig::from_json_file(kLlamaDir / "config.json").attention_dropout, 0.0);
    models::LlamaConfig c = models::LlamaConfig::from_hf_config(
        edited_config("\"rms_norm_eps\"", "\"attention_dropout\": 0.5, \"rms_norm_eps\""));
    EXPECT_DOUBLE_EQ(c.attention_dropout, 0.5);
    models::LlamaConfig bad = c;
    bad.attention_dropout = 1.0;
    EXPECT_THROW_MSG(bad.validate(), ValueError, "attention_dropout");

    manual_seed(5);
    models::LlamaForCausalLM dropped(c);
    models::LlamaConfig plain_config = c;
    plain_config.attention_dropout = 0.0;
    models::LlamaForCausalLM plain(plain_config);
    plain.load_state_dict(dropped.state_dict());
    const Tensor ids = from_vector<std::int64_t>({1, 5, 9, 3, 7, 2}, {1, 6});
    dropped.train();
    plain.train();
    const auto logits = [&](models::LlamaForCausalLM& m) { return m.forward(ids).to_vector<float>(); };
    EXPECT_NE(logits(dropped), logits(plain)) << "training mode must drop attention probabilities";
    dropped.eval();
    EXPECT_EQ(logits(dropped), logits(plain)) << "eval mode must not drop anything";
}

// ---- names -----------------------------------------------------------------------------------------

TEST(LlamaNames, StateDictKeysAreTheFilesKeys) {
    for (const fs::path& dir : {kLlamaDir, kQwen2Dir}) {
        models::LlamaForCausalLM model(models::LlamaConfig::from_json_file(dir / "config.json"));
        std::vector<std::string> ours, theirs;
        for (const auto& [name, t] : model.state_dict()) ours.push_back(name);
        for (const auto& [name, t] : io::load_pretrained_state_dict(dir)) theirs.push_back(name);
        std::sort(ours.begin(), ours.end());
        std::sort(theirs.begin(), theirs.end());
        EXPECT_EQ(ours, theirs) << dir;
    }
    models::LlamaForCausalLM qwen2(models::LlamaConfig::from_json_file(kQwen2Dir / "config.json"));
    const StateDict sd = qwen2.state_dict();
    EXPECT_NE(sd.find("model.layers.1.self_attn.k_proj.bias"), nullptr);
    EXPECT_EQ(sd.find("model.layers.1.self_attn.o_proj.bias"), nullptr);
    EXPECT_EQ(sd.at("model.layers.0.self_attn.k_proj.weight").shape(), (Shape{16, 32}));
    EXPECT_EQ(sd.at("lm_head.weight").shape(), (Shape{100, 32}));
}

TEST(LlamaNames, TiedHeadIsTheEmbedding) {
    models::LlamaForCausalLM model = golden_model(kLlamaDir);
    EXPECT_FALSE(static_cast<bool>(model.lm_head));
    EXPECT_TRUE(model.head_weight().shares_storage(model.model->embed_tokens->weight));
    EXPECT_EQ(model.state_dict().find("lm_head.weight"), nullptr);
    // a file that also holds the tied copy (as some exports do) loads strictly
    StateDict with_head = model.state_dict();
    with_head.insert("lm_head.weight", model.head_weight().clone());
    EXPECT_TRUE(model.load_pretrained(with_head).ok());
}

// ---- golden -----------------------------------------------------------------------------------------

TEST(LlamaGolden, TiedLlamaLogitsLossAndGradientsMatchPyTorch) { expect_causal_lm_matches("llama", kLlamaDir); }

TEST(LlamaGolden, ShardedBf16Qwen2LogitsLossAndGradientsMatchPyTorch) {
    expect_causal_lm_matches("qwen2", kQwen2Dir);
}

TEST(LlamaGolden, SequenceClassificationPoolsTheLastRealTokenWithLeftAndRightPadding) {
    const StateDict& g = golden();
    models::LlamaForSequenceClassification cls(models::LlamaConfig::from_json_file(kLlamaDir / "config.json"), 3);
    StateDict weights = io::load_pretrained_state_dict(kLlamaDir);
    weights.insert("score.weight", g.at("cls.score.weight"));
    EXPECT_TRUE(cls.load_state_dict(weights).ok());
    cls.eval();
    for (const std::string side : {"right", "left"}) {
        const Tensor logits = cls.forward(g.at("cls." + side + "_ids"), g.at("cls." + side + "_mask"));
        test::expect_close("cls." + side + "_logits", logits, g.at("cls." + side + "_logits"), kLogitTol);
    }
    const Tensor left_mask = g.at("cls.left_mask");
    test::expect_close("cls.left_logits, bool mask", cls.forward(g.at("cls.left_ids"), ne(left_mask, 0.0)),
                       g.at("cls.left_logits"), kLogitTol);
    // right padding needs no mask: the causal mask already hides the later padding
    test::expect_close("cls.right_logits, no mask", cls.forward(g.at("cls.right_ids")), g.at("cls.right_logits"),
                       kLogitTol);
}

TEST(LlamaGolden, SequenceClassificationFromPretrainedKeepsAFreshHead) {
    models::LlamaForSequenceClassification cls = models::LlamaForSequenceClassification::from_pretrained(kLlamaDir, 4);
    EXPECT_EQ(cls.score->weight.shape(), (Shape{4, 32}));
    const models::LlamaForCausalLM lm = golden_model(kLlamaDir);
    EXPECT_TRUE(allclose(cls.model->layers->named_parameters()[0].second, lm.model->layers->named_parameters()[0].second,
                         0.0, 0.0));
    EXPECT_THROW_MSG(models::LlamaForSequenceClassification::from_pretrained(kLlamaDir), ValueError, "id2label");
}

TEST(LlamaGolden, SequenceClassificationWithoutPadTokenNeedsOneRow) {
    models::LlamaConfig c = models::LlamaConfig::from_json_file(kLlamaDir / "config.json");
    c.pad_token_id.reset();
    models::LlamaForSequenceClassification cls(c, 2);
    EXPECT_EQ(cls.forward(golden().at("cls.right_ids").narrow(0, 0, 1)).shape(), (Shape{1, 2}));
    EXPECT_THROW_MSG(cls.forward(golden().at("cls.right_ids")), ValueError, "pad_token_id");
}

TEST(LlamaGolden, FromPretrainedErrorsNameTheDirectory) {
    test::ScratchDir dir("llama");
    fs::copy_file(kLlamaDir / "config.json", dir.path("config.json"));
    EXPECT_THROW_MSG(models::LlamaForCausalLM::from_pretrained(dir.dir()), IOError, dir.dir().string());
}

// ---- generation --------------------------------------------------------------------------------------

TEST(LlamaGenerate, CachedForwardEqualsFullForward) {
    for (const auto& [key, dir] : {std::pair{"llama", kLlamaDir}, std::pair{"qwen2", kQwen2Dir}}) {
        models::LlamaForCausalLM model = golden_model(dir);
        const Tensor ids = golden().at(std::string(key) + ".input_ids");
        NoGradGuard guard;
        models::KVCache cache;
        const Tensor first = model.forward(ids.narrow(1, 0, 4), &cache);
        const Tensor second = model.forward(ids.narrow(1, 4, 1), &cache);
        const Tensor rest = model.forward(ids.narrow(1, 5, 2), &cache);
        EXPECT_EQ(cache.length(), 7);
        EXPECT_EQ(cache.layers[0].key.shape(), (Shape{2, 2, 7, 8}));  // the kv heads are cached, not repeated
        test::expect_close(std::string(key) + " cached logits", cat({first, second, rest}, 1),
                           golden().at(std::string(key) + ".logits"), kLogitTol);
    }
}

TEST(LlamaGenerate, GreedyWithAndWithoutCacheEqualsPyTorch) {
    for (const auto& [key, dir] : {std::pair{"llama", kLlamaDir}, std::pair{"qwen2", kQwen2Dir}}) {
        models::LlamaForCausalLM model = golden_model(dir);
        const Tensor prompt = golden().at(std::string(key) + ".prompt");
        const auto expected = golden().at(std::string(key) + ".greedy_ids").to_vector<std::int64_t>();
        EXPECT_EQ(models::generate(model, prompt, {.max_new_tokens = 8}).to_vector<std::int64_t>(), expected) << key;
        EXPECT_EQ(models::generate(model, prompt, {.max_new_tokens = 8, .use_cache = false}).to_vector<std::int64_t>(),
                  expected)
            << key;
        // a nucleus too small for a second token is greedy
        EXPECT_EQ(models::generate(model, prompt, {.max_new_tokens = 8, .temperature = 1.0, .top_p = 1e-9, .seed = 3})
                      .to_vector<std::int64_t>(),
                  expected)
            << key;
    }
}

TEST(LlamaGenerate, TopPSamplesOnlyFromTheNucleusAndIsReproducible) {
    models::LlamaForCausalLM model = golden_model(kQwen2Dir);
    const Tensor prompt = golden().at("qwen2.prompt");
    const models::GenerateOptions options{.max_new_tokens = 6, .temperature = 0.8, .top_p = 0.5, .seed = 5};
    const Tensor ids = models::generate(model, prompt, options);
    EXPECT_EQ(ids.to_vector<std::int64_t>(), models::generate(model, prompt, options).to_vector<std::int64_t>());
    NoGradGuard guard;
    const std::int64_t start = prompt.size(1), vocab = model.config.vocab_size;
    bool sampled_beyond_greedy = false;
    for (std::int64_t t = start; t < ids.size(1); ++t) {
        const Tensor logits = model.forward(ids.narrow(1, 0, t));
        for (std::int64_t b = 0; b < ids.size(0); ++b) {
            const std::vector<double> row = logits.select(0, b).select(0, t - 1).to_vector<double>();
            std::vector<double> p(row.size());
            const double top = *std::max_element(row.begin(), row.end());
            for (std::size_t i = 0; i < row.size(); ++i) p[i] = std::exp((row[i] - top) / options.temperature);
            const double total = std::accumulate(p.begin(), p.end(), 0.0);
            std::vector<std::int64_t> order(static_cast<std::size_t>(vocab));
            std::iota(order.begin(), order.end(), 0);
            std::sort(order.begin(), order.end(), [&](auto a, auto c) { return p[a] > p[c]; });
            std::vector<std::int64_t> nucleus;
            for (double sum = 0; sum < options.top_p * total;) {
                nucleus.push_back(order[nucleus.size()]);
                sum += p[static_cast<std::size_t>(nucleus.back())];
            }
            const std::int64_t token = ids.select(0, b).select(0, t).item<std::int64_t>();
            EXPECT_NE(std::find(nucleus.begin(), nucleus.end(), token), nucleus.end())
                << "token " << token << " at " << t << " is outside the top-p nucleus of " << nucleus.size();
            sampled_beyond_greedy = sampled_beyond_greedy || token != order[0];
        }
    }
    EXPECT_TRUE(sampled_beyond_greedy) << "top_p 0.5 never sampled anything but the greedy token";
}

TEST(LlamaGenerate, ErrorsNameTheProblem) {
    models::LlamaForCausalLM model = golden_model(kLlamaDir);
    const Tensor prompt = golden().at("llama.prompt");
    EXPECT_THROW_MSG(models::generate(model, prompt, {.top_p = 0}), ValueError, "top_p");
    EXPECT_THROW_MSG(models::generate(model, prompt, {.top_p = 1.5}), ValueError, "top_p");
    EXPECT_THROW_MSG(models::generate(model, prompt, {.top_k = -1}), ValueError, "top_k");
    NoGradGuard guard;
    models::KVCache cache;
    model.forward(prompt, &cache);
    EXPECT_THROW_MSG(model.forward(zeros({3, 1}, DType::Int64), &cache), ShapeError, "batch");
    EXPECT_THROW_MSG(model.forward(zeros({5}, DType::Int64)), ShapeError, "[batch, positions]");
    EXPECT_THROW_MSG(model.forward(prompt, nullptr, ones({2, 3}, DType::Int64)), ShapeError, "padding mask");
}

// ---- LoRA -------------------------------------------------------------------------------------------

TEST(LlamaLora, AttentionProjectionsTrainAndMerge) {
    models::LlamaForCausalLM model = golden_model(kLlamaDir);
    const Tensor ids = golden().at("llama.input_ids");
    const auto wrapped = nn::apply_lora(model, {.r = 4, .alpha = 8, .target_modules = {"*.q_proj", "*.v_proj"}});
    EXPECT_EQ(wrapped.size(), 4u);
    std::vector<std::string> trainable;
    for (const auto& [name, p] : model.named_parameters())
        if (p.requires_grad()) trainable.push_back(name);
    EXPECT_EQ(trainable.size(), 8u);
    for (const std::string& name : trainable) EXPECT_TRUE(name.find(".lora_") != std::string::npos) << name;
    test::expect_close("fresh LoRA logits", model.forward(ids), golden().at("llama.logits"), kLogitTol);

    model.train();
    optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-2});
    for (int step = 0; step < 3; ++step) {
        opt.zero_grad();
        models::causal_lm_loss(model.forward(ids), ids).backward();
        opt.step();
    }
    model.eval();
    const Tensor adapted = model.forward(ids);
    EXPECT_FALSE(allclose(adapted, golden().at("llama.logits"), 1e-3, 1e-3));
    nn::merge_lora(model);
    test::expect_close("merged logits", model.forward(ids), adapted, {1e-5, 1e-4});
}

TEST(LlamaGenerate, LeftPaddedBatchGeneratesWhatEachPromptGeneratesAlone) {
    // Prompts of 3, 6 and 1 tokens in one batch, padded on the left with id 0; the GQA Llama and
    // the Qwen2 (biases, untied head) alike.
    for (const fs::path& dir : {kLlamaDir, kQwen2Dir}) {
        SCOPED_TRACE(dir.filename().string());
        models::LlamaForCausalLM model = golden_model(dir);
        test::expect_padded_batch_matches_each_prompt(model, {{5, 17, 42}, {1, 2, 3, 90, 8, 33}, {64}}, 0, 4);
    }
}

TEST(LlamaGenerate, LeftPaddedBatchEqualsPyTorchGenerate) {
    // make_llama_golden.py: HF's generate with an attention_mask (position_ids = cumsum(mask) − 1)
    // on prompts of 5, 2 and 4 tokens left-padded with 0, greedy, 8 tokens.
    for (const auto& [key, dir] : {std::pair{"llama", kLlamaDir}, std::pair{"qwen2", kQwen2Dir}}) {
        models::LlamaForCausalLM model = golden_model(dir);
        const Tensor prompt = golden().at(std::string(key) + ".padded_prompt");
        const Tensor mask = golden().at(std::string(key) + ".padded_mask");
        const auto expected = golden().at(std::string(key) + ".padded_greedy_ids").to_vector<std::int64_t>();
        for (bool use_cache : {true, false})
            EXPECT_EQ(models::generate(model, prompt, mask, {.max_new_tokens = 8, .use_cache = use_cache})
                          .to_vector<std::int64_t>(),
                      expected)
                << key << ", use_cache " << use_cache;
    }
}

TEST(LlamaGenerate, PaddedGenerationErrors) {
    models::LlamaForCausalLM model = golden_model(kLlamaDir);
    const Tensor ids = from_vector<std::int64_t>({1, 2, 3, 4, 5, 6}, {2, 3});
    EXPECT_THROW_MSG(models::generate(model, ids, from_vector<std::int64_t>({1, 1, 1, 1, 1, 0}, {2, 3})), ValueError,
                     "row 1 of the attention mask ends in padding");
    EXPECT_THROW_MSG(models::generate(model, ids, ones({2, 2}, DType::Int64)), ShapeError,
                     "attention mask must be [batch, positions] = [2, 3]");
    EXPECT_THROW_MSG(model.forward(ids, nullptr, Tensor(), zeros({2, 2}, DType::Int64)), ShapeError,
                     "position ids must be [batch, new positions] = [2, 3], got [2, 2]");
}
