#include "runner.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "ocm/base/ipv4.hpp"

namespace ocm::loadgen {
namespace {

constexpr uint64_t kStartPeriodMs = 5;
constexpr uint64_t kTickMs = 250;
constexpr uint64_t kTrafficPeriodMs = 10;
// Detail lines per failure cause on stderr; the counts are complete regardless.
constexpr uint32_t kLogPerCause = 5;

}  // namespace

Runner::Runner(Options opt, std::shared_ptr<TlsContext> tls, std::shared_ptr<DtlsContext> dtls)
    : opt_(std::move(opt)), tls_(std::move(tls)), dtls_(std::move(dtls)) {
  uv_loop_init(&loop_);
  // openconnect omits the port for 443.
  host_header_ = format_ipv4(opt_.host);
  if (opt_.port != 443) {
    host_header_ += ":" + std::to_string(opt_.port);
  }
  sessions_.reserve(opt_.sessions);
}

Runner::~Runner() {
  sessions_.clear();
  uv_loop_close(&loop_);
}

uint64_t Runner::now_us() const { return uv_hrtime() / 1000; }

uint32_t Runner::traffic_target(const TunnelParams& p) const noexcept {
  // Default: the server's own tunnel address, the first host of the pool (answered by the
  // server host's kernel, so no packet leaves the server's namespace).
  return opt_.traffic_target != 0 ? opt_.traffic_target : (p.address & p.netmask) + 1;
}

void Runner::note_tls_version(const std::string& v, const std::string& group) {
  if (tls_version_.empty()) {
    tls_version_ = v;
    tls_group_ = group;
  }
}

void Runner::note_dtls_cipher(const std::string& c) {
  if (dtls_cipher_.empty()) {
    dtls_cipher_ = c;
  }
}

void Runner::on_established(Session&) {
  --in_flight_;
  ++established_;
  established_peak_ = std::max(established_peak_, established_);
  last_established_us_ = now_us();
}

void Runner::on_failed(Session&, Session::State was, Failure f, const std::string& detail) {
  if (finishing_) {
    return;  // our own shutdown, not the server's doing
  }
  stats_.failure(f);
  ++failed_;
  if (was == Session::State::kUp) {
    --established_;
  } else {
    --in_flight_;
  }
  if (logged_[static_cast<size_t>(f)]++ < kLogPerCause) {
    std::fprintf(stderr, "ocm-loadgen: session failed (%s): %s\n", to_string(f), detail.c_str());
  }
}

void Runner::start_more() {
  uint64_t now = now_us();
  if (opt_.rate > 0) {
    start_credit_ += opt_.rate * static_cast<double>(now - last_start_us_) / 1e6;
    // Do not bank more than a short burst while the concurrency cap holds us back.
    start_credit_ = std::min(start_credit_, std::max(1.0, opt_.rate * 0.05));
  }
  last_start_us_ = now;
  while (started_ < opt_.sessions && in_flight_ < opt_.concurrency && !finishing_) {
    if (opt_.rate > 0) {
      if (start_credit_ < 1) {
        break;
      }
      start_credit_ -= 1;
    }
    if (first_start_us_ == 0) {
      first_start_us_ = now;
    }
    auto& s = sessions_.emplace_back(std::make_unique<Session>(*this, started_));
    ++started_;
    ++in_flight_;
    s->start();
  }
}

void Runner::on_start_timer(uv_timer_t* t) { static_cast<Runner*>(t->data)->start_more(); }

void Runner::on_tick(uv_timer_t* t) {
  auto* self = static_cast<Runner*>(t->data);
  uint64_t now = self->now_us();
  for (auto& s : self->sessions_) {
    s->tick(now);
  }
  if (self->hold_until_us_ == 0 && self->started_ == self->opt_.sessions && self->in_flight_ == 0) {
    self->hold_until_us_ = now + static_cast<uint64_t>(self->opt_.duration * 1e6);
    std::fprintf(stderr, "ocm-loadgen: all %u sessions settled: %u established, %u failed; holding %.0f s\n",
                 self->opt_.sessions, self->established_, self->failed_, self->opt_.duration);
  }
  if (now >= self->next_progress_us_) {
    self->progress(now);
  }
  if ((self->hold_until_us_ != 0 && now >= self->hold_until_us_) || self->interrupted_) {
    self->finish();
  }
}

void Runner::progress(uint64_t now) {
  next_progress_us_ = now + 1000000;
  stats_.sample({(now - t0_us_) / 1000, established_, failed_, started_});
  if (!opt_.quiet) {
    std::fprintf(stderr, "ocm-loadgen: t=%.1fs started %u established %u failed %u\n",
                 static_cast<double>(now - t0_us_) / 1e6, started_, established_, failed_);
  }
}

void Runner::on_traffic(uv_timer_t* t) {
  auto* self = static_cast<Runner*>(t->data);
  uint64_t now = self->now_us();
  self->traffic_credit_ += self->opt_.traffic_pps * static_cast<double>(now - self->last_traffic_us_) / 1e6;
  self->last_traffic_us_ = now;
  self->traffic_credit_ = std::min(self->traffic_credit_, std::max(1.0, self->opt_.traffic_pps * 0.1));
  while (self->traffic_credit_ >= 1) {
    self->traffic_credit_ -= 1;
    for (uint32_t i = 0; i < self->opt_.traffic_sessions && i < self->sessions_.size(); ++i) {
      self->sessions_[i]->send_ping(now);
    }
  }
}

void Runner::on_signal(uv_signal_t* s, int) { static_cast<Runner*>(s->data)->interrupted_ = true; }

void Runner::finish() {
  if (finishing_) {
    return;
  }
  uint64_t now = now_us();
  progress(now);
  finishing_ = true;
  for (uint32_t i = 0; i < opt_.traffic_sessions && i < sessions_.size(); ++i) {
    TrafficSample t = sessions_[i]->traffic();
    t.active_us = sessions_[i]->first_ping_us() != 0 ? now - sessions_[i]->first_ping_us() : 0;
    stats_.traffic(std::move(t));
  }
  for (auto* h : {&start_timer_, &tick_timer_, &traffic_timer_}) {
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
  for (auto& s : sessions_) {
    s->finish();
  }
}

int Runner::run() {
  t0_us_ = now_us();
  last_start_us_ = last_traffic_us_ = t0_us_;
  start_timer_.data = tick_timer_.data = traffic_timer_.data = this;
  sigint_.data = sigterm_.data = this;
  uv_timer_init(&loop_, &start_timer_);
  uv_timer_init(&loop_, &tick_timer_);
  uv_timer_init(&loop_, &traffic_timer_);
  uv_timer_start(&start_timer_, on_start_timer, 0, kStartPeriodMs);
  uv_timer_start(&tick_timer_, on_tick, kTickMs, kTickMs);
  if (opt_.traffic_sessions > 0) {
    uv_timer_start(&traffic_timer_, on_traffic, kTrafficPeriodMs, kTrafficPeriodMs);
  }
  uv_signal_init(&loop_, &sigint_);
  uv_signal_init(&loop_, &sigterm_);
  uv_signal_start(&sigint_, on_signal, SIGINT);
  uv_signal_start(&sigterm_, on_signal, SIGTERM);
  uv_run(&loop_, UV_RUN_DEFAULT);  // returns once finish() closed every handle

  Stats::Summary sum;
  sum.sessions = opt_.sessions;
  sum.established_peak = established_peak_;
  sum.established_end = established_;
  sum.ramp_us = last_established_us_ > first_start_us_ ? last_established_us_ - first_start_us_ : 0;
  sum.tls_version = tls_version_;
  sum.tls_group = tls_group_;
  sum.dtls_cipher = dtls_cipher_;
  std::fputs(stats_.text(sum).c_str(), stderr);
  std::fprintf(stderr, "  udp send drops %llu, tunnel packets that were not our echo replies %llu\n",
               static_cast<unsigned long long>(udp_send_drops_), static_cast<unsigned long long>(foreign_packets_));
  if (!opt_.json_path.empty()) {
    std::string doc = stats_.json(sum);
    if (opt_.json_path == "-") {
      std::cout << doc << '\n';
    } else {
      std::ofstream(opt_.json_path) << doc << '\n';
    }
  }
  bool ok = !interrupted_ && failed_ == 0 && established_ == opt_.sessions;
  return ok ? 0 : 1;
}

}  // namespace ocm::loadgen
