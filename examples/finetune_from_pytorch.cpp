// finetune_from_pytorch — the C++ half of the PyTorch → graft → PyTorch round trip.
//
//   /usr/bin/python3 examples/pytorch/digits_mlp.py pretrain pt.safetensors      # PyTorch: digits 0-4
//   build/examples/finetune_from_pytorch pt.safetensors finetuned.safetensors   # graft: digits 5-9
//   /usr/bin/python3 examples/pytorch/digits_mlp.py evaluate finetuned.safetensors
//
// Loads a state_dict PyTorch exported (nn.Sequential(Linear(64,128), ReLU, Linear(128,64), ReLU,
// Linear(64,5)) — the same names as the graft Sequential below), puts a new head on it for digits
// 5-9, freezes the first layer, fine-tunes the rest on the first --shots images of each class
// (file order), evaluates on the remaining 5-9 images and saves the result, atomically, with the
// accuracy in the metadata so the Python side can check it measures the same.
#include <graft/graft.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

using namespace graft;

struct Args {
    std::string in, out;
    std::string data = GRAFT_EXAMPLES_DATA_DIR "/digits.csv.gz";
    std::int64_t shots = 10, epochs = 60;
};

void usage(const char* argv0) {
    std::printf("usage: %s PRETRAINED.safetensors OUT.safetensors [--data FILE] [--shots N] [--epochs N]\n"
                "Fine-tunes a PyTorch-pretrained digits MLP (0-4) on digits 5-9 and saves it for PyTorch.\n"
                "See examples/pytorch/digits_mlp.py and docs/pytorch-interop.md.\n",
                argv0);
}

int run(const Args& a) {
    nn::Sequential model{nn::Linear(64, 128), nn::ReLU(), nn::Linear(128, 64), nn::ReLU(), nn::Linear(64, 5)};
    const io::SafetensorsFile file = io::read_safetensors(a.in);
    const nn::LoadReport report = model.load_state_dict(file.tensors);
    std::printf("loaded %s: %s\n", a.in.c_str(), report.to_string().c_str());
    for (const auto& [k, v] : file.metadata) std::printf("  metadata %s = %s\n", k.c_str(), v.c_str());

    manual_seed(0);
    model.replace("4", nn::Linear(64, 5));  // a new head for digits 5-9
    model.freeze("0.*");  // the first layer keeps its PyTorch weights; the second adapts with the new head
    std::printf("%s", model.summary().c_str());

    // The split digits_mlp.py uses: the first `shots` images of each class 5-9 train, the rest validate.
    auto table = data::load_csv(a.data, {.header = false});
    std::vector<Tensor> tx, vx;
    std::vector<std::int64_t> ty, vy;
    std::int64_t seen[10] = {};
    for (std::size_t i = 0; i < table->size(); ++i) {
        const data::Example e = table->get(i);
        const auto y = e.target.item<std::int64_t>();
        if (y < 5) continue;
        const bool train = ++seen[y] <= a.shots;
        (train ? tx : vx).push_back(e.input / 16.0);
        (train ? ty : vy).push_back(y - 5);
    }
    auto train_set = std::make_shared<data::TensorDataset>(stack(tx), from_vector(ty, {static_cast<std::int64_t>(ty.size())}));
    auto val_set = std::make_shared<data::TensorDataset>(stack(vx), from_vector(vy, {static_cast<std::int64_t>(vy.size())}));
    data::DataLoader train_loader(train_set, {.batch_size = 10, .shuffle = true, .seed = 0});
    data::DataLoader val_loader(val_set, {.batch_size = 256});

    optim::Adam opt(model.trainable_parameters(), {.lr = 3e-3});
    train::Trainer trainer(model, opt, {.epochs = a.epochs, .monitor = "val_accuracy", .progress = train::Progress::Off});
    trainer.add_metric(std::make_shared<train::Accuracy>());
    const double before = trainer.evaluate(val_loader).at("accuracy");
    const auto r = trainer.fit(train_loader, &val_loader);
    const double after = r.history.back().at("val_accuracy");
    std::printf("digits 5-9, %zu training images: held-out accuracy %.3f with the untrained head, %.3f after "
                "%lld epochs (%.2f s)\n", ty.size(), before, after, static_cast<long long>(a.epochs), r.seconds);

    char acc[32];
    std::snprintf(acc, sizeof acc, "%.6f", after);
    io::save_safetensors(a.out, model.state_dict(),
                         {{"task", "UCI digits 5-9"}, {"val_accuracy", acc}, {"framework", "graft"}});
    std::printf("saved %s\n", a.out.c_str());
    return after > before ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::guarded_main("finetune_from_pytorch", [&] {
        Args a;
        std::vector<std::string> positional;
        examples::Cli cli(argc, argv);
        while (cli.next()) {
            if (cli.is_help()) {
                usage(argv[0]);
                return 0;
            } else if (cli.is("--data")) a.data = cli.value();
            else if (cli.is("--shots")) a.shots = cli.positive();
            else if (cli.is("--epochs")) a.epochs = cli.positive();
            else if (cli.is_option()) cli.unknown();
            else positional.push_back(cli.key());
        }
        if (positional.size() != 2) {
            usage(argv[0]);
            return 2;
        }
        a.in = positional[0];
        a.out = positional[1];
        return run(a);
    });
}
