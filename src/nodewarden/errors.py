"""Every error nodewarden raises on purpose, in one hierarchy.

    NodewardenError
     └── InputError                  bad input from the user: exit code 2
          ├── ParseError             a file is not valid JSON/YAML (file, line, column)
          ├── SchemaError            a recognised document has a field of the wrong type
          ├── NoInputError           nothing recognisable was given
          └── ConfigError            a config or waiver file is malformed or has a typo

Only `nodewarden.cli` maps these to exit codes; it never prints a traceback.
"""


class NodewardenError(Exception):
    """Base of every error nodewarden raises on purpose."""


class InputError(NodewardenError):
    """The user's input (files, flags, config) cannot be used; the message says where and why."""


class ParseError(InputError):
    """A file is not valid JSON or YAML."""


class SchemaError(InputError):
    """A recognised document has a field of the wrong type."""


class NoInputError(InputError):
    """None of the given paths held anything nodewarden recognises."""


class ConfigError(InputError):
    """A config or waiver file is malformed or names a field that does not exist."""
