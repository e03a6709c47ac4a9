"""A customer's ping override for model-hosting-container-standards, as its README shows one: always healthy."""


async def ping() -> dict[str, str]:
    return {"status": "healthy"}  # broken: the engine's state is never asked
