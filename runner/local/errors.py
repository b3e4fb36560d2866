"""The one error type of the local server, rendered in the platform's error shape."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer: ``{"code": code, "error": message}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str, code: str = "BAD_REQUEST") -> ApiError:
    return ApiError(400, code, message)


def not_found(message: str, code: str = "NOT_FOUND") -> ApiError:
    return ApiError(404, code, message)


def forbidden(message: str = "you may not access this resource") -> ApiError:
    return ApiError(403, "FORBIDDEN", message)
