// .npy: every supported dtype round-trips; numpy's own header layouts parse; bad files are refused.
#include "modeconn/npy.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "modeconn/error.hpp"

namespace modeconn {
namespace {

std::vector<unsigned char> npy_bytes(const std::string& header, const std::vector<unsigned char>& data,
                                     int version = 1) {
  std::vector<unsigned char> out{0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(version), 0};
  const std::size_t n = header.size();
  out.push_back(static_cast<unsigned char>(n & 0xFF));
  out.push_back(static_cast<unsigned char>(n >> 8));
  if (version >= 2) {
    out.push_back(0);
    out.push_back(0);
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string refusal(const std::vector<unsigned char>& bytes) {
  try {
    parse_npy(bytes, "x.npy");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_EQ(std::string(e.what()).rfind("x.npy: ", 0), 0u) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted a malformed .npy";
  return "";
}

TEST(Npy, RoundTripsEveryDtype) {
  for (NpyType type : {NpyType::f32, NpyType::f64, NpyType::u8, NpyType::i32, NpyType::i64}) {
    NpyArray a{type, {2, 3}, {}};
    const std::size_t isz = type == NpyType::u8 ? 1 : (type == NpyType::f64 || type == NpyType::i64) ? 8 : 4;
    for (std::size_t i = 0; i < 6 * isz; ++i) a.data.push_back(static_cast<unsigned char>(i * 7 + 1));
    const auto bytes = serialize_npy(a);
    EXPECT_EQ((10 + (bytes[8] | (bytes[9] << 8))) % 64, 0) << "numpy aligns the data to 64 bytes";
    const NpyArray b = parse_npy(bytes, "x.npy");
    EXPECT_EQ(b.type, type);
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.data, a.data);
  }
}

TEST(Npy, ParsesNumpyHeadersAndConvertsValues) {
  // Exactly what numpy 1.x writes for np.array([[1.5, -2], [3, 4]], dtype='<f8'), padding included.
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
  header += std::string(128 - 10 - header.size() - 1, ' ') + "\n";
  std::vector<unsigned char> data(32);
  const double v[] = {1.5, -2, 3, 4};
  std::memcpy(data.data(), v, 32);
  const NpyArray a = parse_npy(npy_bytes(header, data), "x.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(a.to_float(), (std::vector<float>{1.5f, -2, 3, 4}));

  const NpyArray labels = parse_npy(
      npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }\n", {7, 0, 255}, 2), "y.npy");
  EXPECT_EQ(labels.to_int64(), (std::vector<int64_t>{7, 0, 255}));
  const NpyArray scalar = parse_npy(npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (), }\n",
                                              std::vector<unsigned char>(8, 0)),
                                    "s.npy");
  EXPECT_EQ(scalar.size(), 1);
}

TEST(Npy, RefusesMalformedFiles) {
  const std::vector<unsigned char> four(4, 0);
  EXPECT_NE(refusal({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0}).find("bad magic"), std::string::npos);
  EXPECT_NE(
      refusal(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", four)).find("Fortran"),
      std::string::npos);
  EXPECT_NE(refusal(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", four))
                .find("big-endian"),
            std::string::npos);
  EXPECT_NE(refusal(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", four))
                .find("unsupported dtype"),
            std::string::npos);
  EXPECT_NE(refusal(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", four))
                .find("data is 4 bytes"),
            std::string::npos);
  EXPECT_NE(
      refusal(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", four)).find("negative"),
      std::string::npos);
  EXPECT_NE(refusal(npy_bytes("{'descr': '<f4', 'shape': (1,), }", four)).find("missing"), std::string::npos);
  EXPECT_NE(
      refusal(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", four)).find("malformed"),
      std::string::npos);
  EXPECT_NE(
      refusal(
          npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", four))
          .find("absurdly large"),
      std::string::npos);
  // Shapes whose byte count wraps around to the bytes there are, or whose rows would overflow, are refused
  // too.
  EXPECT_NE(
      refusal(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,), }", {}))
          .find("needs more"),
      std::string::npos);
  EXPECT_NE(
      refusal(
          npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }", {}))
          .find("absurdly large"),
      std::string::npos);
  auto truncated = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", four);
  truncated[8] = 0xFF;  // header longer than the file
  EXPECT_NE(refusal(truncated).find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace modeconn
