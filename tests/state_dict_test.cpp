// StateDict: the ordered name → Tensor dictionary, built from an initializer list.
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;

TEST(StateDict, BuiltFromAnInitializerListKeepsItsOrder) {
    const Tensor w = ones({2, 3}), b = zeros({2}), r = full({1}, 5.0);
    StateDict sd{{"w", w}, {"b", b}, {"a.running", r}};
    EXPECT_EQ(sd.keys(), (std::vector<std::string>{"w", "b", "a.running"}));
    EXPECT_TRUE(sd.at("w").shares_storage(w));
    EXPECT_TRUE(sd.at("b").shares_storage(b));
    // Usable where a dict is expected, and empty braces still mean an empty dict.
    nn::Linear layer(3, 2);
    const nn::LoadReport report = layer.load_state_dict({{"weight", w}, {"bias", b}});
    EXPECT_TRUE(report.ok()) << report.to_string();
    EXPECT_EQ(layer.weight.to_vector<float>(), std::vector<float>(6, 1.0f));
    EXPECT_TRUE(StateDict{}.empty());
    EXPECT_THROW_MSG((StateDict{{"w", w}, {"w", b}}), ValueError, "duplicate name 'w'");
}
