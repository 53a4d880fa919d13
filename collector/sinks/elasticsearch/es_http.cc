#include "collector/sinks/elasticsearch/es_http.h"

#include <mutex>

#include "collector/sinks/elasticsearch/gzip.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/thread/mutex.h"

namespace logship::collector::elasticsearch {
namespace {

constexpr size_t kMaxResponseBytes = 64ull << 20;  // a hostile or broken server cannot grow us past this

struct Sink {
  std::string* body;
  bool overflow = false;
};

size_t OnData(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (s->body->size() + size * n > kMaxResponseBytes) {
    s->overflow = true;
    return 0;  // aborts the transfer: CURLE_WRITE_ERROR
  }
  s->body->append(data, size * n);
  return size * n;
}

Result<std::string> ReadSecret(const std::string& path, const char* what) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return Status::IoError(std::string(what) + ": " + text.status().message());
  std::string s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return Status::InvalidArgument(std::string(what) + " " + path + " is empty");
  if (s.find_first_of("\r\n") != std::string::npos)
    return Status::InvalidArgument(std::string(what) + " " + path + " has more than one line");
  return s;
}

}  // namespace

Result<std::unique_ptr<EsHttpClient>> EsHttpClient::Create(const ElasticsearchConfig& config) {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::string authorization, user, password;
  if (!config.api_key_file.empty()) {
    auto key = ReadSecret(config.api_key_file, "elasticsearch api_key_file");
    if (!key.ok()) return key.status();
    authorization = "Authorization: ApiKey " + *key;
  }
  if (!config.username.empty()) {
    auto pw = ReadSecret(config.password_file, "elasticsearch password_file");
    if (!pw.ok()) return pw.status();
    user = config.username;
    password = *pw;
  }
  if (!config.tls_verify) LogWarn("elasticsearch", "tls_verify is off: the cluster's certificate is not checked");
  return std::make_unique<EsHttpClient>(config, std::move(authorization), std::move(user), std::move(password));
}

EsHttpClient::EsHttpClient(const ElasticsearchConfig& config, std::string authorization, std::string user,
                           std::string password)
    : config_(config), authorization_(std::move(authorization)), user_(std::move(user)), password_(std::move(password)) {}

EsHttpClient::~EsHttpClient() = default;

uint64_t EsHttpClient::bytes_sent() const {
  MutexLock lock(mu_);
  return bytes_sent_;
}

bool EsHttpClient::Borrow(bool wait, Handle* out) {
  MutexLock lock(mu_);
  const bool full = idle_.empty() && outstanding_ >= config_.concurrency;
  if (!wait && full) return false;
  while (idle_.empty() && outstanding_ >= config_.concurrency) returned_.Wait(mu_);
  ++outstanding_;
  if (!idle_.empty()) {
    *out = std::move(idle_.back());
    idle_.pop_back();
  } else {
    out->reset(curl_easy_init());
  }
  return true;
}

void EsHttpClient::Return(Handle h) {
  MutexLock lock(mu_);
  --outstanding_;
  if (h) idle_.push_back(std::move(h));
  returned_.NotifyOne();
}

HttpResponse EsHttpClient::Request(const char* method, const std::string& path, std::string_view body, bool ndjson,
                                   bool wait_for_connection) {
  std::string compressed;
  bool gzipped = false;
  if (ndjson && config_.gzip && !body.empty()) {
    auto z = GzipCompress(body, config_.gzip_level);
    if (z.ok()) {
      compressed = std::move(*z);
      body = compressed;
      gzipped = true;
    }
  }
  Handle h;
  if (!Borrow(wait_for_connection, &h)) {
    HttpResponse busy;
    busy.busy = true;
    return busy;
  }
  if (!h) {
    Return(nullptr);
    return HttpResponse{0, "", "curl_easy_init failed", ""};
  }
  size_t first;
  {
    MutexLock lock(mu_);
    first = next_url_;
  }
  HttpResponse r;
  for (size_t i = 0; i < config_.urls.size(); ++i) {
    const size_t u = (first + i) % config_.urls.size();
    r = Perform(h.get(), config_.urls[u], method, path, body, ndjson, gzipped);
    if (r.status != 0) {
      MutexLock lock(mu_);
      next_url_ = u;
      bytes_sent_ += body.size();
      break;
    }
  }
  Return(std::move(h));
  return r;
}

HttpResponse EsHttpClient::Perform(CURL* h, const std::string& base, const char* method, const std::string& path,
                                   std::string_view body, bool ndjson, bool gzipped) {
  HttpResponse r;
  r.url = base;
  curl_easy_reset(h);  // keeps the connection cache: keep-alive survives
  const std::string url = base + path;
  Sink sink{&r.body};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(config_.timeout.count(), 10000)));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // responses may come back compressed
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnData);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  if (!config_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
  if (!config_.tls_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!user_.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(h, CURLOPT_USERNAME, user_.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, password_.c_str());
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ndjson ? "Content-Type: application/x-ndjson" : "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (gzipped) headers = curl_slist_append(headers, "Content-Encoding: gzip");
  if (!authorization_.empty()) headers = curl_slist_append(headers, authorization_.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  if (!body.empty() || std::string_view(method) != "GET") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    r.status = 0;
    r.transport_error = base + ": " + (sink.overflow ? "response larger than 64 MiB" : curl_easy_strerror(rc));
    return r;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

}  // namespace logship::collector::elasticsearch
