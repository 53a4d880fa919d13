// Elasticsearch sink (libcurl): each batch becomes `_bulk` requests of `create` items
// (document_encoder.h), at most bulk_max_bytes each, sent over up to `concurrency`
// keep-alive connections shared by all streams.
//
// Item outcomes (bulk_response.h): 200/201 and 409 (already stored: a re-send) count as
// stored; 429/5xx items (and whole-request 429/5xx/timeouts) make the write kRetry, which
// the collector tries again within the sink's retry_budget (delivery/batch_writer.h), then
// hands back to the agent; the sink itself never waits. A retry sends only the documents
// not stored yet (batch_progress.h). 400 and other document errors go to
// the dead-letter store, once, by the write that ends the batch. 401/403 fail the batch with
// a clear error and make HealthCheck fail, so the collector turns NOT_SERVING.
//
// On the first write (and until it succeeds) the sink asks which engine answers
// (engine_info.h) and installs its index template and lifecycle policy for it
// (index_template.h: ILM on Elasticsearch, ISM on OpenSearch) unless manage_template is
// off. A refusal is reported with what to grant, and nothing is written before it is
// fixed; a cluster without the lifecycle API gets the template alone, with a warning.
//
// Thread-safe: Write() runs on several stream threads at once.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "collector/model/dead_letter_store.h"
#include "collector/sinks/elasticsearch/batch_progress.h"
#include "collector/sinks/elasticsearch/bulk_response.h"
#include "collector/sinks/elasticsearch/elasticsearch_config.h"
#include "collector/sinks/elasticsearch/engine_info.h"
#include "collector/sinks/elasticsearch/es_http.h"
#include "collector/sinks/file_dead_letter_store.h"
#include "collector/sinks/poison_tracker.h"
#include "collector/sinks/sink_plugin.h"
#include "common/thread/mutex.h"

namespace logship::collector::elasticsearch {

class ElasticsearchSink final : public Sink {
 public:
  // Refused documents go to files of its own (dead_letter_dir, else <data_dir>/dead-letter)
  // unless SetDeadLetterStore hands it a shared store.
  ElasticsearchSink(ElasticsearchConfig config, std::unique_ptr<EsHttpClient> http, const SinkContext& context);

  std::string_view name() const override { return "elasticsearch"; }
  WriteResult Write(const DecodedBatch& batch) override;
  Status HealthCheck() override;
  Status Prepare() override { return EnsureSetup(); }
  void RegisterMetrics(metrics::Registry& registry) override;
  void SetDeadLetterStore(DeadLetterStore* store) override { dead_letters_ = store; }

  // Installs the lifecycle policy and index template (once; cheap after success).
  Status EnsureSetup();

 private:
  struct Pass;
  // Sends `docs` (indexes into pass.items) in requests of at most max_bytes; a final result
  // when the batch must stop (the cluster refuses us), else what became of each document is
  // in `pass`.
  std::optional<WriteResult> Send(Pass& pass, const std::vector<size_t>& docs, size_t max_bytes);
  std::optional<WriteResult> Answer(Pass& pass, const std::vector<size_t>& chunk, const HttpResponse& response);
  std::optional<WriteResult> TakeItems(Pass& pass, const std::vector<size_t>& chunk,
                                       const std::vector<BulkItemResult>& results);
  WriteResult Finish(Pass& pass);
  Result<EngineInfo> DetectEngine();
  Status SetupRefused(const HttpResponse& response, const std::string& what, const char* privilege);
  void SetBlocked(std::string why);

  const ElasticsearchConfig config_;
  const std::unique_ptr<EsHttpClient> http_;
  FileDeadLetterStore own_dead_letters_;
  DeadLetterStore* dead_letters_ = &own_dead_letters_;
  std::string bulk_path_;

  PoisonTracker poison_;        // documents failing retryably (see Write)
  BatchProgress progress_;      // what retried batches already stored
  Mutex mu_;
  bool setup_done_ GUARDED_BY(mu_) = false;
  std::string blocked_ GUARDED_BY(mu_);  // why writes are refused (auth, setup); empty = fine

  std::atomic<uint64_t> requests_{0}, request_retries_{0}, items_created_{0}, items_conflict_{0},
      items_retried_{0}, dead_lettered_{0}, malformed_responses_{0};
};

}  // namespace logship::collector::elasticsearch
