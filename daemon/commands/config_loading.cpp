#include "daemon/commands/config_loading.hpp"

namespace ksync::app {

std::optional<config::config> load_config_for(const invocation& inv,
                                              const std::filesystem::path& file) {
    try {
        config::config cfg = config::load_config(file);
        for (const auto& w : cfg.warnings) inv.err << "kayako-sync: " << w << "\n";
        return cfg;
    } catch (const config::config_error& e) {
        // config_error texts never hold a secret value (config.hpp), so they are safe to print.
        inv.err << "kayako-sync: configuration error in " << file.string() << ": " << e.what()
                << "\n";
        return std::nullopt;
    }
}

}  // namespace ksync::app
