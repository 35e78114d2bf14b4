#pragma once
// One line per event on stderr: "<level> <component>: <message>".
// Levels are ordered; messages below the configured level cost one comparison.

#include <cstdarg>
#include <string_view>

namespace ocm::log {

enum class Level { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

void set_level(Level level) noexcept;
Level level() noexcept;
bool parse_level(std::string_view name, Level& out) noexcept;

[[gnu::format(printf, 2, 3)]] void write(Level level, const char* fmt, ...) noexcept;

}  // namespace ocm::log

#define OCM_LOG(lvl, ...)                                   \
  do {                                                      \
    if (static_cast<int>(lvl) <= static_cast<int>(::ocm::log::level())) { \
      ::ocm::log::write(lvl, __VA_ARGS__);                  \
    }                                                       \
  } while (0)
#define OCM_ERROR(...) OCM_LOG(::ocm::log::Level::kError, __VA_ARGS__)
#define OCM_WARN(...) OCM_LOG(::ocm::log::Level::kWarning, __VA_ARGS__)
#define OCM_INFO(...) OCM_LOG(::ocm::log::Level::kInfo, __VA_ARGS__)
#define OCM_DEBUG(...) OCM_LOG(::ocm::log::Level::kDebug, __VA_ARGS__)
