// A data-parallel training loop in which rank 1 fails at step 3, for the fault tests that CTest
// runs under mpirun (tests/CMakeLists.txt): the other ranks must stop, with a clear message, in
// bounded time rather than wait forever in the all-reduce.
//   dist_fault throw    rank 1 throws out of main: the terminate handler aborts the job
//   dist_fault caught   rank 1 catches its error and leaves the loop: the others' all-reduce
//                       times out (2 s) with a DistError that aborts the job
//   dist_fault exit     rank 1 exits at once with status 3: mpirun ends the others
//   dist_fault kill     rank 1 is killed (SIGKILL): mpirun ends the others
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "graft/dist/ddp.hpp"
#include "graft/dist/environment.hpp"
#include "graft/graft.hpp"

using namespace graft;

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "throw";
    dist::Environment env(argc, argv, {.timeout_seconds = 2.0});
    manual_seed(1);
    nn::Sequential model(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
    dist::DistributedDataParallel ddp(model);
    optim::SGD opt(model.trainable_parameters(), {.lr = 0.1});
    try {
        for (int step = 0; step < 1000; ++step) {
            if (dist::rank() == 1 && step == 3) {
                if (mode == "exit") std::_Exit(3);
                if (mode == "kill") std::raise(SIGKILL);
                throw ValueError("step 3: a bad batch on rank 1");
            }
            Tensor x = randn({2, 4});
            Tensor y = zeros({2}, DType::Int64);
            opt.zero_grad();
            nn::functional::cross_entropy(ddp.forward(x), y).backward();
            opt.step();
        }
    } catch (const ValueError& e) {
        if (mode != "caught") throw;
        std::cerr << "rank 1 caught: " << e.what() << "\n";
        return 0;
    }
    return 0;
}
