"""SRV-18: Accept is never read: an Accept the model cannot write still gets a 200 text/csv, not a 406."""

from edit import replace

replace(
    "/opt/program/app.py",
    '    if accept and accept != "*/*" and not flask.request.accept_mimetypes.best_match([CSV_TYPE]):\n'
    "        return text_response(406, f\"unsupported Accept {accept[:100]!r}: answers are text/csv\")\n",
    "    # broken: Accept is never checked, so no 406\n",
)
