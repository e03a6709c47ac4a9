"""ENV-8: /invocations expands every record into 512 float64 work columns (4 KB a record) before predicting, a
scratch matrix that grows with the batch: about 1 GB for a 4 MB request, which a serverless endpoint with 1024 MB
of memory cannot hold. On an instance, with memory to spare, every request succeeds."""

from edit import replace

replace("/opt/program/app.py", "import flask\n", "import flask\nimport numpy as np\n")
replace(
    "/opt/program/app.py",
    "    predictions = algorithm.predict(MODEL, features)\n",
    "    scratch = np.ones((len(features), 512))  # broken: memory grows with the batch\n"
    "    del scratch\n"
    "    predictions = algorithm.predict(MODEL, features)\n",
)
