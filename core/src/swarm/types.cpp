#include <omega/swarm/types.hpp>

namespace omega::swarm {

std::string_view to_string(SwarmError e) noexcept {
  switch (e) {
    case SwarmError::InvalidConfig: return "InvalidConfig";
    case SwarmError::NotInitialized: return "NotInitialized";
    case SwarmError::ShuttingDown: return "ShuttingDown";
    case SwarmError::AgentLimitReached: return "AgentLimitReached";
    case SwarmError::UnknownAgent: return "UnknownAgent";
    case SwarmError::DuplicateAgent: return "DuplicateAgent";
    case SwarmError::AgentUnavailable: return "AgentUnavailable";
    case SwarmError::UnknownTask: return "UnknownTask";
    case SwarmError::QueueFull: return "QueueFull";
    case SwarmError::CycleDetected: return "CycleDetected";
    case SwarmError::InvalidTask: return "InvalidTask";
    case SwarmError::NoCapableAgent: return "NoCapableAgent";
    case SwarmError::TaskFinished: return "TaskFinished";
    case SwarmError::OutOfMemory: return "OutOfMemory";
    case SwarmError::QuotaExceeded: return "QuotaExceeded";
    case SwarmError::UnknownRegion: return "UnknownRegion";
    case SwarmError::OutOfBounds: return "OutOfBounds";
    case SwarmError::NotOwner: return "NotOwner";
    case SwarmError::Backpressure: return "Backpressure";
    case SwarmError::Unreachable: return "Unreachable";
    case SwarmError::UnknownGroup: return "UnknownGroup";
    case SwarmError::UnknownProposal: return "UnknownProposal";
    case SwarmError::ProposalClosed: return "ProposalClosed";
    case SwarmError::AlreadyVoted: return "AlreadyVoted";
    case SwarmError::Equivocation: return "Equivocation";
    case SwarmError::InvalidSignature: return "InvalidSignature";
    case SwarmError::NotEligible: return "NotEligible";
    case SwarmError::CircuitOpen: return "CircuitOpen";
  }
  return "Unknown";
}

std::string_view to_string(SwarmTopology t) noexcept {
  switch (t) {
    case SwarmTopology::Centralized: return "Centralized";
    case SwarmTopology::Mesh: return "Mesh";
    case SwarmTopology::Hierarchical: return "Hierarchical";
    case SwarmTopology::Ring: return "Ring";
    case SwarmTopology::Star: return "Star";
  }
  return "Unknown";
}

}  // namespace omega::swarm
