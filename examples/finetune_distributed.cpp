// finetune_distributed — data-parallel fine-tuning on MPI (docs/distributed.md).
//
//   mpirun -np 2 build/examples/finetune_distributed --out finetuned.safetensors
//   (as root or with more ranks than cores, Open MPI wants --allow-run-as-root --oversubscribe)
//
// Every rank loads the PyTorch-pretrained digits MLP (examples/data, digits 0-4), puts a new head
// on it for digits 5-9 and freezes the first layer; DistributedDataParallel averages the
// gradients of the rest across ranks (the frozen layer is never sent), each rank reads its shard
// of every epoch through a DistributedSampler, and the Trainer averages the logged values over
// ranks. Rank 0 alone prints, logs and saves. The result equals one process training with the
// batch size times the number of ranks.
#include <graft/dist/collectives.hpp>
#include <graft/dist/environment.hpp>
#include <graft/dist/trainer.hpp>
#include <graft/graft.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

using namespace graft;

struct Args {
    std::string pretrained = GRAFT_EXAMPLES_DATA_DIR "/digits_mlp_0-4_pytorch.safetensors";
    std::string data = GRAFT_EXAMPLES_DATA_DIR "/digits.csv.gz";
    std::string out;
    std::int64_t epochs = 10, batch = 16;
};

void usage(const char* argv0) {
    std::printf("usage: mpirun -np N %s [--pretrained FILE] [--data FILE] [--epochs N] [--batch PER_RANK] [--out FILE]\n"
                "Fine-tunes the PyTorch-pretrained digits MLP (0-4) on digits 5-9 with N data-parallel ranks.\n",
                argv0);
}

int run(const Args& a) {
    const bool main_rank = dist::is_main_process();
    nn::Sequential model{nn::Linear(64, 128), nn::ReLU(), nn::Linear(128, 64), nn::ReLU(), nn::Linear(64, 5)};
    model.load_state_dict(io::load_safetensors(a.pretrained));
    model.replace("4", nn::Linear(64, 5));  // a new head for digits 5-9 (DDP broadcasts rank 0's)
    model.freeze("0.*");

    // Digits 5-9: every third image validates, the rest train.
    auto table = data::load_csv(a.data, {.header = false});
    std::vector<Tensor> tx, vx;
    std::vector<std::int64_t> ty, vy;
    for (std::size_t i = 0; i < table->size(); ++i) {
        const data::Example e = table->get(i);
        const auto y = e.target.item<std::int64_t>();
        if (y < 5) continue;
        const bool validate = i % 3 == 0;
        (validate ? vx : tx).push_back(e.input / 16.0);
        (validate ? vy : ty).push_back(y - 5);
    }
    auto train_set = std::make_shared<data::TensorDataset>(stack(tx), from_vector(ty, {static_cast<std::int64_t>(ty.size())}));
    auto val_set = std::make_shared<data::TensorDataset>(stack(vx), from_vector(vy, {static_cast<std::int64_t>(vy.size())}));
    const data::DistributedSampler shard{.num_replicas = static_cast<std::size_t>(dist::world_size()),
                                         .rank = static_cast<std::size_t>(dist::rank())};
    data::DataLoader train_loader(train_set, {.batch_size = static_cast<std::size_t>(a.batch), .shuffle = true,
                                              .seed = 0, .sampler = shard});
    data::DataLoader val_loader(val_set, {.batch_size = 256, .sampler = shard});

    dist::DistributedDataParallel ddp(model);
    optim::Adam opt(model.trainable_parameters(), {.lr = 3e-3});
    train::Trainer trainer(model, opt, {.epochs = a.epochs, .monitor = "val_accuracy", .progress = train::Progress::Lines,
                                        .distribution = dist::trainer_distribution(ddp)});
    trainer.add_metric(std::make_shared<train::Accuracy>());
    const double before = dist::all_reduce(trainer.evaluate(val_loader).at("accuracy"), dist::ReduceOp::Average);
    const auto r = trainer.fit(train_loader, &val_loader);
    const double after = r.history.back().at("val_accuracy");
    const auto& s = ddp.stats();
    if (main_rank) {
        std::printf("%d ranks × batch %lld, %zu training images: held-out accuracy %.3f before, %.3f after %lld "
                    "epochs (%.2f s)\n",
                    dist::world_size(), static_cast<long long>(a.batch), ty.size(), before, after,
                    static_cast<long long>(a.epochs), r.seconds);
        std::printf("all-reduce: %lld backwards, %.1f KB each, %.3f s in flight, %.3f s not overlapped\n",
                    static_cast<long long>(s.synchronized_backwards),
                    s.bytes_reduced / 1e3 / static_cast<double>(std::max<std::int64_t>(1, s.synchronized_backwards)),
                    s.allreduce_seconds, s.exposed_wait_seconds);
        if (!a.out.empty()) {
            io::save_safetensors(a.out, model.state_dict(), {{"task", "UCI digits 5-9"}, {"framework", "graft"}});
            std::printf("saved %s\n", a.out.c_str());
        }
    }
    return after > before ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    // Outside guarded_main: an error on one rank leaves the Environment by an exception, which
    // aborts every rank with its message instead of leaving them waiting.
    dist::Environment env(argc, argv);
    Args a;
    examples::Cli cli(argc, argv);
    while (cli.next()) {
        if (cli.is_help()) {
            if (dist::is_main_process()) usage(argv[0]);
            return 0;
        } else if (cli.is("--pretrained")) a.pretrained = cli.value();
        else if (cli.is("--data")) a.data = cli.value();
        else if (cli.is("--epochs")) a.epochs = cli.positive();
        else if (cli.is("--batch")) a.batch = cli.positive();
        else if (cli.is("--out")) a.out = cli.value();
        else cli.unknown();
    }
    return run(a);
}
