"""One Blueprint per API domain; every module here defining ``bp`` is registered."""
