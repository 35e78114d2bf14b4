#include "ocm/base/log.hpp"

#include <cstdio>
#include <ctime>

namespace ocm::log {
namespace {
Level g_level = Level::kInfo;

const char* level_name(Level level) noexcept {
  switch (level) {
    case Level::kError:
      return "error";
    case Level::kWarning:
      return "warning";
    case Level::kInfo:
      return "info";
    case Level::kDebug:
      return "debug";
  }
  return "?";
}
}  // namespace

void set_level(Level level) noexcept { g_level = level; }
Level level() noexcept { return g_level; }

bool parse_level(std::string_view name, Level& out) noexcept {
  for (Level l : {Level::kError, Level::kWarning, Level::kInfo, Level::kDebug}) {
    if (name == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void write(Level lvl, const char* fmt, ...) noexcept {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm tmv{};
  gmtime_r(&ts.tv_sec, &tmv);
  // One fprintf call per line so lines from concurrent writers do not interleave.
  std::fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n", tmv.tm_year + 1900, tmv.tm_mon + 1,
               tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec, ts.tv_nsec / 1000000, level_name(lvl), line);
}

}  // namespace ocm::log
