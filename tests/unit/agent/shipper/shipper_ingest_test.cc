// The agent's Shipper against the collector's IngestService over real gRPC (loopback, one
// process): what each end promises the other, without PostgreSQL or a second binary.
#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "agent/shipper/shipper.h"
#include "agent/spool/spool.h"
#include "collector/delivery/batch_writer.h"
#include "collector/server/ingest_service.h"
#include "common/zstd_codec.h"
#include "logship/v1/record.pb.h"
#include "tests/unit/testing/temp_dir.h"

namespace logship {
namespace {

using collector::DecodedBatch;
using collector::WriteOutcome;
using collector::WriteResult;
using testing::TempDir;

// Stores record ids; answers kRetry to its first `refuse` writes.
class CountingSink final : public collector::Sink {
 public:
  std::string_view name() const override { return "counting"; }
  WriteResult Write(const DecodedBatch& b) override {
    std::lock_guard<std::mutex> lock(mu);
    ++writes;
    if (refuse > 0) {
      --refuse;
      return {WriteOutcome::kRetry, "not now"};
    }
    for (const auto& r : b.batch->records()) {
      ++stored;
      ids.insert(r.id());
    }
    return {WriteOutcome::kOk, ""};
  }
  Status HealthCheck() override { return Status::Ok(); }

  std::mutex mu;
  int refuse = 0;
  int writes = 0;
  size_t stored = 0;  // records written, re-sends included
  std::set<std::string> ids;
};

// A spooled frame as the agent's spool writer makes it: a zstd Batch of `records` records
// with ids of their own.
void SpoolBatch(spool::Spool& spool, uint64_t n, int records) {
  v1::Batch b;
  b.set_agent_id("agent-1");
  b.set_host("host-1");
  b.add_sources()->set_name("unit");
  for (int i = 0; i < records; ++i) {
    auto* r = b.add_records();
    r->set_body("batch " + std::to_string(n) + " line " + std::to_string(i));
    r->set_observed_time_unix_nano(1764000000000000000ULL);
    std::string id(16, '\0');
    id[0] = static_cast<char>(n);
    id[1] = static_cast<char>(i);
    r->set_id(id);
  }
  const std::string serialized = b.SerializeAsString();
  std::string payload;
  ZstdCompressor zstd(1);
  REQUIRE(zstd.Compress(serialized, &payload).ok());
  spool::AppendRequest req;
  req.payload = payload;
  req.meta = "";
  req.record_count = static_cast<uint32_t>(records);
  req.uncompressed_bytes = static_cast<uint32_t>(serialized.size());
  req.codec = static_cast<uint8_t>(v1::CODEC_ZSTD);
  REQUIRE(spool.Append(req).ok());
}

struct Collector {
  explicit Collector(CountingSink& sink)
      : writer({collector::SinkSlot{&sink, {}}}, registry),
        service(std::make_shared<const collector::IngestSettings>(collector::IngestSettings{
                    collector::Limits{}, std::make_shared<const collector::Pipeline>(), {}}),
                writer, registry) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    REQUIRE(server != nullptr);
  }
  ~Collector() {
    service.Drain();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
  metrics::Registry registry;
  collector::BatchWriter writer;
  collector::IngestService service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

std::unique_ptr<spool::Spool> OpenSpool(const TempDir& dir) {
  spool::SpoolOptions o;
  o.dir = dir.File("spool");
  auto s = spool::Spool::Open(o);
  REQUIRE(s.ok());
  return std::move(s).value();
}

std::unique_ptr<agent::Shipper> MakeShipper(int port, spool::Spool& spool, const TempDir& dir) {
  agent::CollectorClientConfig c;
  c.endpoints = {"127.0.0.1:" + std::to_string(port)};
  c.max_in_flight = 4;
  c.backoff_min = std::chrono::milliseconds(10);
  c.backoff_max = std::chrono::milliseconds(50);
  return std::make_unique<agent::Shipper>(c, "agent-1", "", spool, dir.File("dead-letter"),
                                          grpc::InsecureChannelCredentials());
}

TEST_CASE("shipper and ingest service: every spooled frame is acked, and frees the spool") {
  TempDir dir;
  CountingSink sink;
  Collector collector(sink);
  auto spool = OpenSpool(dir);
  for (uint64_t n = 1; n <= 20; ++n) SpoolBatch(*spool, n, 50);
  auto shipper = MakeShipper(collector.port, *spool, dir);
  shipper->Start();
  CHECK(shipper->WaitDrained(std::chrono::seconds(20)));
  shipper->Stop();
  CHECK(spool->UnackedFrames() == 0);
  CHECK(shipper->batches_acked() == 20);
  CHECK(sink.ids.size() == 1000);
  CHECK(collector.service.records_received() >= 1000);
}

TEST_CASE("shipper and ingest service: a RETRY ack re-sends the window; nothing is lost, ids stay the same") {
  TempDir dir;
  CountingSink sink;
  sink.refuse = 3;  // no engine retry budget: each becomes a RETRY ack to the agent
  Collector collector(sink);
  auto spool = OpenSpool(dir);
  for (uint64_t n = 1; n <= 10; ++n) SpoolBatch(*spool, n, 10);
  auto shipper = MakeShipper(collector.port, *spool, dir);
  shipper->Start();
  CHECK(shipper->WaitDrained(std::chrono::seconds(20)));
  shipper->Stop();
  CHECK(shipper->batches_retried() >= 1);
  CHECK(spool->UnackedFrames() == 0);
  CHECK(sink.ids.size() == 100);  // every record, each under the id it was spooled with
  CHECK(sink.stored >= 100);      // re-sent frames may be written twice; the sinks' keys absorb them
}

TEST_CASE("shipper and ingest service: a stopped collector keeps frames spooled until it is back") {
  TempDir dir;
  CountingSink sink;
  auto spool = OpenSpool(dir);
  for (uint64_t n = 1; n <= 5; ++n) SpoolBatch(*spool, n, 10);
  int port = 0;
  {
    Collector first(sink);
    port = first.port;
  }
  auto shipper = MakeShipper(port, *spool, dir);
  shipper->Start();
  CHECK_FALSE(shipper->WaitDrained(std::chrono::milliseconds(300)));
  CHECK(spool->UnackedFrames() == 5);
  shipper->Stop();
}

}  // namespace
}  // namespace logship
