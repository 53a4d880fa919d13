#include "collector/sinks/kafka/kafka_sink.h"

#include <vector>

#include "collector/kafka/batch_message.h"
#include "common/log.h"
#include "common/thread/mutex.h"

namespace logship::collector {

struct KafkaSink::Delivery {
  Mutex mu;
  CondVar done;
  size_t pending GUARDED_BY(mu) = 0;
  std::string error GUARDED_BY(mu);  // the first failure
  std::atomic<uint64_t>* queue_bytes = nullptr;
};

namespace {

constexpr char kComponent[] = "kafka";

// librdkafka's delivery report, on the poll thread: one message of a Delivery is settled.
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* d = static_cast<KafkaSink::Delivery*>(m->_private);
  d->queue_bytes->fetch_sub(m->len);
  MutexLock lock(d->mu);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && d->error.empty()) d->error = rd_kafka_err2str(m->err);
  if (--d->pending == 0) d->done.NotifyAll();
}

void Configure(rd_kafka_conf_t* conf, void*) { rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery); }

}  // namespace

Result<std::unique_ptr<Sink>> KafkaSink::Create(const KafkaSinkConfig& config) {
  std::unique_ptr<KafkaSink> sink(new KafkaSink(config));
  // linger 20 ms: the messages of concurrent writes (16 per agent stream, WritesInFlight) share
  // a record batch and a request instead of one each; the broker's cost is largely per batch,
  // and with forwarded frames (half the bytes per message) that set the pace. bench_kafka:
  // broker CPU per GiB 9.7 against 14.2 with linger 5 and 4 writes, for at most 20 ms more
  // per batch.
  const KafkaProperties defaults{{"linger.ms", "20"}, {"compression.type", "none"}};  // values are zstd already
  const KafkaProperties fixed{{"enable.idempotence", "true"},
                              {"acks", "all"},
                              {"message.timeout.ms", std::to_string(config.delivery_timeout.count())},
                              {"message.max.bytes", std::to_string(config.max_message_bytes + (64u << 10))}};
  auto producer = NewKafkaClient(RD_KAFKA_PRODUCER, config.client, defaults, fixed, &Configure);
  if (!producer.ok()) return producer.status();
  sink->producer_ = std::move(producer).value();
  sink->poller_ = std::thread([s = sink.get()] { s->PollLoop(); });
  return std::unique_ptr<Sink>(std::move(sink));
}

KafkaSink::~KafkaSink() {
  rd_kafka_flush(producer_.get(), 5000);  // what is in flight settles (its Write()s have returned by now)
  stop_ = true;
  if (poller_.joinable()) poller_.join();
}

void KafkaSink::PollLoop() {
  while (!stop_.load()) rd_kafka_poll(producer_.get(), 100);
}

WriteResult KafkaSink::Write(const DecodedBatch& batch) {
  std::vector<std::string> values;
  if (config_.message_version >= 2 && batch.received != nullptr) {
    std::string v = EncodeForwardedValue(*batch.received);
    if (v.size() <= config_.max_message_bytes) values.push_back(std::move(v));
  }
  const bool forwarded = !values.empty();
  // Never taken (WritesOnlyFrame bounds the value): records without their ids must not go out.
  if (!forwarded && !batch.derived) return {WriteOutcome::kRetry, "kafka: a frame-only batch did not fit a message"};
  if (!forwarded) {
    thread_local ZstdCompressor zstd(1);
    if (Status s = EncodeBatchValues(batch, config_.max_message_bytes, zstd, &values); !s.ok())
      return {WriteOutcome::kRetry, "kafka: cannot encode the batch: " + s.message()};
    if (values.size() > 1) split_batches_.fetch_add(1);
  }
  const std::string_view encoding = forwarded ? kKafkaForwardedEncoding : kKafkaEncoding;
  const std::string_view version = forwarded ? kKafkaForwardedVersion : kKafkaVersion;
  Delivery d;
  d.queue_bytes = &queue_bytes_;
  const std::string& key = batch.agent_id;
  // `values` outlive their messages: librdkafka references them (no copy) and every message
  // settles (delivered or failed) before this returns.
  for (const std::string& v : values) {
    {
      MutexLock lock(d.mu);
      ++d.pending;
    }
    queue_bytes_.fetch_add(v.size());
    rd_kafka_resp_err_t err;
    // A full producer queue is waited on (bounded by the delivery timeout), never grown.
    const auto give_up = std::chrono::steady_clock::now() + config_.delivery_timeout;
    while ((err = rd_kafka_producev(
                producer_.get(), RD_KAFKA_V_TOPIC(config_.client.topic.c_str()),
                RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()), RD_KAFKA_V_MSGFLAGS(0),
                RD_KAFKA_V_HEADER(kKafkaEncodingHeader.data(), encoding.data(), static_cast<ssize_t>(encoding.size())),
                RD_KAFKA_V_HEADER(kKafkaVersionHeader.data(), version.data(), static_cast<ssize_t>(version.size())),
                RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL &&
           std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      queue_bytes_.fetch_sub(v.size());
      MutexLock lock(d.mu);
      --d.pending;
      if (d.error.empty()) d.error = rd_kafka_err2str(err);
      break;  // the messages already queued still settle below
    }
  }
  MutexLock lock(d.mu);
  while (d.pending > 0) d.done.Wait(d.mu);  // librdkafka settles each within message.timeout.ms
  if (!d.error.empty()) {
    delivery_errors_.fetch_add(1);
    return {WriteOutcome::kRetry, "kafka: " + d.error};
  }
  produced_.fetch_add(values.size());
  if (forwarded) forwarded_.fetch_add(1);
  return {};
}

Status KafkaSink::HealthCheck() { return KafkaTopicReachable(producer_.get(), config_.client, 2000); }

void KafkaSink::RegisterMetrics(metrics::Registry& r) {
  const metrics::Labels l = {{"sink", "kafka"}};
  const auto read = [](std::atomic<uint64_t>* v) { return [v] { return static_cast<double>(v->load()); }; };
  r.AddCallback("logship_collector_kafka_produced_messages_total", "Messages the brokers confirmed.", l,
                read(&produced_));
  r.AddCallback("logship_collector_kafka_delivery_errors_total",
                "Batches whose messages were not all confirmed (retried).", l, read(&delivery_errors_));
  r.AddCallback("logship_collector_kafka_producer_queue_bytes", "Message bytes waiting for confirmation.", l,
                read(&queue_bytes_));
  r.AddCallback("logship_collector_kafka_forwarded_frames_total",
                "Batches sent as the agent's frame as it arrived (message version 2).", l, read(&forwarded_));
  r.AddCallback("logship_collector_kafka_split_batches_total",
                "Batches larger than max_message_bytes, sent as several messages.", l, read(&split_batches_));
  (void)kComponent;
}

}  // namespace logship::collector
