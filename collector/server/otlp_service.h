// OTLP/gRPC logs ingest (opentelemetry.proto.collector.logs.v1.LogsService/Export) on the
// collector's port, so OpenTelemetry SDKs and collectors can send here directly.
//
// Mapping: each ResourceLogs becomes one batch. Resource attributes → source attributes
// (source name = service.name, host = host.name); body (string as is, other values as
// JSON), severity_number (else severity_text), time, attributes (values as text),
// trace_id/span_id (hex) → record. Record id = hash of the record's canonical content
// and its resource (bound to the authenticated sender when there is one): OTLP carries no
// stable position, so a client's retry is recognised, but two truly identical records
// collapse into one.
//
// Hostile input: the request arrives as raw bytes. The bearer token is checked first, then
// its size against limits.max_otlp_request_bytes, then its shape on the wire (records,
// objects, nesting: otlp_shape.h) within the in-flight budget, and only then is it parsed.
// A resource that breaks a limit is rejected alone (counted in partial_success); a record
// with an over-limit attribute goes to the dead letter; the rest is stored.
//
// Threads: gRPC's callback threads do the checks and never block; a small WorkPool parses
// and writes. A full pool or budget answers UNAVAILABLE (OTLP clients retry it).
#pragma once

#include <string>
#include <vector>

#include "collector/server/ingest_service.h"
#include "collector/server/work_pool.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"

namespace logship::collector {

class OtlpLogsService final
    : public opentelemetry::proto::collector::logs::v1::LogsService::WithRawCallbackMethod_Export<
          opentelemetry::proto::collector::logs::v1::LogsService::Service> {
 public:
  // `ingest` and `writer` must outlive the service.
  OtlpLogsService(IngestService& ingest, BatchWriter& writer, size_t workers);

  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;

 private:
  // On a pool thread: shape check, parse, convert, write. Returns the call's status and
  // fills *response.
  grpc::Status Process(const std::string& bytes, const IngestSettings& settings, const std::string& agent,
                       const std::string& principal, const std::string& peer_host, grpc::ByteBuffer* response);

  IngestService& ingest_;
  BatchWriter& writer_;
  metrics::Counter& rejected_records_;
  WorkPool pool_;  // last: joined first, while the rest is alive
};

// Converts one ResourceLogs (exposed for tests and the fuzzer). InvalidArgument when the
// resource as a whole breaks a limit. Records with an over-limit attribute go to *refused
// (when given; else the resource fails). `principal` binds ids (record_identity.h).
Status ConvertResourceLogs(const opentelemetry::proto::logs::v1::ResourceLogs& in, const Limits& limits,
                           const std::string& agent_id, const std::string& peer_host, DecodedBatch* out,
                           std::vector<RefusedRecord>* refused = nullptr, const std::string& principal = "");

}  // namespace logship::collector
