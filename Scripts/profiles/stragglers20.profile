# 20% of the peers train 10x slower and have 10x the link latency.
stragglers 20% slowdown 10x link-delay 10x
