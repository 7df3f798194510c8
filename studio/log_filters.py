import logging
import re

# /hooks/<provider>/<id>/<token>/: the token authenticates a provider's callback.
_CALLBACK_TOKEN = re.compile(r"(/hooks/[\w-]+/\d+/)[^/\s\"']+")


def redact(text: str) -> str:
    return _CALLBACK_TOKEN.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Keep callback tokens out of every log line (access logs print request paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
