# Half the swarm offline at any time in the long run (offline mean 300 s for 300 s sessions).
churn sessions exponential mean 300s offline 50%
