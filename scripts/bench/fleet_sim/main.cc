// logship-fleet-sim: one process that plays N agents against a collector (issue 22).
//
// Each simulated agent has its own agent id, its own channel (its own TCP connection, as a
// real host has), its own Ship stream and a window of unacknowledged frames, and sends real
// compact batches (file-position record ids, zstd) of realistic lines at a rate with jitter.
// A stream that ends is reopened after a backoff (200 ms doubling to 5 s, with jitter) and
// every unacknowledged frame is sent again, as the agent does. It counts what was acked.
//
// Modes: steady; skewed (1% of agents send 100× more). A reconnect storm is a collector
// restart during a steady run (the driver restarts it): the report gives the longest time
// from a stream's loss to its next OK ack.
//
// Output: one JSON object on stdout (figures over the measured window, after warm-up), so
// scripts/bench/bench_fleet.py and tests/integration/test_fleet_sim.py can read it.
//
// Threads: gRPC's callback threads run the reactors; one scheduler thread makes batches and
// reopens streams. Agent state is guarded by its own mutex; no lock is held across a
// gRPC Start* call (reactions may run inline).
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/lock_order_graph.h"
#include "scripts/bench/fleet_sim/fleet.h"

namespace fleet_sim {
namespace {


[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "fleet_sim: %s\nusage: logship-fleet-sim --target host:port --agents N --rate LINES_PER_S "
               "[--interval S] [--seconds S] [--warmup S] [--drain S] [--mode steady|skewed] "
               "[--token-file F] [--window N] [--collector-pid PID] [--seed N]\n",
               why);
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) Usage(("missing value for " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--target") o.target = v;
    else if (a == "--agents") o.agents = std::stoi(v);
    else if (a == "--rate") o.rate = std::stod(v);
    else if (a == "--interval") o.interval_s = std::stod(v);
    else if (a == "--seconds") o.seconds = std::stod(v);
    else if (a == "--warmup") o.warmup_s = std::stod(v);
    else if (a == "--drain") o.drain_s = std::stod(v);
    else if (a == "--mode") o.mode = v;
    else if (a == "--token-file") o.token_file = v;
    else if (a == "--window") o.window = std::stoi(v);
    else if (a == "--collector-pid") o.collector_pid = std::stoi(v);
    else if (a == "--seed") o.seed = std::stoull(v);
    else Usage(("unknown option " + a).c_str());
  }
  if (o.agents < 1 || o.rate <= 0 || o.interval_s <= 0 || o.window < 1) Usage("bad value");
  if (o.mode != "steady" && o.mode != "skewed") Usage("mode must be steady or skewed");
  return o;
}

// Lines shaped like a service's access and application logs: varied lengths and fields.
struct ProcSample {
  double cpu_s = 0;
  uint64_t rss_kib = 0, hwm_kib = 0;
  int threads = 0, fds = 0;
};

ProcSample SampleProc(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(st)), {});
  if (auto p = all.rfind(')'); p != std::string::npos) {
    std::istringstream in(all.substr(p + 2));
    std::vector<std::string> f((std::istream_iterator<std::string>(in)), {});
    if (f.size() > 13) s.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::stoull(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_kib = std::stoull(line.substr(6));
    if (line.rfind("Threads:", 0) == 0) s.threads = std::stoi(line.substr(8));
  }
  std::error_code ec;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  if (auto* d = opendir(fd_dir.c_str())) {
    while (readdir(d) != nullptr) ++s.fds;
    closedir(d);
    s.fds -= 2;
  }
  return s;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}


// What the collector process uses, sampled through the run.
struct Watch {
  ProcSample at_warm, at_end;
  uint64_t peak_rss = 0;
  int peak_threads = 0, peak_fds = 0;
  Clock::time_point from{}, to{};
  void Sample(int pid) {
    const ProcSample s = SampleProc(pid);
    peak_rss = std::max(peak_rss, s.rss_kib);
    peak_threads = std::max(peak_threads, s.threads);
    peak_fds = std::max(peak_fds, s.fds);
  }
};

void CreateAgents(Fleet& fleet, std::mt19937_64& rng, Clock::time_point start) {
  const Options& o = fleet.opt;
  for (int i = 0; i < o.agents; ++i) {
    auto a = std::make_unique<Agent>();
    a->index = i;
    char id[64];
    std::snprintf(id, sizeof id, "sim-%05d", i);
    a->id = id;
    a->rate = o.rate * (o.mode == "skewed" && i % 100 == 0 ? 100 : 1);
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // its own connection, as a real host
    args.SetInt("logship.fleet_sim.agent", i);            // distinct args: no channel sharing
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 1 << 20);
    a->channel = grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args);
    a->stub = logship::v1::Ingest::NewStub(a->channel);
    a->next_batch =
        start + std::chrono::microseconds(static_cast<int64_t>(1e6 * o.interval_s * (rng() % 1000) / 1000.0));
    fleet.agents.push_back(std::move(a));
  }
}

// One pass over the agents: batches due, streams to reopen. False once every frame is acked.
bool Tick(Fleet& fleet, Clock::time_point now, bool sending, std::mt19937_64& rng,
          const std::vector<std::string>& lines, logship::ZstdCompressor& zstd) {
  const Options& o = fleet.opt;
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  bool unacked = false;
  for (auto& ap : fleet.agents) {
    Agent& a = *ap;
    std::shared_ptr<BatchFrame> frame;
    std::shared_ptr<ShipCall> call;
    bool reopen = false;
    {
      std::lock_guard lock(a.mu);
      unacked |= !a.unacked.empty();
      reopen = a.call == nullptr && now >= a.reopen_at;
      if (sending && now >= a.next_batch) {
        a.next_batch += std::chrono::microseconds(static_cast<int64_t>(1e6 * o.interval_s * jitter(rng)));
        a.carry += a.rate * o.interval_s;
        const auto n = static_cast<uint32_t>(a.carry);
        if (a.unacked.size() < static_cast<size_t>(o.window) && n > 0) {  // else the window is full: wait
          a.carry -= n;
          frame = MakeFrame(a, n, lines, rng, zstd);
          a.unacked[frame->sequence()] = Pending{frame, n, now};
          a.lines_made += n;
          call = a.call;
        }
      }
    }
    if (reopen) Open(fleet, a);
    else if (frame && call != nullptr) call->Enqueue(frame);  // else sent when the stream reopens
  }
  return unacked || sending;
}

void Run(Fleet& fleet, Watch& watch) {
  const Options& o = fleet.opt;
  std::mt19937_64 rng(o.seed);
  const std::vector<std::string> lines = MakeLines(rng);
  logship::ZstdCompressor zstd(1);
  const auto start = Clock::now();
  CreateAgents(fleet, rng, start);
  for (auto& a : fleet.agents) Open(fleet, *a);
  const auto at = [&](double s) { return start + std::chrono::microseconds(static_cast<int64_t>(s * 1e6)); };
  const auto warm_end = at(o.warmup_s), send_end = at(o.seconds), give_up = at(o.seconds + o.drain_s);
  auto last_sample = start;
  for (;;) {
    const auto now = Clock::now();
    if (!fleet.measuring && watch.from == Clock::time_point{} && now >= warm_end && now < send_end) {
      fleet.measuring = true;
      watch.from = now;
      watch.at_warm = SampleProc(o.collector_pid);
    }
    if (fleet.measuring && now >= send_end) {
      fleet.measuring = false;
      watch.to = now;
      watch.at_end = SampleProc(o.collector_pid);
    }
    if (now - last_sample > std::chrono::milliseconds(500)) {
      last_sample = now;
      watch.Sample(o.collector_pid);
    }
    if (!Tick(fleet, now, now < send_end, rng, lines, zstd) || now > give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (watch.to == Clock::time_point{}) {
    watch.to = Clock::now();
    watch.at_end = SampleProc(o.collector_pid);
  }
}

struct Totals {
  uint64_t made = 0, acked = 0, unacked = 0, retries = 0, acked_in_window = 0;
  std::vector<double> per_agent;  // lines/s in the window, agents at the base rate only
  double longest_recovery = 0;
  int not_recovered = 0;
};

Totals Count(Fleet& fleet, double window_s) {
  Totals t;
  for (auto& ap : fleet.agents) {
    std::lock_guard lock(ap->mu);
    t.made += ap->lines_made;
    t.acked += ap->lines_acked;
    t.retries += ap->retries;
    t.acked_in_window += ap->lines_acked_in_window;
    for (auto& [s, p] : ap->unacked) t.unacked += p.lines;
    if (ap->rate == fleet.opt.rate && window_s > 0)
      t.per_agent.push_back(static_cast<double>(ap->lines_acked_in_window) / window_s);
    t.longest_recovery = std::max(t.longest_recovery, ap->longest_recovery_s);
    if (ap->lost) ++t.not_recovered;
  }
  std::sort(t.per_agent.begin(), t.per_agent.end());
  return t;
}

void Report(Fleet& fleet, const Watch& w, const Totals& t, double window_s) {
  const Options& o = fleet.opt;
  std::vector<double> lat;
  std::string ends;
  {
    std::lock_guard lock(fleet.stats.mu);
    lat = fleet.stats.latencies_ms;
    for (auto& [k, v] : fleet.stats.ends) ends += (ends.empty() ? "" : ", ") + ("\"" + k + "\": " + std::to_string(v));
  }
  const auto& pa = t.per_agent;
  std::printf(
      "{\"agents\": %d, \"mode\": \"%s\", \"rate_per_agent\": %.1f, \"window_s\": %.2f, \"max_streams\": %d, "
      "\"streams_at_end\": %d, \"lines_made\": %" PRIu64 ", \"lines_acked\": %" PRIu64 ", \"lines_unacked\": %" PRIu64
      ", \"retries\": %" PRIu64 ", \"lines_per_s\": %.0f, \"ack_ms_p50\": %.1f, \"ack_ms_p99\": %.1f, "
      "\"ack_ms_max\": %.1f, \"agent_lps_min\": %.2f, \"agent_lps_median\": %.2f, \"agent_lps_max\": %.2f, "
      "\"longest_recovery_s\": %.2f, \"agents_not_recovered\": %d, \"stream_ends\": {%s}, "
      "\"collector_threads_peak\": %d, \"collector_fds_peak\": %d, \"collector_rss_mib_peak\": %.1f, "
      "\"collector_hwm_mib\": %.1f, \"collector_cpu_cores\": %.2f}\n",
      o.agents, o.mode.c_str(), o.rate, window_s, fleet.max_connected.load(), fleet.connected.load(), t.made, t.acked,
      t.unacked, t.retries, window_s > 0 ? static_cast<double>(t.acked_in_window) / window_s : 0.0,
      Percentile(lat, 0.5), Percentile(lat, 0.99), lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()),
      pa.empty() ? 0.0 : pa.front(), pa.empty() ? 0.0 : pa[pa.size() / 2], pa.empty() ? 0.0 : pa.back(),
      t.longest_recovery, t.not_recovered, ends.c_str(), w.peak_threads, w.peak_fds,
      static_cast<double>(w.peak_rss) / 1024.0, static_cast<double>(w.at_end.hwm_kib) / 1024.0,
      window_s > 0 ? (w.at_end.cpu_s - w.at_warm.cpu_s) / window_s : 0.0);
  std::fflush(stdout);
}

}  // namespace
}  // namespace fleet_sim

int main(int argc, char** argv) {
  using namespace fleet_sim;
  logship::DisableLockOrderGraph();  // as the agent and the collector do
  Fleet fleet;
  fleet.opt = ParseArgs(argc, argv);
  if (!fleet.opt.token_file.empty()) {
    std::ifstream t(fleet.opt.token_file);
    std::getline(t, fleet.token);
  }
  // One connection per agent: raise the descriptor limit as far as allowed.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  Watch watch;
  Run(fleet, watch);
  const double window_s = std::chrono::duration<double>(watch.to - watch.from).count();
  const Totals t = Count(fleet, window_s);
  Report(fleet, watch, t, window_s);
  // Streams and channels are left to the process's end: a benchmark tool, not a library.
  std::_Exit(t.acked == t.made ? 0 : 3);
}
