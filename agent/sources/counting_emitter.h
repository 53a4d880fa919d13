// Counts the records one source emits (logship_agent_records_read_total{source}) and
// forwards them. Loop thread only (the only thread that increments the counter, which may be
// read from anywhere).
#pragma once

#include "agent/sources/source.h"
#include "common/metrics/registry.h"

namespace logship::agent {

class CountingEmitter final : public Emitter {
 public:
  CountingEmitter(Emitter& next, metrics::Counter& read) : next_(next), read_(read) {}
  void Emit(const LineRecord& record) override {
    read_.IncFromOwnerThread();
    next_.Emit(record);
  }
  bool Accepting() const override { return next_.Accepting(); }
  void CaughtUp() override { next_.CaughtUp(); }
  void PositionsMoved(PositionTracker& tracker) override { next_.PositionsMoved(tracker); }
  void ApplyNow(std::string_view type, std::string delta) override { next_.ApplyNow(type, std::move(delta)); }

 private:
  Emitter& next_;
  metrics::Counter& read_;
};

}  // namespace logship::agent
