// data::ImageFolder: torchvision's layout (sorted classes, class_to_idx, extensions in any case,
// nested files), lazy decoding with a seeded transform, batches through the DataLoader, errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "graft/graft.hpp"
#include "test_util.hpp"

using namespace graft;
namespace fs = std::filesystem;

namespace {

/// A w×h solid image of gray level `v` (in [0, 1]).
void write_solid(const fs::path& path, std::int64_t h, std::int64_t w, float v) {
    fs::create_directories(path.parent_path());
    data::write_png(path, full({3, h, w}, v));
}

}  // namespace

TEST(ImageFolder, ListsSortedClassesAndImageFilesLikeTorchvision) {
    test::ScratchDir dir("image-folder");
    const fs::path root = dir.dir();
    write_solid(root / "dog" / "b.png", 4, 5, 0.2f);
    write_solid(root / "dog" / "a.PNG", 6, 3, 0.4f);
    write_solid(root / "cat" / "nested" / "z.png", 5, 5, 0.6f);
    fs::copy_file(fs::path(GRAFT_TEST_DATA_DIR) / "images" / "rgb.jpg", root / "cat" / "x.JPEG");
    std::ofstream(root / "cat" / "notes.txt") << "not an image";
    std::ofstream(root / "stray.png") << "files at the root are not samples";

    const data::ImageFolder folder(root);
    EXPECT_EQ(folder.classes(), (std::vector<std::string>{"cat", "dog"}));
    EXPECT_EQ(folder.class_to_idx().at("dog"), 1);
    ASSERT_EQ(folder.size(), 4u);
    EXPECT_EQ(folder.samples()[0].first, root / "cat" / "nested" / "z.png");
    EXPECT_EQ(folder.samples()[1].first, root / "cat" / "x.JPEG");
    EXPECT_EQ(folder.samples()[2].first, root / "dog" / "a.PNG");
    EXPECT_EQ(folder.targets(), (std::vector<std::int64_t>{0, 0, 1, 1}));

    const data::Example ex = folder.get(2);
    EXPECT_EQ(ex.input.shape(), (Shape{3, 6, 3}));
    EXPECT_NEAR(ex.input.mean().item<float>(), 0.4f, 0.5f / 255);
    EXPECT_EQ(ex.target.dtype(), DType::Int64);
    EXPECT_EQ(ex.target.item<std::int64_t>(), 1);
    EXPECT_EQ(folder.get(1).input.shape(), (Shape{3, 9, 13}));
    EXPECT_THROW(folder.get(4), IndexError);
}

TEST(ImageFolder, TransformsPerEpochAndBatchesThroughTheDataLoader) {
    test::ScratchDir dir("image-folder-loader");
    for (int i = 0; i < 6; ++i) write_solid(dir.dir() / (i % 2 ? "b" : "a") / (std::to_string(i) + ".png"), 7 + i, 9, 0.1f * static_cast<float>(i));
    auto folder = std::make_shared<data::ImageFolder>(
        dir.dir(), data::Compose{data::RandomResizedCrop(4), data::Normalize::imagenet()}, /*seed=*/3);
    const data::Example e0 = folder->get_in_epoch(0, 0);
    EXPECT_EQ(e0.input.shape(), (Shape{3, 4, 4}));
    EXPECT_EQ(e0.input.to_vector<float>(), folder->get_in_epoch(0, 0).input.to_vector<float>());
    data::DataLoader loader(folder, {.batch_size = 4, .shuffle = true, .seed = 1});
    std::size_t seen = 0;
    for (const auto& [xb, yb] : loader) {
        EXPECT_EQ(xb.size(1), 3);
        EXPECT_EQ(xb.size(2), 4);
        seen += static_cast<std::size_t>(yb.size(0));
    }
    EXPECT_EQ(seen, 6u);
}

TEST(ImageFolder, ClearErrorsForEmptyClassesMissingRootsAndBadFiles) {
    test::ScratchDir dir("image-folder-errors");
    const auto message = [](const fs::path& root) -> std::string {
        try {
            data::ImageFolder folder(root);
        } catch (const IOError& e) {
            return e.what();
        }
        return "no IOError";
    };
    EXPECT_NE(message(dir.path("missing")).find("is not a folder"), std::string::npos);
    EXPECT_NE(message(dir.dir()).find("has no class folders"), std::string::npos);
    write_solid(dir.dir() / "a" / "1.png", 2, 2, 0.5f);
    fs::create_directories(dir.dir() / "b");
    std::ofstream(dir.dir() / "b" / "readme.txt") << "x";
    const std::string empty_class = message(dir.dir());
    EXPECT_NE(empty_class.find("class folder 'b' holds no image file (.png, .jpg, .jpeg in any case)"),
              std::string::npos)
        << empty_class;
    std::ofstream(dir.dir() / "b" / "broken.jpg") << "not a jpeg";
    const data::ImageFolder folder(dir.dir());
    try {
        folder.get(1);
        ADD_FAILURE() << "no error for a broken file";
    } catch (const IOError& e) {
        EXPECT_NE(std::string(e.what()).find("broken.jpg"), std::string::npos) << e.what();
    }
}
