// safetensors: valid files of every dtype read back exactly; every kind of malformed file is refused.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "modeconn/error.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {
namespace {

std::vector<unsigned char> raw_file(const std::string& header, const std::vector<unsigned char>& data,
                                    uint64_t claimed_len = UINT64_MAX) {
  const uint64_t n = claimed_len == UINT64_MAX ? header.size() : claimed_len;
  std::vector<unsigned char> out(8 + header.size() + data.size());
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<unsigned char>(n >> (8 * i));
  std::copy(header.begin(), header.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 8 + static_cast<std::ptrdiff_t>(header.size()));
  return out;
}

template <typename T>
std::vector<unsigned char> bytes_of(std::initializer_list<T> values) {
  std::vector<unsigned char> out(values.size() * sizeof(T));
  std::memcpy(out.data(), std::data(values), out.size());
  return out;
}

// The message of the input error parsing `bytes` throws (fails the test if it does not throw one).
std::string refusal(const std::vector<unsigned char>& bytes) {
  try {
    parse_safetensors(bytes, "m.safetensors");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_EQ(std::string(e.what()).rfind("m.safetensors: ", 0), 0u) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted a malformed file";
  return "";
}

TEST(Safetensors, RoundTripKeepsNamesShapesValuesAndMetadata) {
  TensorFile f;
  f.metadata = {{"modeconn.activation", "tanh"}, {"other", "x"}};
  f.tensors.push_back({"fc1.weight", {2, 3}, {1, -2, 3.5f, 0, 1e-30f, -7}});
  f.tensors.push_back({"fc1.bias", {2}, {0.25f, -0.5f}});
  f.tensors.push_back({"empty", {0, 4}, {}});
  const auto bytes = serialize_safetensors(f);
  const TensorFile g = parse_safetensors(bytes, "x");
  EXPECT_EQ(g.metadata, f.metadata);
  ASSERT_EQ(g.tensors.size(), 3u);
  for (const auto& t : f.tensors) {
    const NamedTensor* u = g.find(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(u->shape, t.shape);
    EXPECT_EQ(u->values, t.values);
  }
  // The header length keeps the data 8-byte aligned, as the format recommends.
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
}

TEST(Safetensors, ReadsF64F16AndBF16AsFloat32) {
  // F16 0x3C00 = 1, 0xC000 = -2, 0x0001 = 2^-24 (subnormal), 0x7C00 = inf; BF16 0x3FC0 = 1.5, 0xC020 = -2.5.
  std::vector<unsigned char> data = bytes_of<double>({0.1, -3.0});
  const auto f16 = bytes_of<uint16_t>({0x3C00, 0xC000, 0x0001, 0x7BFF});
  const auto bf16 = bytes_of<uint16_t>({0x3FC0, 0xC020});
  data.insert(data.end(), f16.begin(), f16.end());
  data.insert(data.end(), bf16.begin(), bf16.end());
  const std::string header = R"({"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
                             R"("h":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]},)"
                             R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]}})";
  const TensorFile f = parse_safetensors(raw_file(header, data), "x");
  EXPECT_EQ(f.find("d")->values, (std::vector<float>{0.1f, -3.0f}));
  EXPECT_EQ(f.find("h")->values, (std::vector<float>{1.0f, -2.0f, 0x1.0p-24f, 65504.0f}));
  EXPECT_EQ(f.find("h")->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(f.find("b")->values, (std::vector<float>{1.5f, -2.5f}));
}

TEST(Safetensors, RefusesTruncatedFiles) {
  EXPECT_NE(refusal({1, 2, 3}).find("truncated"), std::string::npos);
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  auto bytes = raw_file(header, bytes_of<float>({1, 2}));
  bytes.resize(bytes.size() - 3);  // data cut short
  EXPECT_NE(refusal(bytes).find("past the end"), std::string::npos);
  auto header_cut = raw_file(header, {});
  header_cut.resize(20);  // header cut short
  EXPECT_NE(refusal(header_cut).find("truncated"), std::string::npos);
}

TEST(Safetensors, RefusesAbsurdHeaderLength) {
  EXPECT_NE(refusal(raw_file("{}", {}, uint64_t{1} << 62)).find("is not a safetensors file"),
            std::string::npos);
  EXPECT_NE(
      refusal(raw_file("{}", {}, std::numeric_limits<uint64_t>::max() - 1)).find("is not a safetensors file"),
      std::string::npos);
}

TEST(Safetensors, RefusesOutOfRangeOffsets) {
  const auto data = bytes_of<float>({1, 2});
  EXPECT_NE(refusal(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data))
                .find("past the end"),
            std::string::npos);
  EXPECT_NE(
      refusal(raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", data)).find("end before"),
      std::string::npos);
  EXPECT_NE(refusal(raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", data))
                .find("non-negative"),
            std::string::npos);
}

TEST(Safetensors, RefusesOverlappingTensors) {
  const auto data = bytes_of<float>({1, 2, 3, 4});
  const std::string header = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  EXPECT_NE(refusal(raw_file(header, data)).find("overlap"), std::string::npos);
  // An empty tensor between them must not hide the overlap.
  const std::string hidden = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                             R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  EXPECT_NE(refusal(raw_file(hidden, data)).find("overlap"), std::string::npos);
}

TEST(Safetensors, RefusesWrongDtypeBytesShapeMismatchAndNegativeDims) {
  const auto data = bytes_of<float>({1, 2});
  EXPECT_NE(refusal(raw_file(R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", data))
                .find("unsupported dtype"),
            std::string::npos);
  EXPECT_NE(
      refusal(raw_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data)).find("needs 12"),
      std::string::npos);
  EXPECT_NE(
      refusal(raw_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data)).find("negative"),
      std::string::npos);
  EXPECT_NE(
      refusal(raw_file(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", data))
          .find("absurd"),
      std::string::npos);
}

TEST(Safetensors, RefusesBadJson) {
  EXPECT_NE(refusal(raw_file("{\"w\": [", {})).find("JSON"), std::string::npos);
  EXPECT_NE(refusal(raw_file("[1, 2]", {})).find("not a safetensors file (no JSON object"),
            std::string::npos);
  EXPECT_NE(refusal(raw_file(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", bytes_of<float>({1})))
                .find("missing dtype"),
            std::string::npos);
  EXPECT_NE(refusal(raw_file(R"({"__metadata__":{"k":3}})", {})).find("not a string"), std::string::npos);
}

TEST(Safetensors, RefusesDuplicateNamesAndDeepNesting) {
  // Two tensors of one name: a JSON parser would keep the last without a word.
  const auto data = bytes_of<float>({1, 2});
  EXPECT_NE(refusal(raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                             data))
                .find("key 'w' appears twice"),
            std::string::npos);
  // A header nested thousands of levels deep is refused, not walked.
  const std::string deep = "{\"__x\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_NE(refusal(raw_file(deep, {})).find("nests deeper than"), std::string::npos);
}

}  // namespace
}  // namespace modeconn
