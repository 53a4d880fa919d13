#include "agent/agent.h"

#include <sys/file.h>
#include <fcntl.h>
#include <uv.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <set>
#include <memory>
#include <vector>

#include "agent/checkpoint/checkpoint_store.h"
#include "agent/pipeline.h"
#include "agent/shipper/shipper.h"
#include "agent/signal_relay.h"
#include "agent/sources/counting_emitter.h"
#include "agent/sources/file/file_source.h"
#include "agent/sources/journald/journald_source.h"
#include "agent/spool/spool.h"
#include "common/bearer_token.h"
#include "common/file_util.h"
#include "common/http/http_server.h"
#include "common/config/config_node.h"
#include "common/metrics/registry.h"
#include "common/clock.h"
#include "common/log.h"

namespace logship::agent {
namespace {

constexpr std::string_view kComponent = "agent";
constexpr auto kShutdownDrain = std::chrono::seconds(5);

struct LoopState {
  Pipeline* pipeline = nullptr;
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
  if (!s.pipeline->Flush()) LogWarn(kComponent, "spool is full; the last lines will be read again on restart");
  s.pipeline->Stop();
  s.relay->Detach();
  s.signal_async->Close();
}

// Replays checkpoint deltas of frames spooled after the checkpoint file was last written.
// Metrics that read the long-lived parts; registered once, rendered on the HTTP thread.
void RegisterAgentMetrics(metrics::Registry& r, spool::Spool& spool, Shipper& shipper, Pipeline& pipeline) {
  r.AddCallback("logship_agent_spool_bytes", "Bytes of spool files on disk.", {},
                [&spool] { return static_cast<double>(spool.Bytes()); });
  r.AddCallback("logship_agent_spool_frames", "Spooled batches not yet acknowledged.", {},
                [&spool] { return static_cast<double>(spool.UnackedFrames()); });
  r.AddCallback("logship_agent_spool_corrupt_frames_total", "Damaged spool frames skipped at start-up.", {},
                [&spool] { return static_cast<double>(spool.recovery().corrupt_frames); });
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
                [&pipeline] { return static_cast<double>(pipeline.records_spooled()); });
  r.AddCallback("logship_agent_sources_paused", "1 while sources are paused because the spool is full.", {},
                [&pipeline] { return pipeline.blocked() ? 1.0 : 0.0; });
}

Status RecoverCheckpoints(spool::Spool& spool, CheckpointStore& checkpoints, bool sync, uint64_t& spool_meta_errors) {
  if (Status s = checkpoints.Load(); !s.ok()) return s;
  const uint64_t covered = checkpoints.spool_sequence();
  spool.EnsureSequenceAbove(covered);
  uint64_t last = covered;
  uint64_t unreadable = 0;
  Status s = spool.ForEachRecoveredMetaAfter(covered, [&](uint64_t seq, std::string_view meta) {
    v1::Checkpoints delta;
    if (delta.ParseFromArray(meta.data(), static_cast<int>(meta.size()))) {
      checkpoints.Apply(delta);
    } else {
      ++unreadable;  // CRC-checked, so a bug rather than damage; its lines may be read again
      LogError(kComponent, "cannot parse the positions of spool frame " + std::to_string(seq) +
                               "; lines it holds may be read (and shipped) again");
    }
    last = seq;
  });
  if (!s.ok()) return s;
  if (unreadable > 0) spool_meta_errors += unreadable;
  // Frames but no checkpoint file: the data_dir was used before (its file was lost).
  if (checkpoints.fresh() && spool.recovery().frames > 0) checkpoints.Initialize(UnixNanosNow());
  if (last != covered) {
    LogInfo(kComponent, "recovered positions from spool frames up to " + std::to_string(last));
    if (Status w = checkpoints.Save(last, sync); !w.ok()) return w;
  }
  spool.MarkCheckpointed(last);
  return Status::Ok();
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

// One run with one configuration. Sets *reload_to when SIGHUP brought a new one.
int RunOnce(const AgentConfig& config, const std::string& config_path, std::optional<AgentConfig>* reload_to,
            SignalRelay& relay) {
  std::signal(SIGPIPE, SIG_IGN);
  if (Status s = MakeDirs(config.data_dir); !s.ok()) {
    LogError(kComponent, s.message());
    return 1;
  }
  // One agent per data_dir: two would interleave spool sequences and checkpoints.
  UniqueFd lock(::open((config.data_dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!lock.valid()) {
    const int err = errno;
    LogError(kComponent, "data_dir " + config.data_dir + " is not writable (" + std::strerror(err) +
                             "): the agent keeps its spool and checkpoints there; make it writable for the agent's "
                             "user or set data_dir to a writable directory");
    return 1;
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    LogError(kComponent, "another agent is using " + config.data_dir + " (" + config.data_dir +
                             "/lock is held); give each agent its own data_dir");
    return 1;
  }
  auto token = config.collector.token_file.empty()
                   ? Result<std::string>(std::string())
                   : ReadTokenFile(config.collector.token_file, "collector.token_file");
  if (!token.ok()) {
    LogError(kComponent, token.status().message());
    return 1;
  }
  auto spool = spool::Spool::Open(config.spool);
  if (!spool.ok()) {
    LogError(kComponent, "cannot open spool: " + spool.status().message());
    return 1;
  }
  const auto& rec = (*spool)->recovery();
  LogInfo(kComponent, "spool: " + std::to_string(rec.frames) + " frames found, " + std::to_string(rec.unacked_frames) +
                          " to send, " + std::to_string(rec.corrupt_frames) + " corrupt skipped");
  CheckpointStore checkpoints(config.data_dir + "/checkpoints");
  {
    std::set<std::string> keys;
    for (const auto& fc : config.file_sources) keys.insert(fc.key);
    checkpoints.SetActiveSources(std::move(keys));
  }
  uint64_t spool_meta_errors = 0;
  if (Status s = RecoverCheckpoints(**spool, checkpoints, config.spool.fsync == spool::FsyncPolicy::kBatch,
                                    spool_meta_errors);
      !s.ok()) {
    LogError(kComponent, "cannot recover checkpoints: " + s.message());
    return 1;
  }

  auto credentials = MakeChannelCredentials(config.collector);
  if (!credentials.ok()) {
    LogError(kComponent, credentials.status().message());
    return 1;
  }
  Shipper shipper(config.collector, config.agent_id, *token, **spool, config.data_dir + "/dead-letter", *credentials,
                  config.compression_level);
  shipper.Start();

  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    Pipeline pipeline(&loop, config, **spool, checkpoints);
    metrics::Registry registry;
    RegisterAgentMetrics(registry, **spool, shipper, pipeline);
    const std::string read_help = "Records read by a source.";
    std::vector<std::unique_ptr<Source>> sources;
    std::vector<std::unique_ptr<CountingEmitter>> emitters;
    for (const auto& fc : config.file_sources) {
      auto fs = std::make_unique<FileSource>(&loop, fc, checkpoints);
      registry.AddCallback("logship_agent_files_open", "Files a file source has open (tailed or being finished).",
                           {{"source", fc.name}}, [p = fs.get()] { return static_cast<double>(p->open_files()); });
      registry.AddCallback("logship_agent_directory_watches", "Directories a file source watches with inotify.",
                           {{"source", fc.name}},
                           [p = fs.get()] { return static_cast<double>(p->watched_directories()); });
      sources.push_back(std::move(fs));
      emitters.push_back(std::make_unique<CountingEmitter>(
          pipeline, registry.GetCounter("logship_agent_records_read_total", read_help, {{"source", fc.name}})));
    }
    registry.AddCallback("logship_agent_spool_meta_errors_total",
                         "Spool frames whose positions could not be parsed at start-up.", {},
                         [spool_meta_errors] { return static_cast<double>(spool_meta_errors); });
    for (const auto& jc : config.journald_sources) {
      auto js = std::make_unique<JournaldSource>(&loop, jc, config.agent_id, checkpoints);
      registry.AddCallback("logship_agent_journald_cursor_gaps_total",
                           "Times a checkpointed journal cursor was gone and reading restarted at the oldest entry.",
                           {{"source", jc.name}}, [p = js.get()] { return static_cast<double>(p->cursor_gaps()); });
      registry.AddCallback("logship_agent_journald_errors_total", "Journal entries that could not be read.",
                           {{"source", jc.name}}, [p = js.get()] { return static_cast<double>(p->errors()); });
      sources.push_back(std::move(js));
      emitters.push_back(std::make_unique<CountingEmitter>(
          pipeline, registry.GetCounter("logship_agent_records_read_total", read_help, {{"source", jc.name}})));
    }
    http::HttpServer http;
    http::ServeMetrics(http, registry);
    http.Handle("/healthz", [] { return http::Response{200, "text/plain; charset=utf-8", "ok\n"}; });
    if (!config.http.listen.empty()) {
      if (Status s = http::StartFromConfig(http, config.http); !s.ok())
        LogError(kComponent, s.message() + " (metrics unavailable; shipping continues)");
      else
        LogInfo(kComponent, std::string("metrics on ") + (config.http.tls() ? "https://" : "http://") +
                                config.http.listen + "/metrics");
    }
    UvHandle<uv_async_t> signal_async;
    LoopState state{&pipeline, &sources, &relay, &signal_async, &config_path, reload_to};

    pipeline.Start();
    bool started = true;
    const bool first_start = checkpoints.fresh();
    for (size_t i = 0; i < sources.size(); ++i) {
      pipeline.AddSource(sources[i].get());
      if (Status s = sources[i]->Start(*emitters[i]); !s.ok()) {
        LogError(kComponent, "source failed to start: " + s.message());
        started = false;
      }
    }
    if (started && first_start) {
      // The data_dir's first start: from now on every new line is new data. The positions
      // start_at skipped are saved with the mark, so a crash cannot ship that history.
      checkpoints.Initialize(UnixNanosNow());
      if (Status s = pipeline.Checkpoint(); !s.ok()) {
        LogError(kComponent, "cannot save the first checkpoint: " + s.message());
        started = false;
      }
    }
    if (!started) {
      http.Stop();
      for (auto& src : sources) src->Stop();
      pipeline.Stop();
      uv_run(&loop, UV_RUN_DEFAULT);
      sources.clear();
      uv_run(&loop, UV_RUN_DEFAULT);
      uv_loop_close(&loop);
      shipper.Stop();
      return 1;
    }
    // Signals that arrived while starting (or reloading) are handled now, by the loop.
    uv_async_init(&loop, signal_async.get(), [](uv_async_t* a) {
      auto& st = *static_cast<LoopState*>(a->data);
      const int what = st.relay->Take();
      if (what & SignalRelay::kStop) {
        st.reload_to->reset();
        BeginShutdown(st);
      } else if (what & SignalRelay::kReload) {
        OnReload(st);
      }
    });
    signal_async.MarkInitialized();
    signal_async.get()->data = &state;
    relay.Attach(signal_async.get());
    LogInfo(kComponent, "agent " + config.agent_id + " started; shipping to " + config.collector.endpoints.front());
    uv_run(&loop, UV_RUN_DEFAULT);
    http.Stop();  // its handlers read the sources and the pipeline
    sources.clear();
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // lets close callbacks of destroyed handles run
  uv_loop_close(&loop);

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
