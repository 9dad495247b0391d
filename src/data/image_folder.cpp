// ImageFolder: listing the class folders and their image files once, decoding one file per get.
#include "graft/data/image_folder.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>

#include "graft/data/image_file.hpp"
#include "io/printable.hpp"

namespace graft::data {

namespace {

bool has_image_extension(const std::filesystem::path& path) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

}  // namespace

ImageFolder::ImageFolder(const std::filesystem::path& root, Transform transform, std::uint64_t seed)
    : transform_(std::move(transform)), seed_(seed) {
    namespace fs = std::filesystem;
    const std::string where = "ImageFolder: " + io::detail::quote(root.string());
    std::error_code ec;
    if (!fs::is_directory(root, ec)) throw IOError(where + " is not a folder");
    fs::directory_iterator it(root, ec);
    if (ec) throw IOError(where + ": cannot list it: " + ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) throw IOError(where + ": listing failed: " + ec.message());
        if (it->is_directory(ec)) classes_.push_back(it->path().filename().string());
    }
    if (classes_.empty())
        throw IOError(where + " has no class folders (expected root/<class>/<image>.png|jpg|jpeg)");
    std::sort(classes_.begin(), classes_.end());
    for (std::size_t label = 0; label < classes_.size(); ++label) {
        const std::string& name = classes_[label];
        class_to_idx_[name] = static_cast<std::int64_t>(label);
        std::vector<fs::path> files;
        fs::recursive_directory_iterator walk(root / name, fs::directory_options::follow_directory_symlink, ec);
        for (; !ec && walk != fs::recursive_directory_iterator(); walk.increment(ec))
            if (walk->is_regular_file(ec) && has_image_extension(walk->path())) files.push_back(walk->path());
        if (ec) throw IOError(where + ": listing class folder " + io::detail::quote(name) + " failed: " + ec.message());
        if (files.empty())
            throw IOError(where + ": class folder " + io::detail::quote(name) +
                          " holds no image file (.png, .jpg, .jpeg in any case)");
        std::sort(files.begin(), files.end());
        for (auto& file : files) samples_.emplace_back(std::move(file), static_cast<std::int64_t>(label));
    }
}

Example ImageFolder::get_in_epoch(std::size_t index, std::uint64_t epoch) const {
    check_index(index, samples_.size(), "ImageFolder::get");
    const auto& [path, label] = samples_[index];
    Example sample{read_image(path), scalar_tensor(static_cast<double>(label), DType::Int64)};
    if (!transform_) return sample;
    Generator gen(derive_seed(seed_, {epoch, static_cast<std::uint64_t>(index)}));
    return transform_(std::move(sample), gen);
}

std::vector<std::int64_t> ImageFolder::targets() const {
    std::vector<std::int64_t> labels;
    labels.reserve(samples_.size());
    for (const auto& sample : samples_) labels.push_back(sample.second);
    return labels;
}

}  // namespace graft::data
