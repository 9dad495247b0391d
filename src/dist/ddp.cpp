// DistributedDataParallel: bucketed, overlapped gradient averaging (graft/dist/ddp.hpp).
#include "graft/dist/ddp.hpp"

#include <chrono>
#include <cstring>
#include <string>

#include "dist/mpi_call.hpp"
#include "graft/autograd.hpp"
#include "graft/dist/collectives.hpp"

namespace graft::dist {

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

struct DistributedDataParallel::Bucket {
    std::vector<std::size_t> params;  // indices into params_
    std::vector<float> flat;          // the gradients, concatenated, while reduced
    std::size_t waiting = 0;          // gradients of this backward not yet in
    bool ready = false;               // all in (or the backward ended)
    bool in_flight = false;
    bool done = false;
    MPI_Request request = MPI_REQUEST_NULL;
    std::chrono::steady_clock::time_point started;
    std::string what;  // names the bucket in errors
};

DistributedDataParallel::DistributedDataParallel(nn::Module& module, DDPOptions options)
    : module_(&module), options_(options) {
    detail::communicator("DistributedDataParallel");
    if (options_.bucket_cap_bytes == 0)
        throw ValueError("DistributedDataParallel: bucket_cap_bytes must be positive, got 0");
    for (auto& [name, p] : module.named_parameters())
        if (p.requires_grad()) {
            if (p.dtype() != DType::Float32)
                throw DTypeError("DistributedDataParallel: trainable parameter '" + name + "' is " +
                                 dtype_name(p.dtype()) + "; only float32 parameters are supported");
            params_.emplace_back(name, p);
        }
    check_same_across_ranks(params_, "DistributedDataParallel");
    if (options_.broadcast_parameters) broadcast_parameters(module, 0);

    // Buckets in reverse registration order: the last layers' gradients are ready first.
    std::size_t bytes = 0;
    for (std::size_t i = params_.size(); i-- > 0;) {
        const std::size_t size = static_cast<std::size_t>(params_[i].second.numel()) * sizeof(float);
        if (buckets_.empty() || (bytes + size > options_.bucket_cap_bytes && bytes > 0)) {
            buckets_.push_back(std::make_unique<Bucket>());
            bytes = 0;
        }
        buckets_.back()->params.push_back(i);
        bytes += size;
    }
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
        Bucket& bucket = *buckets_[b];
        std::size_t total = 0;
        for (std::size_t i : bucket.params) total += static_cast<std::size_t>(params_[i].second.numel());
        bucket.flat.resize(total);
        bucket.waiting = bucket.params.size();
        bucket.what = "DistributedDataParallel: all-reduce of bucket " + std::to_string(b) + " (" +
                      std::to_string(bucket.params.size()) + " parameters from '" + params_[bucket.params.front()].first +
                      "', " + std::to_string(total) + " floats)";
        for (std::size_t i : bucket.params)
            hook_ids_.push_back(
                autograd::add_post_accumulate_grad_hook(params_[i].second, [this, b] { on_gradient_ready(b); }));
    }
}

DistributedDataParallel::~DistributedDataParallel() {
    std::size_t k = 0;
    for (auto& bucket : buckets_)
        for (std::size_t i : bucket->params) autograd::remove_post_accumulate_grad_hook(params_[i].second, hook_ids_[k++]);
    // A bucket still in flight (its backward threw) is left to MPI, which may yet write into its
    // buffer: it is leaked rather than freed under MPI's feet (the job is ending anyway).
    for (auto& bucket : buckets_)
        if (bucket->in_flight && !bucket->done) static_cast<void>(bucket.release());
}

std::vector<std::vector<std::string>> DistributedDataParallel::bucket_parameter_names() const {
    std::vector<std::vector<std::string>> names;
    for (const auto& bucket : buckets_) {
        names.emplace_back();
        for (std::size_t i : bucket->params) names.back().push_back(params_[i].first);
    }
    return names;
}

namespace {
/// Owned by the end-of-backward callback: when a backward that threw drops the callback unrun,
/// marks the wrapper broken (its buckets are half counted, some maybe in flight).
class BackwardTicket {
public:
    explicit BackwardTicket(bool& broken) : broken_(&broken) {}
    ~BackwardTicket() {
        if (!finished) *broken_ = true;
    }
    BackwardTicket(const BackwardTicket&) = delete;
    BackwardTicket& operator=(const BackwardTicket&) = delete;
    bool finished = false;

private:
    bool* broken_;
};
}  // namespace

void DistributedDataParallel::on_gradient_ready(std::size_t b) {
    if (!sync_enabled_) return;
    if (broken_)
        throw DistError("DistributedDataParallel: an earlier backward failed midway, leaving the ranks' all-reduces "
                        "out of step; this wrapper cannot synchronize any more");
    if (!in_backward_) {
        in_backward_ = true;
        auto ticket = std::make_shared<BackwardTicket>(broken_);
        autograd::queue_callback([this, ticket] {
            finish_backward();
            ticket->finished = true;
        });
    }
    Bucket& bucket = *buckets_[b];
    if (bucket.waiting > 0 && --bucket.waiting == 0) bucket.ready = true;
    start_ready_buckets();
    poll();
}

void DistributedDataParallel::start_ready_buckets() {
    // Buckets start in index order on every rank, as MPI's collective ordering requires.
    while (next_to_start_ < buckets_.size() && buckets_[next_to_start_]->ready) start(*buckets_[next_to_start_++]);
}

void DistributedDataParallel::start(Bucket& bucket) {
    std::size_t offset = 0;
    for (std::size_t i : bucket.params) {
        const Tensor& p = params_[i].second;
        const auto n = static_cast<std::size_t>(p.numel());
        const Tensor g = p.grad();
        if (g.defined()) {
            const Tensor contiguous = g.is_contiguous() ? g : g.contiguous();
            std::memcpy(bucket.flat.data() + offset, contiguous.data_ptr<float>(), n * sizeof(float));
        } else {
            std::memset(bucket.flat.data() + offset, 0, n * sizeof(float));  // not reached by this backward
        }
        offset += n;
    }
    bucket.started = std::chrono::steady_clock::now();
    detail::check(MPI_Iallreduce(MPI_IN_PLACE, bucket.flat.data(), static_cast<int>(bucket.flat.size()), MPI_FLOAT,
                                 MPI_SUM, detail::communicator("DistributedDataParallel"), &bucket.request),
                  bucket.what);
    bucket.in_flight = true;
}

void DistributedDataParallel::poll() {
    for (auto& bucket : buckets_)
        if (bucket->in_flight && !bucket->done && detail::test(bucket->request, bucket->what)) {
            bucket->done = true;
            stats_.allreduce_seconds += seconds_since(bucket->started);
        }
}

void DistributedDataParallel::finish_backward() {
    in_backward_ = false;
    for (auto& bucket : buckets_) bucket->ready = true;
    start_ready_buckets();
    const auto wait_start = std::chrono::steady_clock::now();
    for (auto& bucket : buckets_)
        if (!bucket->done) {
            detail::wait(bucket->request, bucket->what);
            bucket->done = true;
            stats_.allreduce_seconds += seconds_since(bucket->started);
        }
    stats_.exposed_wait_seconds += seconds_since(wait_start);

    // Each .grad becomes the mean over ranks.
    const float scale = 1.0f / static_cast<float>(world_size());
    NoGradGuard no_grad;
    for (auto& bucket : buckets_) {
        std::size_t offset = 0;
        for (std::size_t i : bucket->params) {
            Tensor& p = params_[i].second;
            const auto n = static_cast<std::size_t>(p.numel());
            Tensor g = p.grad();
            if (!g.defined() || !g.is_contiguous()) {
                g = zeros(p.shape());
                p.set_grad(g);
            }
            float* out = g.data_ptr<float>();
            const float* in = bucket->flat.data() + offset;
            for (std::size_t k = 0; k < n; ++k) out[k] = in[k] * scale;
            g.storage()->bump_version();
            offset += n;
        }
        bucket->waiting = bucket->params.size();
        bucket->ready = bucket->in_flight = bucket->done = false;
        stats_.bytes_reduced += static_cast<double>(bucket->flat.size() * sizeof(float));
        ++stats_.buckets_reduced;
    }
    next_to_start_ = 0;
    ++stats_.synchronized_backwards;
}

}  // namespace graft::dist
