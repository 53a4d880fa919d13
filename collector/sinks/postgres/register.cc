// The PostgreSQL sink plugin (`sinks.postgres`): writes, keeps dead letters in a table, and
// is read back by the console.
#include "collector/sinks/postgres/postgres_config.h"
#include "collector/sinks/postgres/postgres_sink.h"
#include "collector/sinks/sink_plugin.h"

namespace logship::collector::plugins {
namespace {

Result<std::unique_ptr<Sink>> Create(const SinkConfig& config, const SinkContext& context) {
  postgres::PostgresConfig pg = static_cast<const postgres::PostgresConfig&>(config);
  pg.dead_letter_max_bytes = context.dead_letter_max_bytes;
  return std::unique_ptr<Sink>(std::make_unique<postgres::PostgresSink>(std::move(pg)));
}

}  // namespace

const SinkPlugin& sink_postgres() {
  static const SinkPlugin kPlugin{
      .type = "postgres", .parse = &postgres::ParsePostgresConfig, .create = &Create, .readable = true};
  return kPlugin;
}

}  // namespace logship::collector::plugins
