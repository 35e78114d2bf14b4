// wolfSSL must see its own options before anything else of it (see tls.cpp).
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/memory.h>

#include "tls_memory.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace ocm::ctrl {
namespace {

// The user pointer sits this far into its mapping: keeps malloc's 16-byte alignment (and a
// cache line's), and lets tls_free() skip the registry for almost every malloc pointer, since
// only 1 in 256 of those has this page offset.
constexpr uintptr_t kHeader = 64;

size_t page_size() noexcept {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

size_t mapping_length(size_t size) noexcept {
  const size_t page = page_size();
  return (size + kHeader + page - 1) / page * page;
}

// User pointer -> requested size, for blocks in our own mappings. A mutex although only the
// loop thread uses wolfSSL today: the hooks are process-wide and must not assume that.
struct Registry {
  std::mutex mutex;
  std::unordered_map<uintptr_t, size_t> blocks;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: wolfSSL may free during exit
  return *r;
}

bool maybe_ours(const void* p) noexcept {
  return (reinterpret_cast<uintptr_t>(p) & (page_size() - 1)) == kHeader;
}

// Size of one of our blocks, or 0.
size_t our_size(const void* p) {
  if (p == nullptr || !maybe_ours(p)) {
    return 0;
  }
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.blocks.find(reinterpret_cast<uintptr_t>(p));
  return it == r.blocks.end() ? 0 : it->second;
}

bool all_zero(const uint8_t* p, size_t n) noexcept {
  // Word-wise; pages are word-aligned.
  const auto* w = reinterpret_cast<const uint64_t*>(p);
  uint64_t acc = 0;
  for (size_t i = 0; i < n / sizeof(uint64_t); ++i) {
    acc |= w[i];
  }
  return acc == 0;
}

}  // namespace

void* tls_malloc(size_t size) {
  if (size < kOwnMappingMin) {
    return std::malloc(size);
  }
  const size_t len = mapping_length(size);
  void* base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    return std::malloc(size);  // still a valid block; it just stays on the heap
  }
  auto* user = static_cast<uint8_t*>(base) + kHeader;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.blocks.emplace(reinterpret_cast<uintptr_t>(user), size);
  return user;
}

void tls_free(void* ptr) {
  if (ptr == nullptr) {
    return;
  }
  if (maybe_ours(ptr)) {
    size_t size = 0;
    {
      Registry& r = registry();
      std::lock_guard lock(r.mutex);
      auto it = r.blocks.find(reinterpret_cast<uintptr_t>(ptr));
      if (it != r.blocks.end()) {
        size = it->second;
        r.blocks.erase(it);
      }
    }
    if (size != 0) {
      munmap(static_cast<uint8_t*>(ptr) - kHeader, mapping_length(size));
      return;
    }
  }
  std::free(ptr);
}

void* tls_realloc(void* ptr, size_t size) {
  if (ptr == nullptr) {
    return tls_malloc(size);
  }
  if (size == 0) {
    tls_free(ptr);
    return nullptr;
  }
  const size_t ours = our_size(ptr);
  if (ours == 0 && size < kOwnMappingMin) {
    return std::realloc(ptr, size);
  }
  // Crossing between malloc and our mappings (or resizing a mapping): move the bytes.
  const size_t old_size = ours != 0 ? ours : malloc_usable_size(ptr);
  void* fresh = tls_malloc(size);
  if (fresh == nullptr) {
    return nullptr;  // realloc semantics: the old block stays valid
  }
  std::memcpy(fresh, ptr, std::min(old_size, size));
  tls_free(ptr);
  return fresh;
}

void install_tls_allocators() {
  static std::once_flag once;
  std::call_once(once, [] { wolfSSL_SetAllocators(tls_malloc, tls_free, tls_realloc); });
}

size_t release_zero_pages(void* block) {
  const size_t size = our_size(block);
  if (size == 0) {
    return 0;
  }
  const size_t page = page_size();
  auto* base = static_cast<uint8_t*>(block) - kHeader;
  const size_t len = mapping_length(size);
  size_t released = 0;
  // Page 0 holds our header and the start of the object; the tail beyond `size` in the last
  // page is ours and zero, so whole pages from 1 on are candidates. Runs of zero pages go to
  // the kernel in one call each.
  size_t run_start = 0;
  size_t run_len = 0;
  auto flush = [&] {
    if (run_len != 0 && madvise(base + run_start, run_len, MADV_DONTNEED) == 0) {
      released += run_len;
    }
    run_len = 0;
  };
  for (size_t off = page; off < len; off += page) {
    if (all_zero(base + off, page)) {
      if (run_len == 0) {
        run_start = off;
      }
      run_len += page;
    } else {
      flush();
    }
  }
  flush();
  return released;
}

size_t tls_own_mapping_blocks() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.blocks.size();
}

}  // namespace ocm::ctrl
