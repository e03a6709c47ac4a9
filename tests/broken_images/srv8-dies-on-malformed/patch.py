"""SRV-8: after answering a malformed payload with a proper 400, the worker "resets" by exiting with code 3.

gunicorn reads exit code 3 as "worker failed to boot" and halts instead of replacing the worker, serve
then stops nginx and exits, and the container is gone: every later request fails.
"""

from edit import replace

replace(
    "/opt/program/app.py",
    """    except UserError as exc:
        return text_response(400, str(exc))""",
    """    except UserError as exc:
        response = text_response(400, str(exc))
        response.call_on_close(lambda: os._exit(3))  # broken: the worker dies after answering
        return response""",
)
