// models::set_gradient_checkpointing: GPT-2, BERT, DistilBERT and Llama give the same logits and
// gradients bit for bit with their blocks checkpointed (dropout on), and keep less for the backward.
#include <cstdint>
#include <string>
#include <vector>

#include "graft/autograd/saved_memory.hpp"
#include "graft/models/gradient_checkpointing.hpp"
#include "same_bits.hpp"
#include "test_util.hpp"

using namespace graft;
using graft::test::expect_same_bits;

namespace {

struct Step {
    Tensor logits;
    std::vector<std::pair<std::string, Tensor>> grads;
    std::size_t saved_bytes = 0;  // what the graph held between forward and backward
};

/// One training-mode forward (default generator seeded) and backward of Σ logits².
template <class Model, class Forward>
Step train_step(Model& model, Forward&& forward) {
    model.train();
    manual_seed(99);
    Step s;
    const std::size_t before = autograd::saved_tensor_bytes();
    s.logits = forward(model);
    const Tensor loss = sum(mul(s.logits, s.logits));
    s.saved_bytes = autograd::saved_tensor_bytes() - before;
    loss.backward();
    for (auto& [name, p] : model.named_parameters()) s.grads.emplace_back(name, p.grad());
    return s;
}

/// Builds the model twice from one seed, switches checkpointing on in the second (expecting
/// `stacks` block stacks), runs `prepare` (freezing) on both and compares one training step.
template <class Model, class Make, class Forward, class Prepare>
void expect_checkpointing_changes_nothing(Make&& make, Forward&& forward, std::size_t stacks, Prepare&& prepare) {
    manual_seed(1);
    Model plain = make();
    manual_seed(1);
    Model ckpt = make();
    EXPECT_EQ(models::set_gradient_checkpointing(ckpt, true), stacks);
    prepare(plain);
    prepare(ckpt);
    const Step a = train_step(plain, forward), b = train_step(ckpt, forward);
    expect_same_bits(a.logits, b.logits, "logits");
    ASSERT_EQ(a.grads.size(), b.grads.size());
    std::size_t with_grad = 0;
    for (std::size_t i = 0; i < a.grads.size(); ++i) {
        expect_same_bits(a.grads[i].second, b.grads[i].second, a.grads[i].first + ".grad");
        with_grad += a.grads[i].second.defined() ? 1 : 0;
    }
    EXPECT_GT(with_grad, 0u);
    EXPECT_LT(b.saved_bytes, a.saved_bytes) << "checkpointed blocks keep less for the backward";
}

Tensor ids(std::int64_t vocab, std::int64_t batch = 2, std::int64_t positions = 7) {
    Generator g(4);
    return randint(0, vocab, {batch, positions}, DType::Int64, &g);
}

models::GPT2Config gpt2_config() {
    models::GPT2Config c;
    c.vocab_size = 50;
    c.n_positions = 16;
    c.n_embd = 16;
    c.n_layer = 3;
    c.n_head = 2;
    return c;
}

TEST(ModelCheckpointing, Gpt2LogitsAndGradientsEqualBitForBit) {
    const Tensor x = ids(50);
    expect_checkpointing_changes_nothing<models::GPT2LMHead>(
        [] { return models::GPT2LMHead(gpt2_config()); }, [&](models::GPT2LMHead& m) { return m.forward(x); }, 1,
        [](models::GPT2LMHead&) {});
}

TEST(ModelCheckpointing, Gpt2WithFrozenEmbeddingsAndFirstBlock) {
    // Block 0 then gets an input that needs no grad and has nothing to train; block 1 gets an
    // input that needs no grad but trains its parameters.
    const Tensor x = ids(50);
    expect_checkpointing_changes_nothing<models::GPT2LMHead>(
        [] { return models::GPT2LMHead(gpt2_config()); }, [&](models::GPT2LMHead& m) { return m.forward(x); }, 1,
        [](models::GPT2LMHead& m) {
            m.freeze("transformer.wte.*");
            m.freeze("transformer.wpe.*");
            m.freeze("transformer.h.0.*");
        });
}

TEST(ModelCheckpointing, BertClassifierEqualsBitForBit) {
    models::BertConfig c;
    c.vocab_size = 40;
    c.hidden_size = 16;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.intermediate_size = 32;
    c.max_position_embeddings = 16;
    const Tensor x = ids(40);
    const Tensor mask = ones({2, 7}, DType::Int64);
    expect_checkpointing_changes_nothing<models::BertForSequenceClassification>(
        [&] { return models::BertForSequenceClassification(c); },
        [&](models::BertForSequenceClassification& m) { return m.forward(x, mask); }, 1,
        [](models::BertForSequenceClassification&) {});
}

TEST(ModelCheckpointing, DistilBertClassifierEqualsBitForBit) {
    models::DistilBertConfig c;
    c.vocab_size = 40;
    c.dim = 16;
    c.n_layers = 2;
    c.n_heads = 2;
    c.hidden_dim = 32;
    c.max_position_embeddings = 16;
    const Tensor x = ids(40);
    expect_checkpointing_changes_nothing<models::DistilBertForSequenceClassification>(
        [&] { return models::DistilBertForSequenceClassification(c); },
        [&](models::DistilBertForSequenceClassification& m) { return m.forward(x); }, 1,
        [](models::DistilBertForSequenceClassification&) {});
}

TEST(ModelCheckpointing, LlamaEqualsBitForBit) {
    models::LlamaConfig c;
    c.vocab_size = 40;
    c.hidden_size = 16;
    c.intermediate_size = 24;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    const Tensor x = ids(40);
    expect_checkpointing_changes_nothing<models::LlamaForCausalLM>(
        [&] { return models::LlamaForCausalLM(c); }, [&](models::LlamaForCausalLM& m) { return m.forward(x); }, 1,
        [](models::LlamaForCausalLM& m) { m.freeze("model.embed_tokens.*"); });
}

TEST(ModelCheckpointing, GenerationWithACacheIsUnaffected) {
    manual_seed(1);
    models::GPT2LMHead plain(gpt2_config());
    manual_seed(1);
    models::GPT2LMHead ckpt(gpt2_config());
    models::set_gradient_checkpointing(ckpt, true);
    plain.eval();
    ckpt.eval();
    const Tensor prompt = ids(50, 1, 3);
    expect_same_bits(models::generate(plain, prompt, {.max_new_tokens = 4}).to(DType::Float32),
                     models::generate(ckpt, prompt, {.max_new_tokens = 4}).to(DType::Float32), "generated ids");
}

TEST(ModelCheckpointing, AModelWithoutBlockStacksIsAValueError) {
    nn::Linear lin(3, 4);
    EXPECT_THROW_MSG(models::set_gradient_checkpointing(lin, true), ValueError, "no block stack");
}

}  // namespace
