"""Errors the prompt registry raises; the API maps each to its status code."""


class PromptError(Exception):
    """Base class: ``status`` is the HTTP status the public API answers with."""

    status = 400

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class PromptInputError(PromptError):
    """Bad input; the message starts with the field it is about."""

    status = 400

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class PromptNotFound(PromptError):
    status = 404


class PromptForbidden(PromptError):
    status = 403
