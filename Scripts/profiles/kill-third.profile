# A third of the swarm crashes at 200 s (its in-memory state is lost) and comes back at 400 s from the
# checkpoints taken every 30 s.
at 200s kill 33%
at 400s restart
