// OTLP/gRPC logs ingest (opentelemetry.proto.collector.logs.v1.LogsService/Export) on the
// collector's port, so OpenTelemetry SDKs and collectors can send here directly.
//
// Mapping: each ResourceLogs becomes one batch. Resource attributes → source attributes
// (source name = service.name, host = host.name); body (string as is, other values as
// JSON), severity_number (else severity_text), time, attributes (values as text),
// trace_id/span_id (hex) → record. Record id = hash of the record's canonical content
// and its resource: OTLP carries no stable position, so a client's retry is recognised,
// but two truly identical records collapse into one.
//
// Threads: gRPC's sync server threads; shares the IngestService's settings, auth, budget.
#pragma once

#include "collector/ingest/ingest_service.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"

namespace logship::collector {

class OtlpLogsService final : public opentelemetry::proto::collector::logs::v1::LogsService::Service {
 public:
  // `ingest` and `writer` must outlive the service.
  OtlpLogsService(IngestService& ingest, BatchWriter& writer) : ingest_(ingest), writer_(writer) {}

  grpc::Status Export(grpc::ServerContext* context,
                      const opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest* request,
                      opentelemetry::proto::collector::logs::v1::ExportLogsServiceResponse* response) override;

 private:
  IngestService& ingest_;
  BatchWriter& writer_;
};

// Converts one ResourceLogs (exposed for tests). InvalidArgument on limit violations.
Status ConvertResourceLogs(const opentelemetry::proto::logs::v1::ResourceLogs& in, const Limits& limits,
                           const std::string& agent_id, const std::string& peer_host, DecodedBatch* out);

}  // namespace logship::collector
