// The frame a batch was decoded from, kept beside it for a sink that can forward it as it
// arrived (the Kafka sink's message version 2) instead of encoding the batch again.
#pragma once

#include <string>

#include "collector/model/record_time.h"
#include "logship/v1/ingest.pb.h"

namespace logship::collector {

// Immutable once made; shared by the copies of its batch.
struct ReceivedFrame {
  logship::v1::BatchFrame frame;  // as received: the payload still compressed
  std::string principal;          // as given to FrameDecoder::Decode
  EventTimeWindow window;         // the ingest settings' event-time window
};

}  // namespace logship::collector
