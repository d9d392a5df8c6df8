# No churn, no stragglers, no loss: every peer starts within the first second and stays.
