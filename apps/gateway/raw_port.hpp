#pragma once
// The gateway's raw side over omega::native::PacketSocket (AF_PACKET, EtherType 0x88B5).
#include <memory>
#include <string>

#include <omega/base/result.hpp>

#include "gateway.hpp"

namespace omega::gateway {

// Opens `interface` for OVP frames. Fails with the reason (no such interface, not
// permitted: needs root or CAP_NET_RAW).
Result<std::unique_ptr<RawPort>, std::string> open_raw_port(const std::string& interface);

}  // namespace omega::gateway
