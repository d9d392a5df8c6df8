# Churn (30% offline, heavy-tailed Weibull sessions as measured by Stutzbach and Rejaie, IMC 2006) plus stragglers.
churn sessions weibull shape 0.6 scale 200s offline 30%
stragglers 20% slowdown 10x link-delay 10x
loss 1%
