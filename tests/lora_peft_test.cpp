// LoRA interoperability with PEFT: target_modules matched by PEFT's rule (names, one regex) and
// graft's globs, PEFT's default targets per family, adapter folders (adapter_config.json +
// adapter_model.safetensors) read as PEFT writes them and written as PEFT reads them, and
// modules_to_save.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.hpp"

using namespace graft;
using json = nlohmann::json;
using test::ScratchDir;

namespace {

const std::filesystem::path kGolden(GRAFT_TEST_DATA_DIR);

std::vector<float> floats(const Tensor& t) { return t.contiguous().to_vector<float>(); }

/// make_peft_adapter_golden.py's model: layers.{0,1}.{q_proj,k_proj,v_proj} Linear(6, 8), score
/// Linear(8, 3), with the golden's base weights.
std::shared_ptr<nn::ModuleDict> golden_model() {
    auto root = std::make_shared<nn::ModuleDict>();
    auto layers = root->insert("layers", nn::ModuleList());
    for (int i = 0; i < 2; ++i) {
        auto block = layers->push_back(nn::ModuleDict());
        for (const char* name : {"q_proj", "k_proj", "v_proj"}) block->insert(name, nn::Linear(6, 8));
    }
    root->insert("score", nn::Linear(8, 3));
    const StateDict golden = io::load_safetensors(kGolden / "peft_adapter_expected.safetensors");
    StateDict base;
    for (const auto& [name, t] : golden)
        if (name.starts_with("base.")) base.insert(name.substr(5), t);
    root->load_state_dict(base);
    return root;
}

const std::vector<std::string> kProjections{"layers.0.q_proj", "layers.0.k_proj", "layers.0.v_proj",
                                            "layers.1.q_proj", "layers.1.k_proj", "layers.1.v_proj"};

/// Each projection's output and the score head's, in eval mode, against the golden's.
void expect_golden_outputs(nn::Module& model) {
    const StateDict golden = io::load_safetensors(kGolden / "peft_adapter_expected.safetensors");
    model.eval();
    NoGradGuard guard;
    for (const auto& path : kProjections) {
        const Tensor got = model.submodule(path)->forward(golden.at("input"));
        const Tensor want = golden.at("out." + path);
        ASSERT_EQ(got.shape(), want.shape()) << path;
        const auto g = floats(got), w = floats(want);
        for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], w[i], 1e-5) << path << " [" << i << "]";
    }
    const auto g = floats(model.submodule("score")->forward(golden.at("score_input")));
    const auto w = floats(golden.at("score_output"));
    ASSERT_EQ(g.size(), w.size());
    for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], w[i], 1e-5) << "score [" << i << "]";
}

json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return json::parse(in);
}

void write_json(const std::filesystem::path& path, const json& j) { std::ofstream(path) << j.dump(2); }

/// A copy of the golden adapter folder with `edit` applied to its adapter_config.json.
template <class Edit>
std::filesystem::path edited_golden(const ScratchDir& dir, Edit&& edit) {
    const auto folder = dir.path("edited");
    std::filesystem::create_directories(folder);
    std::filesystem::copy_file(kGolden / "peft_adapter" / "adapter_model.safetensors",
                               folder / "adapter_model.safetensors",
                               std::filesystem::copy_options::overwrite_existing);
    json config = read_json(kGolden / "peft_adapter" / "adapter_config.json");
    edit(config);
    write_json(folder / "adapter_config.json", config);
    return folder;
}

}  // namespace

TEST(LoraPeft, NamesMatchAsPeftsTargetModulesListGlobsAsBefore) {
    EXPECT_TRUE(nn::lora_module_matches("q_proj", "q_proj"));
    EXPECT_TRUE(nn::lora_module_matches("q_proj", "model.layers.0.self_attn.q_proj"));
    EXPECT_TRUE(nn::lora_module_matches("attn.c_attn", "transformer.h.3.attn.c_attn"));
    EXPECT_FALSE(nn::lora_module_matches("proj", "model.layers.0.self_attn.q_proj"));  // a whole name only
    EXPECT_FALSE(nn::lora_module_matches("c_attn", "transformer.h.0.attn.c_attn_out"));
    EXPECT_FALSE(nn::lora_module_matches("layers.0", "layers.0.q_proj"));
    EXPECT_TRUE(nn::lora_module_matches("*.fc1", "encoder.fc1"));  // a glob over the whole path
    EXPECT_FALSE(nn::lora_module_matches("fc?", "encoder.fc1"));
    EXPECT_TRUE(nn::lora_module_matches("*.fc?", "encoder.fc1"));

    auto model = golden_model();
    EXPECT_EQ(nn::apply_lora(*model, {.r = 2, .alpha = 4, .target_modules = {"q_proj", "v_proj"}}),
              (std::vector<std::string>{"layers.0.q_proj", "layers.0.v_proj", "layers.1.q_proj", "layers.1.v_proj"}));
    auto globbed = golden_model();
    EXPECT_EQ(nn::apply_lora(*globbed, {.r = 2, .alpha = 4, .target_modules = {"layers.1.*"}}),
              (std::vector<std::string>{"layers.1.q_proj", "layers.1.k_proj", "layers.1.v_proj"}));
}

TEST(LoraPeft, StringTargetModulesIsAFullMatchRegex) {
    auto model = golden_model();
    EXPECT_EQ(nn::apply_lora(*model, {.r = 2, .alpha = 4, .target_regex = R"(layers\.0\.(q|k)_proj)"}),
              (std::vector<std::string>{"layers.0.q_proj", "layers.0.k_proj"}));
    // A full match, as re.fullmatch: "q_proj" alone matches no whole path.
    auto other = golden_model();
    EXPECT_THROW_MSG(nn::apply_lora(*other, {.r = 2, .alpha = 4, .target_regex = "q_proj"}), ValueError,
                     "target regex 'q_proj' selects no layer LoRA can wrap");
    EXPECT_THROW_MSG(nn::apply_lora(*other, {.r = 2, .alpha = 4, .target_regex = "(q_proj"}), ValueError,
                     "config.target_regex '(q_proj' is not a valid regular expression");
    EXPECT_THROW_MSG(
        nn::apply_lora(*other, {.r = 2, .alpha = 4, .target_modules = {"q_proj"}, .target_regex = ".*q_proj"}),
        ValueError, "target_modules and config.target_regex are both set");
    EXPECT_THROW_MSG(nn::apply_lora(*other, {.r = 2, .alpha = 4}), ValueError, "nn::default_lora_targets");
    EXPECT_TRUE(nn::lora_layers(*other).empty());
}

TEST(LoraPeft, DefaultTargetsPerFamilyArePefts) {
    const std::vector<std::string> qv{"q_proj", "v_proj"};
    EXPECT_EQ(nn::default_lora_targets("llama"), qv);
    EXPECT_EQ(nn::default_lora_targets("qwen2"), qv);
    EXPECT_EQ(nn::default_lora_targets("mistral"), qv);
    EXPECT_EQ(nn::default_lora_targets("bert"), (std::vector<std::string>{"query", "value"}));
    EXPECT_EQ(nn::default_lora_targets("gpt2"), (std::vector<std::string>{"c_attn"}));
    EXPECT_THROW_MSG(nn::default_lora_targets("t5x"), ValueError, "model_type 't5x' (known: bert, gemma, gpt2");
    auto model = golden_model();
    EXPECT_EQ(nn::apply_lora(*model, {.r = 2, .alpha = 4, .target_modules = nn::default_lora_targets("llama")}).size(),
              4u);
}

// tests/golden/make_peft_adapter_golden.py writes an adapter folder exactly as PEFT's
// save_pretrained does (every config key of PEFT 0.13, modules_to_save "score", SEQ_CLS).
TEST(LoraPeft, LoadsAPeftWrittenAdapterFolder) {
    auto model = golden_model();
    const nn::LoraConfig config = io::load_lora_adapter(kGolden / "peft_adapter", *model);
    EXPECT_EQ(config.r, 2);
    EXPECT_EQ(config.alpha, 8.0);
    EXPECT_EQ(config.dropout, 0.1);
    EXPECT_EQ(config.target_modules, (std::vector<std::string>{"v_proj", "q_proj"}));
    EXPECT_EQ(config.modules_to_save, (std::vector<std::string>{"score"}));
    EXPECT_EQ(config.task_type, "SEQ_CLS");
    EXPECT_EQ(config.base_model_name_or_path, "tiny-base");
    EXPECT_EQ(nn::lora_layers(*model).size(), 4u);
    expect_golden_outputs(*model);
    // The adapters and the modules_to_save head train; everything else is frozen.
    std::vector<std::string> trainable;
    for (const auto& [name, t] : model->named_parameters())
        if (t.requires_grad()) trainable.push_back(name);
    EXPECT_EQ(trainable, (std::vector<std::string>{"layers.0.q_proj.lora_A", "layers.0.q_proj.lora_B",
                                                   "layers.0.v_proj.lora_A", "layers.0.v_proj.lora_B",
                                                   "layers.1.q_proj.lora_A", "layers.1.q_proj.lora_B",
                                                   "layers.1.v_proj.lora_A", "layers.1.v_proj.lora_B",
                                                   "score.weight", "score.bias"}));
    // read_lora_adapter_config reads the same config without touching a model.
    EXPECT_EQ(io::read_lora_adapter_config(kGolden / "peft_adapter").modules_to_save, config.modules_to_save);
}

// What PEFT's LoraConfig.from_pretrained and load_peft_weights read from a folder graft wrote.
TEST(LoraPeft, SavedFolderHasPeftsLayoutAndLoadsBack) {
    ScratchDir dir("lora-peft");
    const auto folder = dir.path("adapter");
    auto model = golden_model();
    io::load_lora_adapter(kGolden / "peft_adapter", *model);  // non-zero adapters and a trained head
    const nn::LoraConfig config{.r = 2, .alpha = 8, .dropout = 0.1, .target_modules = {"v_proj", "q_proj"},
                                .modules_to_save = {"score"}, .task_type = "SEQ_CLS",
                                .base_model_name_or_path = "tiny-base"};
    io::save_lora_adapter(folder, *model, config);

    const json j = read_json(folder / "adapter_config.json");
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.at("peft_type"), "LORA");
    EXPECT_TRUE(j.at("r").is_number_integer());
    EXPECT_EQ(j.at("r"), 2);
    EXPECT_TRUE(j.at("lora_alpha").is_number());
    EXPECT_EQ(j.at("lora_alpha").get<double>(), 8.0);
    EXPECT_EQ(j.at("lora_dropout").get<double>(), 0.1);
    EXPECT_EQ(j.at("target_modules"), json({"v_proj", "q_proj"}));
    EXPECT_EQ(j.at("bias"), "none");
    EXPECT_EQ(j.at("fan_in_fan_out"), false);
    EXPECT_TRUE(j.at("inference_mode").is_boolean());
    EXPECT_EQ(j.at("modules_to_save"), json({"score"}));
    EXPECT_EQ(j.at("task_type"), "SEQ_CLS");
    EXPECT_EQ(j.at("base_model_name_or_path"), "tiny-base");
    EXPECT_EQ(j.at("use_dora"), false);
    EXPECT_EQ(j.at("rank_pattern"), json::object());
    EXPECT_EQ(j.at("alpha_pattern"), json::object());

    const io::SafetensorsFile weights = io::read_safetensors(folder / "adapter_model.safetensors");
    EXPECT_EQ(weights.metadata.at("format"), "pt");
    EXPECT_EQ(weights.tensors.keys(), io::read_safetensors(kGolden / "peft_adapter" / "adapter_model.safetensors")
                                          .tensors.keys());
    for (const auto& key : weights.tensors.keys()) EXPECT_TRUE(key.starts_with("base_model.model.")) << key;

    // Back into a fresh base model, from the folder alone.
    auto fresh = golden_model();
    const nn::LoraConfig loaded = io::load_lora_adapter(folder, *fresh);
    EXPECT_EQ(loaded.task_type, "SEQ_CLS");
    expect_golden_outputs(*fresh);
    // Saving again replaces both files.
    io::save_lora_adapter(folder, *fresh, loaded);
    EXPECT_EQ(read_json(folder / "adapter_config.json"), j);

    // A regex target is written as PEFT's string form and read back as one.
    auto regexed = golden_model();
    const nn::LoraConfig rc{.r = 2, .alpha = 4, .target_regex = R"(layers\.1\.q_proj)"};
    nn::apply_lora(*regexed, rc);
    io::save_lora_adapter(dir.path("regex"), *regexed, rc);
    EXPECT_EQ(read_json(dir.path("regex") / "adapter_config.json").at("target_modules"), R"(layers\.1\.q_proj)");
    auto back = golden_model();
    EXPECT_EQ(io::load_lora_adapter(dir.path("regex"), *back).target_regex, rc.target_regex);
    EXPECT_EQ(nn::lora_layers(*back).size(), 1u);
}

TEST(LoraPeft, GraftsSingleFileFormKeepsModulesToSave) {
    ScratchDir dir("lora-peft");
    auto model = golden_model();
    io::load_lora_adapter(kGolden / "peft_adapter", *model);
    const nn::LoraConfig config{.r = 2, .alpha = 8, .dropout = 0.1, .target_modules = {"v_proj", "q_proj"},
                                .modules_to_save = {"score"}};
    io::save_lora_adapter(dir.path("adapter.safetensors"), *model, config);
    auto fresh = golden_model();
    EXPECT_EQ(io::load_lora_adapter(dir.path("adapter.safetensors"), *fresh).modules_to_save, config.modules_to_save);
    expect_golden_outputs(*fresh);
}

TEST(LoraPeft, UnsupportedConfigIsAnErrorNamingKeyAndFile) {
    ScratchDir dir("lora-peft");
    const std::string folder_name = dir.path("edited").string();
    const auto expect_refused = [&](auto edit, const std::string& needle) {
        const auto folder = edited_golden(dir, edit);
        auto model = golden_model();
        EXPECT_THROW_MSG(io::load_lora_adapter(folder, *model), ValueError, needle);
        EXPECT_THROW_MSG(io::load_lora_adapter(folder, *model), ValueError, folder_name);
        EXPECT_TRUE(nn::lora_layers(*model).empty());
    };
    expect_refused([](json& j) { j["use_dora"] = true; }, "'use_dora' is true, expected false");
    expect_refused([](json& j) { j["use_rslora"] = true; }, "'use_rslora' is true");
    expect_refused([](json& j) { j["rank_pattern"] = {{"q_proj", 4}}; }, "'rank_pattern' is {\"q_proj\":4}");
    expect_refused([](json& j) { j["alpha_pattern"] = {{"q_proj", 4}}; }, "'alpha_pattern'");
    expect_refused([](json& j) { j["bias"] = "all"; }, "'bias' is \"all\", expected \"none\"");
    expect_refused([](json& j) { j["layers_to_transform"] = {0}; }, "'layers_to_transform' is [0]");
    expect_refused([](json& j) { j["peft_type"] = "IA3"; }, "'peft_type' is \"IA3\", expected \"LORA\"");
    expect_refused([](json& j) { j.erase("r"); }, "'r' is missing, expected a positive integer");
    expect_refused([](json& j) { j["lora_alpha"] = "8"; }, "'lora_alpha' is \"8\", expected a number");
    expect_refused([](json& j) { j["target_modules"] = {"q_proj", 3}; }, "'target_modules' is [\"q_proj\",3]");
    expect_refused([](json& j) { j["modules_to_save"] = {"head"}; }, "modules_to_save entry 'head' selects no module");
}

TEST(LoraPeft, AdapterFolderProblemsAreListedBeforeAnythingLoads) {
    ScratchDir dir("lora-peft");
    // The modules_to_save tensors are checked like the adapters: a head of another size.
    auto model = golden_model();
    model->replace_child("score", std::make_shared<nn::Linear>(8, 5));
    EXPECT_THROW_MSG(io::load_lora_adapter(kGolden / "peft_adapter", *model), ValueError,
                     "tensor 'base_model.model.score.weight' has shape [3, 8], the model's is [5, 8]");
    EXPECT_TRUE(nn::lora_layers(*model).empty());
    // Without its modules_to_save entry in the config, the head's tensors are unexpected.
    const auto folder = edited_golden(dir, [](json& j) { j["modules_to_save"] = nullptr; });
    auto plain = golden_model();
    EXPECT_THROW_MSG(io::load_lora_adapter(folder, *plain), ValueError, "unexpected tensor 'base_model.model.score.bias'");
    // A folder with only PEFT's pickle format.
    const auto pickled = dir.path("pickled");
    std::filesystem::create_directories(pickled);
    std::filesystem::copy_file(kGolden / "peft_adapter" / "adapter_config.json", pickled / "adapter_config.json");
    std::ofstream(pickled / "adapter_model.bin") << "not read";
    EXPECT_THROW_MSG(io::load_lora_adapter(pickled, *plain), IOError, "holds adapter_model.bin (a pickle)");
    // A module both adapted and saved whole.
    auto both = golden_model();
    EXPECT_THROW_MSG(nn::apply_lora(*both, {.r = 2, .alpha = 4, .target_modules = {"q_proj"}, .modules_to_save = {"layers.0"}}),
                     ValueError, "module 'layers.0' is in modules_to_save and contains the LoRA target 'layers.0.q_proj'");
    EXPECT_TRUE(nn::lora_layers(*both).empty());
}
