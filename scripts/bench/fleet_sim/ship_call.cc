#include "scripts/bench/fleet_sim/fleet.h"

namespace fleet_sim {

void ShipCall::Begin(std::shared_ptr<ShipCall> self, logship::v1::Ingest::Stub* stub, const std::string& token) {
  self_ = std::move(self);
  if (!token.empty()) context_.AddMetadata("authorization", "Bearer " + token);
  stub->async()->Ship(&context_, this);
  StartRead(&ack_);
  AddHold();  // released once broken and no StartWrite is being made
  StartCall();
}

void ShipCall::Broken() {
  bool release = false;
  {
    std::lock_guard lock(mu_);
    broken_ = true;
    queue_.clear();
    if (starting_ == 0 && !hold_released_) release = hold_released_ = true;
  }
  if (release) RemoveHold();
}

void ShipCall::Enqueue(std::shared_ptr<BatchFrame> frame) {
  {
    std::lock_guard lock(mu_);
    if (broken_) return;
    queue_.push_back(std::move(frame));
  }
  MaybeWrite();
}

void ShipCall::MaybeWrite() {
  const BatchFrame* next = nullptr;
  {
    std::lock_guard lock(mu_);
    if (writing_ != nullptr || queue_.empty() || broken_) return;
    writing_ = std::move(queue_.front());
    queue_.pop_front();
    next = writing_.get();
    ++starting_;
  }
  StartWrite(next);
  bool release = false;
  {
    std::lock_guard lock(mu_);
    if (--starting_ == 0 && broken_ && !hold_released_) release = hold_released_ = true;
  }
  if (release) RemoveHold();
}

void ShipCall::OnWriteDone(bool ok) {
  {
    std::lock_guard lock(mu_);
    writing_.reset();
  }
  if (ok) MaybeWrite();
  else Broken();
}

void ShipCall::OnReadInitialMetadataDone(bool ok) {
  if (!ok) return;
  std::lock_guard lock(agent_->mu);
  if (agent_->call.get() == this && !agent_->connected) {
    agent_->connected = true;
    const int now = ++fleet_->connected;
    int seen = fleet_->max_connected.load();
    while (now > seen && !fleet_->max_connected.compare_exchange_weak(seen, now)) {
    }
  }
}

void ShipCall::OnReadDone(bool ok) {
  if (!ok) return Broken();
  std::shared_ptr<BatchFrame> resend;
  {
    std::lock_guard lock(agent_->mu);
    auto it = agent_->unacked.find(ack_.sequence());
    if (it != agent_->unacked.end()) {
      if (ack_.status() == BatchAck::OK) {
        const auto now = Clock::now();
        agent_->lines_acked += it->second.lines;
        if (fleet_->measuring) {
          agent_->lines_acked_in_window += it->second.lines;
          std::lock_guard slock(fleet_->stats.mu);
          fleet_->stats.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(now - it->second.made).count());
        }
        if (agent_->lost) {
          agent_->lost = false;
          agent_->longest_recovery_s =
              std::max(agent_->longest_recovery_s, std::chrono::duration<double>(now - agent_->lost_at).count());
        }
        agent_->backoff = std::chrono::milliseconds(200);
        agent_->unacked.erase(it);
      } else {
        ++agent_->retries;  // RETRY (or REJECTED, which the sim never provokes): send it again
        resend = it->second.frame;
      }
    }
  }
  if (resend) Enqueue(resend);
  StartRead(&ack_);
}

void ShipCall::OnDone(const grpc::Status& status) {
  {
    std::lock_guard slock(fleet_->stats.mu);
    ++fleet_->stats.ends[status.ok() ? "OK" : std::to_string(status.error_code())];
  }
  {
    std::lock_guard lock(agent_->mu);
    if (agent_->call.get() == this) {
      agent_->call.reset();
      if (agent_->connected) --fleet_->connected;
      agent_->connected = false;
      if (!agent_->lost) {
        agent_->lost = true;
        agent_->lost_at = Clock::now();
      }
      std::uniform_int_distribution<int> jitter(0, static_cast<int>(agent_->backoff.count()));
      static thread_local std::mt19937 rng(std::random_device{}());
      agent_->reopen_at = Clock::now() + agent_->backoff / 2 + std::chrono::milliseconds(jitter(rng) / 2);
      agent_->backoff = std::min(agent_->backoff * 2, std::chrono::milliseconds(5000));
    }
  }
  Broken();
  auto last = std::move(self_);  // gRPC is done with it: `this` may go when `last` does
}

// A batch of `n` lines at the agent's file position, as the agent would spool it.
void Open(Fleet& fleet, Agent& a) {
  auto call = std::make_shared<ShipCall>(&fleet, &a);
  std::vector<std::shared_ptr<BatchFrame>> resend;
  {
    std::lock_guard lock(a.mu);
    a.call = call;
    for (auto& [seq, p] : a.unacked) resend.push_back(p.frame);
  }
  call->Begin(call, a.stub.get(), fleet.token);
  for (auto& f : resend) call->Enqueue(f);
}


}  // namespace fleet_sim
