// graft/data/image_folder.hpp — a folder of image files, one subfolder per class (torchvision's
// ImageFolder layout).
//
//   root/cat/001.png  root/cat/x.jpg  root/dog/a.JPEG  …
//   auto train = std::make_shared<data::ImageFolder>("root",
//       data::Compose{data::RandomResizedCrop(64), data::RandomHorizontalFlip(), data::Normalize::imagenet()},
//       /*seed=*/1);
//   train->classes();                  // {"cat", "dog"}: sorted, index = label
//   data::DataLoader loader(train, {.batch_size = 32, .shuffle = true});
//
// The class folders are the root's subfolders, sorted by name (byte order, as Python sorts); a
// sample is every file under a class folder (subfolders included, symbolic links followed) whose
// extension is .png, .jpg or .jpeg in any case, sorted by path, with its class index as target.
// Files are decoded when a sample is asked for (read_image: float32 [3, H, W] in [0, 1], what
// torchvision's ToTensor gives), so the DataLoader's threads decode in parallel, then the
// transform is applied with a generator seeded as TransformedDataset seeds it: the same
// (seed, epoch, index) always gives the same sample.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "graft/data/dataset.hpp"
#include "graft/data/transformed_dataset.hpp"

namespace graft::data {

class ImageFolder final : public Dataset {
public:
    /// Lists the files now (decoding waits for get). IOError naming the folder when the root is not
    /// a readable folder, has no class subfolder, or a class folder holds no image file (its name
    /// and the extensions looked for are in the message). `transform` may be empty (the decoded
    /// image as it is).
    explicit ImageFolder(const std::filesystem::path& root, Transform transform = {}, std::uint64_t seed = 0);

    std::size_t size() const override { return samples_.size(); }
    /// Sample `index` in epoch 0 (IOError naming the file when it cannot be decoded).
    Example get(std::size_t index) const override { return get_in_epoch(index, 0); }
    Example get_in_epoch(std::size_t index, std::uint64_t epoch) const override;

    /// The class names, sorted: classes()[label] is the folder of label.
    const std::vector<std::string>& classes() const { return classes_; }
    /// Class name → label.
    const std::map<std::string, std::int64_t>& class_to_idx() const { return class_to_idx_; }
    /// Every sample's (path, label), in sample order.
    const std::vector<std::pair<std::filesystem::path, std::int64_t>>& samples() const { return samples_; }
    /// Every sample's label, in sample order.
    std::vector<std::int64_t> targets() const;

private:
    std::vector<std::string> classes_;
    std::map<std::string, std::int64_t> class_to_idx_;
    std::vector<std::pair<std::filesystem::path, std::int64_t>> samples_;
    Transform transform_;
    std::uint64_t seed_;
};

}  // namespace graft::data
