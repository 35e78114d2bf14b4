#pragma once
// A fixed-capacity open-addressing hash map (linear probing, backward-shift deletion, so no
// tombstones and probe chains never degrade). All memory is allocated by the constructor;
// find/insert/erase never allocate. The table is at most half full (insert fails beyond
// max_entries), which keeps the expected probe length below ~2.5 for lookups that miss.
// Not thread-safe: one writer, readers on the same thread.

#include <bit>
#include <cstdint>
#include <memory>

namespace ocm::datapath {

// Hasher: uint64_t operator()(const Key&) const noexcept.
template <typename Key, typename Value, typename Hasher>
class FlatIndex {
 public:
  // Room for max_entries keys (>= 1) in 2 * max_entries buckets rounded up to a power of two.
  FlatIndex(uint32_t max_entries, Hasher hasher)
      : max_entries_(max_entries == 0 ? 1 : max_entries),
        mask_(static_cast<uint32_t>(std::bit_ceil(uint64_t{max_entries_} * 2)) - 1),
        hasher_(hasher),
        keys_(new Key[mask_ + 1]()),
        values_(new Value[mask_ + 1]()),
        used_(new uint8_t[mask_ + 1]()) {}

  [[nodiscard]] Value* find(const Key& key) noexcept {
    for (uint32_t i = bucket(key);; i = (i + 1) & mask_) {
      if (used_[i] == 0) {
        return nullptr;
      }
      if (keys_[i] == key) {
        return &values_[i];
      }
    }
  }
  [[nodiscard]] const Value* find(const Key& key) const noexcept { return const_cast<FlatIndex*>(this)->find(key); }

  // False when the key exists already or the index is full.
  bool insert(const Key& key, const Value& value) noexcept {
    uint32_t i = bucket(key);
    for (;; i = (i + 1) & mask_) {
      if (used_[i] == 0) {
        break;
      }
      if (keys_[i] == key) {
        return false;
      }
    }
    if (size_ >= max_entries_) {
      return false;
    }
    keys_[i] = key;
    values_[i] = value;
    used_[i] = 1;
    ++size_;
    return true;
  }

  // False when the key is absent.
  bool erase(const Key& key) noexcept {
    uint32_t i = bucket(key);
    for (;; i = (i + 1) & mask_) {
      if (used_[i] == 0) {
        return false;
      }
      if (keys_[i] == key) {
        break;
      }
    }
    // Backward shift: pull later members of the chain into the hole if their home bucket does
    // not lie (cyclically) between the hole and their current position.
    uint32_t hole = i;
    for (uint32_t j = (hole + 1) & mask_; used_[j] != 0; j = (j + 1) & mask_) {
      uint32_t home = bucket(keys_[j]);
      bool home_in_between = ((j - home) & mask_) < ((j - hole) & mask_);
      if (!home_in_between) {
        keys_[hole] = keys_[j];
        values_[hole] = values_[j];
        hole = j;
      }
    }
    used_[hole] = 0;
    keys_[hole] = Key{};
    values_[hole] = Value{};
    --size_;
    return true;
  }

  [[nodiscard]] uint32_t size() const noexcept { return size_; }
  [[nodiscard]] uint32_t max_entries() const noexcept { return max_entries_; }
  [[nodiscard]] uint32_t bucket_count() const noexcept { return mask_ + 1; }

 private:
  [[nodiscard]] uint32_t bucket(const Key& key) const noexcept { return static_cast<uint32_t>(hasher_(key)) & mask_; }

  uint32_t max_entries_;
  uint32_t mask_;
  Hasher hasher_;
  std::unique_ptr<Key[]> keys_;
  std::unique_ptr<Value[]> values_;
  std::unique_ptr<uint8_t[]> used_;
  uint32_t size_ = 0;
};

}  // namespace ocm::datapath
