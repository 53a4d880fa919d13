#include "collector/collector.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <csignal>
#include <memory>
#include <thread>

#include "collector/console/console.h"
#include "collector/delivery/batch_writer.h"
#include "collector/delivery/sink_health_monitor.h"
#include "collector/inputs/input_plugin.h"
#include "collector/server/agent_auth.h"
#include "collector/server/ingest_service.h"
#include "collector/server/otlp_service.h"
#include "collector/sinks/file_dead_letter_store.h"
#include "collector/sinks/sink_plugin.h"
#include "common/grpc_tls.h"
#include "common/http/http_server.h"
#include "common/file_limit.h"
#include "common/log.h"
#include "common/metrics/registry.h"

namespace logship::collector {
namespace {

constexpr std::string_view kComponent = "collector";
constexpr auto kShutdownGrace = std::chrono::seconds(10);

// The parts of the configuration that can change without a restart.
Result<std::shared_ptr<const IngestSettings>> MakeSettings(const CollectorConfig& config) {
  auto auth = AgentAuth::Load(config.tokens);
  if (!auth.ok()) return auth.status();
  if (!auth->required())
    LogWarn(kComponent, "NO AUTHENTICATION: auth.tokens is not configured, so any client may send records");
  return std::make_shared<const IngestSettings>(IngestSettings{config.limits, config.pipeline, std::move(*auth)});
}

bool SameSinkTypes(const CollectorConfig& a, const CollectorConfig& b) {
  if (a.sinks.size() != b.sinks.size()) return false;
  for (size_t i = 0; i < a.sinks.size(); ++i)
    if (a.sinks[i]->type != b.sinks[i]->type) return false;
  return true;
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
  if (next.listen != running.listen || next.http.listen != running.http.listen ||
      next.tls.has_value() != running.tls.has_value() || !SameSinkTypes(next, running))
    LogWarn(kComponent, "reloaded pipeline, limits and tokens; listen, http, tls and sinks changes need a restart");
  else
    LogInfo(kComponent, "configuration reloaded (" + std::to_string((*settings)->pipeline->stages()) + " pipeline stages)");
}

// The sinks, made by their plugins in the configured order, and where refused records go:
// the store a sink offers (a table) for every sink and for records refused at ingest, else
// files under data_dir.
struct SinkSet {
  std::vector<std::unique_ptr<Sink>> sinks;
  std::vector<SinkSlot> slots;
  std::unique_ptr<FileDeadLetterStore> ingest_file_store;
  DeadLetterStore* ingest_dead_letters = nullptr;
};

Result<SinkSet> CreateSinks(const CollectorConfig& config) {
  SinkSet set;
  const SinkContext context{nullptr, config.data_dir, config.dead_letter_max_bytes};
  for (const auto& sc : config.sinks) {
    auto sink = FindSinkPlugin(sc->type)->create(*sc, context);
    if (!sink.ok()) return Status::InvalidArgument("sinks." + sc->type + ": " + sink.status().message());
    if (Status s = (*sink)->Prepare(); !s.ok())
      LogWarn(kComponent, sc->type + " is not ready yet (batches will be retried): " + s.message());
    if (!set.ingest_dead_letters) set.ingest_dead_letters = (*sink)->dead_letters();
    set.slots.push_back(SinkSlot{sink->get(), sc->delivery});
    set.sinks.push_back(std::move(*sink));
  }
  if (set.ingest_dead_letters) {
    for (auto& sink : set.sinks)
      if (sink->dead_letters() != set.ingest_dead_letters) sink->SetDeadLetterStore(set.ingest_dead_letters);
  } else {
    set.ingest_file_store =
        std::make_unique<FileDeadLetterStore>(config.DeadLetterDir(), "ingest", config.dead_letter_max_bytes);
    set.ingest_dead_letters = set.ingest_file_store.get();
  }
  return set;
}

// The web console (collector/console/) on http.listen, reading through the first sink that
// can be read back. Null when it is off or cannot start (logged).
std::unique_ptr<console::Console> StartConsole(const CollectorConfig& config, const SinkSet& sinks,
                                               const AgentRegistry& agents, metrics::Registry& registry,
                                               const SinkHealthMonitor& monitor, http::HttpServer& http) {
  if (!config.console) return nullptr;
  std::unique_ptr<LogReader> reader;
  for (const auto& sink : sinks.sinks) {
    if ((reader = sink->NewReader(config.console->connections, config.console->statement_timeout))) break;
  }
  if (!reader) return nullptr;
  std::vector<std::string> names;
  for (const SinkSlot& slot : sinks.slots)
    if (slot.delivery.required) names.emplace_back(slot.sink->name());
  auto created = console::Console::Create(*config.console, std::move(reader), agents, registry, names,
                                          [&monitor] { return monitor.healthy(); },
                                          [&monitor] { return monitor.reason(); });
  if (!created.ok()) {
    LogError(kComponent, "web console disabled: " + created.status().message());
    return nullptr;
  }
  (*created)->Register(http);
  LogInfo(kComponent, std::string("web console on ") + (config.http.tls() ? "https://" : "http://") +
                          config.http.listen + "/");
  return std::move(*created);
}

std::unique_ptr<grpc::Server> StartServer(const CollectorConfig& config, std::shared_ptr<grpc::ServerCredentials> creds,
                                          IngestService& ingest, OtlpLogsService& otlp) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, std::move(creds), &port);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::max(config.limits.max_frame_bytes, config.limits.max_otlp_request_bytes) + (64 << 10)));
  // A fixed receive window: with gRPC's BDP probing the window grows without bound and a
  // stream we stopped reading (budget full) would keep buffering instead of pushing back.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, static_cast<int>(config.limits.stream_window_bytes));
  // A peer that stops answering pings is dropped with its streams (a host that vanished, a
  // half-open connection); agents ping every 30 s, which must not count as abuse.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(config.limits.keepalive_time.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(config.limits.keepalive_timeout.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A connection with no call for 5 minutes is closed: an idle socket costs a descriptor.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 5 * 60 * 1000);
  builder.RegisterService(&ingest);
  builder.RegisterService(&otlp);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) return nullptr;
  return server;
}

void ServeHealth(http::HttpServer& http, const SinkHealthMonitor& monitor) {
  http.Handle("/healthz", [&monitor] {
    if (monitor.healthy()) return http::Response{200, "text/plain; charset=utf-8", "ok\n"};
    // Which sink, not its error: those name hosts and users (the log and the console have them).
    return http::Response{503, "text/plain; charset=utf-8", "not serving: " + monitor.failing_sinks() + " failing\n"};
  });
}

Result<std::shared_ptr<grpc::ServerCredentials>> Credentials(const CollectorConfig& config) {
  if (config.insecure)
    LogWarn(kComponent, "INSECURE: insecure: true is set; whoever reaches " + config.listen +
                            " (and the HTTP listener) may send records as any agent and read what is served there");
  if (!config.tls) {
    LogWarn(kComponent, "TLS is off: batches and tokens cross the network in clear text");
    return grpc::InsecureServerCredentials();
  }
  return ServerTlsCredentials({"tls", config.tls->client_ca_file, config.tls->cert_file, config.tls->key_file});
}

// Blocks SIGINT, SIGTERM and SIGHUP in every thread (gRPC's included): the main thread waits
// for them with sigwait.
sigset_t BlockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return signals;
}

}  // namespace

int RunCollector(const CollectorConfig& config, const std::string& config_path) {
  sigset_t signals = BlockSignals();
  if (const FileLimit files = RaiseFileLimit(); files.after < 8192)
    LogWarn(kComponent, "open-file limit " + std::to_string(files.after) +
                            ": each agent holds a connection (a descriptor); raise LimitNOFILE / ulimit -n "
                            "for more than a few thousand agents");
  auto settings = MakeSettings(config);
  auto creds = Credentials(config);
  auto sinks = settings.ok() && creds.ok() ? CreateSinks(config) : Result<SinkSet>(Status::Ok());
  for (const Status& s : {settings.status(), creds.status(), sinks.status()}) {
    if (!s.ok()) {
      LogError(kComponent, s.message());
      return 1;
    }
  }
  metrics::Registry registry;
  BatchWriter writer(sinks->slots, registry);
  writer.SetDeadLetterStore(sinks->ingest_dead_letters);
  if (sinks->ingest_file_store)
    registry.AddCallback("logship_collector_dead_letters_dropped_total",
                         "Refused records not kept because the dead-letter store is full.", {{"sink", "ingest"}},
                         [file = sinks->ingest_file_store.get()] { return static_cast<double>(file->dropped()); });
  std::vector<std::unique_ptr<Input>> inputs;
  for (const auto& ic : config.inputs) {
    auto in = FindInputPlugin(ic->type)->create(*ic, InputContext{&writer, &registry});
    if (!in.ok()) {
      LogError(kComponent, "inputs." + ic->type + ": " + in.status().message());
      return 1;
    }
    inputs.push_back(std::move(in).value());
  }
  IngestService ingest(*settings, writer, registry, config.ingest_workers);
  OtlpLogsService otlp(ingest, writer, std::max(2u, std::thread::hardware_concurrency()));
  std::unique_ptr<grpc::Server> server = StartServer(config, *creds, ingest, otlp);
  if (!server) {
    LogError(kComponent, "cannot listen on " + config.listen);
    return 1;
  }
  auto* health = server->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(logship::v1::Ingest::service_full_name(), true);
  // Only required sinks decide health: an optional one failing never stops ingest.
  std::vector<Sink*> required;
  for (const SinkSlot& slot : sinks->slots)
    if (slot.delivery.required) required.push_back(slot.sink);
  SinkHealthMonitor monitor(required, health, config.health);
  monitor.Start();
  registry.AddCallback("logship_collector_ingest_serving", "1 while logship.v1.Ingest is SERVING.", {},
                       [&monitor] { return monitor.healthy() ? 1.0 : 0.0; });
  LogInfo(kComponent, "listening on " + config.listen + " (gRPC: Ingest, OTLP LogsService, Health)");

  http::HttpServer http;
  http::ServeMetrics(http, registry);
  ServeHealth(http, monitor);
  AgentRegistry agents;
  const std::unique_ptr<console::Console> console = StartConsole(config, *sinks, agents, registry, monitor, http);
  if (console) ingest.SetAgentRegistry(&agents);
  http::StartAndLog(http, config.http, kComponent, "ingest continues");
  for (auto& in : inputs) in->Start();

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    Reload(config_path, config, ingest);
  }
  LogInfo(kComponent, "stopping (signal " + std::to_string(sig) + "); finishing in-flight batches");
  monitor.Stop();
  health->Shutdown();
  writer.Interrupt();  // a batch waiting to be tried again goes back to its agent now
  for (auto& in : inputs) in->Stop();  // what they wrote is recorded; the rest is read again later
  ingest.Drain();
  writer.Stop(kShutdownGrace);
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server->Wait();
  http.Stop();
  LogInfo(kComponent, "stopped; " + std::to_string(ingest.records_received()) + " records received");
  return 0;
}

}  // namespace logship::collector
