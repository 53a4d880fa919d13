#include "common/http/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>

namespace logship::http {
namespace {

MHD_Result OnRequest(void* cls, MHD_Connection* conn, const char* url, const char* method, const char*,
                     const char*, size_t*, void**) {
  const auto* server = static_cast<const HttpServer*>(cls);
  const Response r = server->Dispatch(method, url);
  MHD_Response* resp =
      MHD_create_response_from_buffer(r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (resp == nullptr) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
  const MHD_Result ok = MHD_queue_response(conn, static_cast<unsigned int>(r.status), resp);
  MHD_destroy_response(resp);
  return ok;
}

}  // namespace

HttpServer::~HttpServer() { Stop(); }

Response HttpServer::Dispatch(const std::string& method, const std::string& url) const {
  if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  const std::string path = url.substr(0, url.find('?'));
  auto it = handlers_.find(path);
  if (it == handlers_.end()) return {404, "text/plain; charset=utf-8", "not found\n"};
  return it->second();
}

Status HttpServer::Start(const std::string& listen) {
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
  daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, static_cast<uint16_t>(port), nullptr, nullptr,
                             &OnRequest, this, MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr),
                             MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
  if (daemon_ == nullptr) return Status::Unavailable("cannot listen for HTTP on " + listen);
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info != nullptr ? info->port : port;
  return Status::Ok();
}

void HttpServer::Stop() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

void ServeMetrics(HttpServer& server, const metrics::Registry& registry) {
  server.Handle("/metrics", [&registry] {
    return Response{200, "text/plain; version=0.0.4; charset=utf-8", registry.Render()};
  });
}

}  // namespace logship::http
