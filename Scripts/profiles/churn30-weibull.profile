# The churn of churn30-stragglers20 without its stragglers: heavy-tailed Weibull sessions (30% offline) and 1% loss.
churn sessions weibull shape 0.6 scale 200s offline 30%
loss 1%
