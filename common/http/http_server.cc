#include "common/http/http_server.h"

#include "common/file_util.h"
#include "common/log.h"
#include "common/thread/mutex.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace logship::http {
namespace {

constexpr auto kParkFor = std::chrono::milliseconds(100);

struct StreamState {
  StreamFn fn;
  HttpServer* server;
  MHD_Connection* connection;
};

ssize_t ReadStream(void* cls, uint64_t, char* buf, size_t max) {
  auto* s = static_cast<StreamState*>(cls);
  const std::atomic<bool>& stop = s->server->stopping();
  if (stop.load()) return MHD_CONTENT_READER_END_OF_STREAM;
  const size_t n = s->fn(buf, max, stop);
  if (n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
  if (n == kStreamWait) {
    // Nothing yet: park the connection (it holds no thread) and come back later.
    s->server->Park(s->connection);
    return 0;
  }
  return static_cast<ssize_t>(n);
}

void FreeStream(void* cls) { delete static_cast<StreamState*>(cls); }

MHD_Result CollectArg(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* req = static_cast<Request*>(cls);
  req->query.emplace_back(key != nullptr ? key : "", value != nullptr ? value : "");
  return MHD_YES;
}

MHD_Result CollectHeader(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* req = static_cast<Request*>(cls);
  std::string name = key != nullptr ? key : "";
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  req->headers.emplace(std::move(name), value != nullptr ? value : "");
  return MHD_YES;
}

MHD_Result OnRequest(void* cls, MHD_Connection* conn, const char* url, const char* method, const char*,
                     const char*, size_t* upload_size, void** con_cls) {
  auto* server = static_cast<HttpServer*>(cls);
  // A request with a body arrives in several calls: accept (and ignore) the body, answer
  // after the last piece. Nothing here reads request bodies.
  if (*con_cls == nullptr) {
    static int marker;
    *con_cls = &marker;
    if (*upload_size != 0 || std::strcmp(method, "POST") == 0 || std::strcmp(method, "PUT") == 0) return MHD_YES;
  }
  if (*upload_size != 0) {
    *upload_size = 0;
    return MHD_YES;
  }
  Request req;
  req.method = method;
  req.path = url;
  req.path = req.path.substr(0, req.path.find('?'));
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, &CollectArg, &req);
  MHD_get_connection_values(conn, MHD_HEADER_KIND, &CollectHeader, &req);
  Response r = server->Dispatch(req);
  MHD_Response* resp = nullptr;
  if (r.stream) {
    auto* state = new StreamState{std::move(r.stream), server, conn};
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 << 10, &ReadStream, state, &FreeStream);
    if (resp == nullptr) delete state;
  } else {
    resp = MHD_create_response_from_buffer(r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  }
  if (resp == nullptr) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
  for (const auto& [name, value] : r.headers) MHD_add_response_header(resp, name.c_str(), value.c_str());
  const MHD_Result ok = MHD_queue_response(conn, static_cast<unsigned int>(r.status), resp);
  MHD_destroy_response(resp);
  return ok;
}

}  // namespace

std::string Request::Arg(const std::string& key) const {
  for (const auto& [k, v] : query)
    if (k == key) return v;
  return "";
}

bool Request::HasArg(const std::string& key) const {
  for (const auto& kv : query)
    if (kv.first == key) return true;
  return false;
}

std::string Request::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

HttpServer::~HttpServer() { Stop(); }

Response HttpServer::Dispatch(const Request& request) const {
  if (auto it = handlers_.find(request.path); it != handlers_.end()) {
    if (request.method != "GET" && request.method != "HEAD")
      return {405, "text/plain; charset=utf-8", "method not allowed\n"};
    return it->second();
  }
  const RequestHandler* best = nullptr;
  size_t best_len = 0;
  for (const auto& [prefix, handler] : prefixes_)
    if (request.path.compare(0, prefix.size(), prefix) == 0 && prefix.size() >= best_len) {
      best = &handler;
      best_len = prefix.size();
    }
  if (best != nullptr) return (*best)(request);
  if (request.method != "GET" && request.method != "HEAD")
    return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

Status HttpServer::Start(const std::string& listen, const TlsMaterial* tls) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("http listen address must be host:port");
  std::string host = listen.substr(0, colon);
  const int port = std::atoi(listen.c_str() + colon + 1);
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    return Status::InvalidArgument("http listen host must be an IPv4 address, got " + host);
  stopping_ = false;
  {
    MutexLock lock(park_mu_);
    resumer_stop_ = false;
  }
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
  if (tls != nullptr) flags |= MHD_USE_TLS;
  // libmicrohttpd takes the option list as varargs; the TLS pair goes first when set.
  const char* cert = tls != nullptr ? tls->cert_pem.c_str() : nullptr;
  const char* key = tls != nullptr ? tls->key_pem.c_str() : nullptr;
  const MHD_OptionItem tls_options[] = {{MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(cert)},
                                        {MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(key)},
                                        {MHD_OPTION_END, 0, nullptr}};
  const MHD_OptionItem no_options[] = {{MHD_OPTION_END, 0, nullptr}};
  daemon_ = MHD_start_daemon(flags, static_cast<uint16_t>(port), nullptr, nullptr, &OnRequest, this,
                             MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr),
                             MHD_OPTION_THREAD_POOL_SIZE, kPoolThreads,
                             MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                             MHD_OPTION_CONNECTION_LIMIT, kMaxConnections,
                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, kMaxPerAddress,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(32 << 10),
                             MHD_OPTION_ARRAY, tls != nullptr ? tls_options : no_options, MHD_OPTION_END);
  if (daemon_ == nullptr)
    return Status::Unavailable("cannot listen for HTTP" + std::string(tls != nullptr ? "S" : "") + " on " + listen +
                               (tls != nullptr ? " (or the certificate and key do not match)" : ""));
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info != nullptr ? info->port : port;
  resumer_ = std::thread([this] { ResumeLoop(); });
  return Status::Ok();
}

void HttpServer::Park(MHD_Connection* connection) {
  MutexLock lock(park_mu_);
  // Once stopping, no new parking: the stream is asked again at once and sees the stop.
  if (resumer_stop_) return;
  MHD_suspend_connection(connection);
  parked_.emplace_back(std::chrono::steady_clock::now() + kParkFor, connection);
}

void HttpServer::ResumeLoop() {
  std::vector<MHD_Connection*> due;
  for (bool last = false; !last;) {
    {
      MutexLock lock(park_mu_);
      const auto until = std::chrono::steady_clock::now() + kParkFor / 4;
      while (!resumer_stop_ && park_cv_.WaitUntil(park_mu_, until)) {
      }
      last = resumer_stop_;  // then every parked connection goes: the daemon must not stop with any
      const auto now = std::chrono::steady_clock::now();
      auto split = std::partition(parked_.begin(), parked_.end(),
                                  [&](const auto& p) { return !last && p.first > now; });
      for (auto it = split; it != parked_.end(); ++it) due.push_back(it->second);
      parked_.erase(split, parked_.end());
    }
    // Outside the lock: MHD takes its own locks here.
    for (MHD_Connection* c : due) MHD_resume_connection(c);
    due.clear();
  }
}

void HttpServer::Stop() {
  stopping_ = true;
  if (resumer_.joinable()) {
    {
      MutexLock lock(park_mu_);
      resumer_stop_ = true;
    }
    park_cv_.NotifyAll();
    resumer_.join();
  }
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

void ServeMetrics(HttpServer& server, const metrics::Registry& registry) {
  server.Handle("/metrics", [&registry] {
    return Response{200, "text/plain; version=0.0.4; charset=utf-8", registry.Render()};
  });
}

}  // namespace logship::http

namespace logship::http {

Status StartFromConfig(HttpServer& server, const HttpConfig& config) {
  if (!config.tls()) return server.Start(config.listen);
  TlsMaterial tls;
  auto cert = ReadWholeFile(config.tls_cert_file);
  if (!cert.ok()) return Status::IoError("http.tls.cert_file: " + cert.status().message());
  auto key = ReadWholeFile(config.tls_key_file);
  if (!key.ok()) return Status::IoError("http.tls.key_file: " + key.status().message());
  tls.cert_pem = std::move(cert).value();
  tls.key_pem = std::move(key).value();
  return server.Start(config.listen, &tls);
}

void StartAndLog(HttpServer& server, const HttpConfig& config, std::string_view component,
                 std::string_view meanwhile) {
  if (config.listen.empty()) return;
  if (Status s = StartFromConfig(server, config); !s.ok()) {
    LogError(component, s.message() + " (metrics unavailable; " + std::string(meanwhile) + ")");
    return;
  }
  LogInfo(component, std::string("metrics on ") + (config.tls() ? "https://" : "http://") + config.listen + "/metrics");
}

}  // namespace logship::http
