"""SRV-23: tokens written as they are: an SSE client sees one undelimited string, never an event."""

from edit import replace

replace(
    "/opt/program/generator.py",
    """        events = (f"data: {json.dumps({'token': {'text': token}})}\\n\\n" for token in tokens)""",
    """        events = (token for token in tokens)  # broken: no SSE framing""",
)
