// Data sets: .npy folders and MNIST IDX folders (plain and gzip) load; mismatched files are refused by name.
#include "modeconn/dataset.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <fstream>

#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/npy.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

using test::TempDir;

void write_npy_folder(const TempDir& dir, int64_t n_train, int64_t n_test, int64_t d) {
  std::vector<float> x(static_cast<std::size_t>(n_train * d));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.5f;
  write_npy(make_npy(x, {n_train, d}), dir.file("x_train.npy"));
  std::vector<int32_t> y(static_cast<std::size_t>(n_train));
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int32_t>(i % 3);
  write_npy(make_npy(y, {n_train}), dir.file("y_train.npy"));
  write_npy(make_npy(std::vector<float>(static_cast<std::size_t>(n_test * d), 1.f), {n_test, d}),
            dir.file("x_test.npy"));
  write_npy(make_npy(std::vector<int32_t>(static_cast<std::size_t>(n_test), 2), {n_test}),
            dir.file("y_test.npy"));
}

std::vector<unsigned char> idx(const std::vector<uint32_t>& shape, const std::vector<unsigned char>& values,
                               int ndim_override = -1) {
  std::vector<unsigned char> out{
      0, 0, 0x08, static_cast<unsigned char>(ndim_override < 0 ? shape.size() : ndim_override)};
  for (uint32_t d : shape)
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(d >> s));
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes, bool gzip) {
  if (!gzip) {
    write_file_atomic(path, bytes.data(), bytes.size());
    return;
  }
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

void write_idx_folder(const TempDir& dir, bool gzip) {
  const std::string ext = gzip ? ".gz" : "";
  write_bytes(dir.file("train-images-idx3-ubyte" + ext),
              idx({3, 2, 2}, {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8}), gzip);
  write_bytes(dir.file("train-labels-idx1-ubyte" + ext), idx({3}, {9, 0, 4}), gzip);
  write_bytes(dir.file("t10k-images-idx3-ubyte" + ext), idx({1, 2, 2}, {255, 255, 0, 0}), gzip);
  write_bytes(dir.file("t10k-labels-idx1-ubyte" + ext), idx({1}, {1}), gzip);
}

std::string refusal(const std::string& spec) {
  try {
    load_dataset(spec);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    return e.what();
  }
  ADD_FAILURE() << "accepted bad data " << spec;
  return "";
}

TEST(Dataset, LoadsNpyFolder) {
  TempDir dir;
  write_npy_folder(dir, 5, 2, 3);
  const Dataset d = load_dataset(dir.path().string());
  EXPECT_EQ(d.train.rows, 5);
  EXPECT_EQ(d.train.features, 3);
  EXPECT_EQ(d.train.x[7], 3.5f);
  EXPECT_EQ(d.train.labels, (std::vector<int32_t>{0, 1, 2, 0, 1}));
  EXPECT_EQ(d.test.rows, 2);
  EXPECT_EQ(d.train.task, Task::classification);
}

TEST(Dataset, LoadsIdxFoldersPlainAndGzipScaledToUnitRange) {
  for (bool gzip : {false, true}) {
    TempDir dir;
    write_idx_folder(dir, gzip);
    const Dataset d = load_dataset(dir.path().string());
    EXPECT_EQ(d.train.rows, 3);
    EXPECT_EQ(d.train.features, 4);
    EXPECT_FLOAT_EQ(d.train.x[1], 1.0f);
    EXPECT_FLOAT_EQ(d.train.x[2], 0.2f);
    EXPECT_EQ(d.train.labels, (std::vector<int32_t>{9, 0, 4}));
    EXPECT_EQ(d.test.labels, (std::vector<int32_t>{1}));
  }
}

// gzip members concatenated (cat a.gz b.gz > c.gz), as gzip -d reads them.
std::vector<unsigned char> gzip_members(const std::vector<std::vector<unsigned char>>& parts) {
  std::vector<unsigned char> out;
  for (const auto& part : parts) {
    z_stream zs{};
    EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::vector<unsigned char> buf(compressBound(static_cast<uLong>(part.size())) + 64);
    zs.next_in = const_cast<unsigned char*>(part.data());
    zs.avail_in = static_cast<uInt>(part.size());
    zs.next_out = buf.data();
    zs.avail_out = static_cast<uInt>(buf.size());
    EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    buf.resize(static_cast<std::size_t>(zs.total_out));
    deflateEnd(&zs);
    out.insert(out.end(), buf.begin(), buf.end());
  }
  return out;
}

TEST(Dataset, ReadsMultiMemberGzipAndRefusesDataBeyondItsHeader) {
  TempDir dir;
  write_idx_folder(dir, true);
  // The labels split over two gzip members: read whole.
  const auto labels = idx({3}, {9, 0, 4});
  const std::vector<unsigned char> head(labels.begin(), labels.begin() + 6),
      tail(labels.begin() + 6, labels.end());
  write_file_atomic(dir.file("train-labels-idx1-ubyte.gz"), gzip_members({head, tail}).data(),
                    gzip_members({head, tail}).size());
  EXPECT_EQ(load_dataset(dir.path().string()).train.labels, (std::vector<int32_t>{9, 0, 4}));
  // A header of 3 labels followed by a megabyte of zeros: decompression stops at the header's size.
  auto bomb = idx({3}, {9, 0, 4});
  bomb.resize(bomb.size() + (1 << 20), 0);
  const auto packed = gzip_members({bomb});
  write_file_atomic(dir.file("train-labels-idx1-ubyte.gz"), packed.data(), packed.size());
  EXPECT_NE(refusal(dir.path().string()).find("expands to more than the 11 bytes its IDX header gives"),
            std::string::npos);
  // A header that claims more than the compressed bytes could ever hold.
  const auto liar = gzip_members({idx({4000000000u}, {1, 2, 3})});
  write_file_atomic(dir.file("train-labels-idx1-ubyte.gz"), liar.data(), liar.size());
  EXPECT_NE(refusal(dir.path().string()).find("of gzip data can hold"), std::string::npos);
}

TEST(Dataset, RefusesAFifoInsteadOfBlockingOnIt) {
  TempDir dir;
  write_npy_folder(dir, 5, 2, 3);
  std::filesystem::remove(dir.file("x_test.npy"));
  ASSERT_EQ(mkfifo(dir.file("x_test.npy").c_str(), 0644), 0);
  EXPECT_NE(refusal(dir.path().string()).find("x_test.npy: is not a regular file"), std::string::npos);
}

TEST(Dataset, RefusesMismatchedAndMissingFiles) {
  {
    TempDir dir;
    write_npy_folder(dir, 5, 2, 3);
    write_npy(make_npy(std::vector<int32_t>(4, 0), {4}), dir.file("y_train.npy"));
    EXPECT_NE(refusal(dir.path().string()).find("y_train.npy: has 4 rows"), std::string::npos);
  }
  {
    TempDir dir;
    write_npy_folder(dir, 5, 2, 3);
    write_npy(make_npy(std::vector<float>(8, 0), {2, 4}), dir.file("x_test.npy"));
    EXPECT_NE(refusal(dir.path().string()).find("x_test.npy: has 4 features"), std::string::npos);
  }
  {
    TempDir dir;
    write_npy_folder(dir, 5, 2, 3);
    std::vector<float> x(15, 0.f);
    x[4] = std::numeric_limits<float>::quiet_NaN();
    write_npy(make_npy(x, {5, 3}), dir.file("x_train.npy"));
    EXPECT_NE(refusal(dir.path().string()).find("NaN"), std::string::npos);
    // Labels that do not pair with the features are refused from the headers, before the features' data is
    // read (and so before its NaN is seen): a mismatch costs nothing however large the features file is.
    write_npy(make_npy(std::vector<int32_t>(4, 0), {4}), dir.file("y_train.npy"));
    EXPECT_NE(refusal(dir.path().string()).find("y_train.npy: has 4 rows but"), std::string::npos);
  }
  {
    TempDir dir;
    write_npy_folder(dir, 5, 2, 3);
    write_npy(make_npy(std::vector<int32_t>{0, 1, -1, 2, 0}, {5}), dir.file("y_train.npy"));
    EXPECT_NE(refusal(dir.path().string()).find("y_train.npy: label -1 at row 2 is outside 0 to 65535"),
              std::string::npos);
  }
  {
    TempDir dir;
    write_npy_folder(dir, 5, 2, 3);
    std::filesystem::remove(dir.file("y_test.npy"));
    EXPECT_NE(refusal(dir.path().string()).find("y_test.npy: missing"), std::string::npos);
  }
  {
    TempDir dir;
    write_idx_folder(dir, true);
    write_bytes(dir.file("t10k-labels-idx1-ubyte.gz"), idx({2}, {1, 1}), true);
    EXPECT_NE(refusal(dir.path().string()).find("has 2 labels"), std::string::npos);
  }
  {
    TempDir dir;
    write_idx_folder(dir, false);
    write_bytes(dir.file("train-images-idx3-ubyte"), idx({3, 2, 2}, {1, 2, 3}), false);
    EXPECT_NE(refusal(dir.path().string()).find("IDX data is 3 bytes"), std::string::npos);
  }
  {
    TempDir dir;
    write_idx_folder(dir, true);
    auto bytes = test::read_all(dir.file("train-images-idx3-ubyte.gz"));
    bytes.resize(bytes.size() / 2);
    write_file_atomic(dir.file("train-images-idx3-ubyte.gz"), bytes.data(), bytes.size());
    EXPECT_NE(refusal(dir.path().string()).find("gzip"), std::string::npos);
  }
  EXPECT_NE(refusal("/nonexistent/data").find("does not exist"), std::string::npos);
  EXPECT_NE(refusal("builtin:cifar").find("unknown builtin"), std::string::npos);
  TempDir empty;
  EXPECT_NE(refusal(empty.path().string()).find("holds neither"), std::string::npos);
}

TEST(Dataset, CheckCompatibleNamesTheDataFileAndTheModel) {
  TempDir dir;
  write_npy_folder(dir, 5, 2, 3);
  const Dataset d = load_dataset(dir.path().string());
  const Architecture fits = make_architecture({3, 4, 3}, Activation::relu, Task::classification);
  EXPECT_NO_THROW(check_compatible(d.train, fits, "m.safetensors"));
  try {
    check_compatible(d.train, make_architecture({4, 4, 3}, Activation::relu, Task::classification),
                     "m.safetensors");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x_train.npy: has 3 features but m.safetensors takes 4"),
              std::string::npos)
        << e.what();
  }
  try {
    check_compatible(d.train, make_architecture({3, 4, 2}, Activation::relu, Task::classification),
                     "m.safetensors");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("y_train.npy: label 2 at row 2 is outside the 2 classes"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace modeconn
