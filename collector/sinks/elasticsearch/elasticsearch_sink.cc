#include "collector/sinks/elasticsearch/elasticsearch_sink.h"

#include <chrono>
#include <optional>

#include "collector/sinks/elasticsearch/bulk_response.h"
#include "collector/sinks/elasticsearch/document_encoder.h"
#include "collector/sinks/elasticsearch/index_template.h"
#include "common/log.h"
#include "common/thread/mutex.h"

namespace logship::collector::elasticsearch {
namespace {

constexpr std::string_view kComponent = "elasticsearch";

std::string AuthHint(long status) {
  return status == 401 ? "check username/password_file or api_key_file"
                       : "the user or API key lacks a privilege (create_doc / auto_configure on the target)";
}

}  // namespace

ElasticsearchSink::ElasticsearchSink(ElasticsearchConfig config, std::unique_ptr<EsHttpClient> http,
                                     const SinkContext& context)
    : config_(std::move(config)),
      http_(std::move(http)),
      own_dead_letters_(config_.dead_letter_dir.empty() ? context.data_dir + "/dead-letter" : config_.dead_letter_dir,
                        "elasticsearch", context.dead_letter_max_bytes),
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
  if (dead_letters_ == &own_dead_letters_)
    r.AddCallback("logship_collector_dead_letters_dropped_total",
                  "Refused records not kept because the dead-letter store is full.", l,
                  [this] { return static_cast<double>(own_dead_letters_.dropped()); });
}

void ElasticsearchSink::SetBlocked(std::string why) {
  MutexLock lock(mu_);
  if (why != blocked_ && !why.empty()) LogError(kComponent, why);
  blocked_ = std::move(why);
}

Status ElasticsearchSink::SetupRefused(const HttpResponse& r, const std::string& what, const char* privilege) {
  if (r.status == 0) return Status::Unavailable("cannot install the " + what + ": " + r.transport_error);
  std::string msg = "the cluster at " + r.url + " refused the " + what + " (" + std::to_string(r.status) + " " +
                    ErrorSummary(r.body) + ")";
  if (r.status == 401) msg += "; " + AuthHint(401);
  else if (IsNoEndpoint(r.body)) msg += "; no such endpoint there: check urls (and any proxy in between)";
  else if (r.status == 403) msg += std::string("; grant the ") + privilege + " cluster privilege or set manage_template: false";
  else if (r.status >= 400 && r.status < 500) msg += "; or set manage_template: false and install your own";
  return r.status >= 500 || r.status == 429 ? Status::Unavailable(msg) : Status::InvalidArgument(msg);
}

Result<EngineInfo> ElasticsearchSink::DetectEngine() {
  HttpResponse r = http_->Request("GET", "/", "", false);
  if (r.status == 0) return Status::Unavailable("cannot reach the cluster: " + r.transport_error);
  if (r.status == 200)
    if (auto info = ParseRootInfo(r.body); info.ok()) return info;
  // GET / refused (no `monitor` privilege, or a build without the root endpoint): ask the node.
  r = http_->Request("GET", "/_nodes/_local?filter_path=nodes.*.version", "", false);
  if (r.status == 200)
    if (auto info = ParseNodesInfo(r.body); info.ok()) return info;
  if (r.status == 0) return Status::Unavailable("cannot reach the cluster: " + r.transport_error);
  return EngineInfo{};  // unknown: Elasticsearch, newest behaviour
}

Status ElasticsearchSink::EnsureSetup() {
  {
    MutexLock lock(mu_);
    if (setup_done_) return Status::Ok();
  }
  if (config_.manage_template) {
    auto engine = DetectEngine();
    if (!engine.ok()) return engine.status();
    const bool opensearch = engine->opensearch();
    const std::string policy = std::string(opensearch ? "ISM" : "ILM") + " policy";
    const HttpResponse r = http_->Request("PUT", engine->LifecyclePolicyPath(config_.policy_name),
                                          LifecyclePolicyJson(config_, *engine), false);
    bool lifecycle = r.status >= 200 && r.status < 300;
    if (opensearch && r.status == 409) {
      lifecycle = true;  // ISM updates need the stored version: keep the policy already there
      LogInfo(kComponent, "keeping the existing ISM policy " + config_.policy_name);
    } else if (!lifecycle && (r.status == 404 || r.status == 405 || (r.status == 400 && IsNoEndpoint(r.body)))) {
      // Logs are worth more than retention: write without a lifecycle, and say so.
      LogWarn(kComponent, engine->Describe() + " at " + r.url + " has no " + policy +
                              " API (the plugin is not installed): indices are created without a lifecycle, "
                              "so retention_days and rollover are not applied; install " +
                              (opensearch ? "the index-management plugin" : "ILM") + " or manage retention yourself");
    } else if (!lifecycle) {
      return SetupRefused(r, policy, opensearch ? "cluster:admin/opendistro/ism/policy/write" : "manage_ilm");
    }
    const HttpResponse t = http_->Request("PUT", "/_index_template/" + config_.template_name,
                                          IndexTemplateJson(config_, *engine, lifecycle && !opensearch), false);
    if (t.status < 200 || t.status >= 300) return SetupRefused(t, "index template", "manage_index_templates");
    LogInfo(kComponent, engine->Describe() + ": installed " + (lifecycle ? policy + " " + config_.policy_name + " and " : "") +
                            "index template " + config_.template_name + " for " + IndexPattern(config_));
  }
  MutexLock lock(mu_);
  setup_done_ = true;
  return Status::Ok();
}

// One Write: the documents, which of them still need a request, and what came of them.
struct ElasticsearchSink::Pass {
  const DecodedBatch& batch;
  std::vector<BulkItem> items;
  std::unordered_set<std::string> stored;  // ids stored by this or an earlier write of the batch
  std::vector<size_t> again;        // indexes of documents to send in a later Write
  std::vector<DeadLetter> dead;     // refused for good
  std::string last_problem;
};

WriteResult ElasticsearchSink::Write(const DecodedBatch& batch) {
  if (batch.batch->records_size() == 0) return {WriteOutcome::kOk, ""};
  if (Status s = EnsureSetup(); !s.ok()) {
    if (s.code() == Status::Code::kInvalidArgument) SetBlocked(s.message());
    return {WriteOutcome::kRetry, s.message()};
  }
  Pass pass{batch, EncodeBulkItems(batch, config_), {}, {}, {}, {}};
  // A retry of a batch sends only what earlier writes did not store (batch_progress.h).
  const std::string key = batch.agent_id + '/' + (pass.items.empty() ? "" : pass.items.front().id);
  pass.stored = progress_.Take(key);
  std::vector<size_t> todo;
  todo.reserve(pass.items.size());
  for (size_t i = 0; i < pass.items.size(); ++i)
    if (!pass.stored.contains(pass.items[i].id)) todo.push_back(i);
  std::optional<WriteResult> final = Send(pass, todo, config_.bulk_max_bytes);
  WriteResult result = final ? *final : Finish(pass);
  if (result.outcome == WriteOutcome::kRetry) progress_.Keep(key, std::move(pass.stored));
  return result;
}

std::optional<WriteResult> ElasticsearchSink::Send(Pass& pass, const std::vector<size_t>& docs, size_t max_bytes) {
  for (size_t start = 0; start < docs.size();) {
    // One request: as many documents as fit in max_bytes (at least one).
    std::string body;
    size_t end = start;
    while (end < docs.size() && (end == start || body.size() + pass.items[docs[end]].lines.size() <= max_bytes))
      body += pass.items[docs[end++]].lines;
    const std::vector<size_t> chunk(docs.begin() + static_cast<std::ptrdiff_t>(start),
                                    docs.begin() + static_cast<std::ptrdiff_t>(end));
    start = end;
    ++requests_;
    const HttpResponse r = http_->Request("POST", bulk_path_, body, true);
    if (auto final = Answer(pass, chunk, r)) return final;
  }
  return std::nullopt;
}

std::optional<WriteResult> ElasticsearchSink::Answer(Pass& pass, const std::vector<size_t>& chunk,
                                                     const HttpResponse& r) {
  const auto retry_later = [&](std::string why) {
    ++request_retries_;
    pass.last_problem = std::move(why);
    pass.again.insert(pass.again.end(), chunk.begin(), chunk.end());
    return std::nullopt;
  };
  if (r.status == 0) return retry_later(r.transport_error);
  if (r.status == 401 || r.status == 403) {
    const std::string why = "elasticsearch refused the _bulk request (" + std::to_string(r.status) + " " +
                            ErrorSummary(r.body) + "): " + AuthHint(r.status);
    SetBlocked(why);
    return WriteResult{WriteOutcome::kRetry, why};
  }
  if (r.status == 429 || r.status == 408 || r.status >= 500)
    return retry_later(std::to_string(r.status) + " " + ErrorSummary(r.body));
  if ((r.status == 400 || r.status == 405) && IsNoEndpoint(r.body)) {
    // No _bulk at that address (a path prefix or proxy that is not the cluster's): no
    // document is at fault, so none is dead-lettered.
    const std::string why = "elasticsearch at " + r.url + " has no _bulk endpoint there (" + std::to_string(r.status) +
                            " " + ErrorSummary(r.body) + "); check urls (and any proxy in between)";
    SetBlocked(why);
    return WriteResult{WriteOutcome::kRetry, why};
  }
  if ((r.status == 400 || r.status == 413) && chunk.size() > 1) {
    // Too large, or a request-level 400 caused by one of the documents: send them one by
    // one now (no wait: a split, not a retry), so only the culprit is set aside.
    return Send(pass, chunk, 1);
  }
  if (r.status == 400 || r.status == 413) {
    // This one document is refused (unparseable, or larger than the cluster or a proxy
    // accepts): keep it aside instead of blocking the stream.
    const BulkItem& item = pass.items[chunk.front()];
    pass.dead.push_back(DeadLetter{item.id, pass.batch.agent_id, "elasticsearch",
                                   std::to_string(r.status) + " request", ErrorSummary(r.body), item.lines});
    return std::nullopt;
  }
  if (r.status >= 300) {
    // 404, 405, 415…: a wrong URL or a proxy in the way, not the documents' fault.
    const std::string why = "elasticsearch at " + r.url + " answered _bulk with " + std::to_string(r.status) + " " +
                            ErrorSummary(r.body) + "; check urls (and any proxy in between)";
    SetBlocked(why);
    return WriteResult{WriteOutcome::kRetry, why};
  }
  auto parsed = ParseBulkResponse(r.body);
  if (parsed.ok() && parsed->items.size() != chunk.size())
    parsed = Status::Corruption("_bulk response has " + std::to_string(parsed->items.size()) + " items for " +
                                std::to_string(chunk.size()) + " documents");
  if (!parsed.ok()) {
    ++malformed_responses_;
    LogWarn(kComponent, "from " + r.url + ": " + parsed.status().message() + "; sending those items again");
    return retry_later(parsed.status().message());
  }
  return TakeItems(pass, chunk, parsed->items);
}

std::optional<WriteResult> ElasticsearchSink::TakeItems(Pass& pass, const std::vector<size_t>& chunk,
                                                        const std::vector<BulkItemResult>& results) {
  bool any_stored = false;
  for (const auto& res : results) any_stored |= ClassifyItem(res.status) == ItemAction::kStored;
  if (any_stored) poison_.Succeeded();
  for (size_t k = 0; k < chunk.size(); ++k) {
    const BulkItemResult& res = results[k];
    const size_t index = chunk[k];
    ItemAction action = ClassifyItem(res.status);
    // Refused (401/403/404) next to documents that were stored: the cluster is fine, this
    // document's target is not (a blocked or missing index): retried, and dead-lettered if
    // it keeps failing for give_up_after.
    if (action == ItemAction::kBlocked && any_stored) action = ItemAction::kRetry;
    switch (action) {
      case ItemAction::kStored:
        ++(res.status == 409 ? items_conflict_ : items_created_);
        pass.stored.insert(pass.items[index].id);
        poison_.Forget(pass.items[index].id);
        break;
      case ItemAction::kRetry:
        ++items_retried_;
        pass.last_problem = std::to_string(res.status) + " " + res.error_type + ": " + res.error_reason;
        pass.again.push_back(index);
        break;
      case ItemAction::kDeadLetter:
        pass.dead.push_back(DeadLetter{pass.items[index].id, pass.batch.agent_id, "elasticsearch",
                                       std::to_string(res.status) + " " + res.error_type, res.error_reason,
                                       pass.items[index].lines});
        break;
      case ItemAction::kBlocked: {
        const std::string why = "elasticsearch refused a document (" + std::to_string(res.status) + " " +
                                res.error_type + ": " + res.error_reason + ")" +
                                (res.status == 404 ? "; does the index or data stream exist / may it be auto-created?"
                                                   : "; " + AuthHint(res.status));
        SetBlocked(why);
        return WriteResult{WriteOutcome::kRetry, why};
      }
    }
  }
  return std::nullopt;
}

WriteResult ElasticsearchSink::Finish(Pass& pass) {
  // Documents still failing make the batch a retry (the caller sends it again; what was
  // stored then meets 409), except those that have failed for give_up_after while others
  // were stored: they would hold the stream forever.
  std::vector<size_t> still, given_up;
  for (size_t index : pass.again) {
    const BulkItem& item = pass.items[index];
    if (!poison_.Failed(item.id).give_up()) {
      still.push_back(index);
      continue;
    }
    given_up.push_back(index);
    pass.dead.push_back(DeadLetter{item.id, pass.batch.agent_id, "elasticsearch", "retry exhausted",
                                   pass.last_problem + " (kept failing for " +
                                       std::to_string(poison_.give_up_after().count() / 1000) +
                                       " s while other documents were stored)",
                                   item.lines});
  }
  // Refused documents are kept once, by the write that ends the batch: a retried batch meets
  // them again.
  if (!still.empty())
    return {WriteOutcome::kRetry, std::to_string(still.size()) + " of " + std::to_string(pass.items.size()) +
                                      " documents not stored yet (last: " + pass.last_problem + ")"};
  if (!pass.dead.empty()) {
    auto kept = dead_letters_->Store(pass.dead);
    if (!kept.ok())
      return {WriteOutcome::kRetry,
              "cannot keep " + std::to_string(pass.dead.size()) + " refused documents: " + kept.status().message()};
    dead_lettered_ += *kept;
    for (size_t index : given_up) poison_.Forget(pass.items[index].id);
    LogWarn(kComponent, std::to_string(pass.dead.size()) + " document(s) of batch " +
                            std::to_string(pass.batch.sequence) + " from " + pass.batch.agent_id + " were refused (" +
                            pass.dead.front().code + ": " + pass.dead.front().error.substr(0, 200) + ") and kept in " +
                            dead_letters_->Describe());
  }
  SetBlocked("");
  return {WriteOutcome::kOk, ""};
}

Status ElasticsearchSink::HealthCheck() {
  // Never waits for a connection: when all are busy, writes are flowing, which is healthier
  // than any probe could tell.
  HttpResponse r = http_->Request("GET", "/", "", false, /*wait_for_connection=*/false);
  if (r.busy) {
    MutexLock lock(mu_);
    return blocked_.empty() ? Status::Ok() : Status::Unavailable(blocked_);
  }
  if (r.status == 0) return Status::Unavailable(r.transport_error);
  // 403 on GET / only means the key lacks the `monitor` privilege: it authenticated.
  if (r.status == 401)
    return Status::Unavailable("elasticsearch answered " + std::to_string(r.status) + " " + ErrorSummary(r.body) + ": " +
                               AuthHint(r.status));
  if (r.status >= 500) return Status::Unavailable("elasticsearch answered " + std::to_string(r.status));
  MutexLock lock(mu_);
  if (!blocked_.empty()) return Status::Unavailable(blocked_);
  return Status::Ok();
}

}  // namespace logship::collector::elasticsearch
