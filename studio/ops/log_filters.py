import logging
import re

# /hooks/<provider>/<id>/<token>/: the token authenticates a provider's callback.
_CALLBACK_TOKEN = re.compile(r"(/hooks/[\w-]+/\d+/)[^/\s\"']+")
# /invitations/<token>/: the token lets its holder join a project (the owner's /invitations/<id>/ stays).
_INVITATION_TOKEN = re.compile(r"(/invitations/)(?!\d+/)[^/\s\"'&]+")


def redact(text: str) -> str:
    return _INVITATION_TOKEN.sub(r"\1[redacted]", _CALLBACK_TOKEN.sub(r"\1[redacted]", text))


class RedactSecrets(logging.Filter):
    """Keep callback and invitation tokens out of every log line (access logs print request paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
