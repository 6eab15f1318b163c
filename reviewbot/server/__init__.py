"""Server mode: one GitHub App for a whole organisation. `reviewbot serve` takes webhooks
(app.py) and enqueues jobs; `reviewbot worker` runs them on Dramatiq and Redis (jobs.py, run.py)
with App tokens (appauth.py) under limits shared by every worker (limits.py)."""
