#include "collector/sinks/postgres/postgres_config.h"

namespace logship::collector::postgres {
namespace {

bool IsIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 48 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

std::chrono::milliseconds Ms(ConfigMap& m, const std::string& key, std::chrono::milliseconds def,
                             std::chrono::milliseconds min, std::chrono::milliseconds max) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(m.Duration(key, def, min, max));
}

}  // namespace

std::unique_ptr<SinkConfig> ParsePostgresConfig(ConfigMap& p) {
  using std::chrono::milliseconds;
  auto pg = std::make_unique<PostgresConfig>();
  pg->dsn = p.Require("dsn").AsString();
  pg->table = p.String("table", pg->table);
  if (!IsIdentifier(pg->table)) p.Require("table").Fail("must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)");
  pg->connections = static_cast<uint32_t>(p.Int("connections", pg->connections, 1, 64));
  pg->partitions_ahead_days = static_cast<uint32_t>(p.Int("partitions_ahead_days", pg->partitions_ahead_days, 0, 60));
  pg->read_dsn = p.String("read_dsn", "");
  pg->batch_rows = static_cast<uint64_t>(p.Int("batch_rows", static_cast<int64_t>(pg->batch_rows), 1, 10000000));
  pg->batch_linger = Ms(p, "batch_linger", pg->batch_linger, milliseconds(0), milliseconds(10000));
  pg->partitions_by_host = static_cast<uint32_t>(p.Int("partitions_by_host", 0, 0, 256));
  pg->attributes_index = p.Bool("attributes_index", false);
  pg->search_indexes = p.Bool("search_indexes", false);
  pg->retention_days = static_cast<uint32_t>(p.Int("retention_days", 0, 0, 36500));
  pg->archive_dir = p.String("archive_dir", "");
  if (!pg->archive_dir.empty() && pg->archive_dir[0] != '/') p.Require("archive_dir").Fail("must be an absolute path");
  pg->retention_interval = Ms(p, "retention_interval", pg->retention_interval, milliseconds(100), milliseconds(86400000));
  pg->give_up_after = Ms(p, "give_up_after", pg->give_up_after, milliseconds(100), milliseconds(7 * 86400000LL));
  return pg;
}

}  // namespace logship::collector::postgres
