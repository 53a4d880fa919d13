#include "collector/inputs/kafka/kafka_input.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "collector/kafka/batch_message.h"
#include "common/log.h"

namespace logship::collector {
namespace {

constexpr char kComponent[] = "kafka-input";

void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  static_cast<KafkaInput*>(opaque)->OnRebalance(rk, err, partitions);
}

void Configure(rd_kafka_conf_t* conf, void* opaque) {
  rd_kafka_conf_set_rebalance_cb(conf, &Rebalance);
  rd_kafka_conf_set_opaque(conf, opaque);
}

std::string Where(const rd_kafka_message_t& m) {
  return std::string(rd_kafka_topic_name(m.rkt)) + "[" + std::to_string(m.partition) + "]@" + std::to_string(m.offset);
}

// The message's logship-encoding-version header; "1" when it has none (the first edges).
std::string_view MessageVersion(const rd_kafka_message_t& m) {
  rd_kafka_headers_t* headers = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_message_headers(&m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get_last(headers, kKafkaVersionHeader.data(), &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr)
    return kKafkaVersion;
  return std::string_view(static_cast<const char*>(value), size);
}

}  // namespace

std::unique_ptr<InputConfig> ParseKafkaInput(ConfigMap& m) {
  auto c = std::make_unique<KafkaInputConfig>();
  ParseKafkaClient(m,
                   {"group.id", "enable.auto.commit", "enable.auto.offset.store", "bootstrap.servers",
                    "enable.partition.eof"},
                   &c->client);
  c->group = m.String("group", c->group);
  if (c->group.empty()) m.Require("group").Fail("must not be empty");
  return c;
}

KafkaInput::KafkaInput(const KafkaInputConfig& config, BatchWriter& writer, metrics::Registry& registry)
    : config_(config),
      writer_(writer),
      registry_(registry),
      pipeline_(Pipeline::FromConfig(ConfigNode(YAML::Node(), nullptr, "pipeline"))),
      frames_(ForwardedFrameLimits()) {}

Result<std::unique_ptr<KafkaInput>> KafkaInput::Create(const KafkaInputConfig& config, BatchWriter& writer,
                                                       metrics::Registry& registry) {
  std::unique_ptr<KafkaInput> in(new KafkaInput(config, writer, registry));
  const KafkaProperties defaults{{"auto.offset.reset", "earliest"}, {"queued.max.messages.kbytes", "65536"}};
  const KafkaProperties fixed{{"group.id", config.group},
                              {"enable.auto.commit", "true"},
                              {"enable.auto.offset.store", "false"},  // stored after the sinks committed
                              {"enable.partition.eof", "false"}};
  auto consumer = NewKafkaClient(RD_KAFKA_CONSUMER, config.client, defaults, fixed, &Configure, in.get());
  if (!consumer.ok()) return consumer.status();
  in->consumer_ = std::move(consumer).value();
  rd_kafka_poll_set_consumer(in->consumer_.get());
  const metrics::Labels l;
  const auto read = [](std::atomic<uint64_t>* v) { return [v] { return static_cast<double>(v->load()); }; };
  registry.AddCallback("logship_collector_kafka_consumed_messages_total", "Batch messages written to the sinks.", l,
                       read(&in->consumed_));
  registry.AddCallback("logship_collector_kafka_malformed_messages_total",
                       "Messages that are not logship batches (logged and skipped).", l, read(&in->malformed_));
  registry.AddCallback("logship_collector_kafka_rebalances_total", "Consumer group rebalances seen.", l,
                       read(&in->rebalances_));
  registry.AddCallback("logship_collector_kafka_input_write_retries_total",
                       "Writes of a consumed batch tried again (sinks refusing).", l, read(&in->write_retries_));
  registry.AddCallback("logship_collector_kafka_consumer_errors_total", "Consumer errors (brokers unreachable …).", l,
                       read(&in->errors_));
  return in;
}

KafkaInput::~KafkaInput() { Stop(); }

void KafkaInput::Start() {
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, config_.client.topic.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) LogError(kComponent, std::string("subscribe: ") + rd_kafka_err2str(err));
  // Consumption starts anyway (the topic may be created, the brokers may come); the operator
  // learns at once why nothing arrives.
  if (Status s = KafkaTopicReachable(consumer_.get(), config_.client, 5000); !s.ok())
    LogError(kComponent, s.message() + "; consuming as soon as it is there");
  LogInfo(kComponent, "consuming " + config_.client.topic + " in group " + config_.group);
  thread_ = std::thread([this] { Run(); });
}

void KafkaInput::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  thread_.join();
  rd_kafka_consumer_close(consumer_.get());  // commits the stored offsets (auto commit) and leaves the group
}

void KafkaInput::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) {
  rebalances_.fetch_add(1);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, partitions);
    return;
  }
  rd_kafka_commit(rk, nullptr, /*async=*/0);  // what was written goes to the next owner as done
  rd_kafka_assign(rk, nullptr);
  MutexLock lock(lag_mu_);
  for (auto& [p, lag] : lag_) lag->store(0);
}

void KafkaInput::Run() {
  while (!stop_.load()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), 200);
    UpdateLag(/*ask=*/false);
    if (m == nullptr) continue;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      errors_.fetch_add(1);
      LogWarn(kComponent, std::string("consumer: ") + rd_kafka_message_errstr(m));
    } else {
      Handle(*m);
    }
    rd_kafka_message_destroy(m);
  }
}

Status KafkaInput::Decode(const rd_kafka_message_t& m, DecodedBatch* out, EventTimeWindow* window) {
  const std::string_view value(static_cast<const char*>(m.payload), m.len);
  const std::string_view version = MessageVersion(m);
  *window = {};  // version 1: the edge clamped event times already
  if (version == kKafkaVersion) return DecodeBatchValue(value, zstd_, out);
  if (version == kKafkaForwardedVersion) return DecodeForwardedValue(value, frames_, out, window);
  return Status::InvalidArgument("message version \"" + std::string(version.substr(0, 16)) +
                                 "\" is not one this indexer reads (1, 2): upgrade indexers before edges");
}

void KafkaInput::Handle(const rd_kafka_message_t& m) {
  DecodedBatch batch;
  EventTimeWindow window;
  const Status s = Decode(m, &batch, &window);
  if (!s.ok()) {
    malformed_.fetch_add(1);
    LogError(kComponent, "skipping " + Where(m) + ": not a logship batch: " + s.message());
  } else if (!WriteWithBackoff(batch, window, m)) {
    return;  // stopping, or the partition went to another member: not stored, read again there
  }
  consumed_.fetch_add(s.ok() ? 1 : 0);
  rd_kafka_topic_partition_list_t* done = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(done, rd_kafka_topic_name(m.rkt), m.partition)->offset = m.offset + 1;
  rd_kafka_offsets_store(consumer_.get(), done);
  rd_kafka_topic_partition_list_destroy(done);
}

bool KafkaInput::WriteWithBackoff(DecodedBatch& batch, const EventTimeWindow& window, const rd_kafka_message_t& m) {
  auto delay = config_.retry_min;
  rd_kafka_topic_partition_list_t* paused = nullptr;  // what to resume; null: not paused
  bool ok = false;
  for (bool first = true;; first = false) {
    if (!first) {  // the last attempt may have changed the batch: decode it again
      DecodedBatch again;
      EventTimeWindow same;
      if (!Decode(m, &again, &same).ok()) break;
      batch = std::move(again);
    }
    const WriteResult r = writer_.Write(*pipeline_, batch, {}, window);
    if (r.outcome == WriteOutcome::kOk) {
      ok = true;
      break;
    }
    if (r.outcome == WriteOutcome::kReject) {
      LogError(kComponent, "batch " + Where(m) + " refused by a sink, skipped: " + r.reason);
      ok = true;
      break;
    }
    write_retries_.fetch_add(1);
    if (paused == nullptr) {  // stop fetching while the sinks refuse; polling keeps the membership
      LogWarn(kComponent, "sinks refuse batch " + Where(m) + " (" + r.reason + "); pausing consumption");
      if (rd_kafka_assignment(consumer_.get(), &paused) != RD_KAFKA_RESP_ERR_NO_ERROR || paused == nullptr)
        paused = rd_kafka_topic_partition_list_new(1);
      rd_kafka_pause_partitions(consumer_.get(), paused);
    }
    const auto until = std::chrono::steady_clock::now() + delay;
    while (!stop_.load() && std::chrono::steady_clock::now() < until) {
      rd_kafka_message_t* extra = rd_kafka_consumer_poll(consumer_.get(), 100);
      UpdateLag(/*ask=*/true);
      if (extra == nullptr) continue;
      if (extra->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        // A partition assigned meanwhile: pause it too, where this message is, so it is read
        // again after the pause rather than dropped.
        rd_kafka_topic_partition_list_t* at = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(at, rd_kafka_topic_name(extra->rkt), extra->partition)->offset = extra->offset;
        rd_kafka_pause_partitions(consumer_.get(), at);
        rd_kafka_seek_partitions(consumer_.get(), at, 5000);
        rd_kafka_topic_partition_list_add(paused, rd_kafka_topic_name(extra->rkt), extra->partition);
        rd_kafka_topic_partition_list_destroy(at);
      }
      rd_kafka_message_destroy(extra);
    }
    if (stop_.load()) break;
    delay = std::min(config_.retry_max, delay * 2);
  }
  if (paused != nullptr) {
    rd_kafka_resume_partitions(consumer_.get(), paused);
    rd_kafka_topic_partition_list_destroy(paused);
  }
  return ok;
}

void KafkaInput::UpdateLag(bool ask) {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_lag_update_) return;
  next_lag_update_ = now + std::chrono::seconds(1);
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(consumer_.get(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || assigned == nullptr) return;
  rd_kafka_position(consumer_.get(), assigned);
  for (int i = 0; i < assigned->cnt; ++i) {
    const auto& tp = assigned->elems[i];
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t err =
        ask ? rd_kafka_query_watermark_offsets(consumer_.get(), tp.topic, tp.partition, &low, &high, 200)
            : rd_kafka_get_watermark_offsets(consumer_.get(), tp.topic, tp.partition, &low, &high);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    const int64_t lag = tp.offset >= 0 ? std::max<int64_t>(0, high - tp.offset) : std::max<int64_t>(0, high - low);
    MutexLock lock(lag_mu_);
    auto& slot = lag_[tp.partition];
    if (!slot) {
      slot = std::make_shared<std::atomic<int64_t>>(0);
      registry_.AddCallback("logship_collector_kafka_consumer_lag",
                            "Messages of the partition not yet written (this member's partitions).",
                            {{"partition", std::to_string(tp.partition)}},
                            [v = slot] { return static_cast<double>(v->load()); });
    }
    slot->store(lag);
  }
  rd_kafka_topic_partition_list_destroy(assigned);
}

}  // namespace logship::collector
