#include "common/metrics/registry.h"
#include "common/thread/mutex.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace logship::metrics {
namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string FormatLabels(const Labels& labels, const std::string& extra_key = "", const std::string& extra = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    out += (first ? "" : ",") + k + "=\"" + EscapeLabel(v) + "\"";
    first = false;
  }
  if (!extra_key.empty()) out += (first ? "" : ",") + extra_key + "=\"" + extra + "\"";
  return out + "}";
}

std::string FormatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void AtomicAdd(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double v) {
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
}

void Histogram::Snapshot(std::vector<uint64_t>* buckets, uint64_t* count, double* sum) const {
  buckets->assign(bounds_.size() + 1, 0);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    (*buckets)[i] = running;
  }
  *count = running;
  *sum = sum_.load(std::memory_order_relaxed);
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

Registry::Series& Registry::Find(const std::string& name, Type type, const std::string& help, const Labels& labels) {
  MutexLock lock(mu_);
  auto [it, inserted] = families_.try_emplace(name);
  Family& f = it->second;
  if (inserted) {
    f.type = type;
    f.help = help;
  }
  for (auto& s : f.series)
    if (s->labels == labels) return *s;
  f.series.push_back(std::make_unique<Series>());
  f.series.back()->labels = labels;
  return *f.series.back();
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help, const Labels& labels) {
  Series& s = Find(name, Type::kCounter, help, labels);
  MutexLock lock(mu_);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  Series& s = Find(name, Type::kGauge, help, labels);
  MutexLock lock(mu_);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                                  const Labels& labels) {
  Series& s = Find(name, Type::kHistogram, help, labels);
  MutexLock lock(mu_);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(bounds);
  return *s.histogram;
}

void Registry::AddCallback(const std::string& name, const std::string& help, const Labels& labels,
                           std::function<double()> read) {
  const bool counter = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
  Series& s = Find(name, counter ? Type::kCounter : Type::kGauge, help, labels);
  MutexLock lock(mu_);
  s.callback = std::move(read);
}

std::string Registry::Render() const {
  MutexLock lock(mu_);
  std::string out;
  std::vector<uint64_t> buckets;
  for (const auto& [name, f] : families_) {
    const char* type = f.type == Type::kCounter ? "counter" : f.type == Type::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& s : f.series) {
      if (s->histogram) {
        uint64_t count = 0;
        double sum = 0;
        s->histogram->Snapshot(&buckets, &count, &sum);
        const auto& bounds = s->histogram->bounds();
        for (size_t i = 0; i <= bounds.size(); ++i) {
          const std::string le = i < bounds.size() ? FormatNumber(bounds[i]) : "+Inf";
          out += name + "_bucket" + FormatLabels(s->labels, "le", le) + " " + std::to_string(buckets[i]) + "\n";
        }
        out += name + "_sum" + FormatLabels(s->labels) + " " + FormatNumber(sum) + "\n";
        out += name + "_count" + FormatLabels(s->labels) + " " + std::to_string(count) + "\n";
        continue;
      }
      double v = 0;
      if (s->callback) v = s->callback();
      else if (s->counter) v = static_cast<double>(s->counter->value());
      else if (s->gauge) v = s->gauge->value();
      out += name + FormatLabels(s->labels) + " " + FormatNumber(v) + "\n";
    }
  }
  return out;
}

}  // namespace logship::metrics
