"""Local-only tooling (never deployed): DynamoDB Local, the dev server, the stack's state file."""
