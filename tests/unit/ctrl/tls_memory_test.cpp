// tls_memory.cpp: wolfSSL's big blocks in their own mappings, zero pages given back.
#include "tls_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace ocm::ctrl {
namespace {

const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));

// Resident pages of [p, p + n), rounded out to pages (mincore).
size_t resident_pages(const void* p, size_t n) {
  auto start = reinterpret_cast<uintptr_t>(p) & ~(kPage - 1);
  auto end = (reinterpret_cast<uintptr_t>(p) + n + kPage - 1) & ~(kPage - 1);
  std::vector<unsigned char> vec((end - start) / kPage);
  if (mincore(reinterpret_cast<void*>(start), end - start, vec.data()) != 0) {
    return SIZE_MAX;
  }
  size_t count = 0;
  for (unsigned char v : vec) {
    count += v & 1;
  }
  return count;
}

TEST(TlsMemory, SmallBlocksComeFromMallocAndAreNotReleased) {
  const size_t before = tls_own_mapping_blocks();
  void* p = tls_malloc(100);
  ASSERT_NE(p, nullptr);
  std::memset(p, 0, 100);
  EXPECT_EQ(tls_own_mapping_blocks(), before);
  EXPECT_EQ(release_zero_pages(p), 0u);
  tls_free(p);
  tls_free(nullptr);
  EXPECT_EQ(release_zero_pages(nullptr), 0u);
}

// What wolfSSL does with its session object: allocate, zero everything, write a few fields at
// the start and near the end. Only the zero pages in between may go, and the contents must
// read back the same afterwards.
TEST(TlsMemory, ZeroPagesOfABigBlockAreReleasedAndStillReadAsZero) {
  const size_t before = tls_own_mapping_blocks();
  constexpr size_t kSize = 37512;  // sizeof(WOLFSSL_SESSION) in Debian's wolfSSL 5.5.4
  auto* p = static_cast<uint8_t*>(tls_malloc(kSize));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(tls_own_mapping_blocks(), before + 1);
  std::memset(p, 0, kSize);
  p[0] = 0x11;
  p[kSize - 1] = 0x22;
  p[20000] = 0x33;  // one page in the middle stays
  ASSERT_EQ(resident_pages(p, kSize), (kSize + 64 + kPage - 1) / kPage);

  const size_t released = release_zero_pages(p);
  // 10 pages: page 0 (header, first byte), page 4 (offset 20000 + 64) and page 9 (last
  // byte) hold data; the other 7 are zero.
  EXPECT_EQ(released, 7 * kPage);
  EXPECT_EQ(resident_pages(p, kSize), 3u);
  EXPECT_EQ(p[0], 0x11);
  EXPECT_EQ(p[20000], 0x33);
  EXPECT_EQ(p[kSize - 1], 0x22);
  for (size_t i = 1; i < kSize - 1; ++i) {
    if (i != 20000) {
      ASSERT_EQ(p[i], 0) << i;
    }
  }
  // A write to a released page works (a fresh page faults in).
  p[10000] = 0x44;
  EXPECT_EQ(p[10000], 0x44);
  // A second pass finds nothing new but the written page is kept.
  EXPECT_EQ(release_zero_pages(p), 6 * kPage);
  EXPECT_EQ(p[10000], 0x44);

  tls_free(p);
  EXPECT_EQ(tls_own_mapping_blocks(), before);
}

TEST(TlsMemory, InteriorPointersAndForeignBlocksAreLeftAlone) {
  auto* p = static_cast<uint8_t*>(tls_malloc(kOwnMappingMin * 2));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0, kOwnMappingMin * 2);
  EXPECT_EQ(release_zero_pages(p + 64), 0u);
  EXPECT_EQ(release_zero_pages(p + kPage), 0u);
  std::vector<uint8_t> heap(64 * 1024);
  EXPECT_EQ(release_zero_pages(heap.data()), 0u);
  tls_free(p);
}

TEST(TlsMemory, ReallocMovesContentsAcrossTheThresholdBothWays) {
  const size_t before = tls_own_mapping_blocks();
  auto* p = static_cast<uint8_t*>(tls_malloc(1000));
  ASSERT_NE(p, nullptr);
  for (size_t i = 0; i < 1000; ++i) {
    p[i] = static_cast<uint8_t>(i);
  }
  p = static_cast<uint8_t*>(tls_realloc(p, kOwnMappingMin + 1000));  // malloc -> mapping
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(tls_own_mapping_blocks(), before + 1);
  for (size_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(p[i], static_cast<uint8_t>(i));
  }
  p[kOwnMappingMin + 999] = 0x5a;
  p = static_cast<uint8_t*>(tls_realloc(p, kOwnMappingMin * 3));  // mapping -> mapping
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(tls_own_mapping_blocks(), before + 1);
  EXPECT_EQ(p[kOwnMappingMin + 999], 0x5a);
  EXPECT_EQ(p[999], static_cast<uint8_t>(999));
  p = static_cast<uint8_t*>(tls_realloc(p, 500));  // mapping -> malloc
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(tls_own_mapping_blocks(), before);
  for (size_t i = 0; i < 500; ++i) {
    ASSERT_EQ(p[i], static_cast<uint8_t>(i));
  }
  EXPECT_EQ(tls_realloc(p, 0), nullptr);  // frees
  p = static_cast<uint8_t*>(tls_realloc(nullptr, kOwnMappingMin));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(tls_own_mapping_blocks(), before + 1);
  tls_free(p);
  EXPECT_EQ(tls_own_mapping_blocks(), before);
}

}  // namespace
}  // namespace ocm::ctrl
