"""SRV-21: no validation of the document's members: a missing or wrongly typed one raises, and Flask answers 500."""

from edit import replace

replace(
    "/opt/program/generator.py",
    """    if not isinstance(document, dict) or not isinstance(document.get("inputs"), str):
        return error(422, 'expected {"inputs": "text", "parameters": {...}}')
    parameters = document.get("parameters", {})
    count = parameters.get("max_new_tokens", 20) if isinstance(parameters, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= MAX_NEW_TOKENS:
        return error(422, f"parameters must be an object whose max_new_tokens is 1..{MAX_NEW_TOKENS}")
    tokens = generate(document["inputs"], count)""",
    """    count = min(document.get("parameters", {}).get("max_new_tokens", 20), MAX_NEW_TOKENS)  # broken: unchecked
    tokens = list(generate(document["inputs"].strip(), count))""",
)
