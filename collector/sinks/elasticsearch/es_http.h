// A small libcurl client for one Elasticsearch cluster: keep-alive connections (one easy
// handle each, at most `concurrency`), gzip request bodies, auth headers, TLS, failover
// across `urls`. Credentials are read once at Create and never logged.
//
// Thread-safe: Request() may be called from several threads; each borrows a handle and
// blocks while all `concurrency` handles are in use.
#pragma once

#include <curl/curl.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "collector/sinks/elasticsearch/elasticsearch_config.h"
#include "common/status.h"
#include "common/thread/mutex.h"

namespace logship::collector::elasticsearch {

struct HttpResponse {
  long status = 0;              // 0: no HTTP response (see transport_error)
  std::string body;
  std::string transport_error;  // connect/timeout/TLS failure, with the URL
  std::string url;              // which base URL answered (or failed last)
  bool busy = false;            // !wait_for_connection and every connection was in use
};

class EsHttpClient {
 public:
  // Reads password_file / api_key_file; an unreadable or empty one is an error.
  static Result<std::unique_ptr<EsHttpClient>> Create(const ElasticsearchConfig& config);
  // Use Create(); `authorization` is a whole header line or empty.
  EsHttpClient(const ElasticsearchConfig& config, std::string authorization, std::string user, std::string password);
  ~EsHttpClient();
  EsHttpClient(const EsHttpClient&) = delete;
  EsHttpClient& operator=(const EsHttpClient&) = delete;

  // `path` starts with '/', may carry a query. With `ndjson`, the body is sent as
  // application/x-ndjson (gzip-compressed when configured); else application/json.
  // A transport failure moves on to the next URL (each URL tried once per call).
  // Without `wait_for_connection`, returns `busy` at once when all connections are in use.
  HttpResponse Request(const char* method, const std::string& path, std::string_view body, bool ndjson,
                       bool wait_for_connection = true);

  uint64_t bytes_sent() const;  // request bodies on the wire, after gzip

 private:
  struct CurlDeleter { void operator()(CURL* c) const { curl_easy_cleanup(c); } };
  using Handle = std::unique_ptr<CURL, CurlDeleter>;
  // False (and no handle) when !wait and all `concurrency` handles are lent out.
  bool Borrow(bool wait, Handle* out);
  void Return(Handle h);
  HttpResponse Perform(CURL* h, const std::string& base, const char* method, const std::string& path,
                       std::string_view body, bool ndjson, bool gzipped);

  const ElasticsearchConfig config_;
  const std::string authorization_;  // "Authorization: ApiKey …" or empty
  const std::string user_, password_;
  mutable Mutex mu_;
  CondVar returned_;
  std::vector<Handle> idle_ GUARDED_BY(mu_);
  uint32_t outstanding_ GUARDED_BY(mu_) = 0;
  size_t next_url_ GUARDED_BY(mu_) = 0;  // the URL that answered last
  uint64_t bytes_sent_ GUARDED_BY(mu_) = 0;
};

}  // namespace logship::collector::elasticsearch
