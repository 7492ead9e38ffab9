"""The error every media function raises for a problem the user can act on.

`code` is machine-readable (UPPER_SNAKE) and travels unchanged to the job row and the GraphQL API;
`message` is for people. Anything else that escapes media/ is a bug, reported as INTERNAL.
"""


class MediaError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
