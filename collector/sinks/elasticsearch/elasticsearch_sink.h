// Elasticsearch sink (libcurl): each batch becomes `_bulk` requests of `create` items
// (document_encoder.h), at most bulk_max_bytes each, sent over up to `concurrency`
// keep-alive connections shared by all streams.
//
// Item outcomes (bulk_response.h): 200/201 and 409 (already stored: a re-send) count as
// stored; 429/5xx items are sent again alone, with capped jittered backoff, until
// retry_budget runs out (then the whole batch is handed back for a retry); 400 and other
// document errors go to the dead-letter store and count as handled, never retried.
// Whole-request 429/5xx/timeouts are retried the same way; 401/403 fail the batch with a
// clear error and make HealthCheck fail, so the collector turns NOT_SERVING.
//
// On the first write (and until it succeeds) the sink installs its index template and
// lifecycle policy (index_template.h) unless manage_template is off; a refusal is
// reported with what to grant, and nothing is written before it is fixed.
//
// Thread-safe: Write() runs on several stream threads at once.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "collector/sinks/dead_letter_store.h"
#include "collector/sinks/elasticsearch/elasticsearch_config.h"
#include "collector/sinks/elasticsearch/es_http.h"
#include "collector/sinks/poison_tracker.h"
#include "collector/sinks/sink.h"

namespace logship::collector::elasticsearch {

class ElasticsearchSink final : public Sink {
 public:
  // `dead_letters` must outlive the sink.
  ElasticsearchSink(ElasticsearchConfig config, std::unique_ptr<EsHttpClient> http, DeadLetterStore* dead_letters);

  std::string_view name() const override { return "elasticsearch"; }
  WriteResult Write(const DecodedBatch& batch) override;
  Status HealthCheck() override;
  void RegisterMetrics(metrics::Registry& registry) override;

  // Installs the lifecycle policy and index template (once; cheap after success).
  Status EnsureSetup();

 private:
  struct Round;  // one pass over the items still pending
  Status Put(const std::string& path, const std::string& body, const char* what, const char* privilege);
  void SetBlocked(std::string why);

  const ElasticsearchConfig config_;
  const std::unique_ptr<EsHttpClient> http_;
  DeadLetterStore* const dead_letters_;
  std::string bulk_path_;

  PoisonTracker poison_;        // documents failing retryably (see Write)
  std::mutex mu_;
  bool setup_done_ = false;     // GUARDED_BY(mu_)
  std::string blocked_;         // GUARDED_BY(mu_): why writes are refused (auth, setup); empty = fine

  std::atomic<uint64_t> requests_{0}, request_retries_{0}, items_created_{0}, items_conflict_{0},
      items_retried_{0}, dead_lettered_{0}, malformed_responses_{0};
};

}  // namespace logship::collector::elasticsearch
