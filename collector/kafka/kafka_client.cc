#include "collector/kafka/kafka_client.h"

#include <algorithm>

namespace logship::collector {
namespace {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};

Status Set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    return Status::InvalidArgument("kafka property " + key + ": " + err);
  return Status::Ok();
}

}  // namespace

std::string KafkaDestination(const KafkaClientConfig& config) {
  std::vector<std::string> brokers = config.brokers;
  std::sort(brokers.begin(), brokers.end());
  std::string out = "kafka:";
  for (const auto& b : brokers) out += b + ",";
  return out + "/" + config.topic;
}

void ParseKafkaClient(ConfigMap& m, const std::vector<std::string>& reserved, KafkaClientConfig* out) {
  auto brokers = m.Require("brokers");
  out->brokers = brokers.AsStringList();
  if (out->brokers.empty()) brokers.Fail("needs at least one host:port");
  out->topic = m.String("topic", out->topic);
  if (out->topic.empty()) m.Require("topic").Fail("must not be empty");
  if (auto p = m.Optional("properties"); !p.IsNull()) {
    out->properties = p.AsStringMap();
    for (const auto& [k, v] : out->properties)
      if (std::find(reserved.begin(), reserved.end(), k) != reserved.end())
        p.Fail("\"" + k + "\" is set by logship (exactly-once depends on it); remove it");
  }
}

Result<RdKafkaPtr> NewKafkaClient(rd_kafka_type_t type, const KafkaClientConfig& config, const KafkaProperties& defaults,
                                  const KafkaProperties& fixed, void (*configure)(rd_kafka_conf_t*, void*),
                                  void* opaque) {
  std::unique_ptr<rd_kafka_conf_t, ConfDeleter> conf(rd_kafka_conf_new());
  std::string servers;
  for (const auto& b : config.brokers) servers += (servers.empty() ? "" : ",") + b;
  KafkaProperties all{{"bootstrap.servers", servers}};
  for (const auto* list : {&defaults, &config.properties, &fixed}) all.insert(all.end(), list->begin(), list->end());
  for (const auto& [k, v] : all)
    if (Status s = Set(conf.get(), k, v); !s.ok()) return s;
  if (configure != nullptr) configure(conf.get(), opaque);
  char err[512];
  rd_kafka_t* client = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (client == nullptr) return Status::InvalidArgument(std::string("kafka client: ") + err);
  conf.release();  // the client owns it now
  return RdKafkaPtr(client);
}

Status KafkaTopicReachable(rd_kafka_t* client, const KafkaClientConfig& config, int timeout_ms) {
  const std::string& topic = config.topic;
  std::string brokers;
  for (const auto& b : config.brokers) brokers += (brokers.empty() ? "" : ", ") + b;
  rd_kafka_topic_t* t = rd_kafka_topic_new(client, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(client, 0, t, &md, timeout_ms);
  Status out = Status::Ok();
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out = Status::Unavailable("kafka brokers " + brokers + " do not answer (" + rd_kafka_err2str(err) + ")");
  } else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out = Status::Unavailable("kafka topic \"" + topic + "\" on " + brokers + ": " +
                              rd_kafka_err2str(md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) +
                              " (create it, or let the brokers auto-create topics)");
  }
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  return out;
}

}  // namespace logship::collector
