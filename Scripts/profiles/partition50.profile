# The swarm splits in two halves at 100 s and heals at 200 s. Real swarms emulate the cut at the senders
# (every peer stops sending to the other half; FaultInjection.unreachable), the simulator drops across groups.
at 100s partition 50% | 50%
at 200s heal
