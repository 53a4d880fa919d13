#include "collector/collector.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <csignal>
#include <memory>
#include <thread>

#include "collector/console/console.h"
#include "collector/health_monitor.h"
#include "collector/ingest/agent_auth.h"
#include "collector/ingest/ingest_service.h"
#include "collector/ingest/otlp_service.h"
#include "collector/sinks/blackhole/blackhole_sink.h"
#include "collector/sinks/elasticsearch/elasticsearch_sink.h"
#include "collector/sinks/file_dead_letter_store.h"
#include "collector/sinks/postgres/postgres_sink.h"
#include "common/file_util.h"
#include "common/http/http_server.h"
#include "common/log.h"
#include "common/metrics/registry.h"

namespace logship::collector {
namespace {

constexpr std::string_view kComponent = "collector";
constexpr auto kShutdownGrace = std::chrono::seconds(10);

Result<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(const ServerTlsConfig& tls) {
  auto cert = ReadWholeFile(tls.cert_file);
  if (!cert.ok()) return Status::IoError("tls.cert_file: " + cert.status().message());
  auto key = ReadWholeFile(tls.key_file);
  if (!key.ok()) return Status::IoError("tls.key_file: " + key.status().message());
  grpc::SslServerCredentialsOptions opts(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!tls.client_ca_file.empty()) {
    auto ca = ReadWholeFile(tls.client_ca_file);
    if (!ca.ok()) return Status::IoError("tls.client_ca_file: " + ca.status().message());
    opts.pem_root_certs = *ca;
    opts.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  opts.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(opts);
}

// The parts of the configuration that can change without a restart.
Result<std::shared_ptr<const IngestSettings>> MakeSettings(const CollectorConfig& config) {
  auto auth = AgentAuth::Load(config.tokens);
  if (!auth.ok()) return auth.status();
  if (!auth->required())
    LogWarn(kComponent, "NO AUTHENTICATION: auth.tokens is not configured, so any client may send records");
  return std::make_shared<const IngestSettings>(IngestSettings{config.limits, config.pipeline, std::move(*auth)});
}

// SIGHUP: re-read the file; a bad one is reported and the running settings stay.
void Reload(const std::string& path, const CollectorConfig& running, IngestService& ingest) {
  CollectorConfig next;
  try {
    next = LoadCollectorConfig(path);
  } catch (const ConfigError& e) {
    LogError(kComponent, std::string("reload failed, keeping the running configuration: ") + e.what());
    return;
  }
  auto settings = MakeSettings(next);
  if (!settings.ok()) {
    LogError(kComponent, "reload failed, keeping the running configuration: " + settings.status().message());
    return;
  }
  ingest.UpdateSettings(*settings);
  if (next.listen != running.listen || next.http.listen != running.http.listen || next.tls.has_value() != running.tls.has_value() ||
      next.postgres.has_value() != running.postgres.has_value() ||
      next.elasticsearch.has_value() != running.elasticsearch.has_value() || next.blackhole != running.blackhole)
    LogWarn(kComponent, "reloaded pipeline, limits and tokens; listen, http, tls and sinks changes need a restart");
  else
    LogInfo(kComponent, "configuration reloaded (" + std::to_string((*settings)->pipeline->stages()) + " pipeline stages)");
}

}  // namespace

int RunCollector(const CollectorConfig& config, const std::string& config_path) {
  // Block the stop and reload signals in every thread (gRPC's included); this thread waits.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto settings = MakeSettings(config);
  if (!settings.ok()) {
    LogError(kComponent, settings.status().message());
    return 1;
  }
  if (config.insecure)
    LogWarn(kComponent, "INSECURE: insecure: true is set; whoever reaches " + config.listen +
                            " (and the HTTP listener) may send records as any agent and read what is served there");
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (config.tls) {
    auto built = ServerCredentials(*config.tls);
    if (!built.ok()) {
      LogError(kComponent, built.status().message());
      return 1;
    }
    creds = *built;
  } else {
    LogWarn(kComponent, "TLS is off: batches and tokens cross the network in clear text");
  }

  // Sinks, in the order required ones are written. Elasticsearch's refused documents go to
  // PostgreSQL's dead-letter table when that sink exists, else to files.
  std::vector<std::unique_ptr<Sink>> sinks;
  std::vector<SinkSlot> slots;
  std::unique_ptr<DeadLetterStore> file_dead_letters;
  postgres::PostgresSink* pg_sink = nullptr;
  if (config.postgres) {
    auto pg = std::make_unique<postgres::PostgresSink>(*config.postgres);
    if (Status s = pg->HealthCheck(); !s.ok())
      LogWarn(kComponent, "postgres is not reachable yet (batches will be retried): " + s.message());
    pg_sink = pg.get();
    slots.push_back(SinkSlot{pg.get(), config.postgres_delivery.required, config.postgres_delivery.queue_max_bytes});
    sinks.push_back(std::move(pg));
  }
  if (config.elasticsearch) {
    auto http = elasticsearch::EsHttpClient::Create(*config.elasticsearch);
    if (!http.ok()) {
      LogError(kComponent, "sinks.elasticsearch: " + http.status().message());
      return 1;
    }
    DeadLetterStore* dead = pg_sink;
    if (!dead) {
      file_dead_letters = std::make_unique<FileDeadLetterStore>(config.elasticsearch->dead_letter_dir, "elasticsearch",
                                                                config.dead_letter_max_bytes);
      dead = file_dead_letters.get();
    }
    auto es = std::make_unique<elasticsearch::ElasticsearchSink>(*config.elasticsearch, std::move(*http), dead);
    if (Status s = es->EnsureSetup(); !s.ok())
      LogWarn(kComponent, "elasticsearch is not ready yet (batches will be retried): " + s.message());
    slots.push_back(SinkSlot{es.get(), config.elasticsearch_delivery.required,
                             config.elasticsearch_delivery.queue_max_bytes});
    sinks.push_back(std::move(es));
  }
  if (config.blackhole) {
    sinks.push_back(std::make_unique<BlackholeSink>(config.blackhole_delay));
    slots.push_back(SinkSlot{sinks.back().get(), config.blackhole_delivery.required,
                             config.blackhole_delivery.queue_max_bytes});
  }
  // Only required sinks decide health: an optional one failing never stops ingest.
  std::vector<Sink*> sink_ptrs;
  for (const SinkSlot& slot : slots)
    if (slot.required) sink_ptrs.push_back(slot.sink);

  metrics::Registry registry;
  BatchWriter writer(slots, registry);
  // Records refused at decoding (an over-limit attribute) are kept beside the sinks' own.
  std::unique_ptr<DeadLetterStore> ingest_dead_letters;
  if (pg_sink == nullptr)
    ingest_dead_letters =
        std::make_unique<FileDeadLetterStore>(config.DeadLetterDir(), "ingest", config.dead_letter_max_bytes);
  writer.SetDeadLetterStore(pg_sink != nullptr ? static_cast<DeadLetterStore*>(pg_sink) : ingest_dead_letters.get());
  const auto count_drops = [&registry](const char* sink, const std::unique_ptr<DeadLetterStore>& store) {
    auto* file = dynamic_cast<const FileDeadLetterStore*>(store.get());
    if (file == nullptr) return;
    registry.AddCallback("logship_collector_dead_letters_dropped_total",
                         "Refused records not kept because the dead-letter store is full.", {{"sink", sink}},
                         [file] { return static_cast<double>(file->dropped()); });
  };
  count_drops("ingest", ingest_dead_letters);
  count_drops("elasticsearch", file_dead_letters);
  IngestService ingest(*settings, writer, registry);
  OtlpLogsService otlp(ingest, writer, std::max(2u, std::thread::hardware_concurrency()));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, creds, &port);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::max(config.limits.max_frame_bytes, config.limits.max_otlp_request_bytes) + (64 << 10)));
  // A fixed receive window: with gRPC's BDP probing the window grows without bound and a
  // stream we stopped reading (budget full) would keep buffering instead of pushing back.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, static_cast<int>(config.limits.stream_window_bytes));
  builder.RegisterService(&ingest);
  builder.RegisterService(&otlp);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    LogError(kComponent, "cannot listen on " + config.listen);
    return 1;
  }
  auto* health = server->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(logship::v1::Ingest::service_full_name(), true);
  HealthMonitor monitor(sink_ptrs, health, config.health);
  monitor.Start();
  registry.AddCallback("logship_collector_ingest_serving", "1 while logship.v1.Ingest is SERVING.", {},
                       [&monitor] { return monitor.healthy() ? 1.0 : 0.0; });
  LogInfo(kComponent, "listening on " + config.listen + " (gRPC: Ingest, OTLP LogsService, Health)");

  http::HttpServer http;
  http::ServeMetrics(http, registry);
  http.Handle("/healthz", [&monitor] {
    if (monitor.healthy()) return http::Response{200, "text/plain; charset=utf-8", "ok\n"};
    // Which sink, not its error: those name hosts and users (the log and the console have them).
    return http::Response{503, "text/plain; charset=utf-8", "not serving: " + monitor.failing_sinks() + " failing\n"};
  });
  // --- Web console (collector/console/): page at /, JSON API at /api/v1/, on http.listen.
  // The agent registry is fed by the ingest streams; the console reads PostgreSQL through
  // its own small read-only pool. `console` outlives http.Stop() below.
  console::AgentRegistry agents;
  std::unique_ptr<console::Console> console;
  if (config.console && config.postgres) {
    ingest.SetAgentRegistry(&agents);
    std::vector<std::string> sink_names;
    for (Sink* s : sink_ptrs) sink_names.emplace_back(s->name());
    auto created = console::Console::Create(*config.console, *config.postgres, agents, registry, sink_names,
                                            [&monitor] { return monitor.healthy(); },
                                            [&monitor] { return monitor.reason(); });
    if (!created.ok()) {
      LogError(kComponent, "web console disabled: " + created.status().message());
    } else {
      console = std::move(*created);
      console->Register(http);
      LogInfo(kComponent, std::string("web console on ") + (config.http.tls() ? "https://" : "http://") +
                              config.http.listen + "/");
    }
  }
  // --- end of web console
  if (!config.http.listen.empty()) {
    if (Status s = http::StartFromConfig(http, config.http); !s.ok())
      LogError(kComponent, s.message() + " (metrics unavailable; ingest continues)");
    else
      LogInfo(kComponent, std::string("metrics on ") + (config.http.tls() ? "https://" : "http://") +
                              config.http.listen + "/metrics");
  }

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    Reload(config_path, config, ingest);
  }
  LogInfo(kComponent, "stopping (signal " + std::to_string(sig) + "); finishing in-flight batches");
  monitor.Stop();
  health->Shutdown();
  ingest.Drain();
  writer.Stop(kShutdownGrace);
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server->Wait();
  http.Stop();
  LogInfo(kComponent, "stopped; " + std::to_string(ingest.records_received()) + " records received");
  return 0;
}

}  // namespace logship::collector
