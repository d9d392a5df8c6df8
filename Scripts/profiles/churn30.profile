# 30% of the time offline in the long run (offline mean 129 s for 300 s sessions).
churn sessions exponential mean 300s offline 30%
