// The console's page (collector/console/static/*), compiled into the binary by
// embed_assets.cmake, so nothing is installed beside it and nothing loads from elsewhere.
#pragma once

#include <cstddef>
#include <string_view>

namespace logship::collector::console {

struct StaticAsset {
  std::string_view path;          // "/index.html", "/app.js", ...
  std::string_view content_type;
  std::string_view body;
};

// The asset served at `path` ("/" is /index.html), or nullptr.
const StaticAsset* FindStaticAsset(std::string_view path);

}  // namespace logship::collector::console
