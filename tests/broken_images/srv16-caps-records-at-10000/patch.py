"""SRV-16: a fixed batch size in the app: a request's records past the 10,000th are dropped, and the answer is
still a 200 (every request the other clauses send has fewer records)."""

from edit import replace

replace(
    "/opt/program/app.py",
    "    predictions = algorithm.predict(MODEL, features)\n",
    "    features = features[:10_000]  # broken: at most 10,000 records per request, the rest silently dropped\n"
    "    predictions = algorithm.predict(MODEL, features)\n",
)
