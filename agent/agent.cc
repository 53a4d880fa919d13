#include "agent/agent.h"

#include <uv.h>

#include <csignal>
#include <memory>
#include <optional>
#include <vector>

#include "agent/data_dir.h"
#include "agent/flow/flow.h"
#include "agent/shipper/shipper.h"
#include "agent/signal_relay.h"
#include "agent/sources/counting_emitter.h"
#include "agent/sources/source_plugin.h"
#include "common/bearer_token.h"
#include "common/clock.h"
#include "common/http/http_server.h"
#include "common/log.h"
#include "common/metrics/registry.h"

namespace logship::agent {
namespace {

constexpr std::string_view kComponent = "agent";
constexpr auto kShutdownDrain = std::chrono::seconds(5);

struct LoopState {
  Flow* flow = nullptr;
  std::vector<std::unique_ptr<Source>>* sources = nullptr;
  SignalRelay* relay = nullptr;
  UvHandle<uv_async_t>* signal_async = nullptr;
  const std::string* config_path = nullptr;
  std::optional<AgentConfig>* reload_to = nullptr;
  bool stopping = false;
};

void BeginShutdown(LoopState& s) {
  if (s.stopping) return;
  s.stopping = true;
  LogInfo(kComponent, "shutting down");
  for (auto& src : *s.sources) src->Stop();
  if (!s.flow->Flush()) LogWarn(kComponent, "spool is full; the last lines will be read again on restart");
  s.flow->Stop();
  s.relay->Detach();
  s.signal_async->Close();
}

// SIGHUP: a valid new configuration restarts the agent in-process with it (spool,
// checkpoints and unacknowledged batches carry over); an invalid one is reported and ignored.
void OnReload(LoopState& s) {
  if (s.stopping) return;
  try {
    *s.reload_to = LoadAgentConfig(*s.config_path);
  } catch (const ConfigError& e) {
    LogError(kComponent, std::string("reload failed, keeping the running configuration: ") + e.what());
    return;
  }
  LogInfo(kComponent, "configuration reloaded; restarting sources and shipper with it");
  BeginShutdown(s);
}

// Metrics that read the long-lived parts; registered once, rendered on the HTTP thread.
void RegisterAgentMetrics(metrics::Registry& r, const DataDir& data, Shipper& shipper, Flow& flow) {
  spool::Spool& spool = *data.spool;
  r.AddCallback("logship_agent_spool_bytes", "Bytes of spool files on disk.", {},
                [&spool] { return static_cast<double>(spool.Bytes()); });
  r.AddCallback("logship_agent_spool_frames", "Spooled batches not yet acknowledged.", {},
                [&spool] { return static_cast<double>(spool.UnackedFrames()); });
  r.AddCallback("logship_agent_spool_corrupt_frames_total", "Damaged spool frames skipped at start-up.", {},
                [&spool] { return static_cast<double>(spool.recovery().corrupt_frames); });
  r.AddCallback("logship_agent_spool_meta_errors_total", "Spool frames whose positions could not be parsed at start-up.",
                {}, [n = data.spool_meta_errors] { return static_cast<double>(n); });
  r.AddCallback("logship_agent_batches_sent_total", "Batches written to a collector stream.", {},
                [&shipper] { return static_cast<double>(shipper.batches_sent()); });
  r.AddCallback("logship_agent_bytes_sent_total", "Compressed payload bytes written to collector streams.", {},
                [&shipper] { return static_cast<double>(shipper.bytes_sent()); });
  r.AddCallback("logship_agent_batches_acked_total", "Batches acknowledged by a collector.", {},
                [&shipper] { return static_cast<double>(shipper.batches_acked()); });
  r.AddCallback("logship_agent_batches_retried_total", "Batches a collector asked to retry.", {},
                [&shipper] { return static_cast<double>(shipper.batches_retried()); });
  r.AddCallback("logship_agent_batches_dead_lettered_total", "Batches a collector rejected, kept in dead-letter/.",
                {}, [&shipper] { return static_cast<double>(shipper.batches_dead_lettered()); });
  r.AddCallback("logship_agent_batches_split_total", "Spooled batches sent in parts to fit the collector's limits.",
                {}, [&shipper] { return static_cast<double>(shipper.frames_split()); });
  r.AddCallback("logship_agent_records_dead_lettered_total",
                "Records that fit no frame under the collector's limits, kept in dead-letter/.", {},
                [&shipper] { return static_cast<double>(shipper.records_dead_lettered()); });
  r.AddCallback("logship_agent_records_spooled_total", "Records written to the spool.", {},
                [&flow] { return static_cast<double>(flow.records_spooled()); });
  r.AddCallback("logship_agent_sources_paused", "1 while sources are paused because the spool is full.", {},
                [&flow] { return flow.blocked() ? 1.0 : 0.0; });
}

// The configured sources, made by their plugins, each with an emitter that counts its records.
struct SourceSet {
  std::vector<std::unique_ptr<Source>> sources;
  std::vector<std::unique_ptr<CountingEmitter>> emitters;
};

SourceSet CreateSources(const AgentConfig& config, const SourceContext& context, Flow& flow,
                        metrics::Registry& registry) {
  SourceSet set;
  for (const auto& sc : config.sources) {
    set.sources.push_back(FindSourcePlugin(sc->type)->create(*sc, context));
    set.emitters.push_back(std::make_unique<CountingEmitter>(
        flow, registry.GetCounter("logship_agent_records_read_total", "Records read by a source.",
                                  {{"source", sc->name}})));
  }
  return set;
}

// /healthz: 200 while every source can do its job, else 503 naming the failing ones.
void ServeHealth(http::HttpServer& http, const std::vector<std::unique_ptr<Source>>& sources,
                 const AgentConfig& config) {
  http.Handle("/healthz", [&sources, &config] {
    std::string failing;
    for (size_t i = 0; i < sources.size(); ++i) {
      if (Status s = sources[i]->Health(); !s.ok()) failing += config.sources[i]->name + ": " + s.message() + "\n";
    }
    if (failing.empty()) return http::Response{200, "text/plain; charset=utf-8", "ok\n"};
    return http::Response{503, "text/plain; charset=utf-8", failing};
  });
}

// Starts every source; at the data_dir's first start, saves the mark (and the positions
// start_at skipped) before anything is read. False when something failed (logged).
bool StartSources(SourceSet& set, Flow& flow, CheckpointStore& checkpoints) {
  const bool first_start = checkpoints.fresh();
  bool started = true;
  for (size_t i = 0; i < set.sources.size(); ++i) {
    flow.AddSource(set.sources[i].get());
    if (Status s = set.sources[i]->Start(*set.emitters[i]); !s.ok()) {
      LogError(kComponent, "source failed to start: " + s.message());
      started = false;
    }
  }
  if (started && first_start) {
    // The data_dir's first start: from now on every new line is new data. The positions
    // start_at skipped are saved with the mark, so a crash cannot ship that history.
    checkpoints.Initialize(UnixNanosNow());
    if (Status s = flow.Checkpoint(); !s.ok()) {
      LogError(kComponent, "cannot save the first checkpoint: " + s.message());
      started = false;
    }
  }
  return started;
}

// Signals that arrived while starting (or reloading) are handled from now on, by the loop.
void HandleSignals(uv_loop_t* loop, LoopState& state) {
  uv_async_init(loop, state.signal_async->get(), [](uv_async_t* a) {
    auto& st = *static_cast<LoopState*>(a->data);
    const int what = st.relay->Take();
    if (what & SignalRelay::kStop) {
      st.reload_to->reset();
      BeginShutdown(st);
    } else if (what & SignalRelay::kReload) {
      OnReload(st);
    }
  });
  state.signal_async->MarkInitialized();
  state.signal_async->get()->data = &state;
  state.relay->Attach(state.signal_async->get());
}

// The loop part of a run: the flow, the sources and the HTTP server live for as long as the
// loop runs. False when the sources could not start.
bool RunLoop(uv_loop_t* loop, const AgentConfig& config, const std::string& config_path, DataDir& data,
             Shipper& shipper, std::optional<AgentConfig>* reload_to, SignalRelay& relay) {
  Flow flow(loop, FlowOptions{config.batch, config.agent_id, config.host, config.compression_level,
                              config.spool.fsync, config.fsync_interval},
            *data.spool, *data.checkpoints);
  metrics::Registry registry;
  RegisterAgentMetrics(registry, data, shipper, flow);
  const SourceContext context{loop, config.agent_id, data.checkpoints.get(), &registry};
  SourceSet set = CreateSources(config, context, flow, registry);
  http::HttpServer http;
  http::ServeMetrics(http, registry);
  ServeHealth(http, set.sources, config);
  http::StartAndLog(http, config.http, kComponent, "shipping continues");
  UvHandle<uv_async_t> signal_async;
  LoopState state{&flow, &set.sources, &relay, &signal_async, &config_path, reload_to};
  flow.Start();
  const bool started = StartSources(set, flow, *data.checkpoints);
  if (!started) {
    http.Stop();
    for (auto& src : set.sources) src->Stop();
    flow.Stop();
  } else {
    HandleSignals(loop, state);
    LogInfo(kComponent, "agent " + config.agent_id + " started; shipping to " + config.collector.endpoints.front());
  }
  uv_run(loop, UV_RUN_DEFAULT);
  http.Stop();  // its handlers read the sources and the flow
  set.sources.clear();
  return started;
}

// One run with one configuration. Sets *reload_to when SIGHUP brought a new one.
int RunOnce(const AgentConfig& config, const std::string& config_path, std::optional<AgentConfig>* reload_to,
            SignalRelay& relay) {
  std::signal(SIGPIPE, SIG_IGN);
  auto data = OpenDataDir(config);
  if (!data.ok()) {
    LogError(kComponent, data.status().message());
    return 1;
  }
  auto token = config.collector.token_file.empty()
                   ? Result<std::string>(std::string())
                   : ReadTokenFile(config.collector.token_file, "collector.token_file");
  if (!token.ok()) {
    LogError(kComponent, token.status().message());
    return 1;
  }
  auto credentials = MakeChannelCredentials(config.collector);
  if (!credentials.ok()) {
    LogError(kComponent, credentials.status().message());
    return 1;
  }
  Shipper shipper(config.collector, config.agent_id, *token, *data->spool, config.data_dir + "/dead-letter",
                  *credentials, config.compression_level);
  shipper.Start();
  uv_loop_t loop;
  uv_loop_init(&loop);
  const bool started = RunLoop(&loop, config, config_path, *data, shipper, reload_to, relay);
  uv_run(&loop, UV_RUN_DEFAULT);  // lets close callbacks of destroyed handles run
  uv_loop_close(&loop);
  if (!started) {
    shipper.Stop();
    return 1;
  }
  if (!reload_to->has_value() && !shipper.WaitDrained(kShutdownDrain))
    LogInfo(kComponent, "unacknowledged batches stay in the spool for the next start");
  shipper.Stop();
  LogInfo(kComponent, "stopped");
  return 0;
}

}  // namespace

int RunAgent(const AgentConfig& config, const std::string& config_path) {
  SignalRelay relay;  // before any thread starts: every later thread inherits the blocked signals
  AgentConfig current = config;
  for (;;) {
    std::optional<AgentConfig> next;
    const int rc = RunOnce(current, config_path, &next, relay);
    if (!next) return rc;
    current = std::move(*next);
  }
}

}  // namespace logship::agent
