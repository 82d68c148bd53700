"""Every error nodewarden raises on purpose, in one hierarchy.

    NodewardenError
     ├── InputError                  bad input from the user: exit code 2
     │    ├── ParseError             a file is not valid JSON/YAML (file, line, column)
     │    ├── SchemaError            a recognised document has a field of the wrong type
     │    ├── NoInputError           nothing recognisable was given
     │    ├── ConfigError            a config or waiver file is malformed or has a typo
     │    ├── NotFoundError          a node, instance or pool named by the user does not exist
     │    ├── MappingError           a node cannot be mapped to its scale-set instance (providerID)
     │    ├── PermissionDeniedError  Kubernetes or ARM refused for lack of a permission (names it)
     │    ├── UnreachableError       an API endpoint cannot be reached (DNS, connection, TLS)
     │    └── AuthenticationError    credentials missing, expired or rejected (HTTP 401)
     ├── ActionError                 an action on the cluster did not succeed: exit code 1
     │    ├── ActionRefusedError     not started: the instance or pool is busy with another operation
     │    ├── ActionTimedOutError    started but not finished within the timeout
     │    └── ArmOperationError      ARM or the operation failed (carries the ARM error code)
     └── LeaseLostError              a replica that no longer holds the leader Lease tried to change something

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


class NotFoundError(InputError):
    """A node, instance or pool named by the user does not exist."""


class MappingError(InputError):
    """A node cannot be mapped to a scale-set instance (missing or foreign `spec.providerID`)."""


class PermissionDeniedError(InputError):
    """The Kubernetes API or ARM refused a request for lack of a permission; the message names it."""


class UnreachableError(InputError):
    """An API endpoint (Kubernetes or ARM) cannot be reached: DNS, connection refused, timeout or TLS."""


class AuthenticationError(InputError):
    """Credentials are missing, expired or rejected (HTTP 401); the message says which endpoint."""


class ActionError(NodewardenError):
    """An action on the cluster did not succeed (refused, timed out or failed)."""


class ActionRefusedError(ActionError):
    """The action was not started: the target is busy with another operation (or a guard said no)."""


class ActionTimedOutError(ActionError):
    """The action started but did not finish within its timeout; the message says what is left."""


class ArmOperationError(ActionError):
    """An ARM request or long-running operation failed; `code` is the ARM error code (e.g. ZonalAllocationFailed)."""

    def __init__(self, message: str, *, code: str = "", operation_id: str = "", correlation_id: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.operation_id = operation_id
        self.correlation_id = correlation_id


class LeaseLostError(NodewardenError):
    """A mutating call was refused before it was sent: this replica does not hold an unexpired leader Lease.

    Not an ActionError: the action did not fail, it was stopped, and its intent stays pending for the leader."""
