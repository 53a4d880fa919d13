#include "collector/sinks/elasticsearch/elasticsearch_sink.h"

#include <chrono>
#include <random>
#include <thread>

#include "collector/sinks/elasticsearch/bulk_response.h"
#include "collector/sinks/elasticsearch/document_encoder.h"
#include "collector/sinks/elasticsearch/index_template.h"
#include "common/log.h"

namespace logship::collector::elasticsearch {
namespace {

constexpr std::string_view kComponent = "elasticsearch";
using Clock = std::chrono::steady_clock;

std::string AuthHint(long status) {
  return status == 401 ? "check username/password_file or api_key_file"
                       : "the user or API key lacks a privilege (create_doc / auto_configure on the target)";
}

}  // namespace

ElasticsearchSink::ElasticsearchSink(ElasticsearchConfig config, std::unique_ptr<EsHttpClient> http,
                                     DeadLetterStore* dead_letters)
    : config_(std::move(config)),
      http_(std::move(http)),
      dead_letters_(dead_letters),
      poison_(config_.give_up_after) {
  // Only what the sink reads comes back: a 10,000-item response stays small.
  bulk_path_ = "/_bulk?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason";
}

void ElasticsearchSink::RegisterMetrics(metrics::Registry& r) {
  const metrics::Labels l = {{"sink", "elasticsearch"}};
  const auto counter = [&](const char* name, const char* help, std::atomic<uint64_t>* v) {
    r.AddCallback(name, help, l, [v] { return static_cast<double>(v->load()); });
  };
  counter("logship_collector_es_requests_total", "_bulk requests sent.", &requests_);
  counter("logship_collector_es_request_retries_total", "_bulk requests that failed whole (429, 5xx, timeout).",
          &request_retries_);
  counter("logship_collector_es_items_created_total", "Documents created (201).", &items_created_);
  counter("logship_collector_es_items_conflict_total", "Documents already stored (409 on create: a re-send).",
          &items_conflict_);
  counter("logship_collector_es_items_retried_total", "Documents sent again after a 429/5xx item status.",
          &items_retried_);
  counter("logship_collector_sink_dead_lettered_total", "Records the sink refused, kept in the dead-letter store.",
          &dead_lettered_);
  counter("logship_collector_es_malformed_responses_total", "_bulk responses that could not be parsed.",
          &malformed_responses_);
  r.AddCallback("logship_collector_es_bytes_sent_total", "Request bytes on the wire (after gzip).", l,
                [this] { return static_cast<double>(http_->bytes_sent()); });
}

void ElasticsearchSink::SetBlocked(std::string why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (why != blocked_ && !why.empty()) LogError(kComponent, why);
  blocked_ = std::move(why);
}

Status ElasticsearchSink::Put(const std::string& path, const std::string& body, const char* what,
                              const char* privilege) {
  HttpResponse r = http_->Request("PUT", path, body, false);
  if (r.status == 0) return Status::Unavailable("cannot install the " + std::string(what) + ": " + r.transport_error);
  if (r.status >= 200 && r.status < 300) return Status::Ok();
  std::string msg = "the cluster at " + r.url + " refused the " + what + " (" + std::to_string(r.status) + " " +
                    ErrorSummary(r.body) + ")";
  if (r.status == 401) msg += "; " + AuthHint(401);
  else if (r.status == 403) msg += std::string("; grant the ") + privilege + " cluster privilege or set manage_template: false";
  else if (r.status >= 400 && r.status < 500) msg += "; or set manage_template: false and install your own";
  return r.status >= 500 || r.status == 429 ? Status::Unavailable(msg) : Status::InvalidArgument(msg);
}

Status ElasticsearchSink::EnsureSetup() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (setup_done_) return Status::Ok();
  }
  if (config_.manage_template) {
    if (Status s = Put("/_ilm/policy/" + config_.policy_name, LifecyclePolicyJson(config_), "lifecycle policy",
                       "manage_ilm");
        !s.ok())
      return s;
    if (Status s = Put("/_index_template/" + config_.template_name, IndexTemplateJson(config_), "index template",
                       "manage_index_templates");
        !s.ok())
      return s;
    LogInfo(kComponent, "installed lifecycle policy " + config_.policy_name + " and index template " +
                            config_.template_name + " for " + IndexPattern(config_));
  }
  std::lock_guard<std::mutex> lock(mu_);
  setup_done_ = true;
  return Status::Ok();
}

WriteResult ElasticsearchSink::Write(const DecodedBatch& batch) {
  if (batch.batch->records_size() == 0) return {WriteOutcome::kOk, ""};
  if (Status s = EnsureSetup(); !s.ok()) {
    if (s.code() == Status::Code::kInvalidArgument) SetBlocked(s.message());
    return {WriteOutcome::kRetry, s.message()};
  }
  const std::vector<BulkItem> items = EncodeBulkItems(batch, config_);
  std::vector<size_t> pending(items.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  std::vector<DeadLetter> dead;
  const auto deadline = Clock::now() + config_.retry_budget;
  auto delay = config_.retry_min;
  std::mt19937_64 rng{std::random_device{}()};
  size_t max_bytes = config_.bulk_max_bytes;
  std::string last_problem;
  bool out_of_budget = false;

  for (bool first_pass = true; !pending.empty(); first_pass = false) {
    std::vector<size_t> again;
    for (size_t start = 0; start < pending.size();) {
      // A retry pass stops at the deadline (one document per request after a split could
      // otherwise hold this stream for request timeout × documents).
      if (!first_pass && Clock::now() > deadline) {
        again.insert(again.end(), pending.begin() + static_cast<std::ptrdiff_t>(start), pending.end());
        out_of_budget = true;
        break;
      }
      // One request: as many pending items as fit in max_bytes (at least one).
      std::string body;
      size_t end = start;
      while (end < pending.size() && (end == start || body.size() + items[pending[end]].lines.size() <= max_bytes))
        body += items[pending[end++]].lines;
      const size_t count = end - start;
      ++requests_;
      HttpResponse r = http_->Request("POST", bulk_path_, body, true);
      const auto retry_chunk = [&](std::string why) {
        ++request_retries_;
        last_problem = std::move(why);
        again.insert(again.end(), pending.begin() + static_cast<std::ptrdiff_t>(start),
                     pending.begin() + static_cast<std::ptrdiff_t>(end));
      };
      if (r.status == 0) {
        retry_chunk(r.transport_error);
      } else if (r.status == 401 || r.status == 403) {
        const std::string why = "elasticsearch refused the _bulk request (" + std::to_string(r.status) + " " +
                                ErrorSummary(r.body) + "): " + AuthHint(r.status);
        SetBlocked(why);
        return {WriteOutcome::kRetry, why};
      } else if (r.status == 429 || r.status == 408 || r.status >= 500) {
        retry_chunk(std::to_string(r.status) + " " + ErrorSummary(r.body));
      } else if ((r.status == 400 || r.status == 413) && count > 1) {
        // Too large, or a request-level 400 caused by one of the documents: send the
        // items one by one next, so only the culprit is dead-lettered.
        max_bytes = 1;
        retry_chunk(std::to_string(r.status) + " " + ErrorSummary(r.body));
      } else if (r.status == 400 || r.status == 413) {
        // This one document is refused (unparseable, or larger than the cluster or a proxy
        // accepts): keep it aside instead of blocking the stream.
        const BulkItem& item = items[pending[start]];
        dead.push_back(DeadLetter{item.id, batch.agent_id, "elasticsearch", std::to_string(r.status) + " request",
                                  ErrorSummary(r.body), item.lines});
      } else if (r.status >= 300) {
        // 404, 405, 415…: a wrong URL or a proxy in the way, not the documents' fault.
        const std::string why = "elasticsearch at " + r.url + " answered _bulk with " + std::to_string(r.status) +
                                " " + ErrorSummary(r.body) + "; check urls (and any proxy in between)";
        SetBlocked(why);
        return {WriteOutcome::kRetry, why};
      } else {
        auto parsed = ParseBulkResponse(r.body);
        if (parsed.ok() && parsed->items.size() != count)
          parsed = Status::Corruption("_bulk response has " + std::to_string(parsed->items.size()) + " items for " +
                                      std::to_string(count) + " documents");
        if (!parsed.ok()) {
          ++malformed_responses_;
          LogWarn(kComponent, "from " + r.url + ": " + parsed.status().message() + "; sending those items again");
          retry_chunk(parsed.status().message());
        } else {
          bool any_stored = false;
          for (const auto& res : parsed->items) any_stored |= ClassifyItem(res.status) == ItemAction::kStored;
          if (any_stored) poison_.Succeeded();
          for (size_t k = 0; k < count; ++k) {
            const BulkItemResult& res = parsed->items[k];
            const size_t index = pending[start + k];
            ItemAction action = ClassifyItem(res.status);
            // Refused (401/403/404) next to documents that were stored: the cluster is fine,
            // this document's target is not (a blocked or missing index): retried alone, and
            // dead-lettered if it keeps failing for give_up_after.
            if (action == ItemAction::kBlocked && any_stored) action = ItemAction::kRetry;
            switch (action) {
              case ItemAction::kStored:
                ++(res.status == 409 ? items_conflict_ : items_created_);
                poison_.Forget(items[index].id);
                break;
              case ItemAction::kRetry:
                ++items_retried_;
                last_problem = std::to_string(res.status) + " " + res.error_type + ": " + res.error_reason;
                again.push_back(index);
                break;
              case ItemAction::kDeadLetter:
                dead.push_back(DeadLetter{items[index].id, batch.agent_id, "elasticsearch",
                                          std::to_string(res.status) + " " + res.error_type, res.error_reason,
                                          items[index].lines});
                break;
              case ItemAction::kBlocked: {
                const std::string why = "elasticsearch refused a document (" + std::to_string(res.status) + " " +
                                        res.error_type + ": " + res.error_reason + ")" +
                                        (res.status == 404 ? "; does the index or data stream exist / may it be auto-created?"
                                                           : "; " + AuthHint(res.status));
                SetBlocked(why);
                return {WriteOutcome::kRetry, why};
              }
            }
          }
        }
      }
      start = end;
    }
    pending = std::move(again);
    if (pending.empty() || out_of_budget) break;
    // Capped exponential backoff with full jitter, within the batch's budget.
    std::uniform_int_distribution<long> jitter(config_.retry_min.count(), std::max(config_.retry_min, delay).count());
    const auto sleep = std::chrono::milliseconds(jitter(rng));
    delay = std::min(config_.retry_max, delay * 2);
    if (Clock::now() + sleep > deadline) break;
    std::this_thread::sleep_for(sleep);
  }
  if (!pending.empty()) {
    // Still failing: the batch is retried, except documents that have failed for
    // give_up_after while others were stored (they would hold the stream forever).
    std::vector<size_t> still;
    for (size_t index : pending) {
      if (!poison_.Failed(items[index].id).give_up()) {
        still.push_back(index);
        continue;
      }
      dead.push_back(DeadLetter{items[index].id, batch.agent_id, "elasticsearch", "retry exhausted",
                                last_problem + " (kept failing for " +
                                    std::to_string(poison_.give_up_after().count() / 1000) +
                                    " s while other documents were stored)",
                                items[index].lines});
      poison_.Forget(items[index].id);
    }
    if (!still.empty()) {
      if (!dead.empty() && dead_letters_->Store(dead).ok()) dead_lettered_ += dead.size();  // progress kept
      return {WriteOutcome::kRetry, std::to_string(still.size()) + " of " + std::to_string(items.size()) +
                                        " documents still failing after retry_budget (last: " + last_problem + ")"};
    }
  }
  if (!dead.empty()) {
    if (Status s = dead_letters_->Store(dead); !s.ok())
      return {WriteOutcome::kRetry, "cannot keep " + std::to_string(dead.size()) + " refused documents: " + s.message()};
    dead_lettered_ += dead.size();
    LogWarn(kComponent, std::to_string(dead.size()) + " document(s) of batch " + std::to_string(batch.sequence) +
                            " from " + batch.agent_id + " were refused (" + dead.front().code + ": " +
                            dead.front().error.substr(0, 200) + ") and kept in " + dead_letters_->Describe());
  }
  SetBlocked("");
  return {WriteOutcome::kOk, ""};
}

Status ElasticsearchSink::HealthCheck() {
  // Never waits for a connection: when all are busy, writes are flowing, which is healthier
  // than any probe could tell.
  HttpResponse r = http_->Request("GET", "/", "", false, /*wait_for_connection=*/false);
  if (r.busy) {
    std::lock_guard<std::mutex> lock(mu_);
    return blocked_.empty() ? Status::Ok() : Status::Unavailable(blocked_);
  }
  if (r.status == 0) return Status::Unavailable(r.transport_error);
  // 403 on GET / only means the key lacks the `monitor` privilege: it authenticated.
  if (r.status == 401)
    return Status::Unavailable("elasticsearch answered " + std::to_string(r.status) + " " + ErrorSummary(r.body) + ": " +
                               AuthHint(r.status));
  if (r.status >= 500) return Status::Unavailable("elasticsearch answered " + std::to_string(r.status));
  std::lock_guard<std::mutex> lock(mu_);
  if (!blocked_.empty()) return Status::Unavailable(blocked_);
  return Status::Ok();
}

}  // namespace logship::collector::elasticsearch
