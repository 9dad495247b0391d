// models::set_gradient_checkpointing: finds the block stacks of the transformer families in a model.
#include "graft/models/gradient_checkpointing.hpp"

#include <string>

#include "graft/error.hpp"
#include "graft/models/bert.hpp"
#include "graft/models/distilbert.hpp"
#include "graft/models/gpt2.hpp"
#include "graft/models/llama.hpp"

namespace graft::models {

namespace {

/// The flag of m when m is a block stack that can checkpoint its blocks, else nullptr.
bool* checkpointing_flag(nn::Module& m) {
    if (auto* gpt2 = dynamic_cast<GPT2Model*>(&m)) return &gpt2->gradient_checkpointing;
    if (auto* llama = dynamic_cast<LlamaModel*>(&m)) return &llama->gradient_checkpointing;
    if (auto* bert = dynamic_cast<BertEncoder*>(&m)) return &bert->gradient_checkpointing;
    if (auto* distil = dynamic_cast<DistilBertTransformer*>(&m)) return &distil->gradient_checkpointing;
    return nullptr;
}

}  // namespace

std::size_t set_gradient_checkpointing(nn::Module& model, bool enabled) {
    std::size_t set = 0;
    for (auto& [name, m] : model.named_modules()) {
        if (bool* flag = checkpointing_flag(*m)) {
            *flag = enabled;
            ++set;
        }
    }
    if (set == 0)
        throw ValueError("set_gradient_checkpointing: " + model.type_name() +
                         " holds no block stack that can checkpoint its blocks (GPT2Model, LlamaModel, BertEncoder, "
                         "DistilBERT's Transformer)");
    return set;
}

bool gradient_checkpointing_enabled(nn::Module& model) {
    for (auto& [name, m] : model.named_modules())
        if (const bool* flag = checkpointing_flag(*m); flag != nullptr && *flag) return true;
    return false;
}

}  // namespace graft::models
