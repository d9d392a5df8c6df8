# Each peer is offline 10% of the time in the long run: exponential sessions (mean 300 s), offline periods
# exponential with mean derived from the target (33 s). Departures are crashes; returns restart from checkpoint.
churn sessions exponential mean 300s offline 10%
