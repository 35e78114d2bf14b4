#pragma once
// Names TEST_P instances after the case's `name` field, so a failure points at the table row.

#include <gtest/gtest.h>

#include <string>

namespace ocm::proto {

template <typename Case>
std::string case_name(const ::testing::TestParamInfo<Case>& param_info) {
  return param_info.param.name;
}

// For tables where several rows share a name.
template <typename Case>
std::string indexed_case_name(const ::testing::TestParamInfo<Case>& param_info) {
  return std::string(param_info.param.name) + std::to_string(param_info.index);
}

}  // namespace ocm::proto
