#include "collector/server/otlp_service.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <grpcpp/support/byte_buffer.h>

#include <algorithm>

#include "collector/server/otlp_shape.h"
#include "collector/model/severity.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/record_id.h"

namespace logship::collector {
namespace {

namespace otlp = opentelemetry::proto;
constexpr std::string_view kComponent = "otlp";
constexpr int kMaxDepth = 16;

void WriteJson(const otlp::common::v1::AnyValue& v, int depth, rapidjson::Writer<rapidjson::StringBuffer>& w) {
  if (depth > kMaxDepth) {
    w.String("…");  // deeper nesting is cut, never recursed into without bound
    return;
  }
  switch (v.value_case()) {
    case otlp::common::v1::AnyValue::kStringValue: w.String(v.string_value().data(), static_cast<rapidjson::SizeType>(v.string_value().size())); break;
    case otlp::common::v1::AnyValue::kBoolValue: w.Bool(v.bool_value()); break;
    case otlp::common::v1::AnyValue::kIntValue: w.Int64(v.int_value()); break;
    case otlp::common::v1::AnyValue::kDoubleValue: w.Double(v.double_value()); break;
    case otlp::common::v1::AnyValue::kBytesValue: {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string hex;
      for (unsigned char c : v.bytes_value()) { hex.push_back(kHex[c >> 4]); hex.push_back(kHex[c & 15]); }
      w.String(hex.data(), static_cast<rapidjson::SizeType>(hex.size()));
      break;
    }
    case otlp::common::v1::AnyValue::kArrayValue:
      w.StartArray();
      for (const auto& e : v.array_value().values()) WriteJson(e, depth + 1, w);
      w.EndArray();
      break;
    case otlp::common::v1::AnyValue::kKvlistValue:
      w.StartObject();
      for (const auto& kv : v.kvlist_value().values()) {
        w.Key(kv.key().data(), static_cast<rapidjson::SizeType>(kv.key().size()));
        WriteJson(kv.value(), depth + 1, w);
      }
      w.EndObject();
      break;
    default: w.Null();
  }
}

// Text for an attribute or body: strings and bytes as they are, the rest as JSON.
std::string AsText(const otlp::common::v1::AnyValue& v) {
  if (v.has_string_value()) return v.string_value();
  if (v.has_bytes_value()) return v.bytes_value();
  if (v.value_case() == otlp::common::v1::AnyValue::VALUE_NOT_SET) return "";
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  WriteJson(v, 0, w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) { out.push_back(kHex[c >> 4]); out.push_back(kHex[c & 15]); }
  return out;
}

void AddAttribute(logship::v1::LogRecord* r, std::string_view k, std::string_view v) {
  auto* kv = r->add_attributes();
  kv->mutable_key()->assign(k);  // not set_key(data, size): that copies via a temporary string
  kv->mutable_value()->assign(v);
}

}  // namespace

Status ConvertResourceLogs(const otlp::logs::v1::ResourceLogs& in, const Limits& limits, const std::string& agent_id,
                           const std::string& peer_host, DecodedBatch* out, std::vector<RefusedRecord>* refused,
                           const std::string& principal) {
  out->batch->Clear();
  out->agent_id = agent_id;
  out->batch->set_agent_id(agent_id);
  auto* source = out->batch->add_sources();
  std::string service = "otlp", host = peer_host;
  if (static_cast<uint64_t>(in.resource().attributes_size()) > limits.max_attributes)
    return Status::InvalidArgument("resource has more than max_attributes attributes");
  for (const auto& kv : in.resource().attributes()) {
    const std::string value = AsText(kv.value());
    if (kv.key() == "service.name") service = value;
    if (kv.key() == "host.name") host = value;
    auto* a = source->add_attributes();
    a->set_key(kv.key());
    a->set_value(value);
  }
  source->set_name(service);
  out->batch->set_host(host);
  const std::string resource_key = in.resource().SerializeAsString();
  const int64_t now = UnixNanosNow();
  std::string canonical;
  for (const auto& scope : in.scope_logs()) {
    for (const auto& lr : scope.log_records()) {
      if (static_cast<uint64_t>(out->batch->records_size()) >= limits.max_records)
        return Status::InvalidArgument("more than max_records log records in one resource");
      if (static_cast<uint64_t>(lr.attributes_size()) + 4 > limits.max_attributes)
        return Status::InvalidArgument("a log record has more than max_attributes attributes");
      auto* r = out->batch->add_records();
      canonical.clear();
      {
        google::protobuf::io::StringOutputStream sos(&canonical);
        google::protobuf::io::CodedOutputStream cos(&sos);
        cos.SetSerializationDeterministic(true);
        lr.SerializeToCodedStream(&cos);
      }
      canonical.append(resource_key).append(scope.scope().name());
      RecordId id = ContentRecordId(canonical);
      if (!principal.empty()) id = BoundRecordId(principal, id);
      r->mutable_id()->assign(id.AsBytes());
      r->set_time_unix_nano(lr.time_unix_nano());
      // Observed time must not depend on when we received it, or a retry would differ; but
      // the client chose it, so it is held to the event time window around our clock (the
      // event time is then clamped around it, by the pipeline).
      uint64_t observed = lr.observed_time_unix_nano() != 0 ? lr.observed_time_unix_nano()
                          : lr.time_unix_nano() != 0        ? lr.time_unix_nano()
                                                            : static_cast<uint64_t>(now);
      const auto lo = static_cast<uint64_t>(std::max<int64_t>(0, now - limits.event_time_max_past.count()));
      const auto hi = static_cast<uint64_t>(now + limits.event_time_max_future.count());
      observed = std::clamp(observed, lo, hi);
      r->set_observed_time_unix_nano(observed);
      int32_t sev = lr.severity_number();
      if (sev < 1 || sev > 24) sev = SeverityFromText(lr.severity_text());
      r->set_severity(sev);
      r->set_body(AsText(lr.body()));
      std::string over;
      for (const auto& kv : lr.attributes()) {
        const std::string value = AsText(kv.value());
        if (kv.key().size() + value.size() > limits.max_attribute_bytes)
          over = "an attribute of " + std::to_string(kv.key().size() + value.size()) +
                 " bytes exceeds max_attribute_bytes (" + std::to_string(limits.max_attribute_bytes) + ")";
        AddAttribute(r, kv.key(), value);
      }
      if (!lr.trace_id().empty()) AddAttribute(r, "trace_id", Hex(lr.trace_id()));
      if (!lr.span_id().empty()) AddAttribute(r, "span_id", Hex(lr.span_id()));
      if (!lr.severity_text().empty()) AddAttribute(r, "severity_text", lr.severity_text());
      if (!scope.scope().name().empty()) AddAttribute(r, "otel.scope.name", scope.scope().name());
      r->set_source_index(0);
      if (!over.empty()) {
        if (refused == nullptr) return Status::InvalidArgument(over);
        refused->push_back(RefusedRecord{*r, over});
        out->batch->mutable_records()->RemoveLast();
      }
    }
  }
  return Status::Ok();
}

OtlpLogsService::OtlpLogsService(IngestService& ingest, BatchWriter& writer, size_t workers)
    : ingest_(ingest),
      writer_(writer),
      rejected_records_(ingest.registry().GetCounter("logship_collector_otlp_rejected_records_total",
                                                     "OTLP log records refused (a resource over a limit).")),
      pool_(workers, 2 * workers, "otlp") {}

grpc::ServerUnaryReactor* OtlpLogsService::Export(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto settings = ingest_.settings();
  // Who is asking, before a byte of the request is parsed.
  std::string agent;
  if (grpc::Status auth = AuthenticateCall(*settings, context, &agent, ingest_.auth_failures()); !auth.ok()) {
    reactor->Finish(auth);
    return reactor;
  }
  const size_t size = request->Length();
  if (size > settings->limits.max_otlp_request_bytes) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "request of " + std::to_string(size) + " bytes exceeds max_otlp_request_bytes (" +
                                     std::to_string(settings->limits.max_otlp_request_bytes) + ")"));
    return reactor;
  }
  // Room for the bytes, the parsed request and its batches (about 3x), or come back later.
  const uint64_t cost = 3 * static_cast<uint64_t>(size) + 4096;
  if (!ingest_.budget().TryAcquire(cost)) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the collector is busy; retry"));
    return reactor;
  }
  std::string bytes;
  bytes.reserve(size);
  std::vector<grpc::Slice> slices;
  if (!request->Dump(&slices).ok()) {
    ingest_.budget().Release(cost);
    reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request"));
    return reactor;
  }
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  const std::string principal = Principal(agent, context);
  if (agent.empty() || agent == kFleetAgent) agent = "otlp";
  std::string peer = context->peer();  // "ipv4:1.2.3.4:5678"
  if (auto colon = peer.find(':'); colon != std::string::npos) peer = peer.substr(colon + 1, peer.rfind(':') - colon - 1);
  auto job = [this, reactor, response, cost, settings, agent, principal, peer, bytes = std::move(bytes)] {
    const grpc::Status st = Process(bytes, *settings, agent, principal, peer, response);
    ingest_.budget().Release(cost);
    reactor->Finish(st);
  };
  if (!pool_.TrySubmit(std::move(job))) {
    ingest_.budget().Release(cost);
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the collector is busy; retry"));
  }
  return reactor;
}

grpc::Status OtlpLogsService::Process(const std::string& bytes, const IngestSettings& settings, const std::string& agent,
                                      const std::string& principal, const std::string& peer_host,
                                      grpc::ByteBuffer* response) {
  const Limits& limits = settings.limits;
  OtlpShapeLimits shape_limits;
  shape_limits.max_records = limits.max_records;
  // As for Ship frames: objects may take at most about 2 x max_uncompressed_bytes.
  shape_limits.max_objects = std::max<uint64_t>(1024, 2 * limits.max_uncompressed_bytes / 64);
  if (Status s = CheckOtlpShape(bytes, shape_limits); !s.ok()) {
    LogWarn(kComponent, "refused an export from " + peer_host + ": " + s.message());
    return grpc::Status(s.code() == Status::Code::kResourceExhausted ? grpc::StatusCode::RESOURCE_EXHAUSTED
                                                                      : grpc::StatusCode::INVALID_ARGUMENT,
                        s.message());
  }
  otlp::collector::logs::v1::ExportLogsServiceRequest request;
  if (!request.ParseFromString(bytes))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "not a valid ExportLogsServiceRequest");
  int64_t rejected = 0;
  std::string first_error;
  for (const auto& rl : request.resource_logs()) {
    DecodedBatch batch;  // a fresh arena per resource: Clear() would not give memory back
    std::vector<RefusedRecord> refused;
    if (Status s = ConvertResourceLogs(rl, limits, agent, peer_host, &batch, &refused, principal); !s.ok()) {
      // This resource alone: the ones after it still go.
      int64_t n = 0;
      for (const auto& scope : rl.scope_logs()) n += scope.log_records_size();
      rejected += n;
      rejected_records_.Inc(static_cast<uint64_t>(n));
      if (first_error.empty()) first_error = s.message();
      LogWarn(kComponent, "rejected a resource of " + std::to_string(n) + " records from " + peer_host + ": " + s.message());
      continue;
    }
    ingest_.CountReceived(agent, static_cast<uint64_t>(batch.batch->records_size() + refused.size()));
    const WriteResult r = writer_.Write(*settings.pipeline, batch, refused, limits.time_window());
    if (r.outcome == WriteOutcome::kRetry) return grpc::Status(grpc::StatusCode::UNAVAILABLE, r.reason);
    if (r.outcome == WriteOutcome::kReject) {
      rejected += batch.batch->records_size();
      if (first_error.empty()) first_error = r.reason;
    }
  }
  otlp::collector::logs::v1::ExportLogsServiceResponse out;
  if (rejected > 0) {
    out.mutable_partial_success()->set_rejected_log_records(rejected);
    out.mutable_partial_success()->set_error_message(first_error);
  }
  const std::string serialized = out.SerializeAsString();
  grpc::Slice slice(serialized);
  *response = grpc::ByteBuffer(&slice, 1);
  return grpc::Status::OK;
}

}  // namespace logship::collector
